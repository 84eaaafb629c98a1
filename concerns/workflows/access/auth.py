"""Signing in with local accounts: argon2 password hashes, password rules, and throttling that
cannot be turned against staff.

One use case per function, one transaction each. There is no lock-out an attacker could hold:
failures slow further attempts down (a delay that grows with the failures of that username from
that address, and more slowly with the username's failures from anywhere), the right password
still signs in once the delay has passed, and an address that keeps failing is refused outright.
Unknown usernames, wrong passwords and throttled attempts get the same answer after the same work
(a password check and the same delay), so neither the answer nor its timing tells which
usernames exist. Every failure is in the audit trail; messages never carry the password.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, bindparam, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import SignInFailure, User, UserRole
from concerns.db.uow import UnitOfWork
from concerns.triage.matching import normalise_name
from concerns.workflows.audit import append_event
from concerns.workflows.errors import BadInput
from concerns.workflows.settings import WebSettings

MIN_PASSWORD_LENGTH = 12  # ASVS 2.1.1
# Longest password accepted when set; the sign-in form takes longer input, so every password
# that can be set can also sign in.
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the username is unknown or the attempt is throttled, so every
    refusal costs the same time. Made on first use, not at import: hashing takes a good part of a
    second, which every command would pay at start. Each sign-in asks for it before it looks
    the account up, so the first attempt costs the same whether the username exists or not."""
    return _hasher.hash("not a real password, only for constant-time refusals")

