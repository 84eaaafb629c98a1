"""`concerns intake …`: bring submissions in from every channel.

Every command prints one line (or, with --json, one object) per submission: source, status
(new_case, added_to_case, duplicate, quarantined, set_aside), reference and reason. The exit
status is 2 when anything was quarantined (the reason names the field), else 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli.common import (
    AsOpt,
    Call,
    ConfigOpt,
    JsonOpt,
    call,
    emit,
    fail,
    handled,
    table,
)
from concerns.cli.lazy import lazy_import

if TYPE_CHECKING:
    from concerns.workflows.intake import mailbox, quarantine, register_import, submissions
    from concerns.workflows.intake.submissions import IntakeResult
else:
    submissions = lazy_import("concerns.workflows.intake.submissions")
    mailbox = lazy_import("concerns.workflows.intake.mailbox")
    quarantine = lazy_import("concerns.workflows.intake.quarantine")
    register_import = lazy_import("concerns.workflows.intake.register_import")

app = typer.Typer(
    help="Bring concerns in: web-form files, email, the legacy register, the mailbox."
)

# Larger files are refused before reading: no real form comes near this.
MAX_FORM_BYTES = 20 * 1024 * 1024
# A register bigger than this is not a spreadsheet anyone typed.
MAX_REGISTER_BYTES = 200 * 1024 * 1024
COLUMNS = ["source", "status", "reference", "reason"]


@contextmanager
def _progress(
    c: Call, label: str, total: int | None
) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr for people at a terminal; nothing for scripts or --json.
    TOTAL None: not known until the work starts (the rows of a register)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    shown = console.is_terminal and not c.json and (total is None or total > 1)
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=not shown,
    ) as bar:
        task = bar.add_task(label, total=total)

        def update(done: int, new_total: int) -> None:
            bar.update(task, completed=done, total=new_total)

        yield update


def _finish(c: Call, results: list[dict[str, Any]]) -> None:
    emit(c, results, lambda r: table(r, COLUMNS))
    bad = [r for r in results if r["status"] == "quarantined"]
    if bad:
        if c.json:
            # Standard output is for programs: the reasons go to people on standard error.
            for r in bad:
                typer.echo(f"error: {r['source']}: {r['reason']}", err=True)
        else:
            # The table above already gives each reason once.
            typer.echo(f"error: {len(bad)} could not be read (the reasons are above)", err=True)
        raise typer.Exit(2)


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
    # A path that is not a file is a typing mistake, not a submission: nothing is read or stored
    # until every path names a file.
    for path in files:
        if path.is_dir():
            fail(f"FILES: {path} is a folder; give the JSON files in it, e.g. {path}/*.json", 2)
        if not path.is_file():
            fail(f"FILES: {path}: no such file; nothing was read", 2)
    results: list[dict[str, Any]] = []
    with _progress(c, "forms", len(files)) as update:
        for i, path in enumerate(files, start=1):
            if path.stat().st_size > MAX_FORM_BYTES:
                raw = path.read_bytes()[: MAX_FORM_BYTES + 1]
            else:
                raw = path.read_bytes()
            results.append(submissions.ingest_form(c.ctx, raw, str(path), c.user).as_dict())
            update(i, len(files))
    _finish(c, results)


@app.command("email")
@handled
def intake_email(
    paths: Annotated[
        list[Path], typer.Argument(help=".eml files, folders of them, or maildirs.")
    ],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Log emails; forwards are read for the original sender. Auto-replies are set aside."""
    c = call(json_out, as_user, config)
    sources = list(mailbox.email_sources(paths))
    results: list[dict[str, Any]] = []
    with _progress(c, "emails", len(sources)) as update:
        for i, result in enumerate(mailbox.ingest_email_files(c.ctx, sources, c.user), start=1):
            results.append(result.as_dict())
            update(i, len(sources))
    _finish(c, results)


@app.command("import")
@handled
def intake_import(
    file: Annotated[
        Path | None, typer.Argument(help="The legacy register: a .csv or .xlsx file.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what each row would become; store nothing.")
    ] = False,
    write_mapping: Annotated[
        Path | None,
        typer.Option("--write-mapping", help="Write the mapping the importer proposes (TOML) "
                     "to this file, for the team to check; stores nothing."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Read the register with this mapping file (TOML)."),
    ] = None,
    report: Annotated[
        bool, typer.Option("--report", help="List the imported rows to check (flagged).")
    ] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Bring in the legacy register, each row at the stage it recorded.

    Check the mapping first: --dry-run --write-mapping MAP.toml, correct MAP.toml, then import
    with --mapping MAP.toml. --report lists the imported rows flagged for checking."""
    c = call(json_out, as_user, config)
    if file is None:
        if not report:
            fail("FILE: give the register to import (or --report for the rows to check)", 2)
        _report(c)
        return
    if not file.is_file():
        _finish(c, [{"source": str(file), "status": "quarantined", "reference": None,
                     "reason": "(file): no such file"}])
        return
    if file.stat().st_size > MAX_REGISTER_BYTES:
        _finish(c, [{"source": str(file), "status": "quarantined", "reference": None,
                     "reason": f"(file): larger than {MAX_REGISTER_BYTES} bytes"}])
        return
    chosen = None
    if mapping is not None:
        if not mapping.is_file():
            fail(f"--mapping: no such file {mapping}", 2)
        chosen = register_import.load_mapping(mapping.read_text(encoding="utf-8"))
    data = file.read_bytes()
    if write_mapping is not None:
        write_mapping.write_text(register_import.propose_mapping(c.ctx, data, file.name, c.user),
                                 encoding="utf-8")
        if not c.json:
            typer.echo(f"Mapping written to {write_mapping}: check it, then import with "
                       f"--mapping {write_mapping}.", err=True)
        dry_run = True
    with _progress(c, "rows", None) as update:
        results: list[IntakeResult] = register_import.import_register(
            c.ctx, data, file.name, c.user, mapping=chosen, dry_run=dry_run, progress=update
        )
    rows = [r.as_dict() for r in results]
    if dry_run and not c.json:
        typer.echo("Dry run: nothing was stored.", err=True)
    if report and not dry_run and not c.json:
        _report(c)
    _finish(c, rows)


def _report(c: Call) -> None:
    rows = register_import.rows_to_check(c.ctx, c.user)
    if c.json:
        emit(c, rows)
        return
    lines = [f"{len(rows)} imported rows to check"]
    for r in rows:
        lines.append(f"{r['source']}  {r['reference']} ({r['state']})")
        lines += [f"    {flag}" for flag in r["flags"]]
    typer.echo("\n".join(lines))


@app.command("poll")
@handled
def intake_poll(
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Read the configured mailbox (maildir or IMAP) once."""
    c = call(json_out, as_user, config)
    _finish(c, [r.as_dict() for r in mailbox.poll_mailbox(c.ctx, c.user)])


@app.command("quarantine")
@handled
def intake_quarantine(
    set_aside: Annotated[
        bool, typer.Option("--set-aside", help="Also list auto-replies and bounces set aside.")
    ] = False,
    retry: Annotated[
        int | None, typer.Option("--retry", help="Read quarantined submission ID again.")
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """What could not be read, with the reason (the content stays in the database).
    With --retry ID, read that submission again and log it if it can now be read."""
    c = call(json_out, as_user, config)
    if retry is not None:
        _finish(c, [quarantine.retry_quarantined(c.ctx, c.user, retry).as_dict()])
        return
    rows = submissions.list_quarantine(c.ctx, c.user, include_set_aside=set_aside)
    emit(c, rows, lambda r: table(r, ["id", "received_at", "channel", "source", "status",
                                      "reason"]))
