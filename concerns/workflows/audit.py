"""The audit trail: append-only events, each hash-chained to the one before.

Every row has two parts:
- the *frame*: case, event, actor, time, from and to state. It names no person.
- the *personal payload*: the event's data and note, which may hold what a person wrote.

The chain covers the frame and a salted hash of the payload:

    payload_hash = SHA-256(payload_salt + canonical JSON of {data, note})
    hash         = SHA-256(prev_hash + canonical JSON of the frame and payload_hash)

So erasing a person's data (anonymisation, docs/records.md) blanks `data`, `note` and the salt
and stamps `erased_at`, and the chain still verifies: the row keeps its payload_hash, which the
chain covers. The salt is random per row and destroyed with the payload, so nobody can confirm a
guessed name against the hash left behind. Editing a payload that was not erased changes its
recomputed payload_hash; editing a frame, a hash or deleting a row breaks the chain as before.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, ScalarSelect, Table, insert, select, text
from sqlalchemy.orm import Session

from concerns.db.engine import READ_ONLY
from concerns.db.models import Event
from concerns.db.prebuilt import PrebuiltWrite
from concerns.db.uow import same_transaction, transaction_of

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that serialises appends.
_CHAIN_LOCK = 0x434143


def _canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def payload_hash(salt: str, data: dict[str, Any] | None, note: str | None) -> str:
    content = _canonical({"data": data or {}, "note": note})
    return hashlib.sha256((salt + content).encode("utf-8")).hexdigest()


def _frame(
    case_id: int | None, event: str, actor: str, at: datetime, from_state: str | None,
    to_state: str | None, payload: str,
) -> str:
    return _canonical(
        {
            "case_id": case_id,
            "event": event,
            "actor": actor,
            "at": at.isoformat(timespec="microseconds"),
            "from": from_state,
            "to": to_state,
            "payload": payload,
        }
    )


def row_hash(prev_hash: str, event: Event) -> str:
    frame = _frame(event.case_id, event.event, event.actor, event.at, event.from_state,
                   event.to_state, event.payload_hash)
    return hashlib.sha256((prev_hash + frame).encode("utf-8")).hexdigest()


_HEAD = select(Event.__table__.c.hash).order_by(Event.__table__.c.id.desc()).limit(1)
# The chain's last hash as a column, for a statement that reads it with something else.
CHAIN_HEAD: ScalarSelect[str] = _HEAD.scalar_subquery()
# session.info key: the chain's last hash as read (or written) in the transaction holding it.
_KNOWN_HEAD = "concerns.audit_chain_head"


def head_readable_early(conn: Connection) -> bool:
    """Whether a write transaction on CONN may read the chain's head before it appends (with
    its first read, `remember_head`): on SQLite, where BEGIN IMMEDIATE took the database's only
    write lock, no other writer can append until it commits. On PostgreSQL the head is read
    only once the chain's lock is held, just before the append."""
    return conn.dialect.name == "sqlite" and not conn.get_execution_options().get(READ_ONLY)


def remember_head(session: Session, head: str | None) -> None:
    """HEAD is the chain's last hash, read in this transaction where `head_readable_early`
    allows: `append_event` chains to it without reading it again."""
    session.info[_KNOWN_HEAD] = (transaction_of(session), head or GENESIS)


_EVENTS = cast(Table, Event.__table__)
_INSERT = PrebuiltWrite(insert(_EVENTS))


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
) -> None:
    """Append one row. Call it last in a transaction: it holds the chain lock until commit.

    What the transaction has pending is written first (the row records a change that is
    stored); the row itself goes in by one prebuilt INSERT, past the ORM's unit of work (this
    runs for every event and every audited view)."""
    session.flush()
    conn = session.connection()
    early = head_readable_early(conn)
    known = session.info.get(_KNOWN_HEAD)
    if early and known is not None and same_transaction(known[0], session):
        prev = known[1]
    else:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
        # On SQLite the write lock taken by BEGIN IMMEDIATE already serialises appends.
        # Read on the transaction's own connection: every earlier row of this transaction is
        # seen.
        prev = conn.execute(_HEAD).scalar() or GENESIS
    salt = secrets.token_hex(16)
    plain = _jsonable(data or {})
    payload = payload_hash(salt, plain, note)
    frame = _frame(case_id, event, actor, at, from_state, to_state, payload)
    digest = hashlib.sha256((prev + frame).encode("utf-8")).hexdigest()
    _INSERT.run(conn, [{
        "case_id": case_id, "event": event, "actor": actor, "at": at,
        "from_state": from_state, "to_state": to_state, "data": plain, "note": note,
        "payload_salt": salt, "payload_hash": payload, "prev_hash": prev, "hash": digest,
    }])
    if early:
        # The next append in this transaction chains to this row.
        remember_head(session, digest)


def erase_payload(row: Event, at: datetime) -> None:
    """Blank the row's personal payload; the chain keeps its payload_hash (see above)."""
    row.data = {}
    row.note = None
    row.payload_salt = None
    row.erased_at = at


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return out


@dataclass(frozen=True)
class ChainReport:
    rows: int
    broken_at: int | None  # id of the first row that does not verify
    problem: str | None
    erased: int = 0  # rows whose personal payload was erased (still in the chain)


def _payload_problem(row: Event) -> str | None:
    if row.erased_at is not None:
        if row.data or row.note or row.payload_salt:
            return "it is marked erased but still holds a payload"
        return None
    if row.payload_salt is None:
        return "its payload salt is missing"
    if payload_hash(row.payload_salt, row.data, row.note) != row.payload_hash:
        return "its data or note was changed (payload hash differs)"
    return None


def verify_chain(session: Session, batch: int = 5000) -> ChainReport:
    prev = GENESIS
    count = 0
    erased = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(Event).where(Event.id > last_id).order_by(Event.id).limit(batch)
        ).all()
        if not rows:
            return ChainReport(count, None, None, erased)
        for row in rows:
            if row.prev_hash != prev:
                return ChainReport(
                    count, row.id, "the row before it was changed or deleted (prev_hash differs)",
                    erased,
                )
            if row_hash(prev, row) != row.hash:
                return ChainReport(count, row.id, "its content was changed (hash differs)", erased)
            problem = _payload_problem(row)
            if problem:
                return ChainReport(count, row.id, problem, erased)
            erased += row.erased_at is not None
            prev = row.hash
            count += 1
            last_id = row.id
        session.expunge_all()
