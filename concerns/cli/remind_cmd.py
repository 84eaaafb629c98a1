"""`concerns remind …`, `concerns calendar …` and `concerns scheduler`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Reminders and escalations of deadlines.")
calendar_app = typer.Typer(help="The working-day calendar.")
