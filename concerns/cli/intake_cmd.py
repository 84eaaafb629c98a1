"""`concerns intake …`: bring submissions in from every channel."""

from __future__ import annotations

import typer

app = typer.Typer(help="Bring concerns in: web-form files, email, the legacy register, the mailbox.")
