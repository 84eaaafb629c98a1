"""The reminder sweep: turn what is due into Notification rows, each exactly once.

The sweep reads only running deadlines due on or before a horizon a day or so ahead, through the
(status, due_date) index, so its cost follows what is due, not the size of the register. Each
notification has a unique key (case, clock, level, due date, deadline, recipient) and is created
with INSERT … ON CONFLICT DO NOTHING: sweeps that overlap (several scheduler processes, a sweep
after days of downtime) create nothing twice. Delivery is the outbox's job.
"""

from __future__ import annotations

import logging
import time as timer
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import Row, Table, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from concerns.db.models import Case, Deadline, Notification, User, UserRole
from concerns.workflows.context import AppContext
from concerns.workflows.records.retention import start_due_reviews
from concerns.workflows.reminder_rules import (
    BEFORE_DUE,
    CHASE,
    DIRECTOR,
    DUE_DAY,
    IAT_MANAGER,
    OVERDUE,
    DeadlineFacts,
    DueReminder,
    ReminderPolicy,
    chase_horizons,
    digest_date,
    reminders_due,
    selection_horizon,
)

log = logging.getLogger("concerns.reminders")

REMINDER = "reminder"
DIGEST = "digest"

CLOCK_LABELS = {
    "acknowledge": "acknowledgement",
    "complaints_triage": "complaints triage decision",
    "legal_triage": "legal triage decision",
    "offer_reply": "reply to the complaints-route offer",
    "information_wait": "information requested from the person",
    "review": "learning review",
    "signoff": "Director's sign-off",
    "letter": "outcome letter",
    "signature": "Director's signature",
    "dispatch": "sending the signed letter",
    "reply_window": "reply window",
    "meeting_offer": "meeting offer",
    "escalation": "safeguarding escalation",
    "action": "action arising from a learning review",
    "retention_review": "retention review decision",
    "subject_access": "subject access response (one calendar month)",
}


def clock_label(clock: str) -> str:
    return CLOCK_LABELS.get(clock, clock.replace("_", " "))


def reminder_key(
    case_id: int, clock: str, level: str, due: date, deadline_id: int, user_id: int
) -> str:
    return f"{REMINDER}:{case_id}:{clock}:{level}:{due.isoformat()}:{deadline_id}:{user_id}"


def reminder_key_due_date(key: str) -> date | None:
    """The due date a reminder was made for (the outbox checks it still holds)."""
    parts = key.split(":")
    if len(parts) != 7 or parts[0] != REMINDER:
        return None
    return date.fromisoformat(parts[4])


def digest_key(user_id: int, day: date) -> str:
    return f"{DIGEST}:{user_id}:{day.isoformat()}"


@dataclass
class SweepResult:
    created: int = 0
    items: list[dict[str, str]] = field(default_factory=list)
    digests: int = 0
    considered: int = 0
    # Reminders owed to a role nobody active holds (no IAT manager, say): logged as a warning.
    unaddressed: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"created": self.created, "items": self.items, "digests": self.digests}


@dataclass(frozen=True)
class _Recipient:
    id: int
    username: str
    email: str


