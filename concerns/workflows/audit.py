"""The audit trail: append-only events, each hash-chained to the one before.

hash = SHA-256(previous hash + canonical JSON of the row's content). Editing or deleting any row
breaks the chain from that row on, which `verify_chain` reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from concerns.db.models import Event

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK = 0x434143


def _content(event: Event) -> str:
    return json.dumps(
        {
            "case_id": event.case_id,
            "event": event.event,
            "actor": event.actor,
            "at": event.at.isoformat(timespec="microseconds"),
            "from": event.from_state,
            "to": event.to_state,
            "data": event.data,
            "note": event.note,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


def row_hash(prev_hash: str, event: Event) -> str:
    return hashlib.sha256((prev_hash + _content(event)).encode("utf-8")).hexdigest()


def append_event(
    session: Session,
    *,
    event: str,
    actor: str,
    at: datetime,
    case_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    data: dict[str, Any] | None = None,
    note: str | None = None,
) -> Event:
    """Append one row. Call it last in a transaction: it holds the chain lock until commit."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    # On SQLite the write lock taken by BEGIN IMMEDIATE already serialises appends.
    last = session.scalars(select(Event.hash).order_by(Event.id.desc()).limit(1)).first()
    row = Event(
        case_id=case_id,
        event=event,
        actor=actor,
        at=at.replace(microsecond=at.microsecond),
        from_state=from_state,
        to_state=to_state,
        data=_jsonable(data or {}),
        note=note,
        prev_hash=last or GENESIS,
    )
    row.hash = row_hash(row.prev_hash, row)
    session.add(row)
    session.flush()
    return row


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return out


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None  # id of the first row that does not verify
    problem: str | None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    prev = GENESIS
    count = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(Event).where(Event.id > last_id).order_by(Event.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(count, None, None)
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(
                    count, row.id, "the row before it was changed or deleted (prev_hash differs)"
                )
            if row_hash(prev, row) != row.hash:
                return ChainReport(count, row.id, "its content was changed (hash differs)")
            prev = row.hash
            count += 1
            last_id = row.id
        session.expunge_all()
