"""`concerns intake …`: bring submissions in from every channel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, handled, table
from concerns.workflows.intake import ingest_form

app = typer.Typer(help="Bring concerns in: web-form files, email, the legacy register, the mailbox.")

# Larger files are refused before reading: no real form comes near this.
MAX_FORM_BYTES = 20 * 1024 * 1024


@app.command("form")
@handled
def intake_form(
    files: Annotated[list[Path], typer.Argument(help="Web-form submissions (JSON files).")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Log web-form submissions. Exits 2 if any was quarantined (the reason names the field)."""
    c = call(json_out, as_user, config)
    results: list[dict[str, Any]] = []
    for path in files:
        if not path.is_file():
            results.append({"source": str(path), "status": "quarantined", "reference": None,
                            "reason": "(file): no such file"})
            continue
        if path.stat().st_size > MAX_FORM_BYTES:
            raw = path.read_bytes()[: MAX_FORM_BYTES + 1]
        else:
            raw = path.read_bytes()
        results.append(ingest_form(c.ctx, raw, str(path), c.user).as_dict())
    emit(c, results, lambda r: table(r, ["source", "status", "reference", "reason"]))
    bad = [r for r in results if r["status"] == "quarantined"]
    if bad:
        for r in bad:
            typer.echo(f"error: {r['source']}: {r['reason']}", err=True)
        raise typer.Exit(2)
