"""Bringing in the legacy register (CSV or XLSX), each row at the stage it recorded.

The file is read with a mapping (which sheet, which heading row, which heading is which field,
what each stage, outcome, channel and colour means): the team's, from a TOML file, or the
importer's own proposal, which `propose_mapping` writes out for them to check.

Every row holding a person or a concern comes in: first stored raw (its cells, and the mapping it
is read with), then read and logged, one transaction per row, oldest first, so a later row from
the same person finds the earlier one's case. What could not be placed is flagged on the contact
and listed by `rows_to_check`. A dry run does all of it inside one transaction and rolls it back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from concerns.db.models import Case, Contact, RawSubmission
from concerns.triage.register import (
    Mapping,
    NotARecord,
    RegisterEntry,
    RegisterRow,
    from_toml,
    read_register,
    to_toml,
)
from concerns.triage.submission import CHANNELS, SubmissionError
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput
from concerns.workflows.intake.parsing import read_register_row
from concerns.workflows.intake.submissions import (
    IntakeResult,
    check_actor,
    hold,
    log_in,
    mark_raw,
    stage_raw,
)
from concerns.workflows.machine import IAT, STATES, STEPS

IMPORT_ROLES = IAT
# Raw rows are committed in batches: each batch is stored before any of its rows is read.
BATCH = 500
# How a closed case can have ended: the outcomes the lifecycle table sets.
OUTCOMES = tuple(sorted({s.outcome for s in STEPS if s.outcome}))

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Pending:
    source: str
    raw_id: int
    row: RegisterRow


def propose_mapping(ctx: AppContext, data: bytes, filename: str, actor_name: str | None) -> str:
    """The mapping the importer proposes for FILE, as the TOML the team reads and corrects."""
    check_actor(ctx, actor_name, IMPORT_ROLES)
    try:
        register = read_register(data, filename)
    except SubmissionError as exc:
        raise BadInput(exc.field, exc.problem) from None
    return to_toml(register.mapping, _name(filename), STATES, OUTCOMES)


def load_mapping(text: str) -> Mapping:
    """A mapping file, checked against the lifecycle table. Raises BadInput naming the entry."""
    try:
        mapping = from_toml(text)
    except SubmissionError as exc:
        raise BadInput(exc.field, exc.problem) from None
    stages = {*(s for s in STATES if s != "closed"), *(f"closed:{o}" for o in OUTCOMES)}
    for title, table, allowed in (
        ("stages", mapping.stages, stages), ("colours", mapping.colours, stages),
        ("outcomes", mapping.outcomes, set(OUTCOMES)), ("channels", mapping.channels,
                                                        set(CHANNELS)),
    ):
        for value, meaning in table.items():
            if meaning and meaning not in allowed:
                raise BadInput(f"mapping: [{title}] {value!r}",
                               f"{meaning!r} is not one of " + ", ".join(sorted(allowed)))
    return mapping


def import_register(
    ctx: AppContext,
    data: bytes,
    filename: str,
    actor_name: str | None,
    *,
    mapping: Mapping | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[IntakeResult]:
    """One result per row (source "FILE:row N", or "FILE:SHEET:row N" when several sheets are
    read), or one for the file if it cannot be read."""
    actor = check_actor(ctx, actor_name, IMPORT_ROLES)
    with ctx.uow() as uow:
        results = _run(ctx, uow.session, data, filename, actor, mapping, dry_run, progress,
                       commit=uow.commit)
        if not dry_run:
            uow.commit()
    if dry_run:
        # Cases opened by the dry run were rolled back: their references mean nothing yet.
        opened = {r.reference for r in results if r.status == "new_case"}
        results = [replace(r, reference=None) if r.reference in opened else r for r in results]
    return results


def _name(filename: str) -> str:
    return filename.replace("\\", "/").rsplit("/", 1)[-1][:200]


def _run(
    ctx: AppContext, s: Session, data: bytes, filename: str, actor: str,
    mapping: Mapping | None, dry_run: bool, progress: Progress | None,
    commit: Callable[[], None],
) -> list[IntakeResult]:
    name = _name(filename)
    at = ctx.now()
    try:
        register = read_register(data, filename, mapping)
    except SubmissionError as exc:
        if exc.field.startswith("mapping"):
            # The team's mapping does not fit the file: theirs to correct, nothing stored.
            raise BadInput(exc.field, exc.problem) from None
        # The file itself is kept, so nothing sent to us is lost even when no row can be read.
        raw, seen = stage_raw(s, data, channel="import", source=name, message_id=None, at=at)
        if not seen:
            mark_raw(s, raw.id, "quarantined", str(exc))
        return [IntakeResult(name, "quarantined", reason=str(exc), field=exc.field)]

    def source_of(row: RegisterRow) -> str:
        sheet = f"{row.sheet}:" if register.several_sheets else ""
        return f"{name}:{sheet}row {row.row}"

    rows = register.rows
    total = len(rows) * 2
    done = 0
    results: dict[str, IntakeResult] = {}
    pending: list[_Pending] = []
    taken: set[int] = set()
    for i, row in enumerate(rows, start=1):
        source = source_of(row)
        done += 1
        try:
            # A totals or notes row is not a record: reported, never stored.
            read_register_row(row.raw(), at, ctx.settings)
        except NotARecord as exc:
            results[source] = IntakeResult(source, "set_aside", reason=exc.problem)
            done += 1
            continue
        except SubmissionError:
            pass  # stored raw and quarantined below, with the reason
        raw, seen = stage_raw(s, row.raw(), channel="import", source=source, message_id=None,
                              at=at, identity=row.identity())
        if (seen and raw.status != "new") or raw.id in taken:
            results[source] = IntakeResult(source, "duplicate", reason="already imported")
            done += 1
        else:
            taken.add(raw.id)
            pending.append(_Pending(source, raw.id, row))
        if not dry_run and i % BATCH == 0:
            commit()
        if progress:
            progress(done, total)
    if not dry_run:
        commit()

    readable: list[tuple[_Pending, RegisterEntry]] = []
    for item in pending:
        try:
            entry = read_register_row(item.row.raw(), at, ctx.settings)
        except SubmissionError as exc:
            reason = str(exc)
            mark_raw(s, item.raw_id, "quarantined", reason)
            results[item.source] = IntakeResult(item.source, "quarantined", reason=reason,
                                                field=exc.field)
            done += 1
            if progress:
                progress(done, total)
            continue
        readable.append((item, entry))
    if not dry_run:
        commit()
    # Oldest first, so repeat contacts find the case their first contact opened.
    readable.sort(key=lambda pair: (pair[1].submission.submitted_at, pair[1].row))
    for item, entry in readable:
        try:
            result = log_in(s, ctx, entry.submission, raw_id=item.raw_id, source=item.source,
                            actor=actor, entry=entry)
        except Exception as exc:
            if dry_run:
                raise
            # Only this row's work is lost (the rows before it are committed); its raw row
            # stays `new` with the reason, and a retry or the next poll takes it again.
            s.rollback()
            results[item.source] = hold(ctx, item.raw_id, item.source, exc)
            continue
        if result.flags:
            result = replace(result, reason="to check: " + "; ".join(result.flags))
        results[item.source] = result
        done += 1
        if not dry_run:
            commit()  # one transaction per row
        if progress:
            progress(done, total)
    return [results[source_of(row)] for row in rows]


def rows_to_check(ctx: AppContext, actor_name: str | None) -> list[dict[str, Any]]:
    """Imported rows with something flagged (a stage not placed, a date that could be read
    two ways, a missing name...), newest import first: the list the IAT manager works
    through."""
    check_actor(ctx, actor_name, IMPORT_ROLES)
    with ctx.read() as read:
        found = read.session.execute(
            select(RawSubmission.id, RawSubmission.source, RawSubmission.received_at,
                   Case.reference, Case.state, Contact.flags)
            .join(Contact, Contact.raw_submission_id == RawSubmission.id)
            .join(Case, Case.id == Contact.case_id)
            .where(RawSubmission.channel == "import")
            .order_by(RawSubmission.received_at.desc(), RawSubmission.id)
        ).all()
    return [
        {"id": r.id, "source": r.source, "imported_at": r.received_at.isoformat(),
         "reference": r.reference, "state": r.state, "flags": list(r.flags)}
        for r in found
        if r.flags
    ]