Reason = Literal["ok", "bad_credentials"]
REFUSED = "The username or password is not right"


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to. `user_id` is set only when `ok`."""

    reason: Reason
    user_id: int | None = None
    username: str | None = None
    # Seconds the attempt was held before it was checked (growing with recent failures).
    delay: float = 0.0

    @property
    def ok(self) -> bool:
        return self.reason == "ok"

    @property
    def message(self) -> str:
        return "Signed in" if self.ok else REFUSED


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords, as bundled with zxcvbn (loaded when a password is
    set: a large module)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_rules(password: str, username: str = "", full_name: str = "") -> None:
    """BadInput naming the password if it breaks a rule: at least 12 characters, at most 256,
    not the username or the person's name, not a common password, not one character repeated."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadInput("password", f"shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadInput("password", f"longer than {MAX_PASSWORD_LENGTH} characters")
    if password.strip() != password:
        raise BadInput("password", "starts or ends with spaces")
    if len(set(password.casefold())) < 3:
        raise BadInput("password", "is one or two characters repeated")
    folded = password.casefold()
    # "Sunshine2024!" is "sunshine" with digits and marks around it.
    core = folded.strip("0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    common = _common_passwords()
    if folded in common or core in common:
        raise BadInput("password", "is a common password: choose a less guessable one")
    words = {username.casefold()} | set(normalise_name(full_name).split())
    compact = "".join(ch for ch in folded if ch.isalnum())
    for word in words:
        if len(word) >= 3 and word in compact:
            raise BadInput("password", "contains the username or the person's name")


def _account_key(username: str) -> str:
    return hashlib.sha256(username.strip().casefold().encode("utf-8", "replace")).hexdigest()


def address_key(address: str, secret: str) -> str:
    # Keyed, so the table does not hold addresses in a form anyone could read back.
    return hmac.new(secret.encode(), address.encode("utf-8", "replace"), "sha256").hexdigest()


def throttle_delay(web: WebSettings, from_here: int, anywhere: int) -> float:
    """Seconds to hold an attempt, given the username's recent failures from this address and
    from anywhere: nothing for the first few, then doubling up to the cap."""
    count = max(from_here, anywhere // 3)
    if count < web.sign_in_free_failures:
        return 0.0
    return float(min(web.sign_in_max_delay_seconds,
                     2 ** (count - web.sign_in_free_failures)))


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt before its password is checked: how long to hold it first."""

    at: datetime
    account: str
    place: str
    delay: float
    throttled: bool


def prepare_attempt(
    sessions: sessionmaker[Session],
    web: WebSettings,
    now: Callable[[], datetime],
    username: str,
    *,
    address: str = "unknown",
    secret: str = "",
) -> Attempt:
    """Read the recent failures of USERNAME from ADDRESS: the delay they call for, and whether
    the address is refused. The caller holds the attempt for the delay, then `check_attempt`;
    the web app waits without holding a worker thread, so held attempts cannot starve the site."""
    at = now()
    _dummy_hash()
    account = _account_key(username)
    place = address_key(address, secret)
    since = at - timedelta(minutes=web.sign_in_window_minutes)
    with sessions() as s:
        def count(*where: ColumnElement[bool]) -> int:
            return int(s.scalar(select(func.count()).select_from(SignInFailure)
                                .where(SignInFailure.at >= since, *where)) or 0)

        from_address = count(SignInFailure.address_key == place)
        from_here = count(SignInFailure.address_key == place, SignInFailure.account_key == account)
        anywhere = count(SignInFailure.account_key == account)
    return Attempt(at, account, place, throttle_delay(web, from_here, anywhere),
                   from_address >= web.sign_in_address_limit)


def check_attempt(
    sessions: sessionmaker[Session], attempt: Attempt, username: str, password: str
) -> SignIn:
    """Check USERNAME and PASSWORD once ATTEMPT has been held for its delay. One transaction:
    a failure is counted and audited, a success forgets this address's failures."""
    at, account, place = attempt.at, attempt.account, attempt.place
    dummy = _dummy_hash()
    with UnitOfWork(sessions) as uow:
        user = uow.session.scalars(
            select(User).where(User.username == username.strip())
        ).one_or_none()
        usable = user is not None and user.active and bool(user.password_hash)
        checked = _verify(user.password_hash if usable and user and user.password_hash
                          else dummy, password)
        if attempt.throttled or not usable or not checked or user is None:
            uow.session.add(SignInFailure(at=at, address_key=place, account_key=account))
            data: dict[str, object] = {"throttled": attempt.throttled, "delay": attempt.delay}
            if user is None:
                data["account"] = account[:16]
            _audit(uow.session, "sign_in_failed",
                   user.username if user is not None else "(unknown)", at, data)
            uow.commit()
            return SignIn("bad_credentials", delay=attempt.delay)
        assert user.password_hash is not None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        # A success forgets this address's failures for the account, not the others'.
        uow.session.execute(delete(SignInFailure).where(SignInFailure.account_key == account,
                                                        SignInFailure.address_key == place))
        user.last_sign_in_at = at
        _audit(uow.session, "signed_in", user.username, at, {})
        uow.commit()
        return SignIn("ok", user_id=user.id, username=user.username, delay=attempt.delay)


def authenticate(
    sessions: sessionmaker[Session],
    web: WebSettings,
    now: Callable[[], datetime],
    username: str,
    password: str,
    *,
    address: str = "unknown",
    secret: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> SignIn:
    """Check USERNAME and PASSWORD from ADDRESS, after the delay its recent failures call for
    (`prepare_attempt`, SLEEP, `check_attempt`)."""
    attempt = prepare_attempt(sessions, web, now, username, address=address, secret=secret)
    if attempt.delay:
        sleep(attempt.delay)
    return check_attempt(sessions, attempt, username, password)


def forget_old_failures(sessions: sessionmaker[Session], web: WebSettings, at: datetime) -> int:
    """Delete failures older than the throttle's window: they no longer count."""
    cutoff = at - timedelta(minutes=web.sign_in_window_minutes)
    with sessions() as s:
        result = s.execute(delete(SignInFailure).where(SignInFailure.at < cutoff))
        s.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def forget_failures(session: Session, username: str, user_id: int | None = None) -> int:
    """Lift the throttling of one username (an administrator's unlock), and of its wrong
    second-factor codes when USER_ID is given."""
    keys = [_account_key(username)] + ([code_key(user_id)] if user_id is not None else [])
    result = session.execute(delete(SignInFailure).where(SignInFailure.account_key.in_(keys)))
    return int(getattr(result, "rowcount", 0) or 0)


# --- wrong second-factor codes ----------------------------------------------------------------
# Counted apart from the password's failures, so giving the right password again (which forgets
# those) does not forget them: someone who has the password cannot try five codes, sign in
# again and try five more at full speed; each code after the free few is held longer.


def code_key(user_id: int) -> str:
    return _account_key(f"second factor\x00{user_id}")


def code_delay(sessions: sessionmaker[Session], web: WebSettings, user_id: int, address: str,
               secret: str, at: datetime) -> float:
    """Seconds to hold a second-factor code for USER_ID from ADDRESS, by its recent wrong codes."""
    account, place = code_key(user_id), address_key(address, secret)
    since = at - timedelta(minutes=web.sign_in_window_minutes)
    with sessions() as s:
        def count(*where: ColumnElement[bool]) -> int:
            return int(s.scalar(select(func.count()).select_from(SignInFailure)
                                .where(SignInFailure.at >= since,
                                       SignInFailure.account_key == account, *where)) or 0)

        return throttle_delay(web, count(SignInFailure.address_key == place), count())


def count_code_failure(session: Session, user_id: int, address: str, secret: str,
                       at: datetime) -> None:
    """One wrong second-factor code, in the caller's transaction (with its audit row)."""
    session.add(SignInFailure(at=at, address_key=address_key(address, secret),
                              account_key=code_key(user_id)))


@dataclass(frozen=True)
class SessionUser:
    id: int
    username: str
    full_name: str
    name_key: str
    roles: frozenset[str]


def session_user(sessions: sessionmaker[Session], user_id: int) -> SessionUser | None:
    """The signed-in user of a web session, or None if the account is gone or inactive. One
    query: it runs on every request. (Ending sessions on a password or role change is done by
    ending their rows: access.sessions.)"""
    with sessions() as session:
        return read_session_user(session, user_id)


# What a session check reads of its user, a row per role (one of NULL without roles): the
# session's statement reads them beside its own columns (access.sessions).
SESSION_USER_COLUMNS = (User.id, User.username, User.full_name, User.name_key, User.active,
                        User.password_hash, UserRole.role)
_SESSION_USER = (
    select(*SESSION_USER_COLUMNS)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(User.id == bindparam("user_id"))
)


def session_user_from(rows: Sequence[Sequence[Any]]) -> SessionUser | None:
    """The signed-in user from the rows of SESSION_USER_COLUMNS, or None if the account is gone
    (no row, or a row of NULLs), inactive or without a password."""
    if not rows:
        return None
    user_id, username, full_name, name_key, active, password_hash, _ = rows[0]
    if user_id is None or not active or not password_hash:
        return None
    return SessionUser(user_id, username, full_name, name_key,
                       frozenset(row[6] for row in rows if row[6]))


def read_session_user(session: Session, user_id: int) -> SessionUser | None:
    """`session_user` in the caller's transaction."""
    # On the connection: plain rows need nothing of the ORM session.
    return session_user_from(
        session.connection().execute(_SESSION_USER, {"user_id": user_id}).all())


def _audit(session: Session, event: str, actor: str, at: datetime, data: dict[str, object]
           ) -> None:
    """Sign-ins go into the audit trail too (no case; never the password or what was typed)."""
    append_event(session, event=event, actor=actor[:64], at=at, data=data)


def _verify(password_hash: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        # Too long to be anyone's password: still the same work as any other refusal.
        _safe_verify(_dummy_hash(), password[:MAX_PASSWORD_LENGTH])
        return False
    return _safe_verify(password_hash, password)


def _safe_verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
