"""Staff accounts and roles: adding, listing, disabling, renaming, new passwords and second
factors, each audited with who and why. Who is acting and which case they may read is
access.readers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from concerns.db.models import Deadline, User, UserRole
from concerns.triage.conflict import staff_name
from concerns.triage.matching import normalise_name
from concerns.workflows.access import sessions as staff_sessions
from concerns.workflows.access.auth import check_password_rules, forget_failures, hash_password
from concerns.workflows.access.conflicts import recheck_user
from concerns.workflows.access.readers import load_actor, no_such_user
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.machine import CASE_READERS, ROLES, Actor

USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,63}$")

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


@dataclass(frozen=True)
class UserInfo:
    username: str
    full_name: str
    email: str
    roles: tuple[str, ...]
    active: bool
    last_sign_in: str | None = None


def _info(user: User) -> UserInfo:
    return UserInfo(
        user.username, user.full_name, user.email, tuple(sorted(user.role_names)), user.active,
        user.last_sign_in_at.isoformat(timespec="minutes") if user.last_sign_in_at else None,
    )


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
    if password is not None:
        check_password_rules(password, username, full_name)
    with ctx.uow() as uow:
        s = uow.session
        first = s.scalar(select(func.count()).select_from(User)) == 0
        if first:
            # A new install is never left without an administrator.
            if "admin" not in roles:
                raise BadInput("role", "the first account must have the role admin "
                                       "(concerns init --admin NAME)")
            acting = username
        else:
            _, actor = load_actor(s, actor_name)
            if "admin" not in actor.roles:
                raise NotAllowed("only an admin may add users")
            acting = actor.username
        _named_if_reading(roles, full_name)
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


def _named_if_reading(roles: Iterable[str], full_name: str) -> None:
    """Someone who reads cases needs a forename and surname on record: the conflict-of-interest
    check finds staff named in a concern by their name, and could never find a nameless one."""
    if set(roles) & CASE_READERS and staff_name(full_name) is None:
        # The field names itself: --full-name on the command line, its box on the staff page.
        raise BadInput("full-name", "give the person's forename and surname: staff who read "
                                    "cases are checked by name for conflicts of interest")


def list_users(ctx: AppContext, actor_name: str | None) -> list[UserInfo]:
    with ctx.read() as read:
        _, actor = load_actor(read.session, actor_name)
        if not actor.roles & {"admin", "iat_manager"}:
            raise NotAllowed("only an admin or an IAT manager may list users")
        users = read.session.scalars(select(User).order_by(User.username)).all()
        return [_info(u) for u in users]


# --- managing accounts: each audited with who and why ---------------------------------------

ACCOUNT_MANAGERS = frozenset({"admin"})


def _managed(s: Session, actor_name: str | None, username: str, what: str) -> tuple[Actor, User]:
    _, actor = load_actor(s, actor_name)
    if not actor.roles & ACCOUNT_MANAGERS:
        raise NotAllowed(f"only an admin may {what}")
    user = s.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise no_such_user(s, "username", username)
    return actor, user


def _why(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise BadInput("reason", "say why (it is kept in the audit trail)")
    if len(reason) > 2000:
        raise BadInput("reason", "longer than 2000 characters")
    return reason


def _admins_left(s: Session, without: User) -> int:
    return int(s.scalar(
        select(func.count()).select_from(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "admin", User.active.is_(True), User.id != without.id)
    ) or 0)


def disable_user(ctx: AppContext, actor_name: str | None, username: str, reason: str
                 ) -> UserInfo:
    """A leaver: the account cannot sign in, its sessions end now, and what it owned goes back
    to its role (reminders included)."""
    why = _why(reason)
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "disable accounts")
        if "admin" in user.role_names and not _admins_left(s, user):
            raise NotAllowed("this is the last active admin: add another first")
        at = ctx.now()
        user.active = False
        ended = staff_sessions.end_all_for(s, user.id, at)
        s.execute(update(Deadline).where(Deadline.owner_user_id == user.id)
                  .values(owner_user_id=None))
        append_event(s, event="user_disabled", actor=actor.username, at=at,
                     data={"username": username, "sessions_ended": ended}, note=why)
        info = _info(user)
        uow.commit()
    return info


def enable_user(ctx: AppContext, actor_name: str | None, username: str, reason: str
                ) -> UserInfo:
    why = _why(reason)
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "enable accounts")
        user.active = True
        append_event(s, event="user_enabled", actor=actor.username, at=ctx.now(),
                     data={"username": username}, note=why)
        info = _info(user)
        uow.commit()
    return info


def set_roles(ctx: AppContext, actor_name: str | None, username: str, roles: Iterable[str],
              reason: str) -> UserInfo:
    """Replace an account's roles; its sessions end so the new roles apply at once."""
    why = _why(reason)
    wanted = tuple(dict.fromkeys(roles))
    if not wanted:
        raise BadInput("role", "give at least one --role")
    for role in wanted:
        if role not in ROLES:
            raise BadInput("role", f"unknown role {role!r} (one of {', '.join(ROLES)})")
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "change roles")
        _named_if_reading(wanted, user.full_name)
        if "admin" in user.role_names and "admin" not in wanted and not _admins_left(s, user):
            raise NotAllowed("this is the last active admin: add another first")
        before = sorted(user.role_names)
        user.roles = [r for r in user.roles if r.role in wanted]
        have = user.role_names
        user.roles.extend(UserRole(role=r) for r in wanted if r not in have)
        at = ctx.now()
        ended = staff_sessions.end_all_for(s, user.id, at)
        append_event(s, event="user_roles_changed", actor=actor.username, at=at,
                     data={"username": username, "from": before, "to": sorted(wanted),
                           "sessions_ended": ended}, note=why)
        s.flush()
        info = _info(user)
        uow.commit()
    return info


