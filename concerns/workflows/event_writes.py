"""Writing an event's case and clocks by Core statements, past the ORM's unit of work.

Every event changes its case (state, version, dates) and usually a clock or two. The ORM's flush
of those few rows cost about as much as the rest of the event together, so they are written here
by plain UPDATEs and INSERTs on the event's connection, with the same effect:

- the case by one `UPDATE cases SET … WHERE id = ? AND version = ?`, the version bumped by one;
  no row matched means someone else's change committed first: StaleDataError, as the ORM raises,
  which the event turns into "the case changed, reload";
- each clock changed by one UPDATE by id; the clocks started by INSERTs in the order started (one
  executemany for those that set the same columns);
- each statement compiled once and run on the driver's cursor (db.prebuilt.PrebuiltWrite).

The objects are then left as a flush would leave them (changed ones clean, new clocks out of the
session: nothing in the event reads them again), so the ORM's flush that follows writes only
what else the event added (a letter, an outbox email). Anything these cannot write as plain
columns (a changed relationship) is left to that flush.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError

from concerns.db.models import Case, Deadline
from concerns.db.prebuilt import PrebuiltWrite
from concerns.db.uow import same_transaction, transaction_of
from concerns.workflows.clocks import forget_stored, held_clocks

_CASES = cast(Table, Case.__table__)
_DEADLINES = cast(Table, Deadline.__table__)


def _columns(mapper: Mapper[Any]) -> dict[str, str]:
    """Attribute key → column name, for the mapper's plain column attributes."""
    return {p.key: p.columns[0].key for p in mapper.column_attrs}


_CASE_COLUMNS = _columns(inspect(Case))
_DEADLINE_COLUMNS = _columns(inspect(Deadline))
# Parameters of the WHERE clause, named apart from every column (the SET clause's keys).
_UPDATE_CASE = PrebuiltWrite(update(_CASES).where(
    _CASES.c.id == bindparam("where_id"), _CASES.c.version == bindparam("where_version")
))
_UPDATE_DEADLINE = PrebuiltWrite(
    update(_DEADLINES).where(_DEADLINES.c.id == bindparam("where_id"))
)
_INSERT_DEADLINE = PrebuiltWrite(insert(_DEADLINES))
# session.info key: the case whose version this transaction has moved on already.
_WRITTEN = "concerns.case_written"


def _changes(obj: object, columns: dict[str, str]) -> dict[str, Any] | None:
    """OBJ's changed columns as {column: new value}; None when something else changed too."""
    state = instance_state(obj)
    changed = state.committed_state
    if any(key not in columns for key in changed):
        return None
    values = state.dict
    # A column set to the value it had is not written (as the ORM leaves it out).
    return {
        columns[key]: values.get(key)
        for key, old in changed.items()
        if old is NO_VALUE or old != values.get(key)
    }


def _clean(session: Session, obj: object) -> None:
    """Mark OBJ as a flush leaves it: what it holds now is what is stored."""
    state = instance_state(obj)
    state._commit_all(state.dict, session.identity_map)


def write_case_and_clocks(session: Session, case: Case) -> None:
    """Write CASE's changes (with its version check) and its clocks' (see the module docstring)."""
    conn = session.connection()
    # The clocks started here leave the session: what `open_deadlines` kept no longer holds.
    forget_stored(session)
    added = sorted(
        (d for d in session.new if type(d) is Deadline),
        key=lambda d: instance_state(d).insert_order or 0,
    )
    # Those the event held off the session were started after any added to it (`start_clock`).
    held = held_clocks(session)
    for obj in list(session.dirty):
        if type(obj) is Deadline:
            changes = _changes(obj, _DEADLINE_COLUMNS)
            if changes is None:
                continue
            if changes:
                _UPDATE_DEADLINE.run(conn, [changes | {"where_id": obj.id}])
            _clean(session, obj)
    rows = []
    for deadline in (*added, *held):
        values = instance_state(deadline).dict
        rows.append({
            column: values[key]
            for key, column in _DEADLINE_COLUMNS.items()
            # As the ORM does: an attribute left None lets the column's default apply.
            if values.get(key) is not None
        })
    for deadline in added:
        session.expunge(deadline)
    # Clocks that set the same columns go in by one executemany, in the order started.
    for _, group in itertools.groupby(rows, key=lambda row: row.keys()):
        _INSERT_DEADLINE.run(conn, list(group))
    changes = _changes(case, _CASE_COLUMNS)
    if changes:
        changes.pop("version", None)
        version = case.version
        # One event, one new version: written again in the same transaction (after hooks that
        # changed it), the case keeps the version its first write gave it, checked as before.
        kept = session.info.get(_WRITTEN)
        bumped = kept is not None and kept[1] == case.id and same_transaction(kept[0], session)
        changes["version"] = version if bumped else version + 1
        matched = _UPDATE_CASE.run(
            conn, [changes | {"where_id": case.id, "where_version": version}]
        )
        if matched != 1:
            raise StaleDataError(
                f"UPDATE statement on table 'cases' expected to update 1 row(s); "
                f"{matched} were matched."
            )
        case.version = changes["version"]
        _clean(session, case)
        session.info[_WRITTEN] = (transaction_of(session), case.id)
