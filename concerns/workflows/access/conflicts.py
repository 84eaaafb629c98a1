"""Conflicts of interest, kept per case and member of staff (`case_conflicts`).

The pure check (`triage.conflict`) runs when a concern arrives or gains a contact, and when an
account is added or renamed; what it finds is stored, so every list and every case page asks
one indexed question. An "excluded" member of staff never opens the case; a "flagged" one waits
for the IAT manager, who confirms (then excluded) or clears (then they may open it), with a reason,
both audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from concerns.db.models import Case, CaseConflict, Contact, User
from concerns.db.prebuilt import Prebuilt
from concerns.triage.conflict import Match, check
from concerns.workflows.access.readers import ensure_may_read, load_actor
from concerns.workflows.audit import append_event
from concerns.workflows.cases import barring, get_case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound

# Who confirms or clears a flag: the lifecycle table's manager role.
DECIDERS = frozenset({"iat_manager"})


def _record(session: Session, case_id: int, user_id: int, found: Match, at: datetime) -> bool:
    """Store a finding; a stronger one replaces a weaker (a later contact naming them outright),
    a decided flag stays decided. True if anything changed."""
    row = session.scalars(
        select(CaseConflict).where(CaseConflict.case_id == case_id,
                                   CaseConflict.user_id == user_id)
    ).one_or_none()
    if row is None:
        session.add(CaseConflict(case_id=case_id, user_id=user_id, finding=found.finding,
                                 source=found.source, mention=found.mention[:300],
                                 status="open", created_at=at))
        return True
    if row.finding == "flagged" and found.finding == "excluded" and row.status != "confirmed":
        row.finding, row.source, row.mention = "excluded", found.source, found.mention[:300]
        row.status = "open"
        return True
    return False


# Compiled once, run on the driver's cursor: every intake asks both, and SQLAlchemy's own path
# cost more than the queries. They see only stored rows: recheck_case flushes first.
_CASE_TEXTS = Prebuilt(select(Contact.concern).where(Contact.case_id == bindparam("case_id")))
_STAFF_NAMES = Prebuilt(select(User.id, User.full_name))


def recheck_case(
    session: Session, case: Case, at: datetime, *, texts: list[str] | None = None
) -> int:
    """Check every member of staff against CASE (its named staff and all its contacts' text).
    Returns how many findings were stored or strengthened.

    TEXTS, when the caller holds them, are all the case's contacts' text (a case just opened:
    its one contact's), not read back."""
    session.flush()
    conn = session.connection()
    if texts is None:
        texts = [row[0] for row in _CASE_TEXTS.rows(conn, {"case_id": case.id})]
    named = [str(n) for n in case.staff_named or []]
    changed = 0
    for user_id, full_name in _STAFF_NAMES.rows(conn):
        found = check(full_name, named, texts)
        if found is not None and _record(session, case.id, user_id, found, at):
            changed += 1
    return changed


def recheck_user(session: Session, user: User, at: datetime) -> int:
    """Check one member of staff (new, or renamed) against every case."""
    changed = 0
    texts: dict[int, list[str]] = {}
    for case_id, concern in session.execute(select(Contact.case_id, Contact.concern)):
        texts.setdefault(case_id, []).append(concern)
    for case_id, named in session.execute(select(Case.id, Case.staff_named)).all():
        found = check(user.full_name, [str(n) for n in named or []], texts.get(case_id, []))
        if found is not None and _record(session, case_id, user.id, found, at):
            changed += 1
    return changed


def barred_case_ids(session: Session, username: str) -> set[int]:
    """The cases USERNAME may not open because of a conflict of interest."""
    return set(session.scalars(
        select(CaseConflict.case_id).join(User, User.id == CaseConflict.user_id)
        .where(User.username == username, barring())
    ))


@dataclass(frozen=True)
class ConflictInfo:
    reference: str
    username: str
    full_name: str
    finding: str
    source: str
    mention: str
    status: str
    decided_by: str | None
    reason: str | None


def list_conflicts(
    ctx: AppContext, actor_name: str | None, *, open_only: bool = True
) -> list[ConflictInfo]:
    """Flags waiting for the IAT manager (or, with open_only False, every finding)."""
    with ctx.read() as read:
        s = read.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & DECIDERS:
            raise NotAllowed("only an IAT manager may see conflicts of interest")
        query = (
            select(CaseConflict, Case.reference, User.username, User.full_name)
            .join(Case, Case.id == CaseConflict.case_id)
            .join(User, User.id == CaseConflict.user_id)
            .order_by(Case.reference, User.username)
        )
        if open_only:
            query = query.where(CaseConflict.finding == "flagged", CaseConflict.status == "open")
        # A manager never rules on their own conflict, nor sees the words of a concern they
        # may not open themselves.
        own_bars = barred_case_ids(s, actor.username)
        out = []
        for row, reference, username, full_name in s.execute(query).all():
            if username == actor.username or row.case_id in own_bars:
                continue
            out.append(ConflictInfo(reference, username, full_name, row.finding, row.source,
                                    row.mention, row.status, row.decided_by, row.reason))
        return out


def conflict_for(
    ctx: AppContext, actor_name: str | None, reference: str, username: str
) -> ConflictInfo:
    """One possible conflict, as the IAT manager decides it (the web's decision page)."""
    wanted = reference.strip().upper()
    for found in list_conflicts(ctx, actor_name, open_only=False):
        if found.reference == wanted and found.username == username:
            return found
    raise NotFound(f"no possible conflict of interest for {username} on {wanted}")


def decide_conflict(
    ctx: AppContext, actor_name: str | None, reference: str, username: str, decision: str,
    reason: str,
) -> ConflictInfo:
    """The IAT manager confirms (the member of staff is excluded) or clears (they may open the
    case) a flagged possible conflict, with a reason. Audited on the case."""
    if decision not in ("confirm", "clear"):
        raise BadInput("decision", "confirm or clear")
    reason = reason.strip()
    if not reason:
        raise BadInput("reason", "give the reason for the decision")
    with ctx.uow() as uow:
        s = uow.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & DECIDERS:
            raise NotAllowed("only an IAT manager may confirm or clear a conflict of interest")
        if actor.username == username:
            raise NotAllowed("a conflict of interest of your own is for another manager")
        case = get_case(s, reference)
        # Refused as every use case on one case refuses: a conflict of the manager's own on
        # it, or its person's record under restriction.
        ensure_may_read(s, actor, case)
        row = s.scalars(
            select(CaseConflict).join(User, User.id == CaseConflict.user_id)
            .where(CaseConflict.case_id == case.id, User.username == username)
        ).one_or_none()
        if row is None:
            raise NotFound(f"no possible conflict of interest for {username} on {reference}")
        if row.finding != "flagged":
            raise BadInput("decision", "a certain match is not for a decision: they stay excluded")
        at = ctx.now()
        row.status = "confirmed" if decision == "confirm" else "cleared"
        row.decided_by, row.decided_at, row.reason = actor.username, at, reason
        append_event(s, case_id=case.id, event=f"conflict_{row.status}", actor=actor.username,
                     at=at, data={"username": username}, note=reason)
        user = s.scalars(select(User).where(User.username == username)).one()
        info = ConflictInfo(case.reference, username, user.full_name, row.finding, row.source,
                            row.mention, row.status, row.decided_by, row.reason)
        uow.commit()
        return info
