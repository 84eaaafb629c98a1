"""SLA clocks on a case: Deadline rows started, met, paused, resumed and extended as events fire.

Every due date carries an `explanation` (from what date, how many days, which holidays, closures
and pauses were skipped, any extension) so staff can check it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from concerns.db.models import Case, Deadline
from concerns.workflows.calendar import WorkingCalendar
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.settings import Settings

OPEN_STATUSES = ("running", "paused")


def _due(calendar: WorkingCalendar, start: date, days: int, working: bool) -> date:
    return calendar.add_working_days(start, days) if working else start + timedelta(days=days)


def _skipped(calendar: WorkingCalendar, start: date, end: date) -> list[list[str]]:
    return [[d.isoformat(), name] for d, name in calendar.skipped_between(start, end)]


def start_clock(
    session: Session,
    settings: Settings,
    calendar: WorkingCalendar,
    case: Case,
    clock: str,
    at: datetime,
    *,
    escalation_id: int | None = None,
) -> Deadline:
    spec = settings.clock(clock)
    start = calendar.local_date(at)
    due = _due(calendar, start, spec.target, spec.working)
    owner_user_id = case.reviewer_id if spec.owner == "reviewer" else None
    deadline = Deadline(
        case_id=case.id,
        clock=clock,
        status="running",
        started_on=start,
        target_days=spec.target,
        working_days=spec.working,
        due_date=due,
        owner_role="iat_officer" if spec.owner == "reviewer" else spec.owner,
        owner_user_id=owner_user_id,
        escalation_id=escalation_id,
        explanation={
            "from": start.isoformat(),
            "days": spec.target,
            "working_days": spec.working,
            "skipped": _skipped(calendar, start, due) if spec.working else [],
            "pauses": [],
            "extensions": [],
        },
    )
    session.add(deadline)
    return deadline


def open_deadlines(session: Session, case: Case, statuses: Iterable[str] = OPEN_STATUSES) -> list[Deadline]:
    return list(
        session.scalars(
            select(Deadline)
            .where(Deadline.case_id == case.id, Deadline.status.in_(tuple(statuses)))
            .order_by(Deadline.id)
        )
    )


def stop_clocks(session: Session, case: Case, clocks: Iterable[str], at: datetime) -> None:
    """Mark the named running (or paused) clocks met; "*" stops every open clock."""
    names = set(clocks)
    for deadline in open_deadlines(session, case):
        if "*" in names or deadline.clock in names:
            deadline.status = "met"
            deadline.met_at = at


def pause_clocks(
    session: Session, calendar: WorkingCalendar, case: Case, at: datetime
) -> None:
    """Pause every running clock, keeping the working days it had left."""
    today = calendar.local_date(at)
    for deadline in open_deadlines(session, case, ("running",)):
        if deadline.clock == "escalation":
            continue  # safeguarding does not wait for the person's reply
        if deadline.working_days:
            left = calendar.working_days_between(today, deadline.due_date)
        else:
            left = max((deadline.due_date - today).days, 0)
        deadline.status = "paused"
        deadline.paused_on = today
        deadline.remaining_days = left


def resume_clocks(
    session: Session, calendar: WorkingCalendar, case: Case, at: datetime
) -> None:
    """Resume paused clocks with the days they had left, counted from today."""
    today = calendar.local_date(at)
    for deadline in open_deadlines(session, case, ("paused",)):
        left = deadline.remaining_days or 0
        new_due = _due(calendar, today, left, deadline.working_days)
        explanation = dict(deadline.explanation)
        explanation["pauses"] = [
            *explanation.get("pauses", []),
            {
                "from": deadline.paused_on.isoformat() if deadline.paused_on else None,
                "to": today.isoformat(),
                "days_left": left,
                "skipped": _skipped(calendar, today, new_due) if deadline.working_days else [],
            },
        ]
        deadline.explanation = explanation
        deadline.status = "running"
        deadline.due_date = new_due
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
    matches = [d for d in open_deadlines(session, case) if d.clock == clock]
    if not matches:
        raise NotAllowed(f"extend_deadline refused: the {clock} clock is not running on this case")
    deadline = matches[-1]
    if new_due <= deadline.due_date:
        raise BadInput("due", f"must be after the current due date {deadline.due_date.isoformat()}")
    spec = settings.clock(clock)
    cap = spec.max_working_days if spec.max_working_days is not None else spec.target
    if deadline.working_days:
        used = calendar.working_days_between(deadline.started_on, new_due)
        paused_days = sum(
            calendar.working_days_between(date.fromisoformat(p["from"]), date.fromisoformat(p["to"]))
            for p in deadline.explanation.get("pauses", [])
            if p.get("from") and p.get("to")
        )
        used -= paused_days
    else:
        used = (new_due - deadline.started_on).days
    if used > cap:
        latest = _due(calendar, deadline.started_on, cap, deadline.working_days)
        raise NotAllowed(
            f"extend_deadline refused: the {clock} clock may run at most {cap} "
            f"{'working ' if deadline.working_days else ''}days "
            f"(latest due date {latest.isoformat()} without pauses)"
        )
    explanation = dict(deadline.explanation)
    explanation["extensions"] = [
        *explanation.get("extensions", []),
        {"from": deadline.due_date.isoformat(), "to": new_due.isoformat(), "reason": reason,
         "by": actor},
    ]
    deadline.explanation = explanation
    deadline.due_date = new_due
    deadline.extended_reason = reason
    return deadline


def deadline_status(deadline: Deadline, today: date) -> str:
    """running, paused, met or overdue (overdue is derived, never stored)."""
    if deadline.status == "running" and deadline.due_date < today:
        return "overdue"
    if deadline.status == "stopped":
        return "met"
    return deadline.status
