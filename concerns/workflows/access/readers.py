"""Who is acting, and whether they may read a case: the opening of every use case.

The acting user comes from `--as` (or $CONCERNS_USER) on the command line and from the signed-in
session on the web. A case is read only by the roles the lifecycle table lets read cases
(`CASE_READERS`), never by a member of staff a conflict of interest keeps out (access.conflicts
records those), and a person's record under restriction only by the records officers. Accounts
themselves are managed in access.users.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from concerns.db.models import Case, CaseConflict, User, UserRole
from concerns.db.prebuilt import Prebuilt
from concerns.workflows.cases import barring, get_case
from concerns.workflows.errors import BadInput, NotAllowed, did_you_mean
from concerns.workflows.machine import CASE_READERS, RECORDS_OFFICERS, Actor


def no_such_user(session: Session, field: str, username: str) -> BadInput:
    """One wording wherever a typed username names nobody, with the closest active username.

    Said only to someone already let in: the command line runs with the database's own access,
    and the web asks only signed-in staff (an admin, for accounts) for usernames. Sign-in never
    says whether a username exists."""
    known = session.scalars(select(User.username).where(User.active.is_(True))).all()
    hint = did_you_mean(username, known)
    fix = "check the spelling" if hint else "give the username of an active member of staff"
    return BadInput(field, f"no such user {username[:64]!r}{hint}: {fix}")


def load_actor(session: Session, username: str | None) -> tuple[User, Actor]:
    """The acting user; BadInput when none is given or nobody has that username, NotAllowed
    when the account is disabled."""
    if not username:
        raise BadInput("--as", "no acting user given: pass --as USER or set $CONCERNS_USER")
    # One query: the roles come joined, not as a second SELECT (this runs on every use case).
    user = (
        session.scalars(
            select(User).options(joinedload(User.roles)).where(User.username == username)
        )
        .unique()
        .first()
    )
    if user is None:
        raise no_such_user(session, "--as", username)
    if not user.active:
        raise NotAllowed(f"user {username}: the account is disabled (an admin can enable it)")
    return user, actor_of(user)


@dataclass(frozen=True)
class ActingUser:
    """The acting user as an event needs them: who, for the rows it writes."""

    id: int
    username: str


# Compiled once, run on the driver's cursor: every intake, list and page asks it, and
# SQLAlchemy's path for the statement cost more than the database's work.
_ACTING = Prebuilt(
    select(User.id, User.username, User.name_key, User.active, UserRole.role)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(User.username == bindparam("username"))
)


def acting_user(session: Session, username: str | None) -> tuple[ActingUser, Actor]:
    """`load_actor` for the lifecycle, which runs on every event: the user and their roles as
    plain values in one prebuilt statement, no ORM object; the same refusals."""
    if not username:
        raise BadInput("--as", "no acting user given: pass --as USER or set $CONCERNS_USER")
    rows = _ACTING.rows(session.connection(), {"username": username})
    if not rows:
        raise no_such_user(session, "--as", username)
    user_id, name, name_key, active, _ = rows[0]
    if not active:
        raise NotAllowed(f"user {username}: the account is disabled (an admin can enable it)")
    roles = frozenset(row[4] for row in rows if row[4])
    return ActingUser(user_id, name), Actor(name, roles, name_key)


def actor_of(user: User) -> Actor:
    return Actor(user.username, user.role_names, user.name_key)


def is_barred(session: Session, username: str, case_id: int) -> bool:
    """Whether a conflict of interest keeps USERNAME out of the case (access.conflicts)."""
    return session.scalars(
        select(CaseConflict.id).join(User, User.id == CaseConflict.user_id)
        .where(User.username == username, CaseConflict.case_id == case_id, barring())
    ).first() is not None


def is_named_in(session: Session, actor: Actor, case: Case) -> bool:
    """Conflict of interest: the user is named, or perhaps named and not yet cleared, in the
    concern (access.conflicts)."""
    return is_barred(session, actor.username, case.id)


def ensure_may_read(
    session: Session, actor: Actor, case: Case, *, barred: bool | None = None,
    person_restricted: bool | None = None,
) -> None:
    """BARRED, when the caller already read it with the case, is whether a conflict of interest
    keeps ACTOR out (`is_named_in`): not asked again; so is PERSON_RESTRICTED, whether the
    case's person's record is restricted."""
    # One answer for every refusal: a member of staff named in the concern is not told so.
    # A person's record under restriction (workflows/records/restriction.py) is shown only to
    # the records officers.
    if person_restricted is None:
        person_restricted = case.respondent.restricted_at is not None
    restricted = person_restricted and not actor.roles & RECORDS_OFFICERS
    if barred is None and actor.roles & CASE_READERS and not restricted:
        barred = is_named_in(session, actor, case)
    refuse_unless_readable(actor, case.reference, barred=bool(barred),
                           person_restricted=person_restricted)


def refuse_unless_readable(
    actor: Actor, reference: str, *, barred: bool, person_restricted: bool
) -> None:
    """`ensure_may_read` for a caller that read, with the case, whether a conflict of interest
    keeps ACTOR out (BARRED) and whether its person's record is restricted (the case page reads
    both in its one statement)."""
    restricted = person_restricted and not actor.roles & RECORDS_OFFICERS
    if not actor.roles & CASE_READERS or restricted or barred:
        raise NotAllowed(f"case {reference}: you cannot open this case")


def readable_case(session: Session, actor_name: str | None, reference: str) -> tuple[
    User, Actor, Case
]:
    """The acting user and the case they may read, or NotAllowed/NotFound: the opening of every
    use case on one case."""
    user, actor = load_actor(session, actor_name)
    case = get_case(session, reference)
    ensure_may_read(session, actor, case)
    return user, actor, case
