"""SLA clocks on a case: Deadline rows started, met, paused, resumed and extended as events fire.

A deadline's due date is always worked out by the calendar from three stored facts: the date it
started, how many days it runs (the stage's target plus any extension) and its pauses. The whole
working-out is kept on the row as `explanation` (from what date, how many days, which holidays,
closures and pauses were skipped, who extended it and why) so staff can check it in `case show`.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.instrumentation import manager_of_class

from concerns.db.models import Case, Deadline
from concerns.db.prebuilt import Prebuilt, one_of
from concerns.db.uow import same_transaction, transaction_of
from concerns.workflows.calendar import DueDateExplanation, WorkingCalendar
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.machine import clock_label
from concerns.workflows.settings import Settings

OPEN_STATUSES = ("running", "paused")
# Actions arising from a review, and a person's subject access request, outlive the case they
# hang on: closing it or asking the person for information leaves them running.
OUTLIVES_CASE = frozenset({"action", "subject_access"})
# Safeguarding does not wait for the person's reply.
NEVER_PAUSED = frozenset({"escalation"}) | OUTLIVES_CASE


def _pauses(explanation: dict[str, Any]) -> list[tuple[date, date | None]]:
    return [
        (date.fromisoformat(p["from"]), date.fromisoformat(p["to"]) if p.get("to") else None)
        for p in explanation.get("pauses", [])
    ]


def _work_out(
    calendar: WorkingCalendar, explanation: dict[str, Any], pauses: list[tuple[date, date | None]]
) -> DueDateExplanation:
    start = date.fromisoformat(explanation["from"])
    days = int(explanation["days"]) + int(explanation.get("extra_days", 0))
    return calendar.explain(start, days, pauses=pauses, working=bool(explanation["working_days"]))


def _worked_out(explanation: dict[str, Any], worked: DueDateExplanation) -> dict[str, Any]:
    """The working-out kept on the row (and its due date when there is one); the extension
    history stays as it was."""
    data = worked.to_dict()
    data["days"] = explanation["days"]
    data["extra_days"] = int(explanation.get("extra_days", 0))
    data["extensions"] = list(explanation.get("extensions", []))
    for ext in data["extensions"]:
        data["text"] += (
            f"; extended from {ext['from']} to {ext['to']} by {ext['by']} ({ext['reason']})"
        )
    if worked.due is None:
        return {"explanation": data}
    return {"explanation": data, "due_date": worked.due}


def _store(deadline: Deadline, explanation: dict[str, Any], worked: DueDateExplanation) -> None:
    """Keep the working-out on the row."""
    for key, value in _worked_out(explanation, worked).items():
        setattr(deadline, key, value)


_DEADLINES = manager_of_class(Deadline)


def _new_deadline(values: dict[str, Any]) -> Deadline:
    """A new (transient) Deadline holding VALUES, as `Deadline(**values)` makes it but without
    an attribute event per value (most of the cost of starting a clock): nothing is tracked on
    a row not yet stored, and a flush or `event_writes` inserts what it holds."""
    deadline: Deadline = _DEADLINES.new_instance()
    deadline.__dict__.update(values)
    return deadline


def start_clock(
    session: Session,
    settings: Settings,
    calendar: WorkingCalendar,
    case: Case,
    clock: str,
    at: datetime,
    *,
    escalation_id: int | None = None,
    days: int | None = None,
    hold: bool = False,
) -> Deadline:
    """Start CLOCK on CASE at AT, counting from that moment's local date; DAYS replaces the
    clock's target (an action runs to the date the reviewer set).

    With HOLD (a lifecycle event's own clocks) the new row is held off the session until the
    event writes it by Core (`event_writes`, `held_clocks`): adding it to the session and taking
    it out again cost more than making it. Anything flushed first takes it along, in order."""
    spec = settings.clock(clock)
    start = calendar.local_date(at)
    reviewer_clock = spec.owner == "reviewer"
    target = spec.target if days is None else days
    explanation, worked = _first_run(settings, calendar, clock, at, target)
    deadline = _new_deadline({
        "case_id": case.id,
        "clock": clock,
        "status": "running",
        "started_on": start,
        "target_days": target,
        "working_days": spec.working,
        "owner_role": "iat_officer" if reviewer_clock else spec.owner,
        "owner_user_id": case.reviewer_id if reviewer_clock else None,
        "escalation_id": escalation_id,
    } | _worked_out(explanation, worked))
    if hold:
        _hold(session, deadline)
    else:
        _add(session, deadline)
    return deadline


def start_month_clock(
    session: Session, settings: Settings, calendar: WorkingCalendar, case: Case, clock: str,
    at: datetime,
) -> Deadline:
    """Start CLOCK running one calendar month from AT's local date (a statutory month, not a
    count of days: WorkingCalendar.one_calendar_month)."""
    spec = settings.clock(clock)
    start = calendar.local_date(at)
    due = calendar.one_calendar_month(start)
    deadline = Deadline(
        case_id=case.id, clock=clock, status="running", started_on=start,
        target_days=(due - start).days, working_days=False, due_date=due,
        owner_role=spec.owner,
        explanation={
            "from": start.isoformat(), "days": (due - start).days, "working_days": False,
            "calendar_month": True, "due": due.isoformat(),
            "text": f"one calendar month from {start.isoformat()}: due {due.isoformat()} "
                    "(the next working day when the month ends on a closed day)",
        },
    )
    _add(session, deadline)
    return deadline


def _first_run(
    settings: Settings, calendar: WorkingCalendar, clock: str, at: datetime,
    days: int | None = None,
) -> tuple[dict[str, Any], DueDateExplanation]:
    spec = settings.clock(clock)
    start = calendar.local_date(at)
    target = spec.target if days is None else days
    explanation = {"from": start.isoformat(), "days": target, "working_days": spec.working}
    # A clock's first run depends on nothing but the calendar, the day it starts and its days:
    # worked out once for each (nearly every event starts a clock).
    runs = _FIRST_RUNS.setdefault(calendar, {})
    key = (start, target, spec.working)
    worked = runs.get(key)
    if worked is None:
        if len(runs) >= _FIRST_RUNS_KEPT:
            runs.clear()
        worked = runs[key] = _work_out(calendar, explanation, [])
    return explanation, worked


# Each calendar's first runs worked out so far (a calendar's days never change once made),
# a few hundred at most.
_FIRST_RUNS: weakref.WeakKeyDictionary[
    WorkingCalendar, dict[tuple[date, int, bool], DueDateExplanation]
] = weakref.WeakKeyDictionary()
_FIRST_RUNS_KEPT = 512


def due_if_started(
    settings: Settings, calendar: WorkingCalendar, clock: str, at: datetime
) -> date | None:
    """The due date CLOCK would have if started at AT (what `start_clock` stores), without
    touching the database: a letter made before its event's transaction quotes it."""
    return _first_run(settings, calendar, clock, at)[1].due


