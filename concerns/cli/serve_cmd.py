"""`concerns serve`: the staff web app, the public concern form and the JSON API."""

from __future__ import annotations
