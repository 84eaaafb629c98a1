"""The retention schedule: when a closed case is looked at again, and what is decided then.

States (after the Ministry of Justice correspondence tool's retention schedules):

- `not_set`: the case is open (or closed before the schedule existed: the sweep schedules it);
- `review`: closed; to be reviewed on `retention_review_on` (closure + `records.retention_years`,
  or `records.safeguarding_retention_years` when a safeguarding escalation was raised);
- `retain`: the information officer decided to keep it until a new date, with a reason (for
  example a legal hold while proceedings run);
- `to_be_destroyed`: decided; `retention anonymise --due` (or the queue page) anonymises it;
- `anonymised`: done (records/anonymise.py).

A case whose date has come is in the information officer's review queue. The reminder sweep
starts its `retention_review` clock on that date (a Deadline row like every other queue's), so
the usual reminders and overdue escalations follow; a decision meets the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from concerns.db.models import Case, Deadline, Escalation, Notification
from concerns.workflows import clocks
from concerns.workflows.audit import append_event
from concerns.workflows.cases import get_case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.hooks import EventContext, on_event
from concerns.workflows.machine import STEPS
from concerns.workflows.records.anonymise import ANONYMISED, anonymise_case
from concerns.workflows.records.common import checked_reason, records_officer
from concerns.workflows.records.decisions import (
    DECISIONS,
    NOT_SET,
    RETAIN,
    REVIEW,
    TO_BE_DESTROYED,
)
from concerns.workflows.settings import Settings

STATES = (NOT_SET, REVIEW, RETAIN, TO_BE_DESTROYED, ANONYMISED)
LABELS = {
    NOT_SET: "Not set",
    REVIEW: "Review",
    RETAIN: "Retain",
    TO_BE_DESTROYED: "To be destroyed",
    ANONYMISED: "Anonymised",
}
CLOCK = "retention_review"


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year + years, day=28)


def planned_review(settings: Settings, closed_on: date, safeguarding: bool) -> date:
    rec = settings.records
    return add_years(
        closed_on, rec.safeguarding_retention_years if safeguarding else rec.retention_years
    )


def _had_safeguarding(session: Session, case: Case) -> bool:
    return session.scalars(
        select(Escalation.id).where(
            Escalation.case_id == case.id, Escalation.severity == "safeguarding"
        )
    ).first() is not None


def schedule(session: Session, settings: Settings, case: Case, closed_on: date) -> None:
    # Asked before the case is changed: the query would flush the change through the ORM,
    # moving the case's version on a second time in the closing event.
    safeguarding = _had_safeguarding(session, case)
    case.retention_state = REVIEW
    case.retention_reason = None
    case.retention_review_on = planned_review(settings, closed_on, safeguarding)


# --- the lifecycle sets the schedule when a case closes, and clears it when it reopens -------


@on_event(*sorted({s.event for s in STEPS if s.dest == "closed"}))
def _on_close(ec: EventContext) -> None:
    if ec.case.state == "closed":
        schedule(ec.session, ec.ctx.settings, ec.case, ec.ctx.calendar.local_date(ec.at))
        ec.data["retention_review_on"] = ec.case.retention_review_on


@on_event("reopen")
def _on_reopen(ec: EventContext) -> None:
    ec.case.retention_state = NOT_SET
    ec.case.retention_review_on = None
    ec.case.retention_reason = None
    clocks.stop_clocks(ec.session, ec.case, (CLOCK,), ec.at)


# --- the sweep: schedule old closed cases, start the clock of every case that came due --------


def start_due_reviews(session: Session, ctx: AppContext, now: datetime) -> int:
    """In the reminder sweep's transaction: the number of review clocks started."""
    today = ctx.calendar.local_date(now)
    for case in session.scalars(
        select(Case).where(Case.state == "closed", Case.retention_state == NOT_SET)
    ):
        closed = case.closed_at or case.updated_at
        schedule(session, ctx.settings, case, ctx.calendar.local_date(closed))
    # Correlated, so it looks up each candidate case's clocks by the case_id index: a NOT IN
    # over every review clock would read the whole deadlines table on every sweep.
    running = exists().where(
        Deadline.case_id == Case.id,
        Deadline.clock == CLOCK,
        Deadline.status.in_(clocks.OPEN_STATUSES),
    )
    due = session.scalars(
        select(Case).where(
            Case.state == "closed",
            Case.retention_state.in_((REVIEW, RETAIN)),
            Case.retention_review_on <= today,
            ~running,
        )
    ).all()
    for case in due:
        assert case.retention_review_on is not None
        # The clock runs from the review date itself, however late the sweep noticed it.
        started = datetime.combine(case.retention_review_on, time(12), UTC)
        clocks.start_clock(session, ctx.settings, ctx.calendar, case, CLOCK, started)
        if case.retention_state == RETAIN:
            case.retention_state = REVIEW  # the hold has run out: decide again
    session.flush()
    return len(due)


