"""Reading a case for the service layer: lookup, references and the facts the guards need."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import (
    ColumnElement,
    Exists,
    Select,
    and_,
    bindparam,
    exists,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, aliased

from concerns.db.models import (
    Case,
    CaseConflict,
    Deadline,
    Escalation,
    Respondent,
    User,
    UserRole,
)
from concerns.db.prebuilt import Prebuilt, attach, one_of
from concerns.workflows.audit import CHAIN_HEAD, head_readable_early, remember_head
from concerns.workflows.clocks import OPEN_STATUSES, remember_stored
from concerns.workflows.errors import NotFound
from concerns.workflows.machine import CaseFacts


class CaseFactsSource(Protocol):
    """What the guards' facts read of a case: a mapped Case, or a list's plain row of the same
    columns (queries.Listed; a queue builds no ORM object per case)."""

    @property
    def id(self) -> int: ...
    @property
    def state(self) -> str: ...
    @property
    def reviewer_id(self) -> int | None: ...
    @property
    def submitted_by_id(self) -> int | None: ...
    @property
    def outcome_summary(self) -> str | None: ...
    @property
    def outcome_wording(self) -> str | None: ...
    @property
    def complaints_meets_criteria(self) -> bool | None: ...
    @property
    def legal_proceedings(self) -> str | None: ...
    @property
    def return_state(self) -> str | None: ...
    @property
    def staff_named_keys(self) -> list[Any]: ...


class ClockFacts(Protocol):
    """What the guards' facts and next steps read of a clock: a mapped Deadline or a list's plain
    row (queries.ListedClock)."""

    @property
    def clock(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def due_date(self) -> date: ...


def get_case(session: Session, reference: str) -> Case:
    case = session.scalars(select(Case).where(Case.reference == reference.strip().upper())).first()
    if case is None:
        raise NotFound(f"no case with reference {reference.strip()[:40]}")
    return case


def next_reference(session: Session, prefix: str, at: datetime) -> str:
    """CAC-2026-0001: numbered per year, atomically, on SQLite and PostgreSQL alike."""
    year = at.year
    number = session.connection().execute(_NEXT_NUMBER, {"year": year}).scalar_one()
    return f"{prefix}-{year}-{number:04d}"


# The year's next number, as one upsert that SQLite and PostgreSQL both take. Written as text:
# the dialects' on_conflict_do_update has no cache key, so it was compiled again on every intake
# (more than running it cost); a text statement is compiled once and cached.
_NEXT_NUMBER = text(
    "INSERT INTO reference_counters (year, last) VALUES (:year, 1)"
    " ON CONFLICT (year) DO UPDATE SET last = reference_counters.last + 1"
    " RETURNING last"
)


def case_facts(
    session: Session,
    case: Case,
    values: dict[str, Any] | None = None,
    *,
    today: date | None = None,
) -> CaseFacts:
    return case_facts_many(session, [case], values, today=today)[case.id]


def _reply_windows_open(session: Session, ids: list[int], today: date | None) -> set[int]:
    """Cases whose person's reply window still runs on TODAY (without it: any running one)."""
    if not ids:
        return set()
    windows = select(Deadline.case_id).where(
        Deadline.case_id.in_(ids),
        Deadline.clock == "reply_window",
        Deadline.status == "running",
    )
    if today is not None:
        windows = windows.where(Deadline.due_date >= today)
    return set(session.scalars(windows))


def facts_from(
    case: CaseFactsSource,
    values: dict[str, Any],
    reviewer: str | None,
    submitted_by: str | None,
    open_by_severity: dict[str, int],
    reply_window_open: bool = False,
) -> CaseFacts:
    summary = values.get("summary") or case.outcome_summary
    wording = values.get("wording") or case.outcome_wording
    return _facts(
        case.state,
        reviewer,
        case.complaints_meets_criteria,
        case.legal_proceedings,
        bool(summary and wording),
        submitted_by,
        open_by_severity.get("safeguarding", 0),
        sum(open_by_severity.values()),
        case.return_state,
        frozenset(case.staff_named_keys or []),
        reply_window_open,
    )


@functools.lru_cache(maxsize=4096)
def _facts(
    state: str, reviewer: str | None, complaints_meets_criteria: bool | None,
    legal_proceedings: str | None, has_outcome: bool, submitted_by: str | None,
    open_safeguarding_escalations: int, open_escalations: int, return_state: str | None,
    staff_named_keys: frozenset[str], reply_window_open: bool,
) -> CaseFacts:
    """CaseFacts made once for each distinct set (frozen, so shared): a queue's cases are in a
    few situations, and the frozen dataclass cost more to make than the rest of a row's facts;
    the guards' caches then find the same object."""
    return CaseFacts(
        state=state,
        reviewer=reviewer,
        complaints_meets_criteria=complaints_meets_criteria,
        legal_proceedings=legal_proceedings,
        has_outcome=has_outcome,
        submitted_by=submitted_by,
        open_safeguarding_escalations=open_safeguarding_escalations,
        open_escalations=open_escalations,
        return_state=return_state,
        staff_named_keys=staff_named_keys,
        reply_window_open=reply_window_open,
    )