def open_deadlines(
    session: Session, case: Case, statuses: Iterable[str] = OPEN_STATUSES
) -> list[Deadline]:
    """CASE's open clocks as this transaction has left them, in the order they started.

    Read without autoflush: an event reads its clocks several times while it changes the case,
    and each flush would write the case again (its version jumping by two). Instead the rows are
    taken as they stand in memory: clocks met or paused earlier in the event are filtered by
    their current status, and clocks started but not yet flushed are included."""
    wanted = tuple(statuses)
    known = session.info.get(_STORED)
    if known is not None and known[1] == case.id and same_transaction(known[0], session):
        stored = known[2]
    else:
        with session.no_autoflush:
            stored = list(session.scalars(_OPEN, {"case_id": case.id}))
    started = [d for d in session.new if isinstance(d, Deadline) and d.case_id == case.id]
    held = [d for d in _held(session) if d.case_id == case.id]
    return [d for d in (*stored, *started, *held) if d.status in wanted]


# Each open clock's name and due date, as plain columns (see open_due_dates).
_OPEN_DUE = Prebuilt(
    select(Deadline.clock, Deadline.due_date)
    .where(Deadline.case_id == bindparam("case_id"),
           one_of(Deadline.status, OPEN_STATUSES))
    .order_by(Deadline.id)
)


def open_due_dates(session: Session, case: Case) -> dict[str, date]:
    """When each of CASE's open clocks is due (the first started, for a clock open twice), as
    this transaction has left them: what a letter quotes. Once the event has written its clocks
    (an event's hooks run after), read as two plain columns rather than as mapped clocks."""
    known = session.info.get(_STORED)
    current = known is not None and known[1] == case.id and same_transaction(known[0], session)
    pending = current or _held(session) or any(
        type(obj) is Deadline for obj in (*session.new, *session.dirty))
    due: dict[str, date] = {}
    if pending:
        for deadline in open_deadlines(session, case):
            due.setdefault(deadline.clock, deadline.due_date)
        return due
    for clock, due_date in _OPEN_DUE.rows(session.connection(), {"case_id": case.id}):
        due.setdefault(clock, due_date)
    return due


# session.info key: one case's open clocks as stored, read in the transaction that holds them.
_STORED = "concerns.open_clocks_stored"


def remember_stored(session: Session, case_id: int, rows: list[Deadline]) -> None:
    """ROWS are CASE_ID's open clocks as stored, in the order they started, just read in this
    transaction (with the case, as an event does): `open_deadlines` takes them from here instead
    of reading them again, until anything is flushed or written past the ORM."""
    session.info[_STORED] = (transaction_of(session), case_id, rows)