# --- the review queue -----------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleRow:
    reference: str
    closed_on: date | None
    outcome: str | None
    state: str
    state_label: str
    review_on: date | None
    reason: str | None
    clock_due: date | None
    clock_status: str | None
    # The latest reminder the clock owed: its level and whether it has gone out.
    reminder: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in self.__dict__.items()}


def _officer(session: Session, actor_name: str | None) -> str:
    return records_officer(session, actor_name, "the retention schedule")


def list_schedule(
    ctx: AppContext, actor_name: str | None, *, queue_only: bool = True
) -> list[ScheduleRow]:
    """The review queue (cases whose date has come, and those to be destroyed), or with
    queue_only=False every closed case's schedule."""
    with ctx.read() as read:
        s = read.session
        _officer(s, actor_name)
        today = ctx.calendar.local_date(ctx.now())
        query = select(Case).where(Case.state == "closed").order_by(
            Case.retention_review_on, Case.reference
        )
        if queue_only:
            query = query.where(
                (Case.retention_state == TO_BE_DESTROYED)
                | (
                    Case.retention_state.in_((REVIEW, RETAIN))
                    & (Case.retention_review_on <= today)
                )
            )
        cases = s.scalars(query).all()
        open_clocks = {
            d.case_id: d
            for d in s.scalars(
                select(Deadline).where(
                    Deadline.clock == CLOCK,
                    Deadline.status.in_(clocks.OPEN_STATUSES),
                    Deadline.case_id.in_([c.id for c in cases]),
                )
            )
        }
        reminders: dict[int, Notification] = {}
        for note in s.scalars(select(Notification).where(
                Notification.deadline_id.in_([d.id for d in open_clocks.values()]))
                .order_by(Notification.id)):
            if note.deadline_id is not None:
                reminders[note.deadline_id] = note
        rows = []
        for case in cases:
            deadline = open_clocks.get(case.id)
            reminder = reminders.get(deadline.id) if deadline else None
            rows.append(ScheduleRow(
                reference=case.reference,
                closed_on=ctx.calendar.local_date(case.closed_at) if case.closed_at else None,
                outcome=case.outcome,
                state=case.retention_state,
                state_label=LABELS.get(case.retention_state, case.retention_state),
                review_on=case.retention_review_on,
                reason=case.retention_reason,
                clock_due=deadline.due_date if deadline else None,
                clock_status=clocks.deadline_status(deadline, today) if deadline else None,
                reminder=f"{(reminder.level or '').replace('_', ' ')} ({reminder.status})"
                if reminder else None,
            ))
        return rows


def decide(
    ctx: AppContext,
    actor_name: str | None,
    references: Sequence[str],
    decision: str,
    reason: str,
    until: date | None = None,
) -> list[dict[str, Any]]:
    """One decision on one or more closed cases, with one reason: all stored, or none."""
    if decision not in DECISIONS:
        raise BadInput("decision", f"expected one of {', '.join(DECISIONS)}")
    reason = checked_reason(reason, "why, for a retention decision")
    refs = list(dict.fromkeys(r.strip().upper() for r in references if r.strip()))
    if not refs:
        raise BadInput("reference", "give at least one case")
    today = ctx.calendar.local_date(ctx.now())
    if decision == "retain":
        if until is None:
            raise BadInput("until", "required to retain a case: the date to review it again")
        if until <= today:
            raise BadInput("until", "must be after today")
    elif decision == "review" and until is not None and until < today:
        raise BadInput("until", "must not be in the past")
    elif decision == "destroy" and until is not None:
        raise BadInput("until", "only for retain or review")
    out = []
    with ctx.uow() as uow:
        s = uow.session
        actor = _officer(s, actor_name)
        at = ctx.now()
        for ref in refs:
            case = get_case(s, ref)
            if case.state != "closed" or case.retention_state == ANONYMISED:
                raise NotAllowed(
                    f"case {case.reference}: only a closed case not yet anonymised has a "
                    "retention decision"
                )
            before = case.retention_state
            case.retention_state = DECISIONS[decision]
            case.retention_reason = reason if decision == "retain" else None
            if decision != "destroy":
                case.retention_review_on = until or today
            clocks.stop_clocks(s, case, (CLOCK,), at)
            data = {"decision": decision, "from": before, "to": case.retention_state,
                    "review_on": case.retention_review_on}
            append_event(s, case_id=case.id, event="retention_decided", actor=actor, at=at,
                         from_state=case.state, to_state=case.state, data=data, note=reason)
            out.append({"reference": case.reference, **{
                k: v.isoformat() if isinstance(v, date) else v for k, v in data.items()}})
        uow.commit()
    return out


def anonymise_due(ctx: AppContext, actor_name: str | None, reason: str) -> list[dict[str, Any]]:
    """Anonymise every case decided 'to be destroyed', one transaction each."""
    with ctx.read() as read:
        _officer(read.session, actor_name)
        refs = list(read.session.scalars(
            select(Case.reference).where(Case.retention_state == TO_BE_DESTROYED)
            .order_by(Case.reference)
        ))
    return [anonymise_case(ctx, actor_name, ref, reason) for ref in refs]
