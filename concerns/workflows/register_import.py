"""Bringing in the legacy register (CSV or XLSX), each row at the stage it recorded.

Every row is stored raw first (as the JSON of its cells), then read; rows are logged in the order
they were received, so a later row from the same person finds the earlier one's case. A dry run
does all of it inside one transaction and rolls it back: it reports exactly what each row would
become, and stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from concerns.triage.spreadsheet import RegisterEntry, RegisterRow, read_register
from concerns.triage.submission import SubmissionError
from concerns.workflows.context import AppContext
from concerns.workflows.intake import (
    IntakeResult,
    check_actor,
    log_in,
    mark_raw,
    stage_raw,
)
from concerns.workflows.parsing import read_register_row

IMPORT_ROLES = frozenset({"iat_officer", "iat_manager"})
# Raw rows are committed in batches: each batch is stored before any of its rows is read.
BATCH = 500

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class _Pending:
    source: str
    raw_id: int
    row: RegisterRow


def import_register(
    ctx: AppContext,
    data: bytes,
    filename: str,
    actor_name: str | None,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> list[IntakeResult]:
    """One result per row (source "FILE:row N"), or one for the file if it cannot be read."""
    actor = check_actor(ctx, actor_name, IMPORT_ROLES)
    with ctx.uow() as uow:
        results = _run(ctx, uow.session, data, filename, actor, dry_run, progress,
                       commit=uow.commit)
        if not dry_run:
            uow.commit()
    if dry_run:
        # Cases opened by the dry run were rolled back: their references mean nothing yet.
        opened = {r.reference for r in results if r.status == "new_case"}
        results = [replace(r, reference=None) if r.reference in opened else r for r in results]
    return results


def _run(
    ctx: AppContext, s: Session, data: bytes, filename: str, actor: str, dry_run: bool,
    progress: Progress | None, commit: Callable[[], None],
) -> list[IntakeResult]:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:200]
    at = ctx.now()
    try:
        rows = read_register(data, filename)
    except SubmissionError as exc:
        # The file itself is kept, so nothing sent to us is lost even when no row can be read.
        raw, seen = stage_raw(s, data, channel="import", source=name, message_id=None, at=at)
        if not seen:
            mark_raw(s, raw.id, "quarantined", str(exc))
        return [IntakeResult(name, "quarantined", reason=str(exc), field=exc.field)]

    total = len(rows) * 2
    done = 0
    results: dict[str, IntakeResult] = {}
    pending: list[_Pending] = []
    taken: set[int] = set()
    for i, row in enumerate(rows, start=1):
        source = f"{name}:row {row.row}"
        raw, seen = stage_raw(s, row.raw(), channel="import", source=source, message_id=None,
                              at=at)
        if (seen and raw.status != "new") or raw.id in taken:
            results[source] = IntakeResult(source, "duplicate", reason="already imported")
        else:
            taken.add(raw.id)
            pending.append(_Pending(source, raw.id, row))
        done += 1
        if not dry_run and i % BATCH == 0:
            commit()
        if progress:
            progress(done, total)
    if not dry_run:
        commit()

    readable: list[tuple[_Pending, RegisterEntry]] = []
    for item in pending:
        try:
            entry = read_register_row(item.row.raw(), at, ctx.settings, row=item.row.row)
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
    # Oldest first, so repeat contacts find the case their first contact opened.
    readable.sort(key=lambda pair: (pair[1].submission.submitted_at, pair[1].row))
    for i, (item, entry) in enumerate(readable, start=1):
        results[item.source] = log_in(s, ctx, entry.submission, raw_id=item.raw_id,
                                      source=item.source, actor=actor, entry=entry)
        done += 1
        if not dry_run and i % BATCH == 0:
            commit()
        if progress:
            progress(done, total)
    return [results[f"{name}:row {row.row}"] for row in rows]
