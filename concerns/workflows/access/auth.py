"""Signing in with local accounts: argon2 password hashes and lock-out after repeated failures.

One use case per function, one transaction each. Messages never say whether a username exists
(apart from a locked account, which the person needs to be told to wait), and never carry the
password or any personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import User, UserRole
from concerns.db.uow import UnitOfWork
from concerns.workflows.audit import append_event
from concerns.workflows.errors import BadInput, NotFound
from concerns.workflows.settings import WebSettings

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong username takes as long as a wrong
# password and timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not a real password, only for constant-time refusals")

Reason = Literal["ok", "bad_credentials", "locked"]


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to. `user_id` is set only when `ok`."""

    reason: Reason
    user_id: int | None = None
    username: str | None = None
    locked_until: datetime | None = None
    # A short fingerprint of the password hash: stored in the session so that changing the
    # password ends every other session of that user.
    fingerprint: str = ""

    @property
    def ok(self) -> bool:
        return self.reason == "ok"

    @property
    def message(self) -> str:
        if self.reason == "locked":
            return "This account is locked after too many failed sign-ins. Try again later."
        if self.reason == "bad_credentials":
            return "The username or password is not right"
        return "Signed in"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def fingerprint(password_hash: str | None) -> str:
    """The last 16 characters of the hash (part of the random salt and digest): no secret."""
    return (password_hash or "")[-16:]


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput("password", f"shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput("password", f"longer than {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password or not password.strip():
        raise BadInput("password", "starts or ends with spaces")


def authenticate(
    sessions: sessionmaker[Session],
    web: WebSettings,
    now: Callable[[], datetime],
    username: str,
    password: str,
) -> SignIn:
    """Check USERNAME and PASSWORD; count failures and lock the account after too many."""
    with UnitOfWork(sessions) as uow:
        user = uow.session.scalars(
            select(User).where(User.username == username.strip()).with_for_update()
        ).one_or_none()
        if user is None or not user.active or not user.password_hash:
            _verify(_DUMMY_HASH, password)
            return SignIn("bad_credentials")
        at = now()
        if user.locked_until is not None and user.locked_until > at:
            _audit(uow.session, "sign_in_refused", user.username, at, {"reason": "locked"})
            uow.commit()
            return SignIn("locked", locked_until=user.locked_until)
        if user.locked_until is not None:
            # The lock has run out: a fresh count of attempts.
            user.locked_until = None
            user.failed_logins = 0
        if not _verify(user.password_hash, password):
            user.failed_logins = (user.failed_logins or 0) + 1
            if user.failed_logins >= web.max_failed_logins:
                user.locked_until = at + timedelta(minutes=web.lockout_minutes)
                user.failed_logins = 0
                _audit(uow.session, "account_locked", user.username, at,
                       {"minutes": web.lockout_minutes})
                uow.commit()
                return SignIn("locked", locked_until=user.locked_until)
            _audit(uow.session, "sign_in_failed", user.username, at,
                   {"failed_logins": user.failed_logins})
            uow.commit()
            return SignIn("bad_credentials")
        user.failed_logins = 0
        user.locked_until = None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        _audit(uow.session, "signed_in", user.username, at, {})
        uow.commit()
        return SignIn(
            "ok", user_id=user.id, username=user.username,
            fingerprint=fingerprint(user.password_hash),
        )


def set_password(
    sessions: sessionmaker[Session], username: str, password: str, *,
    actor: str | None = None, now: Callable[[], datetime] | None = None,
) -> None:
    """Give USERNAME a new password (and lift any lock-out); ACTOR is who did it (audited)."""
    check_password_rules(password)
    with UnitOfWork(sessions) as uow:
        user = uow.session.scalars(select(User).where(User.username == username)).one_or_none()
        if user is None:
            raise NotFound(f"user {username}: no such user")
        user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        at = now() if now else datetime.now(UTC)
        _audit(uow.session, "password_set", actor or username, at, {"username": username})
        uow.commit()


@dataclass(frozen=True)
class SessionUser:
    id: int
    username: str
    full_name: str
    name_key: str
    roles: frozenset[str]


def session_user(
    sessions: sessionmaker[Session], user_id: int, session_fingerprint: str
) -> SessionUser | None:
    """The signed-in user of a web session, or None if the account is gone, inactive or its
    password changed since the session began. One query: it runs on every request."""
    with sessions() as session:
        rows = session.execute(
            select(User.id, User.username, User.full_name, User.name_key, User.active,
                   User.password_hash, UserRole.role)
            .outerjoin(UserRole, UserRole.user_id == User.id)
            .where(User.id == user_id)
        ).all()
    if not rows:
        return None
    first = rows[0]
    if not first.active or not first.password_hash:
        return None
    if fingerprint(first.password_hash) != session_fingerprint:
        return None
    return SessionUser(first.id, first.username, first.full_name, first.name_key,
                       frozenset(r.role for r in rows if r.role))


def _audit(session: Session, event: str, actor: str, at: datetime, data: dict[str, object]
           ) -> None:
    """Sign-ins go into the audit trail too (no case; never the password or what was typed)."""
    append_event(session, event=event, actor=actor, at=at, data=data)


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
