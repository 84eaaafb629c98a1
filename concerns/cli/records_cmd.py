"""`concerns retention …`, `concerns backup` and `concerns restore`: records management.

The same service functions as the information officer's pages (workflows/records/).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli import people_cmd
from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, handled, table
from concerns.cli.lazy import lazy_import
from concerns.workflows.errors import BadInput, day_field
from concerns.workflows.records.decisions import DECISIONS

if TYPE_CHECKING:
    from concerns.workflows.records import anonymise, restriction, retention
    from concerns.workflows.records import backup as backups
    from concerns.workflows.records import subject_access as sar
else:
    anonymise = lazy_import("concerns.workflows.records.anonymise")
    backups = lazy_import("concerns.workflows.records.backup")
    restriction = lazy_import("concerns.workflows.records.restriction")
    retention = lazy_import("concerns.workflows.records.retention")
    sar = lazy_import("concerns.workflows.records.subject_access")

app = typer.Typer(help="The retention schedule: review queue, decisions, anonymisation.",
                  no_args_is_help=True)

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Review again on this date (YYYY-MM-DD).")
]
RefsArg = Annotated[list[str], typer.Argument(help="Case references (one or more).")]


def _schedule_rows(rows: list[dict[str, Any]]) -> str:
    return table(
        [{"case": r["reference"], "closed": r["closed_on"], "outcome": r["outcome"],
          "retention": r["state_label"], "review on": r["review_on"],
          "decide by": r["clock_due"], "clock": r["clock_status"], "reason": r["reason"]}
         for r in rows],
        ["case", "closed", "outcome", "retention", "review on", "decide by", "clock", "reason"],
    )


def _until(value: str | None) -> date | None:
    return day_field(value, "--until")


@app.command("list")
@handled
def list_cmd(
    all_cases: Annotated[
        bool, typer.Option("--all", help="Every closed case's schedule, not just the queue.")
    ] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The review queue: closed cases whose review date has come, and those to be destroyed."""
    c = call(json_out, as_user, config)
    rows = [r.to_dict() for r in retention.list_schedule(c.ctx, c.user, queue_only=not all_cases)]
    emit(c, rows, _schedule_rows)


def _decided(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['reference']}: {r['from']} -> {r['to']}"
        + (f" (review on {r['review_on']})" if r.get("review_on") and r["to"] != "to_be_destroyed"
           else "")
        for r in rows
    )


