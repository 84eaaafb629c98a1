"""Staff accounts and roles, and who may read which case."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from concerns.db.models import Case, User, UserRole
from concerns.triage.matching import normalise_name
from concerns.workflows.access.conflicts import is_barred, recheck_user
from concerns.workflows.audit import append_event
from concerns.workflows.cases import get_case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.machine import CASE_READERS, RECORDS_OFFICERS, ROLES, Actor

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()

# The demo install's staff (username, roles, full name); tests use the same list.
DEMO_PASSWORD = "concerns-demo"
DEMO_USERS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("admin", ("admin",), "System Administrator"),
    ("ian", ("intake",), "Ian Kaur"),
    ("alex", ("iat_officer",), "Alex Morgan"),
    ("sam", ("iat_officer",), "Sam Patel"),
    ("jo", ("iat_officer",), "Jo Bloggs"),
    ("morgan", ("iat_manager",), "Morgan Reid"),
    ("priya", ("information_officer",), "Priya Shah"),
    ("lee", ("legal",), "Lee Evans"),
    ("dana", ("director",), "Dana Whitfield"),
    ("erin", ("executive_assistant",), "Erin Clarke"),
    ("audrey", ("auditor",), "Audrey Stone"),
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@dataclass(frozen=True)
class UserInfo:
    username: str
    full_name: str
    email: str
    roles: tuple[str, ...]
    active: bool


def _info(user: User) -> UserInfo:
    return UserInfo(
        user.username, user.full_name, user.email, tuple(sorted(user.role_names)), user.active
    )


def load_actor(session: Session, username: str | None) -> tuple[User, Actor]:
    """The acting user, or NotAllowed: unknown, inactive or not given."""
    if not username:
        raise NotAllowed("no acting user: pass --as USER or set CONCERNS_USER")
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        raise NotAllowed(f"unknown or inactive user: {username}")
    return user, actor_of(user)


def actor_of(user: User) -> Actor:
    return Actor(user.username, user.role_names, user.name_key)


def is_named_in(session: Session, actor: Actor, case: Case) -> bool:
    """Conflict of interest: the user is named, or perhaps named and not yet cleared, in the
    concern (access.conflicts)."""
    return is_barred(session, actor.username, case.id)


def ensure_may_read(session: Session, actor: Actor, case: Case) -> None:
    # One answer for every refusal: a member of staff named in the concern is not told so.
    # A person's record under restriction (workflows/records/restriction.py) is shown only to
    # the records officers.
    restricted = case.respondent.restricted_at is not None and not (
        actor.roles & RECORDS_OFFICERS)
    if not actor.roles & CASE_READERS or restricted or is_named_in(session, actor, case):
        raise NotAllowed(f"case {case.reference}: you cannot open this case")


def readable_case(session: Session, actor_name: str | None, reference: str) -> tuple[
    User, Actor, Case
]:
    """The acting user and the case they may read, or NotAllowed/NotFound: the opening of every
    use case on one case."""
    user, actor = load_actor(session, actor_name)
    case = get_case(session, reference)
    ensure_may_read(session, actor, case)
    return user, actor, case


def add_user(
    ctx: AppContext,
    actor_name: str | None,
    username: str,
    roles: Iterable[str],
    *,
    full_name: str = "",
    email: str = "",
    password: str | None = None,
) -> UserInfo:
    """Create a staff account. Only an admin may, except for the very first account."""
    roles = tuple(dict.fromkeys(roles))
    if not USERNAME_RE.match(username):
        raise BadInput(
            "username",
            "use 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter",
        )
    if not roles:
        raise BadInput("role", "give at least one --role")
    for role in roles:
        if role not in ROLES:
            raise BadInput("role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
    if email and ("@" not in email or len(email) > 320):
        raise BadInput("email", "not an email address")
    if len(full_name) > 200:
        raise BadInput("full-name", "longer than 200 characters")
    with ctx.uow() as uow:
        s = uow.session
        first = s.scalar(select(func.count()).select_from(User)) == 0
        if first:
            acting = username
        else:
            _, actor = load_actor(s, actor_name)
            if "admin" not in actor.roles:
                raise NotAllowed("only an admin may add users")
            acting = actor.username
        if s.scalars(select(User.id).where(User.username == username)).first() is not None:
            raise BadInput("username", "already taken")
        user = User(
            username=username,
            full_name=full_name,
            email=email,
            name_key=normalise_name(full_name),
            password_hash=hash_password(password) if password else None,
            roles=[UserRole(role=r) for r in roles],
        )
        s.add(user)
        s.flush()
        recheck_user(s, user, ctx.now())
        append_event(
            s,
            event="user_added",
            actor=acting,
            at=ctx.now(),
            data={"username": username, "roles": list(roles)},
        )
        info = _info(user)
        uow.commit()
    return info


def list_users(ctx: AppContext, actor_name: str | None) -> list[UserInfo]:
    with ctx.uow() as uow:
        _, actor = load_actor(uow.session, actor_name)
        if not actor.roles & {"admin", "iat_manager"}:
            raise NotAllowed("only an admin or an IAT manager may list users")
        users = uow.session.scalars(select(User).order_by(User.username)).all()
        return [_info(u) for u in users]