def forget_stored(session: Session) -> None:
    """What is stored may have changed: `open_deadlines` reads the clocks again."""
    session.info.pop(_STORED, None)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush_context: object) -> None:
    # A flush may have stored a clock started in this transaction (no longer in session.new).
    forget_stored(session)


# session.info key: the clocks started with `hold` in the transaction that holds them, in the
# order started, neither stored nor in the session yet.
_HELD = "concerns.clocks_held"


def _held(session: Session) -> list[Deadline]:
    kept = session.info.get(_HELD)
    if kept is None or not same_transaction(kept[0], session):
        return []
    rows: list[Deadline] = kept[1]
    return rows


def _hold(session: Session, deadline: Deadline) -> None:
    rows = _held(session)
    if not rows:
        session.info[_HELD] = (transaction_of(session), rows)
    rows.append(deadline)


def held_clocks(session: Session) -> list[Deadline]:
    """Take the clocks started with `hold` and not yet stored, in the order started: the caller
    writes them (they are no longer held, and were never in the session)."""
    rows = _held(session)
    session.info.pop(_HELD, None)
    return rows


def _add(session: Session, deadline: Deadline) -> None:
    """Add DEADLINE to the session after the clocks held before it (the order they started is
    the order they are stored, and so of their ids)."""
    session.add_all(held_clocks(session))
    session.add(deadline)


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, _flush_context: object, _instances: object) -> None:
    # Anything flushed while clocks are held (a hook's rows, an autoflush) stores them too, as
    # it would have had they been in the session all along.
    held = held_clocks(session)
    if held:
        session.add_all(held)


_OPEN = (
    select(Deadline)
    .where(Deadline.case_id == bindparam("case_id"), Deadline.status.in_(OPEN_STATUSES))
    .order_by(Deadline.id)
)


def _open(
    session: Session, case: Case, statuses: Iterable[str], rows: list[Deadline] | None
) -> list[Deadline]:
    """The open clocks: from ROWS when the caller has read them in this transaction already
    (`open_deadlines`, kept up to date with what it started since), else read now."""
    if rows is None:
        return open_deadlines(session, case, statuses)
    wanted = tuple(statuses)
    return [d for d in rows if d.status in wanted]


def days_taken(calendar: WorkingCalendar, deadline: Deadline, met_on: date) -> int:
    """The days DEADLINE ran up to MET_ON (working days for a working-day clock), leaving out
    its pauses: what the timeliness figures count."""
    working = bool(deadline.working_days)
    segment_start = deadline.started_on
    taken = 0
    for paused_on, resumed_on in _pauses(dict(deadline.explanation or {})):
        end = min(paused_on, met_on)
        taken += max(0, calendar.days_between(segment_start, end, working=working))
        if resumed_on is None or resumed_on >= met_on:
            return taken
        segment_start = resumed_on
    return taken + max(0, calendar.days_between(segment_start, met_on, working=working))


def finish(
    deadline: Deadline, at: datetime, calendar: WorkingCalendar | None, status: str = "met"
) -> None:
    """Stop one deadline at AT, keeping the day and the days taken for the timeliness figures."""
    if calendar is not None:
        deadline.met_on = calendar.local_date(at)
        deadline.working_days_taken = days_taken(calendar, deadline, deadline.met_on)
    deadline.status = status
    deadline.met_at = at
    deadline.paused_on = None
    deadline.remaining_days = None


def stop_clocks(
    session: Session,
    case: Case,
    clocks: Iterable[str],
    at: datetime,
    *,
    calendar: WorkingCalendar | None = None,
    rows: list[Deadline] | None = None,
) -> None:
    """Mark the named running (or paused) clocks met; "*" stops every open clock of the case
    (not the actions arising, which run on after it closes)."""
    names = set(clocks)
    for deadline in _open(session, case, OPEN_STATUSES, rows):
        if deadline.clock in names or ("*" in names and deadline.clock not in OUTLIVES_CASE):
            finish(deadline, at, calendar)


def pause_clocks(
    session: Session, calendar: WorkingCalendar, case: Case, at: datetime,
    rows: list[Deadline] | None = None,
) -> None:
    """Pause every running clock, keeping the days it had left (or was already late by)."""
    today = calendar.local_date(at)
    for deadline in _open(session, case, ("running",), rows):
        if deadline.clock in NEVER_PAUSED:
            continue
        explanation = dict(deadline.explanation)
        pauses = _pauses(explanation)
        # A pause never starts before the last resumption (clocks only move forward).
        last = pauses[-1][1] if pauses else date.fromisoformat(explanation["from"])
        paused_on = max(today, last or today)
        worked = _work_out(calendar, explanation, [*pauses, (paused_on, None)])
        _store(deadline, explanation, worked)
        deadline.status = "paused"
        deadline.paused_on = paused_on
        deadline.remaining_days = worked.remaining