def case_facts_many(
    session: Session,
    cases: Sequence[CaseFactsSource],
    values: dict[str, Any] | None = None,
    *,
    today: date | None = None,
    clocks: Mapping[int, Sequence[ClockFacts]] | None = None,
    staff: dict[int, str] | None = None,
    open_escalations: Mapping[int, dict[str, int]] | None = None,
) -> dict[int, CaseFacts]:
    """The guards' facts for many cases in four queries, whatever their number (queues).
    TODAY (the council's local date) tells whether the person's reply window still runs.
    A list that has read the cases' CLOCKS already (every deadline of each case), the STAFF
    (user id → username) and each case's OPEN_ESCALATIONS by severity (open_escalation_count
    beside its columns) passes them: not asked again."""
    values = values or {}
    ids = [c.id for c in cases]
    open_by_case: dict[int, dict[str, int]] = {cid: {} for cid in ids}
    if open_escalations is not None:
        open_by_case.update(open_escalations)
    elif ids:
        rows = session.execute(
            select(Escalation.case_id, Escalation.severity, func.count())
            .where(Escalation.case_id.in_(ids), Escalation.resolved_at.is_(None))
            .group_by(Escalation.case_id, Escalation.severity)
        ).all()
        for case_id, severity, count in rows:
            open_by_case[case_id][severity] = int(count)
    if staff is not None:
        names = staff
    else:
        names = usernames(session, {u for c in cases for u in (c.reviewer_id, c.submitted_by_id)})
    if clocks is not None:
        window_open = {
            cid for cid, rows in clocks.items()
            if any(d.clock == "reply_window" and d.status == "running"
                   and (today is None or d.due_date >= today) for d in rows)
        }
    else:
        window_open = _reply_windows_open(session, ids, today)
    return {
        case.id: facts_from(
            case,
            values,
            names.get(case.reviewer_id) if case.reviewer_id else None,
            names.get(case.submitted_by_id) if case.submitted_by_id else None,
            open_by_case[case.id],
            case.id in window_open,
        )
        for case in cases
    }


def barring() -> ColumnElement[bool]:
    """Conflict rows that keep a member of staff out of a case: excluded, confirmed, or flagged
    and not cleared (access.conflicts)."""
    return or_(CaseConflict.finding == "excluded", CaseConflict.status != "cleared")


_REVIEWER = aliased(User)
_SUBMITTER = aliased(User)


def open_escalation_count(*severities: str) -> Any:
    """A case's open escalations (of SEVERITIES, or all), as a column beside the case's own."""
    query = select(func.count()).where(
        Escalation.case_id == Case.id, Escalation.resolved_at.is_(None)
    )
    if severities:
        query = query.where(one_of(Escalation.severity, severities))
    return query.correlate(Case).scalar_subquery()


def reader_barred() -> Exists:
    """Whether a conflict of interest bars the member of staff named by :username from the case
    the statement reads (correlated to Case)."""
    return (
        exists()
        .where(
            CaseConflict.case_id == Case.id,
            CaseConflict.user_id == User.id,
            User.username == bindparam("username"),
            barring(),
        )
        .correlate(Case)
    )


def reply_window_runs() -> Exists:
    """Whether the person's reply window still runs on :today for the case the statement reads
    (the same rule as _reply_windows_open, as a column)."""
    return (
        exists()
        .where(
            Deadline.case_id == Case.id,
            Deadline.clock == "reply_window",
            Deadline.status == "running",
            Deadline.due_date >= bindparam("today"),
        )
        .correlate(Case)
    )


# What the guards' facts read beside a case's own columns, in the order case_and_actor and the
# case page read them: its reviewer's and submitter's usernames (join with_staff_names), its
# open escalations (all, safeguarding), whether the reader is barred and whether the reply
# window runs.
FACT_COLUMNS = (
    _REVIEWER.username,
    _SUBMITTER.username,
    open_escalation_count(),
    open_escalation_count("safeguarding"),
    reader_barred(),
    reply_window_runs(),
)


def with_staff_names(stmt: Select[Any]) -> Select[Any]:
    """STMT joined to the case's reviewer and submitter, whose usernames FACT_COLUMNS read."""
    return stmt.outerjoin(_REVIEWER, _REVIEWER.id == Case.reviewer_id).outerjoin(
        _SUBMITTER, _SUBMITTER.id == Case.submitted_by_id
    )


_OPEN_CLOCK = aliased(Deadline)
_ACTOR = aliased(User)
# The acting user, named by the same parameter as the conflict check, and their roles as one
# string (a join to their roles would repeat the case's rows once per role).
_ACTOR_COLUMNS = (
    _ACTOR.id,
    _ACTOR.active,
    _ACTOR.name_key,
    select(func.aggregate_strings(UserRole.role, ","))
    .where(UserRole.user_id == _ACTOR.id)
    .correlate(_ACTOR)
    .scalar_subquery(),
)
# The mapped columns an event's statement reads of the case, its person and each open clock, by
# attribute key, in the statement's order: the objects are made from them (db.prebuilt.attach).
_CASE_KEYS = tuple(p.key for p in inspect(Case).column_attrs)
_PERSON_KEYS = tuple(p.key for p in inspect(Respondent).column_attrs)
_CLOCK_KEYS = tuple(p.key for p in inspect(Deadline).column_attrs)
# Whether the case's person's record is restricted, for an event that does not read the person
# (most never do; the record is read when first wanted, by a letter).
_RESTRICTED = (
    select(Respondent.restricted_at.is_not(None))
    .where(Respondent.id == Case.respondent_id)
    .correlate(Case)
    .scalar_subquery()
)


