"""`concerns report …`: scrutiny and performance reports."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, fail, handled, table
from concerns.cli.lazy import lazy_import

if TYPE_CHECKING:
    from concerns.reports import scrutiny as formats
    from concerns.workflows.learning import scrutiny_service
else:
    formats = lazy_import("concerns.reports.scrutiny")
    scrutiny_service = lazy_import("concerns.workflows.learning.scrutiny_service")

app = typer.Typer(help="Scrutiny and performance reports.")

FORMATS = ("text", "json", "csv", "html", "pdf")


def _human(report: dict[str, Any]) -> str:
    return table(formats.to_text(report), ["figure", "value"])


@app.command("scrutiny")
@handled
def scrutiny(
    date_from: Annotated[
        str | None, typer.Option("--from", help="First day (YYYY-MM-DD), inclusive.")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="html, pdf, csv or json.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write to FILE.")] = None,
    publish: Annotated[bool, typer.Option(
        "--publish", help="The version for publication: counts of 1 to 4 as 'fewer than 5', "
        "no case references or findings, in every format.")] = False,
    overdue_since: Annotated[str | None, typer.Option(
        "--overdue-since", help="Newly overdue since this day (YYYY-MM-DD; default a week "
        "ago).")] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Figures for the scrutiny committee over any period (aggregates only)."""
    c = call(json_out, as_user, config)
    kind = (fmt or ("json" if c.json else "text")).lower()
    if kind not in FORMATS:
        fail("--format: expected one of html, pdf, csv, json", 2)
    if kind == "pdf" and out is None and sys.stdout.isatty():
        fail("--out: a PDF needs a file to go to", 2)
    from concerns.workflows.errors import day_field as parse_day

    report = scrutiny_service.scrutiny_report(
        c.ctx, c.user, parse_day(date_from, "--from"), parse_day(date_to, "--to"),
        publish=publish, overdue_since=parse_day(overdue_since, "--overdue-since"))
    data: str | bytes
    if kind == "text":
        if out is None:
            emit(c, report, _human)
            return
        data = _human(report) + "\n"
    elif kind == "json":
        data = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    elif kind == "csv":
        data = formats.to_csv(report)
    else:
        html = formats.to_html(report, c.ctx.settings.council.name, c.ctx.now())
        data = formats.to_pdf(html) if kind == "pdf" else html
    if out is None:
        if isinstance(data, bytes):
            sys.stdout.buffer.write(data)
        else:
            typer.echo(data, nl=False)
        return
    try:
        out.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    except OSError as exc:
        fail(f"--out: cannot write the file ({exc.strerror})", 2)
    if not c.json:
        typer.echo(f"Scrutiny report written to {out}.", err=True)