def resume_clocks(
    session: Session, calendar: WorkingCalendar, case: Case, at: datetime,
    rows: list[Deadline] | None = None,
) -> None:
    """Resume paused clocks with the days they had left, counted from today."""
    today = calendar.local_date(at)
    for deadline in _open(session, case, ("paused",), rows):
        explanation = dict(deadline.explanation)
        pauses = _pauses(explanation)
        if pauses and pauses[-1][1] is None:
            paused_on = pauses[-1][0]
            pauses[-1] = (paused_on, max(today, paused_on))
        _store(deadline, explanation, _work_out(calendar, explanation, pauses))
        deadline.status = "running"
        deadline.paused_on = None
        deadline.remaining_days = None


def extend_clock(
    session: Session,
    settings: Settings,
    calendar: WorkingCalendar,
    case: Case,
    clock: str,
    new_due: date,
    reason: str,
    actor: str,
) -> Deadline:
    """Move a running clock's due date later, never past the stage's maximum."""
    if clock not in settings.clocks:
        raise BadInput("clock", f"no such clock (one of {', '.join(settings.clocks)})")
    if clock in OUTLIVES_CASE:
        raise BadInput("clock", "an action is extended on its own, by its number")
    if not reason.strip():
        raise BadInput("reason", "required to extend a deadline")
    matches = [d for d in open_deadlines(session, case) if d.clock == clock]
    if not matches:
        raise NotAllowed(
            f"The {_words(clock)} deadline is not running on this case"
        )
    return extend_deadline(settings, calendar, matches[-1], new_due, reason, actor)


def _words(clock: str) -> str:
    """A clock as staff read it in a sentence: "learning review"."""
    words = clock_label(clock)
    return words[:1].lower() + words[1:]


def extend_deadline(
    settings: Settings,
    calendar: WorkingCalendar,
    deadline: Deadline,
    new_due: date,
    reason: str,
    actor: str,
) -> Deadline:
    """Move one open deadline's due date later, never past its clock's maximum."""
    clock = deadline.clock
    if not reason.strip():
        raise BadInput("reason", "required to extend a deadline")
    if deadline.status == "paused":
        raise NotAllowed(
            f"The {_words(clock)} deadline is paused: extend it once it runs again"
        )
    spec = settings.clock(clock)
    unit = "working days" if deadline.working_days else "days"
    if spec.max_working_days is None:
        raise NotAllowed(
            f"The {_words(clock)} deadline cannot be extended (its target is {spec.target} "
            f"{unit} and the council set no longest time for it: max_working_days in "
            "config.toml)"
        )
    if new_due <= deadline.due_date:
        raise BadInput(
            "due", f"must be after the current due date {deadline.due_date.isoformat()}"
        )
    if deadline.working_days and not calendar.is_working_day(new_due):
        raise BadInput(
            "due",
            f"{new_due.isoformat()} is not a working day "
            f"({calendar.non_working_reason(new_due)}); "
            f"the next is {calendar.next_working_day(new_due).isoformat()}",
        )
    explanation = dict(deadline.explanation)
    extra = calendar.days_between(deadline.due_date, new_due, working=deadline.working_days)
    total = int(explanation["days"]) + int(explanation.get("extra_days", 0)) + extra
    if total > spec.max_working_days:
        allowed = dict(explanation, extra_days=spec.max_working_days - int(explanation["days"]))
        latest = _work_out(calendar, allowed, _pauses(explanation)).due
        raise NotAllowed(
            f"The {_words(clock)} deadline may run at most "
            f"{spec.max_working_days} {unit}; {new_due.isoformat()} would make it {total} "
            f"(the latest due date allowed is {latest.isoformat() if latest else '-'})"
        )
    explanation["extra_days"] = int(explanation.get("extra_days", 0)) + extra
    explanation["extensions"] = [
        *explanation.get("extensions", []),
        {
            "from": deadline.due_date.isoformat(),
            "to": new_due.isoformat(),
            "days": extra,
            "reason": reason,
            "by": actor,
        },
    ]
    _store(deadline, explanation, _work_out(calendar, explanation, _pauses(explanation)))
    deadline.extended_reason = reason
    deadline.extended_days = int(explanation["extra_days"])
    return deadline


def deadline_status(deadline: Deadline, today: date) -> str:
    """running, paused, met or overdue (overdue is derived, never stored)."""
    if deadline.status == "running" and deadline.due_date < today:
        return "overdue"
    if deadline.status == "stopped":
        return "met"
    return deadline.status