@functools.cache
def _case_for_event(with_person: bool, with_head: bool, with_actor: bool) -> Prebuilt:
    """The statement `case_and_actor` runs, built once: the case and FACT_COLUMNS, its person
    (or whether the person is restricted), one row per open clock of the case (or one row with
    none), where asked the audit chain's head and, last, the acting user's columns. Run on the
    driver's cursor, the objects made from its rows: the ORM's loading of them cost an event
    more than all its SQL."""
    columns: list[Any] = [*(getattr(Case, k) for k in _CASE_KEYS), *FACT_COLUMNS]
    if with_person:
        columns += [getattr(Respondent, k) for k in _PERSON_KEYS]
    else:
        columns.append(_RESTRICTED)
    columns += [getattr(_OPEN_CLOCK, k) for k in _CLOCK_KEYS]
    if with_head:
        columns.append(CHAIN_HEAD)
    if with_actor:
        columns += _ACTOR_COLUMNS
    stmt = with_staff_names(select(*columns).select_from(Case))
    if with_person:
        stmt = stmt.join(Respondent, Respondent.id == Case.respondent_id)
    stmt = (
        stmt.outerjoin(
            _OPEN_CLOCK,
            and_(_OPEN_CLOCK.case_id == Case.id, one_of(_OPEN_CLOCK.status, OPEN_STATUSES)),
        )
        .where(Case.reference == bindparam("reference"))
        .order_by(_OPEN_CLOCK.id)
    )
    if with_actor:
        stmt = stmt.outerjoin(_ACTOR, _ACTOR.username == bindparam("username"))
    return Prebuilt(stmt)


@dataclass(frozen=True)
class ActorColumns:
    """The acting user as read with the case: id None when nobody has the username."""

    id: int | None
    active: bool
    name_key: str
    roles: frozenset[str]


def case_and_actor(
    session: Session,
    reference: str,
    values: dict[str, Any] | None = None,
    *,
    today: date,
    username: str,
    with_person: bool = True,
    with_actor: bool = True,
) -> tuple[Case, CaseFacts, bool, bool, ActorColumns | None]:
    """The case, the facts its guards need, whether USERNAME is barred from it by a conflict of
    interest, whether its person's record is restricted and, with WITH_ACTOR, USERNAME's own
    columns and roles (the caller refuses a missing or disabled user): one statement, the only
    one firing an event runs to check it. Without WITH_PERSON the person's record is read only
    if something asks for it. NotFound when there is no such case.

    The same statement reads what the event goes on to need, kept for this transaction: the
    case's open clocks (`clocks.open_deadlines` does not read them again) and, on SQLite, the
    audit chain's head (`audit.append_event` does not either)."""
    conn = session.connection()
    with_head = head_readable_early(conn)
    rows = _case_for_event(with_person, with_head, with_actor).rows(
        conn, {"reference": reference.strip().upper(), "username": username, "today": today}
    )
    if not rows:
        raise NotFound(f"no case with reference {reference.strip()[:40]}")
    row = rows[0]
    at = len(_CASE_KEYS)
    case_values = dict(zip(_CASE_KEYS, row[:at], strict=True))
    reviewer, submitted_by, open_all, open_safeguarding, barred, window = row[at:at + 6]
    at += 6
    if with_person:
        person = attach(session, Respondent,
                        dict(zip(_PERSON_KEYS, row[at:at + len(_PERSON_KEYS)], strict=True)))
        case_values["respondent"] = person
        restricted = person.restricted_at is not None
        at += len(_PERSON_KEYS)
    else:
        restricted = bool(row[at])
        at += 1
    case = attach(session, Case, case_values)
    clock_id = at + _CLOCK_KEYS.index("id")
    remember_stored(session, case.id, [
        attach(session, Deadline,
               dict(zip(_CLOCK_KEYS, r[at:at + len(_CLOCK_KEYS)], strict=True)))
        for r in rows if r[clock_id] is not None
    ])
    at += len(_CLOCK_KEYS)
    if with_head:
        remember_head(session, row[at])
    actor = None
    if with_actor:
        actor_id, active, name_key, roles = row[-4:]
        actor = ActorColumns(actor_id, bool(active), name_key or "",
                             frozenset(roles.split(",")) if roles else frozenset())
    # Only the safeguarding count is told apart by the guards; the rest is the total.
    by_severity = {
        "safeguarding": int(open_safeguarding),
        "other": int(open_all) - int(open_safeguarding),
    }
    facts = facts_from(
        case, values or {}, reviewer, submitted_by, {k: v for k, v in by_severity.items() if v},
        bool(window),
    )
    return case, facts, bool(barred), restricted, actor


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
