"""`concerns report …`: scrutiny and performance reports."""

from __future__ import annotations

import typer

app = typer.Typer(help="Scrutiny and performance reports.")