def reset_password(ctx: AppContext, actor_name: str | None, username: str, password: str,
                   reason: str) -> UserInfo:
    """An admin sets a new password (the rules apply); every session of the account ends and
    its sign-in throttling is lifted."""
    why = _why(reason)
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "reset passwords")
        check_password_rules(password, user.username, user.full_name)
        at = ctx.now()
        user.password_hash = hash_password(password)
        ended = staff_sessions.end_all_for(s, user.id, at)
        forget_failures(s, user.username, user.id)
        append_event(s, event="password_reset", actor=actor.username, at=at,
                     data={"username": username, "sessions_ended": ended}, note=why)
        info = _info(user)
        uow.commit()
    return info


def rename_user(ctx: AppContext, actor_name: str | None, username: str, full_name: str,
                reason: str) -> UserInfo:
    """Set an account's full name (a new surname, a name missing or mistyped when it was added):
    every case is checked again for a conflict of interest under the new name, and what was
    found under the old one stands (a concern naming the old name still names the person)."""
    why = _why(reason)
    full_name = " ".join(full_name.split())
    if not full_name:  # a rename to nothing would only take away what the check matches
        raise BadInput("full-name", "give the person's full name")
    if len(full_name) > 200:
        raise BadInput("full-name", "longer than 200 characters")
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "change names")
        _named_if_reading(user.role_names, full_name)
        at = ctx.now()
        user.full_name, user.name_key = full_name, normalise_name(full_name)
        s.flush()
        found = recheck_user(s, user, at)
        append_event(s, event="user_renamed", actor=actor.username, at=at,
                     data={"username": username, "conflicts_found": found}, note=why)
        info = _info(user)
        uow.commit()
    return info


def unlock_user(ctx: AppContext, actor_name: str | None, username: str, reason: str
                ) -> UserInfo:
    """Lift the sign-in delays that failures of this username have built up."""
    why = _why(reason)
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "unlock accounts")
        cleared = forget_failures(s, user.username, user.id)
        append_event(s, event="user_unlocked", actor=actor.username, at=ctx.now(),
                     data={"username": username, "failures_forgotten": cleared}, note=why)
        info = _info(user)
        uow.commit()
    return info


def reset_second_factor(ctx: AppContext, actor_name: str | None, username: str, reason: str
                        ) -> UserInfo:
    """A lost phone: the account's second factor is removed (set up again at the next sign-in)
    and its sessions end."""
    why = _why(reason)
    with ctx.uow() as uow:
        s = uow.session
        actor, user = _managed(s, actor_name, username, "reset a second factor")
        at = ctx.now()
        user.totp_secret, user.totp_last_step, user.recovery_codes = None, None, []
        ended = staff_sessions.end_all_for(s, user.id, at)
        forget_failures(s, user.username, user.id)
        append_event(s, event="second_factor_reset", actor=actor.username, at=at,
                     data={"username": username, "sessions_ended": ended}, note=why)
        info = _info(user)
        uow.commit()
    return info
