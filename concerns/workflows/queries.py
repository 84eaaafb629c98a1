"""Reading the register: case lists, a case in full (audited), the events a user may fire,
and the queues."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import BindParameter, Select, bindparam, exists, select
from sqlalchemy.orm import Session

from concerns.db.models import (
    Attachment,
    Case,
    CaseChild,
    Child,
    Contact,
    Deadline,
    Escalation,
    Event,
    Letter,
    Respondent,
    User,
)
from concerns.db.prebuilt import Prebuilt, one_of
from concerns.triage.flag_words import flag_in_words
from concerns.workflows.access.need_to_know import (
    CLOCK_PARTS,
    clock_hidden,
    filter_case,
    listed_states,
    parts_for,
)
from concerns.workflows.access.readers import acting_user, readable_case, refuse_unless_readable
from concerns.workflows.audit import append_event
from concerns.workflows.cases import (
    FACT_COLUMNS,
    ClockFacts,
    case_facts,
    case_facts_many,
    facts_from,
    open_escalation_count,
    reader_barred,
    with_staff_names,
)
from concerns.workflows.clocks import OPEN_STATUSES, deadline_status
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.learning.outcome import case_learning
from concerns.workflows.machine import (
    CASE_READERS,
    REVIEWER,
    STATES,
    Actor,
    CaseFacts,
    Duty,
    available_events,
    duties,
    fields_of,
    role_label,
    steps_for,
)
from concerns.workflows.posting import waiting_to_post
from concerns.workflows.records.restriction import restriction_hides

# Which states wait on which queue (the director's and the executive assistant's).
QUEUES: dict[str, tuple[str, ...]] = {
    "director": ("awaiting_signoff", "letter_ready", "dissatisfied", "meeting_offered"),
    "assistant": ("authorised", "signed", "responded", "dissatisfied", "meeting_offered"),
}
QUEUE_ROLES = {"director": "director", "assistant": "executive_assistant"}


def full_names(session: Session) -> dict[str, str]:
    """username → full name, for showing who must act in words."""
    return staff_names(session)[0]


_STAFF = Prebuilt(select(User.id, User.username, User.full_name))


def staff_names(session: Session) -> tuple[dict[str, str], dict[int, str]]:
    """username → full name, and user id → username, in one query (every list asks)."""
    rows = _STAFF.rows(session.connection())
    return ({username: full_name or username for _, username, full_name in rows},
            {user_id: username for user_id, username, _ in rows})


def next_steps(
    facts: CaseFacts, deadlines: Sequence[ClockFacts], today: Any,
    names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """What must happen next (the lifecycle table's duties), soonest due first: the task, who
    must do it (the reviewer's username, else a role), its clock and due date."""
    out = []
    for duty in _duties(facts):
        rows = [d for d in deadlines if d.clock == duty.clock and d.status in OPEN_STATUSES]
        row = rows[-1] if rows else None
        owner = facts.reviewer if duty.owner == REVIEWER else duty.owner
        words = role_label(duty.owner)
        if duty.owner == REVIEWER and facts.reviewer:
            words = (names or {}).get(facts.reviewer, facts.reviewer) + " (reviewer)"
        out.append(
            {
                "task": duty.task,
                "owner": owner,
                "owner_label": words,
                "owner_role": duty.owner,
                "clock": duty.clock,
                "events": list(duty.events),
                "due": row.due_date.isoformat() if row else None,
                "status": _status(row, today) if row else None,
            }
        )
    out.sort(key=lambda step: (step["due"] is None, step["due"] or ""))
    return out


@functools.lru_cache(maxsize=4096)
def _duties(facts: CaseFacts) -> tuple[Duty, ...]:
    """machine.duties, asked once for each distinct FACTS (frozen): a list's cases are in a few
    situations, and the table was scanned for every row."""
    return tuple(duties(facts))


@functools.lru_cache(maxsize=1024)
def _hidden_clocks(actor: Actor, state: str) -> frozenset[str]:
    """The clocks need to know hides from ACTOR on a case in STATE (clock_hidden: those of a
    part they may not read), asked once for each reader (frozen) and state; mostly none, and a
    row then filters nothing."""
    parts = parts_for(actor, state)
    return frozenset(clock for clock in CLOCK_PARTS if clock_hidden(clock, parts))


def _summary(
    case: Listed, deadlines: Sequence[ListedClock], today: Any, facts: CaseFacts,
    names: dict[str, str] | None, actor: Actor,
) -> dict[str, Any]:
    # Need to know: a clock of a part the reader may not read (an open escalation) is not shown.
    hidden = _hidden_clocks(actor, case.state)
    if hidden:
        deadlines = [d for d in deadlines if d.clock not in hidden]
    steps = next_steps(facts, deadlines, today, names)
    if hidden:
        steps = [step for step in steps if step["clock"] not in hidden]
    first = steps[0] if steps else None
    return {
        "reference": case.reference,
        "state": case.state,
        "received_at": case.received_at.isoformat(),
        "respondent_name": case.respondent_name,
        "owner": first["owner"] if first else None,
        "owner_label": first["owner_label"] if first else None,
        "task": first["task"] if first else None,
        "due": first["due"] if first else None,
        "next_steps": steps,
        "overdue": any(_status(d, today) == "overdue" for d in deadlines),
        "version": case.version,
    }


class Listed(NamedTuple):
    """A case as a list row (and the guards' facts behind its events) reads it, with its person's
    name and restriction: plain columns, no ORM object (building ~120 mapped objects for a
    queue of 60 cases and their clocks cost more than the rest of the page). The rest of the
    case (its texts, its triage notes) stays in the database. A named tuple: made from a row
    at the cost of a tuple (a frozen dataclass of 17 fields cost ten times as much)."""

    id: int
    reference: str
    state: str
    version: int
    received_at: datetime
    reviewer_id: int | None
    submitted_by_id: int | None
    outcome_summary: str | None
    outcome_wording: str | None
    complaints_meets_criteria: bool | None
    legal_proceedings: str | None
    return_state: str | None
    staff_named_keys: list[Any]
    respondent_name: str
    restricted_at: datetime | None
    # Open escalations, all and safeguarding: the guards' facts.
    open_escalations: int
    open_safeguarding: int

    def open_by_severity(self) -> dict[str, int]:
        """As case_facts_many counts them: the guards tell only safeguarding from the rest."""
        counts = {"safeguarding": self.open_safeguarding,
                  "other": self.open_escalations - self.open_safeguarding}
        return {severity: n for severity, n in counts.items() if n}


# The columns of Listed, in its order, without the cases a conflict of interest bars the reader
# (:username) from: a list adds its own WHERE and ORDER BY.
_LISTED = (
    select(
        Case.id, Case.reference, Case.state, Case.version, Case.received_at, Case.reviewer_id,
        Case.submitted_by_id, Case.outcome_summary, Case.outcome_wording,
        Case.complaints_meets_criteria, Case.legal_proceedings, Case.return_state,
        Case.staff_named_keys, Respondent.name, Respondent.restricted_at,
        open_escalation_count(), open_escalation_count("safeguarding"),
    )
    .join(Respondent, Respondent.id == Case.respondent_id)
    .where(~reader_barred())
)


def _listed(
    s: Session, query: Select[Any], actor: Actor, params: dict[str, Any] | None = None
) -> list[Listed]:
    """The cases of QUERY (a _LISTED select, with PARAMS) that ACTOR may see in a list: not
    those a conflict of interest bars them from, nor those of a restricted person's record.
    Run on the connection: plain rows need nothing of the ORM session."""
    rows = s.connection().execute(query, {"username": actor.username, **(params or {})})
    return [
        case for case in map(Listed._make, rows)
        if not restriction_hides(actor, case.restricted_at)
    ]


def _queue_cases(s: Session, which: str, actor: Actor) -> list[Listed]:
    """_listed for the director's or the assistant's queue: the cases in a state it waits on
    that ACTOR's lists show, not barred from them, not of a restricted person's record."""
    listed = frozenset(listed_states(actor))
    rows = _QUEUE_CASES[which].rows(s.connection(), {"username": actor.username})
    return [
        case for case in map(Listed._make, rows)
        if case.state in listed and not restriction_hides(actor, case.restricted_at)
    ]


def _listed_facts(
    s: Session, cases: list[Listed], today: date, clocks: dict[int, list[ListedClock]],
    staff: dict[int, str],
) -> dict[int, CaseFacts]:
    """The guards' facts of listed cases, from what the list has read already."""
    return case_facts_many(s, cases, today=today, clocks=clocks, staff=staff,
                           open_escalations={c.id: c.open_by_severity() for c in cases})


class ListedClock(NamedTuple):
    """What a list row shows of a clock (the working-out, JSON, is the case page's alone)."""

    id: int
    case_id: int
    clock: str
    status: str
    due_date: date


# Only the open clocks (running, paused): a list row's next steps, its overdue mark and the
# guards' reply window read no other, and a case's met and stopped clocks only accumulate.
_LIST_CLOCKS = (
    select(Deadline.id, Deadline.case_id, Deadline.clock, Deadline.status, Deadline.due_date)
    .where(Deadline.case_id.in_(bindparam("case_ids", expanding=True)),
           Deadline.status.in_(OPEN_STATUSES))
    .order_by(Deadline.id)
)


def _deadlines_by_case(s: Session, case_ids: list[int]) -> dict[int, list[ListedClock]]:
    out: dict[int, list[ListedClock]] = {cid: [] for cid in case_ids}
    if not case_ids:
        return out
    for clock in map(ListedClock._make, s.connection().execute(_LIST_CLOCKS,
                                                                {"case_ids": case_ids})):
        out[clock.case_id].append(clock)
    return out


def _queue_clocks(s: Session, which: str, case_ids: list[int]) -> dict[int, list[ListedClock]]:
    """_deadlines_by_case for the cases of a queue: the open clocks of the cases in the states
    it waits on, of which those of CASE_IDS (the ones the reader's queue shows) are kept."""
    out: dict[int, list[ListedClock]] = {cid: [] for cid in case_ids}
    for clock in map(ListedClock._make, _QUEUE_CLOCKS[which].rows(s.connection())):
        if clock.case_id in out:  # neither a row of NULLs nor a case the queue leaves out
            out[clock.case_id].append(clock)
    return out


def _status(clock: ClockFacts, today: date) -> str:
    """clocks.deadline_status, which reads only the status and the due date, for a list's plain
    row as well as a mapped Deadline."""
    return deadline_status(cast(Deadline, clock), today)


def _require_reader(actor: Actor) -> None:
    if not actor.roles & CASE_READERS:
        raise NotAllowed("your role may not read case content")


def list_cases(
    ctx: AppContext,
    actor_name: str | None,
    *,
    state: str | None = None,
    overdue: bool = False,
    owner: str | None = None,
    search: str | None = None,
    limit: int = 500,
) -> list[dict[str, Any]]:
    if state is not None and state not in STATES:
        raise BadInput("state", f"unknown state (one of {', '.join(STATES)})")
    with ctx.read() as read:
        s = read.session
        _, actor = acting_user(s, actor_name)
        _require_reader(actor)
        today = ctx.calendar.local_date(ctx.now())
        # Need to know: only the cases whose name and state this reader may see now.
        query = _LISTED.where(Case.state.in_(listed_states(actor)))
        if state:
            query = query.where(Case.state == state)
        if overdue:
            query = query.where(
                exists().where(
                    Deadline.case_id == Case.id,
                    Deadline.status == "running",
                    Deadline.due_date < today,
                )
            )
        if search:
            term = search.strip()
            query = query.where(
                (Case.reference == term.upper()) | Respondent.name.ilike(f"%{term}%")
            )
        cases = _listed(s, query.order_by(Case.received_at.desc()).limit(limit), actor)
        deadlines = _deadlines_by_case(s, [c.id for c in cases])
        names, staff = staff_names(s)
        all_facts = _listed_facts(s, cases, today, deadlines, staff)
        out = [_summary(c, deadlines[c.id], today, all_facts[c.id], names, actor)
               for c in cases]
        if owner:
            out = [row for row in out if row["owner"] == owner]
        return out


def show_case(
    ctx: AppContext, actor_name: str | None, reference: str, *, actor: Actor | None = None
) -> dict[str, Any]:
    """The whole case as the user may see it. The view itself goes into the audit trail.

    ACTOR, when given, is the acting user already checked in this request (the web's session
    check has their roles): not loaded again. The case is read in a read-only transaction; only
    the audit row is written, in a short write transaction of its own."""
    refused: NotAllowed | None = None
    detail: dict[str, Any] = {}
    with ctx.read() as read:
        s = read.session
        if actor is None:
            _, actor = acting_user(s, actor_name)
        today = ctx.calendar.local_date(ctx.now())
        case, facts, barred = _shown_case(s, reference, today, actor.username)
        try:
            refuse_unless_readable(actor, case.reference, barred=barred,
                                   person_restricted=case.person.restricted_at is not None)
        except NotAllowed as exc:
            refused = exc
        else:
            detail = _detail(s, case, facts, actor, today)
            detail["learning"] = case_learning(
                s, case.id, ctx.settings.learning.theme_labels, today
            )
            detail = filter_case(detail, actor)
        case_id, state = case.id, case.state
    with ctx.uow() as uow:
        # A refused look at a case is audited too, then refused.
        append_event(
            uow.session,
            case_id=case_id,
            event="case_view_refused" if refused else "case_viewed",
            actor=actor.username,
            at=ctx.now(),
            from_state=state,
            to_state=state,
        )
        uow.commit()
    if refused is not None:
        raise refused
    return detail


@dataclass(frozen=True, slots=True)
class ShownPerson:
    """The case's person as the case page shows them."""

    id: int
    name: str
    email: str | None
    phone: str | None
    address: str | None
    postcode: str | None
    relationship_to_child: str | None
    restricted_at: datetime | None


@dataclass(frozen=True, slots=True)
class ShownCase:
    """What the case page shows of the case itself and what its guards' facts read (the
    columns of cases.CaseFactsSource), as plain columns: no ORM object."""

    person: ShownPerson
    # The rest in the order of _CASE_COLUMNS.
    id: int
    reference: str
    state: str
    version: int
    received_at: datetime
    channel: str
    involvement_from_year: int | None
    involvement_to_year: int | None
    staff_named: list[Any]
    staff_named_keys: list[Any]
    reviewer_id: int | None
    submitted_by_id: int | None
    return_state: str | None
    complaints_meets_criteria: bool | None
    complaints_reason: str | None
    legal_proceedings: str | None
    legal_comment: str | None
    outcome_summary: str | None
    outcome_wording: str | None
    outcome: str | None
    outcome_reason: str | None


_CASE_COLUMNS = (
    Case.id, Case.reference, Case.state, Case.version, Case.received_at, Case.channel,
    Case.involvement_from_year, Case.involvement_to_year, Case.staff_named,
    Case.staff_named_keys, Case.reviewer_id, Case.submitted_by_id, Case.return_state,
    Case.complaints_meets_criteria, Case.complaints_reason, Case.legal_proceedings,
    Case.legal_comment, Case.outcome_summary, Case.outcome_wording, Case.outcome,
    Case.outcome_reason,
)
_PERSON_COLUMNS = (
    Respondent.id, Respondent.name, Respondent.email, Respondent.phone, Respondent.address,
    Respondent.postcode, Respondent.relationship_to_child, Respondent.restricted_at,
)
# The case, its person and cases.FACT_COLUMNS (the reader :username, the day :today): one
# statement, built once (what cases.case_and_actor reads for an event, without ORM objects).
_CASE_PAGE = with_staff_names(
    select(*_CASE_COLUMNS, *_PERSON_COLUMNS, *FACT_COLUMNS).join(
        Respondent, Respondent.id == Case.respondent_id
    )
).where(Case.reference == bindparam("reference"))


def _shown_case(
    s: Session, reference: str, today: date, username: str
) -> tuple[ShownCase, CaseFacts, bool]:
    """The case, its guards' facts and whether a conflict of interest bars USERNAME from it."""
    row = s.connection().execute(
        _CASE_PAGE, {"reference": reference.strip().upper(), "username": username,
                     "today": today},
    ).first()
    if row is None:
        raise NotFound(f"no case with reference {reference.strip()[:40]}")
    values: list[Any] = list(row)
    n, m = len(_CASE_COLUMNS), len(_CASE_COLUMNS) + len(_PERSON_COLUMNS)
    case = ShownCase(ShownPerson(*values[n:m]), *values[:n])
    reviewer, submitted_by, open_all, open_safeguarding, barred, window = values[m:]
    # Only the safeguarding count is told apart by the guards; the rest is the total.
    by_severity = {"safeguarding": int(open_safeguarding),
                   "other": int(open_all) - int(open_safeguarding)}
    facts = facts_from(case, {}, reviewer, submitted_by,
                       {k: v for k, v in by_severity.items() if v}, bool(window))
    return case, facts, bool(barred)


# What the case page reads besides the case itself, each as plain columns in a statement built
# once (a statement built per request costs its cache key every time; the relationships'
# lazy loads cost more than the rows they bring).
_CASE_ID: BindParameter[int] = bindparam("case_id")


@dataclass(frozen=True, slots=True)
class CaseClock:
    """One run of a clock as the case page shows it."""

    id: int
    clock: str
    status: str
    due_date: date
    owner_role: str
    started_on: date
    explanation: dict[str, Any]


_CLOCKS = (
    select(Deadline.id, Deadline.clock, Deadline.status, Deadline.due_date,
           Deadline.owner_role, Deadline.started_on, Deadline.explanation)
    .where(Deadline.case_id == _CASE_ID).order_by(Deadline.id)
)
# The letters' HTML and PDF are not shown here: not read.
_LETTERS = (
    select(Letter.id, Letter.kind, Letter.sha256, Letter.signed_sha256, Letter.signed_at,
           Letter.sent_at, Letter.sent_method)
    .where(Letter.case_id == _CASE_ID).order_by(Letter.id)
)


@dataclass(frozen=True, slots=True)
class Said:
    """One event of a case's trail as its history (and a director's return) shows it."""

    case_id: int | None
    event: str
    actor: str
    at: datetime
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    note: str | None


_SAID = (Event.case_id, Event.event, Event.actor, Event.at, Event.from_state, Event.to_state,
         Event.data, Event.note)
# The views are the audit trail's, not the case's history.
_HISTORY = (
    select(*_SAID)
    .where(Event.case_id == _CASE_ID, Event.event != "case_viewed").order_by(Event.id)
)
_CHILDREN = (
    select(Child.id, Child.name, Child.date_of_birth)
    .join(CaseChild, CaseChild.child_id == Child.id)
    .where(CaseChild.case_id == _CASE_ID).order_by(Child.id)
)
# The other cases about each child.
_RELATED = (
    select(CaseChild.child_id, Case.reference)
    .join(Case, Case.id == CaseChild.case_id)
    .where(CaseChild.child_id.in_(bindparam("child_ids", expanding=True)),
           CaseChild.case_id != _CASE_ID)
    .order_by(Case.reference)
)
_CONTACTS = (
    select(Contact.id, Contact.received_at, Contact.channel, Contact.route, Contact.subject,
           Contact.concern, Contact.flags)
    .where(Contact.case_id == _CASE_ID).order_by(Contact.received_at, Contact.id)
)
# The files' names and sizes; their content stays in the database.
_ATTACHMENTS = (
    select(Attachment.contact_id, Attachment.id, Attachment.filename, Attachment.content_type,
           Attachment.size)
    .where(Attachment.contact_id.in_(bindparam("contact_ids", expanding=True)))
    .order_by(Attachment.id)
)
_ESCALATIONS = (
    select(Escalation.severity, Escalation.to, Escalation.note, Escalation.raised_by_id,
           Escalation.raised_at, Escalation.resolved_at)
    .where(Escalation.case_id == _CASE_ID).order_by(Escalation.id)
)


def _detail(
    s: Session, case: ShownCase, facts: CaseFacts, actor: Actor, today: date
) -> dict[str, Any]:
    conn = s.connection()
    at = {"case_id": case.id}
    respondent = case.person
    deadlines = [CaseClock(*row) for row in conn.execute(_CLOCKS, at)]
    letters = conn.execute(_LETTERS, at).all()
    events = [Said(*row) for row in conn.execute(_HISTORY, at)]
    children = conn.execute(_CHILDREN, at).all()
    related: dict[int, list[str]] = {child.id: [] for child in children}
    if children:
        for child_id, other in conn.execute(_RELATED, {**at, "child_ids": list(related)}):
            related[child_id].append(other)
    contacts = conn.execute(_CONTACTS, at).all()
    attachments: dict[int, list[dict[str, Any]]] = {c.id: [] for c in contacts}
    if contacts:
        for a in conn.execute(_ATTACHMENTS, {"contact_ids": list(attachments)}):
            attachments[a.contact_id].append(
                {"id": a.id, "filename": a.filename, "content_type": a.content_type,
                 "size": a.size}
            )
    names, ids = staff_names(s)
    escalation_rows = [
        {
            "severity": e.severity,
            "to": names.get(e.to, e.to),
            "note": e.note,
            "raised_by": names.get(ids.get(e.raised_by_id, ""), ids.get(e.raised_by_id)),
            "raised_at": e.raised_at.isoformat(),
            "resolved_at": e.resolved_at.isoformat() if e.resolved_at else None,
        }
        for e in conn.execute(_ESCALATIONS, at)
    ]
    latest_run = {d.clock: d.id for d in deadlines}
    return {
        "reference": case.reference,
        "next_steps": next_steps(facts, deadlines, today, names),
        "returned": _returned(case.state, events, names),
        "blocked": [
            e for e in escalation_rows
            if e["severity"] == "safeguarding" and not e["resolved_at"]
        ] if case.state == "in_review" else [],
        "escalations": escalation_rows,
        "state": case.state,
        "version": case.version,
        "received_at": case.received_at.isoformat(),
        "channel": case.channel,
        "respondent": {
            # The person's id: what `people export` (subject access) takes.
            "id": respondent.id,
            "name": respondent.name,
            "email": respondent.email,
            "phone": respondent.phone,
            "address": respondent.address,
            "postcode": respondent.postcode,
            "relationship": respondent.relationship_to_child,
        },
        "children": [
            {
                "name": c.name,
                "date_of_birth": c.date_of_birth.isoformat() if c.date_of_birth else None,
                "related_cases": related[c.id],
            }
            for c in children
        ],
        "involvement": {
            "from_year": case.involvement_from_year,
            "to_year": case.involvement_to_year,
        },
        "staff_named": list(case.staff_named or []),
        "reviewer": facts.reviewer,
        "reviewer_name": names.get(facts.reviewer or "", facts.reviewer),
        "triage": {
            "complaints_meets_criteria": case.complaints_meets_criteria,
            "complaints_reason": case.complaints_reason,
            "legal_proceedings": case.legal_proceedings,
            "legal_comment": case.legal_comment,
        },
        "outcome_summary": case.outcome_summary,
        "outcome_wording": case.outcome_wording,
        "outcome": case.outcome,
        "outcome_reason": case.outcome_reason,
        "contacts": [
            {
                "received_at": c.received_at.isoformat(),
                "channel": c.channel,
                "route": c.route,
                "subject": c.subject,
                "concern": c.concern,
                "flags": list(c.flags or []),
                # The same flags with their places in words, for people to read.
                "flags_in_words": [flag_in_words(f) for f in c.flags or []],
                "attachments": attachments[c.id],
            }
            for c in contacts
        ],
        "deadlines": [
            {
                "clock": d.clock,
                "due": d.due_date.isoformat(),
                "status": _status(d, today),
                "owner": d.owner_role,
                "started": d.started_on.isoformat(),
                "explanation": d.explanation,
                # An earlier run of a clock that ran again (a returned outcome, a reopening).
                "superseded": latest_run[d.clock] != d.id,
            }
            for d in deadlines
        ],
        "letters": [
            {
                "id": letter.id,
                "kind": letter.kind,
                "sha256": letter.signed_sha256 or letter.sha256,
                "signed_at": letter.signed_at.isoformat() if letter.signed_at else None,
                "sent_at": letter.sent_at.isoformat() if letter.sent_at else None,
                "sent_method": letter.sent_method,
            }
            for letter in letters
        ],
        "history": [
            {
                "event": e.event,
                "actor": e.actor,
                "actor_name": names.get(e.actor, e.actor),
                "at": e.at.isoformat(),
                "from": e.from_state,
                "to": e.to_state,
                "data": e.data,
                "note": e.note,
            }
            for e in events
        ],
        "events_available": available_events(facts, actor),
    }


# The event that sends work back, and the one that hands it on again, by state.
RETURNS = {
    "in_review": ("return_for_changes", "submit_outcome", "outcome"),
    "authorised": ("return_letter", "prepare_letter", "letter"),
}


def _returned(state: str, events: Sequence[Said], names: dict[str, str]) -> dict[str, Any] | None:
    """The director's return, while the work she sent back is not yet handed on again."""
    if state not in RETURNS:
        return None
    back, onward, what = RETURNS[state]
    for e in reversed(events):
        if e.event == onward:
            return None
        if e.event == back:
            return {"by": names.get(e.actor, e.actor), "at": e.at.isoformat(),
                    "note": e.note or "", "what": what}
    return None


# The events that send work back and hand it on again, of many cases.
_RETURNS = (
    select(*_SAID)
    .where(Event.case_id.in_(bindparam("case_ids", expanding=True)),
           Event.event.in_(sorted({e for pair in RETURNS.values() for e in pair[:2]})))
    .order_by(Event.id)
)


def _returns_of(
    s: Session, cases: Sequence[Listed], names: dict[str, str]
) -> dict[int, dict[str, Any] | None]:
    """_returned for many cases in one query (the reviewer's list marks returned work)."""
    if not cases:
        return {}
    by_case: dict[int, list[Said]] = {c.id: [] for c in cases}
    for row in s.connection().execute(_RETURNS, {"case_ids": list(by_case)}):
        said = Said(*row)
        if said.case_id is not None:
            by_case[said.case_id].append(said)
    return {c.id: _returned(c.state, by_case[c.id], names) for c in cases}


def events_for(ctx: AppContext, actor_name: str | None, reference: str) -> list[dict[str, Any]]:
    """The events the user may fire on the case now, with the values each takes."""
    with ctx.read() as read:
        s = read.session
        _, actor, case = readable_case(s, actor_name, reference)
        facts = case_facts(s, case)
        out = []
        for event in available_events(facts, actor):
            step = steps_for(event)[0]
            out.append(
                {
                    "event": event,
                    "description": step.description,
                    "note_required": any(st.note_required for st in steps_for(event)),
                    "fields": [
                        {
                            "name": f.name,
                            "kind": f.kind,
                            "choices": list(f.choices),
                            "required": f.required,
                        }
                        for f in fields_of(event).values()
                    ],
                }
            )
        return out


# The queues' cases, each statement built once: those in a state the queue waits on (and
# the reader's lists show, :listed), or with letters to post too; and mine: a case not closed
# with a running clock this user (or, unassigned, their role) owns, or that they review.
_LISTED_STATE = Case.state.in_(bindparam("listed", expanding=True))
_WAITING_STATE = Case.state.in_(bindparam("waiting", expanding=True))
_WAITING_OR_TO_POST = _LISTED.where(
    _WAITING_STATE | Case.id.in_(bindparam("to_post", expanding=True)), _LISTED_STATE
).order_by(Case.received_at)
_OWNS = exists().where(
    Deadline.case_id == Case.id,
    Deadline.status == "running",
    (Deadline.owner_user_id == bindparam("user_id"))
    | (Deadline.owner_user_id.is_(None)
       & Deadline.owner_role.in_(bindparam("roles", expanding=True))),
)
_MINE = _LISTED.where(
    Case.state != "closed", _OWNS | (Case.reviewer_id == bindparam("user_id")), _LISTED_STATE
).order_by(Case.received_at)


# The director's and the assistant's queues (no letters to post among them): the cases in a
# state the queue waits on, and their open clocks, each by a statement compiled once and run
# on the driver's cursor (db.prebuilt): the queue is the director's page, read all day, and
# SQLAlchemy's handling of its rows cost three times their SQL. Which of these cases a reader's
# lists show (listed_states) is asked of each row, as the restriction is.
_QUEUE_CASES = {
    which: Prebuilt(_LISTED.where(one_of(Case.state, states)).order_by(Case.received_at))
    for which, states in QUEUES.items()
}
_QUEUE_CLOCKS = {
    which: Prebuilt(
        # From the queue's cases to their clocks (an outer join keeps that order on SQLite; by
        # the clocks' status it scanned every open clock in the register): a case without an
        # open clock gives one row of NULLs.
        select(Deadline.id, Deadline.case_id, Deadline.clock, Deadline.status, Deadline.due_date)
        .select_from(Case)
        .outerjoin(Deadline, (Deadline.case_id == Case.id)
                   & one_of(Deadline.status, OPEN_STATUSES))
        .where(one_of(Case.state, states))
        .order_by(Deadline.id)
    )
    for which, states in QUEUES.items()
}


def queue(
    ctx: AppContext, actor_name: str | None, which: str, *,
    actor: Actor | None = None, user_id: int | None = None,
) -> list[dict[str, Any]]:
    """Work waiting for the director, the assistant, or (mine) for the acting user.

    ACTOR and USER_ID, when given, are the acting user already checked in this request (the
    web's session check): not loaded again. Only reads: no write lock."""
    if which not in ("director", "assistant", "mine"):
        raise BadInput("queue", "one of director, assistant, mine")
    with ctx.read() as read:
        s = read.session
        if actor is None or user_id is None:
            user, actor = acting_user(s, actor_name)
            user_id = user.id
        _require_reader(actor)
        if which != "mine" and QUEUE_ROLES[which] not in actor.roles:
            raise NotAllowed(f"the {which} queue needs the role {role_label(QUEUE_ROLES[which])}")
        today = ctx.calendar.local_date(ctx.now())
        # Letters the assistant has to post, by case: such a case waits on her in any state.
        to_post: dict[int, list[Letter]] = {}
        if which == "assistant":
            for letter in waiting_to_post(s):
                to_post.setdefault(letter.case_id, []).append(letter)
        params: dict[str, Any] = {"listed": list(listed_states(actor))}
        if which == "mine":
            params.update(user_id=user_id, roles=sorted(actor.roles))
            cases = _listed(s, _MINE, actor, params)
            deadlines = _deadlines_by_case(s, [c.id for c in cases])
        elif to_post:
            params.update(waiting=list(QUEUES[which]), to_post=sorted(to_post))
            cases = _listed(s, _WAITING_OR_TO_POST, actor, params)
            deadlines = _deadlines_by_case(s, [c.id for c in cases])
        else:
            cases = _queue_cases(s, which, actor)
            deadlines = _queue_clocks(s, which, [c.id for c in cases])
        names, staff = staff_names(s)
        all_facts = _listed_facts(s, cases, today, deadlines, staff)
        returned = _returns_of(s, [c for c in cases if c.state in RETURNS], names)
        out = []
        for case in cases:
            facts = all_facts[case.id]
            events = available_events(facts, actor)
            row = _summary(case, deadlines[case.id], today, facts, names, actor)
            if which == "mine":
                # Mine: a next step this user owns, as the reviewer or through a role.
                mine = [
                    step
                    for step in row["next_steps"]
                    if step["owner"] == actor.username
                    or (step["owner_role"] != REVIEWER and step["owner_role"] in actor.roles)
                ]
                if not mine:
                    continue
                row.update(task=mine[0]["task"], due=mine[0]["due"])
            if not events and case.id not in to_post:
                continue
            row["events"] = events
            row["returned"] = returned.get(case.id)
            if which == "assistant":
                row["letters_to_post"] = [
                    {"letter_id": x.id, "kind": x.kind, "made_at": x.created_at.isoformat()}
                    for x in to_post.get(case.id, [])
                ]
            out.append(row)
        return out


TEAM_ROLES = frozenset({"iat_manager"})


def team_view(
    ctx: AppContext,
    actor_name: str | None,
    *,
    owner: str | None = None,
    state: str | None = None,
    clock: str | None = None,
) -> dict[str, Any]:
    """The IAT manager's view of the team: every open case by its next step's due date, overdue
    first, cases with no owner or no running clock flagged as stuck; filtered by who must act
    (a role or a username), state and clock; with counts of each."""
    if state is not None and state not in STATES:
        raise BadInput("state", f"unknown state (one of {', '.join(STATES)})")
    with ctx.read() as read:
        s = read.session
        _, actor = acting_user(s, actor_name)
        if not actor.roles & TEAM_ROLES:
            raise NotAllowed("the team view needs the role IAT manager")
        today = ctx.calendar.local_date(ctx.now())
        cases = _listed(
            s, _LISTED.where(Case.state != "closed", Case.state.in_(listed_states(actor))), actor
        )
        deadlines = _deadlines_by_case(s, [c.id for c in cases])
        names, staff = staff_names(s)
        all_facts = _listed_facts(s, cases, today, deadlines, staff)
        rows = []
        for case in cases:
            row = _summary(case, deadlines[case.id], today, all_facts[case.id], names, actor)
            steps = row["next_steps"]
            row["stuck"] = not steps or any(step["due"] is None for step in steps)
            row["late"] = any(step["status"] == "overdue" for step in steps)
            row["clock"] = steps[0]["clock"] if steps else None
            row["owners"] = sorted({str(step["owner"]) for step in steps if step["owner"]})
            rows.append(row)
        counts = {
            "owner": _count(o for row in rows for o in row["owners"] or ["none"]),
            "state": _count(row["state"] for row in rows),
            "clock": _count(row["clock"] or "none" for row in rows),
            "overdue": sum(1 for row in rows if row["late"]),
            "stuck": sum(1 for row in rows if row["stuck"]),
            "open": len(rows),
        }
        if owner:
            rows = [row for row in rows if owner in row["owners"]]
        if state:
            rows = [row for row in rows if row["state"] == state]
        if clock:
            rows = [row for row in rows if any(st["clock"] == clock for st in row["next_steps"])]
        rows.sort(key=lambda row: (not row["stuck"], not row["late"], row["due"] or "9999"))
        return {"rows": rows, "counts": counts, "names": names}


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))