class _Directory:
    """Who holds which role, and who owns what: loaded once per sweep, a handful of rows."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._by_role: dict[str, list[_Recipient]] = {}
        self._by_id: dict[int, _Recipient | None] = {}

    def role(self, role: str) -> list[_Recipient]:
        if role not in self._by_role:
            rows = self.session.execute(
                select(User.id, User.username, User.email)
                .join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == role, User.active.is_(True))
                .order_by(User.id)
            ).all()
            self._by_role[role] = [_Recipient(r.id, r.username, r.email or "") for r in rows]
        return self._by_role[role]

    def load_users(self, ids: Iterable[int]) -> None:
        wanted = {i for i in ids if i not in self._by_id}
        if not wanted:
            return
        for i in wanted:
            self._by_id[i] = None
        rows = self.session.execute(
            select(User.id, User.username, User.email).where(
                User.id.in_(wanted), User.active.is_(True)
            )
        ).all()
        for r in rows:
            self._by_id[r.id] = _Recipient(r.id, r.username, r.email or "")

    def owners(self, owner_user_id: int | None, owner_role: str) -> list[_Recipient]:
        """The named owner, else everyone holding the owning role (a DCS queue, say)."""
        if owner_user_id is not None:
            user = self._by_id.get(owner_user_id)
            # A disabled owner's reminders go to the owning role instead.
            return [user] if user else self.role(owner_role)
        return self.role(owner_role)

    def resolve(self, to: str, owner_user_id: int | None, owner_role: str) -> list[_Recipient]:
        if to == IAT_MANAGER:
            return self.role(IAT_MANAGER)
        if to == DIRECTOR:
            return self.role(DIRECTOR)
        return self.owners(owner_user_id, owner_role)


def _due_deadlines(
    session: Session, horizon: date, chase: dict[str, date]
) -> Sequence[Row[Any]]:
    """Running deadlines that may be owed something: one range read of the status/due index."""
    conditions = [Deadline.due_date <= horizon]
    latest = horizon
    for clock, until in chase.items():
        if until > horizon:
            conditions.append(and_(Deadline.clock == clock, Deadline.due_date <= until))
            latest = max(latest, until)
    # The plain upper bound lets the planner walk the (status, due_date) index as one range; the
    # order is made here, not with ORDER BY id, which SQLite would serve by scanning the whole
    # table in id order instead.
    rows = session.execute(
        select(
            Deadline.id,
            Deadline.case_id,
            Deadline.clock,
            Deadline.status,
            Deadline.due_date,
            Deadline.started_on,
            Deadline.working_days,
            Deadline.owner_role,
            Deadline.owner_user_id,
            Case.reference,
        )
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.status == "running", Deadline.due_date <= latest, or_(*conditions))
    ).all()
    return sorted(rows, key=lambda row: row.id)


def sweep(ctx: AppContext, now: datetime | None = None) -> SweepResult:
    """One sweep at NOW: create every reminder, escalation and digest now owed, once each."""
    started = timer.perf_counter()
    now = now or ctx.now()
    cal = ctx.calendar
    policy = ReminderPolicy.from_settings(ctx.settings)
    result = SweepResult()
    with ctx.uow() as uow:
        session = uow.session
        # Closed cases whose retention review date has come join the information officer's
        # queue with a clock of their own, reminded like every other.
        start_due_reviews(session, ctx, now)
        rows = _due_deadlines(
            session, selection_horizon(cal, policy, now), chase_horizons(cal, policy, now)
        )
        result.considered = len(rows)
        directory = _Directory(session)
        directory.load_users(r.owner_user_id for r in rows if r.owner_user_id is not None)
        values: list[dict[str, Any]] = []
        shown: dict[str, dict[str, str]] = {}
        for row in rows:
            owners = directory.owners(row.owner_user_id, row.owner_role)
            facts = DeadlineFacts(
                clock=row.clock,
                status=row.status,
                due_date=row.due_date,
                started_on=row.started_on,
                working_days=row.working_days,
                owner=owners[0].username if owners else None,
            )
            for due in reminders_due(cal, policy, facts, now):
                people = directory.resolve(due.to, row.owner_user_id, row.owner_role)
                if not people:
                    result.unaddressed += 1
                for person in people:
                    key = reminder_key(
                        row.case_id, row.clock, due.level, row.due_date, row.id, person.id
                    )
                    values.append(_reminder_values(key, row, due, person))
                    shown[key] = {
                        "reference": row.reference,
                        "clock": row.clock,
                        "level": due.level,
                        "to": person.username,
                    }
        created = insert_notifications(session, values)
        made = set(created)
        result.items = [item for key, item in shown.items() if key in made]
        result.created = len(created)
        day = digest_date(cal, policy, now)
        if day is not None:
            digests = _digests(session, directory, day, now)
            result.digests = len(insert_notifications(session, digests))
        uow.commit()
    result.seconds = timer.perf_counter() - started
    if result.unaddressed:
        log.warning(
            "reminder sweep: %d reminder(s) owed to a role no active user holds",
            result.unaddressed,
        )
    log.info(
        "reminder sweep: considered=%d created=%d digests=%d duration_ms=%.1f",
        result.considered,
        result.created,
        result.digests,
        result.seconds * 1000,
    )
    return result


def insert_notifications(session: Session, values: list[dict[str, Any]]) -> list[str]:
    """Insert rows whose key is new, skipping the rest without error; the keys inserted.

    Rows go in key order, so two sweeps inserting the same keys at once wait on each other
    instead of deadlocking.
    """
    if not values:
        return []
    values = sorted({v["key"]: v for v in values}.values(), key=lambda v: str(v["key"]))
    table = cast(Table, Notification.__table__)
    dialect = session.get_bind().dialect.name
    # Core executemany: SQLAlchemy batches the rows into multi-row INSERTs ("insertmanyvalues")
    # with one compiled statement, and RETURNING tells which keys were new.
    stmt: postgresql.Insert | sqlite.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    else:  # pragma: no cover - only the two supported databases
        raise RuntimeError(f"unsupported database: {dialect}")
    return list(session.execute(stmt.returning(table.c.key), values).scalars())


def _reminder_values(
    key: str, row: Row[Any], due: DueReminder, person: _Recipient
) -> dict[str, Any]:
    subject, body = _reminder_text(row.reference, row.clock, due.level, row.due_date)
    return {
        "key": key,
        "kind": REMINDER,
        "case_id": row.case_id,
        "deadline_id": row.id,
        "letter_id": None,
        "level": due.level,
        "recipient_user_id": person.id,
        "to_address": person.email,
        "subject": subject,
        "body": body,
        "status": "pending",
        "send_after": due.send_after,
        "attempts": 0,
        "created_at": datetime.now(UTC),
    }


def _reminder_text(reference: str, clock: str, level: str, due: date) -> tuple[str, str]:
    # Staff emails carry the case reference only: no names or concern text leave the system.
    label = clock_label(clock)
    when = due.strftime("%A %d %B %Y")
    if level == OVERDUE:
        subject = f"Overdue: {reference} – {label} was due {when}"
        lead = f"The {label} on case {reference} was due on {when} and has not been done."
    elif level == DUE_DAY:
        subject = f"Due today: {reference} – {label}"
        lead = f"The {label} on case {reference} is due today, {when}."
    elif level == BEFORE_DUE:
        subject = f"Reminder: {reference} – {label} due {when}"
        lead = f"The {label} on case {reference} is due on {when}."
    elif level == CHASE:
        subject = f"Chase: {reference} – {label}"
        lead = (
            f"The {label} on case {reference} has been waiting a while; "
            f"consider chasing it. It is due on {when}."
        )
    else:
        subject = f"{reference} – {label}"
        lead = f"The {label} on case {reference} is due on {when}."
    body = f"{lead}\n\nOpen the case for details: concerns case show {reference}\n"
    return subject, body


def _digests(
    session: Session, directory: _Directory, day: date, now: datetime
) -> list[dict[str, Any]]:
    """One digest per person of the running deadlines they own that are overdue on DAY."""
    rows = session.execute(
        select(
            Deadline.id,
            Deadline.clock,
            Deadline.due_date,
            Deadline.owner_role,
            Deadline.owner_user_id,
            Case.reference,
        )
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.status == "running", Deadline.due_date < day)
        .order_by(Deadline.due_date, Case.reference)
    ).all()
    directory.load_users(r.owner_user_id for r in rows if r.owner_user_id is not None)
    owned: dict[_Recipient, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        for person in directory.owners(row.owner_user_id, row.owner_role) or directory.role(
            IAT_MANAGER
        ):
            owned[person].append(row)
    values = []
    for person, items in owned.items():
        lines = [
            f"- {r.reference}: {clock_label(r.clock)}, due {r.due_date.strftime('%a %d %b %Y')}"
            for r in items
        ]
        values.append(
            {
                "key": digest_key(person.id, day),
                "kind": DIGEST,
                "case_id": None,
                "deadline_id": None,
                "letter_id": None,
                "level": None,
                "recipient_user_id": person.id,
                "to_address": person.email,
                "subject": f"Overdue today: {len(items)} deadline"
                f"{'' if len(items) == 1 else 's'} you own",
                "body": "These deadlines you own are overdue:\n\n" + "\n".join(lines) + "\n",
                "status": "pending",
                "send_after": now,
                "attempts": 0,
                "created_at": datetime.now(UTC),
            }
        )
    return values