@app.command("review")
@handled
def review_cmd(
    references: RefsArg,
    decision: Annotated[
        str, typer.Option("--decision", help=f"One of {', '.join(DECISIONS)}.")
    ],
    reason: ReasonOpt,
    until: UntilOpt = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Decide on one or more cases in the queue: retain (with --until), review again on a date,
    or destroy (anonymise with `retention anonymise --due`)."""
    c = call(json_out, as_user, config)
    emit(c, retention.decide(c.ctx, c.user, references, decision, reason, _until(until)), _decided)


@app.command("retain")
@handled
def retain_cmd(
    references: RefsArg,
    until: Annotated[str, typer.Option("--until", help="Keep until (YYYY-MM-DD).")],
    reason: ReasonOpt,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Keep cases until a date, for a reason (for example a legal hold)."""
    c = call(json_out, as_user, config)
    emit(c, retention.decide(c.ctx, c.user, references, "retain", reason, _until(until)), _decided)


@app.command("anonymise")
@handled
def anonymise_cmd(
    reason: ReasonOpt,
    reference: Annotated[
        str | None, typer.Argument(help="The closed case to anonymise now.")
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Every case decided 'to be destroyed'.")
    ] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Anonymise one closed case now (an erasure request), or with --due every case to be
    destroyed: the person's data goes, the figures and the audit chain stay."""
    c = call(json_out, as_user, config)
    if (reference is None) == (not due):
        raise BadInput("reference", "give one case reference, or --due (not both)")
    done = (retention.anonymise_due(c.ctx, c.user, reason) if due
            else [anonymise.anonymise_case(c.ctx, c.user, reference or "", reason)])
    emit(c, done if due else done[0], lambda _: "\n".join(
        f"{d['reference']}: anonymised ({d['contacts']} contact(s), {d['letters']} letter(s), "
        f"{d['audit_rows']} audit row(s) erased"
        + ("; the person's details erased" if d["person_erased"] else
           "; the person's details kept for their other cases") + ")"
        for d in done) or "(none to be destroyed)")


def backup_cmd(
    file: Annotated[Path, typer.Argument(help="The backup file to write (a new file).")],
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Back up the whole register while it runs (SQLite online backup, or pg_dump)."""
    c = call(json_out, None, config)
    manifest = backups.backup(c.ctx, file)
    emit(c, manifest, lambda m: f"Backed up {m['cases']} case(s) to {file} at {m['taken_at']}.")


def restore_cmd(
    file: Annotated[Path, typer.Argument(help="A file written by `concerns backup`.")],
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a database newer than the backup.")
    ] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Restore the register from a backup; every erased person stays erased."""
    c = call(json_out, as_user, config)
    done = backups.restore(c.ctx, file, force=force, actor=c.user)
    emit(c, done, lambda d: (
        f"Restored {d['cases']} case(s) from the backup taken at {d['taken_at']}; "
        f"anonymisations re-applied: {', '.join(d['erasures_reapplied']) or 'none'}."))


def _review_text(r: dict[str, Any]) -> str:
    head = (f"Subject access request {r['request']} for person {r['person']} ({r['status']}); "
            f"cases: {', '.join(r['cases'])}; respond by {r['due']}.")
    rows = [{"id": x["id"], "redacted": "yes" if x["active"] else "no", "kind": x["kind"],
             "field": x["field"], "hides": x["words"], "found": x["occurrences"]}
            for x in r["redactions"]]
    return head + "\n" + table(rows, ["id", "redacted", "kind", "field", "hides", "found"])


def raise_review_first(shown: dict[str, Any]) -> None:
    # The request is now open (and its clock running): the release waits for the review.
    raise BadInput("release", f"request {shown['request']} was opened just now: review its "
                              "redactions (run without --release) before releasing it")


def export_cmd(
    person: Annotated[int, typer.Argument(help="The person (id, as in `people flags`).")],
    redact: Annotated[
        list[str] | None, typer.Option("--redact", help="Also hide these words (repeatable).")
    ] = None,
    unredact: Annotated[
        list[int] | None,
        typer.Option("--unredact", help="Show what redaction ID hides after all (repeatable)."),
    ] = None,
    reredact: Annotated[
        list[int] | None, typer.Option("--redact-again", help="Switch redaction ID back on.")
    ] = None,
    release_it: Annotated[
        bool, typer.Option("--release", help="Release the bundle as reviewed (audited).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Where to write the released ZIP.")
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A subject access request: without --release, open it (starting its one-calendar-month
    clock) and show each redaction for review; with --release --out FILE.zip, write the bundle."""
    c = call(json_out, as_user, config)
    if release_it != (out is not None):
        raise BadInput("out", "--release and --out FILE.zip go together")
    if out is not None and out.exists():
        raise BadInput("out", f"{out.name} already exists; choose a new file name")
    shown = sar.open_request(c.ctx, c.user, person)
    if out is not None and shown["opened_now"]:
        raise_review_first(shown)
    for words in redact or []:
        shown = sar.add_redaction(c.ctx, c.user, shown["request"], words)
    for rid in unredact or []:
        shown = sar.set_redaction(c.ctx, c.user, shown["request"], rid, False)
    for rid in reredact or []:
        shown = sar.set_redaction(c.ctx, c.user, shown["request"], rid, True)
    if out is None:
        emit(c, shown, _review_text)
        return
    done = sar.release(c.ctx, c.user, shown["request"])
    out.write_bytes(done.data)
    emit(c, {**done.summary, "file": str(out)},
         lambda d: f"Released request {d['request']} to {out} (SHA-256 {d['sha256']}).")


def restrict_cmd(
    person: Annotated[int, typer.Argument(help="The person (id).")],
    reason: ReasonOpt,
    lift: Annotated[bool, typer.Option("--lift", help="Lift the restriction.")] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Restrict a person's record (kept, but shown only to the information officer and the IAT
    manager), or with --lift end the restriction. Audited on each of their cases."""
    c = call(json_out, as_user, config)
    done = restriction.set_restriction(c.ctx, c.user, person, not lift, reason)
    emit(c, done, lambda d: f"Person {d['person']}: "
                            + ("restricted" if d["restricted"] else "restriction lifted")
                            + f" ({', '.join(d['cases'])}).")


def register(root: typer.Typer) -> None:
    """Add these commands to the `concerns` command."""
    root.add_typer(app, name="retention")
    people_cmd.app.command("export")(handled(export_cmd))
    people_cmd.app.command("restrict")(handled(restrict_cmd))
    root.command("backup")(handled(backup_cmd))
    root.command("restore")(handled(restore_cmd))
