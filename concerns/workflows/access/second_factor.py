"""A second factor for staff: time-based one-time codes (TOTP, `pyotp`) with recovery codes.

Required at sign-in for roles that read case content, and for administrators, when `[web]
second_factor` is on (it is by default; the demo's config.toml turns it off). A member of staff
without one sets it up at their next sign-in: the key goes into their authenticator app, a code
from it confirms, and ten recovery codes are shown once (each works once, stored only as a hash). A
code is accepted once (the time step is remembered), so a code seen over someone's shoulder cannot
be replayed. After too many wrong codes the half-finished sign-in ends and the password is asked
again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import User
from concerns.db.uow import UnitOfWork
from concerns.workflows.access import auth
from concerns.workflows.audit import append_event
from concerns.workflows.errors import BadInput, NotFound
from concerns.workflows.machine import CASE_READERS
from concerns.workflows.settings import WebSettings

RECOVERY_CODES = 10
# Wrong codes in one half-finished sign-in before the password is asked again.
MAX_WRONG_CODES = 5
ISSUER = "Concerns about Care"


# Who gives a code: staff who read case content, and administrators, whose password alone could
# otherwise reset anyone's password and second factor and so open every case.
NEEDS_SECOND_FACTOR = CASE_READERS | frozenset({"admin"})


def required(web: WebSettings, roles: frozenset[str]) -> bool:
    """Whether someone with ROLES needs a second factor to sign in."""
    return web.second_factor and bool(roles & NEEDS_SECOND_FACTOR)


def _hash(code: str) -> str:
    return hashlib.sha256(_tidy(code).encode()).hexdigest()


def _tidy(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, council: str) -> str:
    """The otpauth:// address an authenticator app takes (typed in as the key if need be)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=f"{ISSUER} ({council})")


@dataclass(frozen=True)
class Enrolled:
    recovery_codes: tuple[str, ...]


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise NotFound("no such active account")
    return user


def _step_of(totp: pyotp.TOTP, code: str, at: datetime) -> int | None:
    """The time step CODE belongs to (now, or one step either side for clock drift)."""
    now_step = int(at.timestamp()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol(sessions: sessionmaker[Session], user_id: int, secret: str, code: str, at: datetime
          ) -> Enrolled:
    """Confirm a new key with a code from the app; returns the recovery codes (shown once)."""
    code = _tidy(code)
    if not code.isdigit() or len(code) != 6:
        raise BadInput("code", "enter the 6-digit code from your authenticator app")
    totp = pyotp.TOTP(secret)
    step = _step_of(totp, code, at)
    if step is None:
        raise BadInput("code", "that code is not right: check the app's clock and try again")
    codes = tuple(
        "-".join(secrets.token_hex(2) for _ in range(3)) for _ in range(RECOVERY_CODES))
    with UnitOfWork(sessions) as uow:
        user = _user(uow.session, user_id)
        user.totp_secret = secret
        user.totp_last_step = step
        user.recovery_codes = [_hash(c) for c in codes]
        append_event(uow.session, event="second_factor_set_up", actor=user.username, at=at,
                     data={})
        uow.commit()
    return Enrolled(codes)


def is_enrolled(sessions: sessionmaker[Session], user_id: int) -> bool:
    with sessions() as s:
        return bool(s.scalar(select(User.totp_secret).where(User.id == user_id)))


def verify(sessions: sessionmaker[Session], user_id: int, code: str, at: datetime, *,
           address: str = "unknown", secret: str = "") -> bool:
    """A code from the app (each accepted once) or an unused recovery code. Audited; a wrong
    one counts towards the delay before the next (`auth.code_delay`), from ADDRESS."""
    tidy = _tidy(code)
    with UnitOfWork(sessions) as uow:
        user = _user(uow.session, user_id)
        ok = False
        how = "code"
        if user.totp_secret and tidy.isdigit() and len(tidy) == 6:
            step = _step_of(pyotp.TOTP(user.totp_secret), tidy, at)
            if step is not None and step > (user.totp_last_step or -1):
                user.totp_last_step = step
                ok = True
        elif len(tidy) == 12:
            hashed = _hash(tidy)
            left = list(user.recovery_codes or [])
            if hashed in left:
                left.remove(hashed)
                user.recovery_codes = left
                ok, how = True, "recovery_code"
        if not ok:
            auth.count_code_failure(uow.session, user_id, address, secret, at)
        append_event(uow.session, event="second_factor_passed" if ok else "second_factor_failed",
                     actor=user.username, at=at,
                     data={"by": how, "recovery_codes_left": len(user.recovery_codes or [])}
                     if ok else {})
        uow.commit()
        return ok
