"""The staff web app, the public concern form and the JSON API (FastAPI)."""

from __future__ import annotations

from concerns.web.app import create_app

__all__ = ["create_app"]
