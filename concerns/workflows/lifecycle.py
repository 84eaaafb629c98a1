"""Firing a lifecycle event on a case: the one use case behind `concerns case act` and every
event form in the web app.

One transaction: the state, the event's data, the clocks, any hook's rows (letters, outbox) and
the audit row are all stored, or none is. The case's version column makes a concurrent change
fail with a clear "reload" message instead of silently overwriting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from concerns.db.models import CaseConflict, Deadline, Escalation, User, UserRole
from concerns.db.prebuilt import Prebuilt
from concerns.workflows import clocks
from concerns.workflows.access.readers import (
    ActingUser,
    acting_user,
    actor_of,
    ensure_may_read,
    is_named_in,
    no_such_user,
    readable_case,
)
from concerns.workflows.audit import append_event
from concerns.workflows.cases import (
    ActorColumns,
    barring,
    case_and_actor,
    case_facts_many,
    facts_from,
    usernames,
)
from concerns.workflows.context import AppContext
from concerns.workflows.errors import (
    BadInput,
    ConcurrentChange,
    NotAllowed,
    NotFound,
    did_you_mean,
)
from concerns.workflows.event_writes import write_case_and_clocks
from concerns.workflows.hooks import (
    EventContext,
    checks,
    has_hooks,
    needs_preparing,
    run_hooks,
    run_preparers,
)
from concerns.workflows.machine import (
    CASE_READERS,
    ESCALATION_RECIPIENTS,
    IAT,
    SITUATION_CLOCKS,
    STEPS,
    Actor,
    CaseFacts,
    clock_label,
    duty_clocks,
    field_words,
    fire,
    parse_values,
    steps_for,
    value_problem,
    who,
)

MAX_NOTE = 20_000
# Values an event may leave out when the case already holds them: field → case column.
KEPT_ON_THE_CASE = {
    "submit_outcome": {"summary": "outcome_summary", "wording": "outcome_wording"},
}


@dataclass(frozen=True)
class EventResult:
    reference: str
    event: str
    from_state: str
    to_state: str
    version: int
    data: dict[str, Any]


# How often an event whose slow part was prepared outside the write lock is prepared again
# because someone else changed the case in between (then "reload" is the answer).
ATTEMPTS = 3


def check_values(
    event: str, raw_values: Mapping[str, str], note: str | None, *,
    ctx: AppContext | None = None, reference: str | None = None, actor_name: str | None = None,
) -> None:
    """Refuse the event's values (and a missing note) as `fire_event` would, storing nothing:
    what a confirmation page checks before it asks "are you sure". Given the case (CTX,
    REFERENCE, ACTOR_NAME), also as the case stands: role, state, guards and the table's value
    checks (a reason to close early), read without the write lock."""
    try:
        values = parse_values(event, raw_values)
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise BadInput(key, problem) from None
    note = (note or "").strip() or None
    if not note and all(s.note_required for s in steps_for(event)):
        raise BadInput("note", field_words(event, "note")[2])
    if ctx is None or reference is None:
        return
    with ctx.read() as read:
        _check(ctx, read.session, reference, event, actor_name, values, note, ctx.now(), None)




def require_event(event: str) -> None:
    """Refuse an event the lifecycle table does not have, suggesting the nearest."""
    if not steps_for(event):
        hint = did_you_mean(event, dict.fromkeys(s.event for s in STEPS))
        raise BadInput(
            "event",
            f"no such event {event[:60]!r}{hint}; `concerns case events REF` lists what you may "
            "do on a case",
        )


def fire_event(
    ctx: AppContext,
    reference: str,
    event: str,
    actor_name: str | None,
    raw_values: Mapping[str, str] | None = None,
    note: str | None = None,
    *,
    expected_version: int | None = None,
    letter_seen: str | None = None,
) -> EventResult:
    """Fire EVENT on case REFERENCE as ACTOR_NAME with --set values (strings) and a note.

    An event with slow work (a letter to render) first prepares it in a read-only transaction,
    then stores everything in a short write transaction that checks the case's version is still
    the one prepared for. Without EXPECTED_VERSION a case changed in between is prepared again
    (the event applies to the case as it now is); with it, the change is refused as concurrent.
    """
    require_event(event)
    try:
        values = parse_values(event, raw_values or {})
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise BadInput(key, problem) from None
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise BadInput("note", f"longer than {MAX_NOTE} characters")

    for _attempt in range(ATTEMPTS):
        at = ctx.now()
        prepared: _Prepared | None = None
        if needs_preparing(event):
            with ctx.read() as read:
                prepared = _prepare(ctx, read.session, reference, event, actor_name, values,
                                    note, at, expected_version)
        with ctx.uow() as uow:
            s = uow.session
            ec, new_state, facts = _check(ctx, s, reference, event, actor_name, values, note,
                                          at, expected_version)
            ec.letter_seen = letter_seen
            if prepared is not None:
                if ec.case.version != prepared.version:
                    if expected_version is not None:
                        raise ConcurrentChange(ec.case.reference)
                    continue  # changed while we rendered: prepare again from the case as it is
                ec.prepared = prepared.made
            ref = ec.case.reference
            try:
                result = _apply(ec, new_state, facts)
                uow.commit()
            except StaleDataError:
                # Our UPDATE matched no row: someone else's change to the case committed first.
                raise ConcurrentChange(ref) from None
            return result
    raise ConcurrentChange(reference.strip().upper()[:40])


@dataclass(frozen=True)
class _Prepared:
    version: int
    made: dict[str, Any]


def _check(
    ctx: AppContext,
    s: Session,
    reference: str,
    event: str,
    actor_name: str | None,
    values: dict[str, Any],
    note: str | None,
    at: datetime,
    expected_version: int | None,
) -> tuple[EventContext, str, CaseFacts]:
    """The case and the row of the table that fires, or the refusal: one query for the case,
    every fact its guards need, the acting user with their roles and whether they are barred
    from it."""
    if not actor_name:
        acting_user(s, actor_name)  # refuses: no acting user given
    assert actor_name
    try:
        case, facts, barred, restricted, found = case_and_actor(
            s, reference, values, today=ctx.calendar.local_date(at), username=actor_name,
            # The person's record is read with the case only for an event whose hooks use it.
            with_person=has_hooks(event),
        )
    except NotFound:
        acting_user(s, actor_name)  # a missing or disabled user is told of first, as before
        raise
    user, actor = _acting(s, actor_name, found)
    ensure_may_read(s, actor, case, barred=barred, person_restricted=restricted)
    if case.anonymised_at is not None:
        raise NotAllowed(f"case {case.reference}: anonymised; nothing more can happen to it")
    if expected_version is not None and case.version != expected_version:
        raise ConcurrentChange(case.reference)
    for name, column in KEPT_ON_THE_CASE.get(event, {}).items():
        # Left out, the case's own value stands (the reviewer's earlier outcome).
        if name not in values and not getattr(case, column):
            raise BadInput(name, field_words(event, name)[2])
    try:
        step, new_state = fire(event, facts, actor, values)
    except PermissionError as exc:
        raise NotAllowed(f"case {case.reference}: {exc}") from None
    if step.note_required and not note:
        raise BadInput("note", field_words(event, "note")[2])
    problem = value_problem(step, facts, actor, values)
    if problem:
        raise BadInput(*problem)
    ec = EventContext(
        ctx=ctx,
        session=s,
        case=case,
        step=step,
        user=user,
        values=values,
        note=note,
        at=at,
        from_state=case.state,
    )
    return ec, new_state, facts


def _prepare(
    ctx: AppContext,
    s: Session,
    reference: str,
    event: str,
    actor_name: str | None,
    values: dict[str, Any],
    note: str | None,
    at: datetime,
    expected_version: int | None,
) -> _Prepared:
    """The event's slow work, done on a consistent read of the case outside the write lock;
    refusals (role, guards, a letter that cannot be made) come from here already."""
    ec, _, _ = _check(ctx, s, reference, event, actor_name, values, note, at, expected_version)
    run_preparers(ec)
    return _Prepared(ec.case.version, ec.prepared)


def _acting(
    s: Session, actor_name: str, found: ActorColumns | None
) -> tuple[ActingUser, Actor]:
    """The acting user as read with the case."""
    if found is None or found.id is None or not found.active:
        # Refused in `acting_user`'s own words (or, changed since on PostgreSQL, read as it
        # now is).
        return acting_user(s, actor_name)
    return ActingUser(found.id, actor_name), Actor(actor_name, found.roles, found.name_key)


def _apply(ec: EventContext, new_state: str, facts: CaseFacts) -> EventResult:
    """The event's effects, clocks, hooks and audit row, in the caller's transaction. Nothing
    is flushed before the audit row: the case is written once, with everything else."""
    s, case, step, at, calendar = ec.session, ec.case, ec.step, ec.at, ec.ctx.calendar
    # Who reviews and who submitted, as the guards' facts named them; effects add whom they read.
    for user_id, username in ((case.reviewer_id, facts.reviewer),
                              (case.submitted_by_id, facts.submitted_by),
                              (ec.user.id, ec.user.username)):
        if user_id is not None and username is not None:
            ec.usernames[user_id] = username
    reviewer_before = case.reviewer_id
    _EFFECTS.get(step.event, _no_effect)(ec)
    # The case's open clocks, read once for the event: what it starts is added as it goes.
    rows = clocks.open_deadlines(s, case)
    if case.reviewer_id != reviewer_before:
        # The review clock is the reviewer's: it follows a new one.
        for deadline in rows:
            if deadline.clock == "review":
                deadline.owner_user_id = case.reviewer_id
    if step.pauses:
        clocks.pause_clocks(s, calendar, case, at, rows=rows)
    if step.stops:
        clocks.stop_clocks(s, case, step.stops, at, calendar=calendar, rows=rows)
    if step.resumes:
        clocks.resume_clocks(s, calendar, case, at, rows=rows)
    case.state = new_state
    for clock in step.starts:
        rows.append(clocks.start_clock(s, ec.ctx.settings, calendar, case, clock, at,
                                       hold=True))
    if step.outcome:
        case.outcome = step.outcome
    if new_state == "closed":
        case.closed_at = at
    case.updated_at = at
    _follow_duties(ec, facts, rows)
    if has_hooks(step.event):
        # Written before the hooks: one that flushes (a letter's id) then writes only its own
        # rows, not the case and its clocks again through the ORM, inside the write lock.
        write_case_and_clocks(s, case)
    run_hooks(ec)
    data = {k: _plain(v) for k, v in ec.values.items()} | ec.data
    write_case_and_clocks(s, case)
    append_event(
        s,
        case_id=case.id,
        event=step.event,
        actor=ec.user.username,
        at=at,
        from_state=ec.from_state,
        to_state=new_state,
        data=data,
        note=ec.note,
    )
    return EventResult(case.reference, step.event, ec.from_state, new_state, case.version, data)


# Events after which the open escalations are read again (the others leave them as they were).
_ESCALATION_EVENTS = frozenset({"raise_escalation", "resolve_escalation"})


def _facts_after(ec: EventContext, before: CaseFacts, open_rows: list[Deadline]) -> CaseFacts:
    """The guards' facts once the event's effects are made, from what this transaction holds
    (as reading them back would give, without flushing the case to read them)."""
    s, case = ec.session, ec.case
    if ec.step.event in _ESCALATION_EVENTS:
        return case_facts_many(s, [case])[case.id]
    named = ec.usernames
    missing = {i for i in (case.reviewer_id, case.submitted_by_id)
               if i is not None and i not in named}
    if missing:
        named.update(usernames(s, missing))
    safeguarding = before.open_safeguarding_escalations
    by_severity = {"safeguarding": safeguarding,
                   "other": before.open_escalations - safeguarding}
    return facts_from(
        case, {},
        named.get(case.reviewer_id) if case.reviewer_id else None,
        named.get(case.submitted_by_id) if case.submitted_by_id else None,
        {k: v for k, v in by_severity.items() if v},
        any(d.clock == "reply_window" and d.status == "running" for d in open_rows),
    )


def _follow_duties(ec: EventContext, before: CaseFacts, rows: list[Deadline]) -> None:
    """Start the clocks whose duty now applies and meet those whose duty no longer does, so a
    case between two events' clocks (triage complete; in review with no reviewer) always has an
    owner and a date. Paused clocks are left as they are (they resume with the state)."""
    s, case = ec.session, ec.case
    open_rows = [d for d in rows if d.status in clocks.OPEN_STATUSES]
    wanted = duty_clocks(_facts_after(ec, before, open_rows))
    for clock in SITUATION_CLOCKS:
        rows = [d for d in open_rows if d.clock == clock]
        if clock in wanted and not rows:
            clocks.start_clock(s, ec.ctx.settings, ec.ctx.calendar, case, clock, ec.at,
                               hold=True)
        elif clock not in wanted and any(d.status == "running" for d in rows):
            clocks.stop_clocks(s, case, (clock,), ec.at, rows=open_rows)


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


# --- what each event does to the case's own data ------------------------------------------


def _no_effect(ec: EventContext) -> None:
    return None


def _request_information(ec: EventContext) -> None:
    ec.case.return_state = ec.case.state


def _information_received(ec: EventContext) -> None:
    ec.case.return_state = None


def _record_complaints_triage(ec: EventContext) -> None:
    ec.case.complaints_meets_criteria = ec.values["meets_criteria"] == "yes"
    ec.case.complaints_reason = ec.values["reason"]


def _record_legal_triage(ec: EventContext) -> None:
    ec.case.legal_proceedings = ec.values["proceedings"]
    if "comment" in ec.values:
        ec.case.legal_comment = ec.values["comment"]


# The reviewer named, with each of their roles and whether a conflict of interest bars them
# from the case (as `is_named_in` asks): one statement, compiled once (db.prebuilt).
_REVIEWER_FOR = Prebuilt(
    select(
        User.id,
        User.active,
        UserRole.role,
        exists()
        .where(
            CaseConflict.case_id == bindparam("case_id"),
            CaseConflict.user_id == User.id,
            barring(),
        )
        .label("barred"),
    )
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(User.username == bindparam("username"))
)


def _assign_reviewer(ec: EventContext) -> None:
    username = ec.values["reviewer"]
    rows = _REVIEWER_FOR.rows(ec.session.connection(),
                              {"username": username, "case_id": ec.case.id})
    if not rows:
        raise no_such_user(ec.session, "reviewer", username)
    reviewer_id, active, _, barred = rows[0]
    if not active:
        raise BadInput("reviewer", f"user {username}: the account is disabled")
    if not {role for _, _, role, _ in rows} & IAT:
        raise BadInput("reviewer", "must be an IAT officer or manager")
    if barred:
        raise NotAllowed(
            f"case {ec.case.reference}: assign_reviewer refused: {username} is named in the "
            "concern (conflict of interest)"
        )
    ec.case.reviewer_id = reviewer_id
    ec.usernames[reviewer_id] = username


def _raise_escalation(ec: EventContext) -> None:
    escalation = Escalation(
        case_id=ec.case.id,
        severity=ec.values["severity"],
        to=ec.values["to"],
        note=ec.note,
        raised_by_id=ec.user.id,
        raised_at=ec.at,
    )
    ec.session.add(escalation)
    ec.session.flush()
    ec.data["escalation_id"] = escalation.id
    if escalation.severity == "safeguarding":
        # Safeguarding does not wait for weekends: a one-calendar-day clock.
        clocks.start_clock(
            ec.session,
            ec.ctx.settings,
            ec.ctx.calendar,
            ec.case,
            "escalation",
            ec.at,
            escalation_id=escalation.id,
            hold=True,
        )


def _resolve_escalation(ec: EventContext) -> None:
    open_rows = ec.session.scalars(
        select(Escalation).where(Escalation.case_id == ec.case.id, Escalation.resolved_at.is_(None))
    ).all()
    for escalation in open_rows:
        escalation.resolved_at = ec.at
        escalation.resolved_by_id = ec.user.id
    ec.data["resolved"] = [e.id for e in open_rows]
    clocks.stop_clocks(ec.session, ec.case, ("escalation",), ec.at, calendar=ec.ctx.calendar)


def _extend_deadline(ec: EventContext) -> None:
    clocks.extend_clock(
        ec.session,
        ec.ctx.settings,
        ec.ctx.calendar,
        ec.case,
        ec.values["clock"],
        ec.values["due"],
        ec.values["reason"],
        ec.user.username,
    )


def _submit_outcome(ec: EventContext) -> None:
    if "summary" in ec.values:
        ec.case.outcome_summary = ec.values["summary"]
    if "wording" in ec.values:
        ec.case.outcome_wording = ec.values["wording"]
    ec.case.submitted_by_id = ec.user.id


def _authorise(ec: EventContext) -> None:
    if "wording" in ec.values:
        ec.case.outcome_wording = ec.values["wording"]
    ec.case.authorised_by_id = ec.user.id
    ec.case.authorised_at = ec.at
    ec.case.learning_review_completed = True


def _offer_meeting(ec: EventContext) -> None:
    _meeting_date_ahead(ec)


@checks("offer_meeting")
def _meeting_date_ahead(ec: EventContext) -> None:
    """A meeting date, when given, is a working day after today (it is printed in the letter):
    refused before the letter is shown, and again when it is sent."""
    day = ec.values.get("date")
    if day is None:
        return
    calendar = ec.ctx.calendar
    today = calendar.local_date(ec.at)
    if day <= today:
        raise BadInput("date", f"The meeting date must be after today ({today:%-d %B %Y})")
    if not calendar.is_working_day(day):
        nxt = calendar.next_working_day(day)
        raise BadInput(
            "date",
            f"The meeting date must be a working day: {day:%-d %B %Y} is not "
            f"({calendar.non_working_reason(day)}); the next is {nxt:%A %-d %B %Y}",
        )


def _close_outside_framework(ec: EventContext) -> None:
    ec.case.outcome_reason = ec.values["reason"]


def _reopen(ec: EventContext) -> None:
    ec.case.outcome = None
    ec.case.outcome_reason = None
    ec.case.closed_at = None
    ec.case.submitted_by_id = None
    ec.case.authorised_by_id = None
    ec.case.authorised_at = None


_EFFECTS: dict[str, Callable[[EventContext], None]] = {
    "request_information": _request_information,
    "information_received": _information_received,
    "record_complaints_triage": _record_complaints_triage,
    "record_legal_triage": _record_legal_triage,
    "assign_reviewer": _assign_reviewer,
    "raise_escalation": _raise_escalation,
    "resolve_escalation": _resolve_escalation,
    "extend_deadline": _extend_deadline,
    "offer_meeting": _offer_meeting,
    "submit_outcome": _submit_outcome,
    "authorise": _authorise,
    "close_outside_framework": _close_outside_framework,
    "reopen": _reopen,
}


def reviewers(ctx: AppContext, actor_name: str | None, reference: str) -> list[str]:
    """Usernames the acting user could assign as the case's reviewer: active IAT staff who are
    not named in the concern (the conflict-of-interest rule `assign_reviewer` enforces)."""
    with ctx.read() as read:
        s = read.session
        _, _, case = readable_case(s, actor_name, reference)
        staff = s.scalars(
            select(User).join(UserRole).where(UserRole.role.in_(tuple(IAT)), User.active)
        ).unique()
        return sorted(u.username for u in staff if not is_named_in(s, actor_of(u), case))


def form_choices(
    ctx: AppContext, actor_name: str | None, reference: str
) -> dict[str, list[tuple[str, str]]]:
    """The case's own choices for the event forms, as (value, words): reviewers (independent
    IAT staff) and escalation recipients by full name, and the deadlines running on it."""
    with ctx.read() as read:
        s = read.session
        _, _, case = readable_case(s, actor_name, reference)
        staff = s.scalars(
            select(User).join(UserRole).where(UserRole.role.in_(tuple(CASE_READERS)), User.active)
        ).unique()
        people = sorted(staff, key=lambda u: (u.full_name or u.username).casefold())
        free = [u for u in people if not is_named_in(s, actor_of(u), case)]
        running = [d.clock for d in clocks.open_deadlines(s, case, ("running",))]
        return {
            "reviewer": [(u.username, u.full_name or u.username) for u in free
                         if u.role_names & IAT],
            "to": [(r, r) for r in ESCALATION_RECIPIENTS] + [
                (name, name)
                for u in free
                for name in [f"{u.full_name or u.username} ({who(frozenset(u.role_names))})"]
            ],
            "clock": [(c, clock_label(c)) for c in dict.fromkeys(running)],
        }
