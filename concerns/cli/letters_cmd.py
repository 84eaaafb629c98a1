"""`concerns letters …`: render letters on letterhead."""

from __future__ import annotations

import typer

app = typer.Typer(help="Letters on letterhead: preview and render.")
