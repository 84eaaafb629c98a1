"""Web sessions kept on the server (`staff_sessions`).

The browser's cookie holds a random token and nothing else; the row is found by the token's
SHA-256, so a copy of the database does not hand out live sessions either. Ending the row ends
the session wherever the cookie was copied: signing out, disabling the account, a password change
and a role change all do. Idle and absolute time-outs come from `config.toml` ([web]).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import StaffSession, User, UserRole
from concerns.db.prebuilt import Prebuilt
from concerns.workflows.access.auth import SESSION_USER_COLUMNS, SessionUser, session_user_from
from concerns.workflows.settings import WebSettings

# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(seconds=60)
# A half-finished sign-in (password given, second-factor code not yet): a session without a
# user whose data names them under PENDING_KEY, good for PENDING_MINUTES.
PENDING_KEY = "pending_uid"
PENDING_MINUTES = 5


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


@dataclass(frozen=True)
class Loaded:
    data: dict[str, Any]
    user_id: int | None
    # The signed-in user, read with the session's row when `load` is asked WITH_USER.
    user: SessionUser | None = None


# What every request reads of its session: plain columns from a statement compiled once and
# run on the driver's cursor (db.prebuilt; an ORM get cost more than the rest of the session
# check, and SQLAlchemy's handling of the one row twice the SQL).
_SESSION_COLUMNS = (
    StaffSession.user_id, StaffSession.data, StaffSession.created_at, StaffSession.last_seen_at,
    StaffSession.ended_at,
)
_SESSION_ROW = Prebuilt(select(*_SESSION_COLUMNS).where(StaffSession.id == bindparam("key")))
# The same with the session's user and their roles (a row per role) beside it: the check every
# page makes, one statement where a second for the user cost as much again.
_SESSION_AND_USER = Prebuilt(
    select(*_SESSION_COLUMNS, *SESSION_USER_COLUMNS)
    .select_from(StaffSession)
    .outerjoin(User, User.id == StaffSession.user_id)
    .outerjoin(UserRole, UserRole.user_id == User.id)
    .where(StaffSession.id == bindparam("key"))
)
_USER_AT = len(_SESSION_COLUMNS)


def load(
    sessions: sessionmaker[Session], web: WebSettings, token: str, at: datetime,
    *, read_sessions: sessionmaker[Session] | None = None, with_user: bool = False,
) -> Loaded | None:
    """The live session for TOKEN, or None if unknown, ended, idle too long or too old.

    With READ_SESSIONS (sessions that only read) the row is read without SQLite's write lock;
    the lock is taken only when the row must be written (touched, or ended for idleness), at
    most once a minute per session. WITH_USER, the signed-in user (auth.session_user's rule) is
    read by the same statement, into `Loaded.user`."""
    if not token or len(token) > 200:
        return None
    key = _key(token)
    with (read_sessions or sessions)() as s:
        found = (_SESSION_AND_USER if with_user else _SESSION_ROW).rows(s.connection(),
                                                                        {"key": key})
    if not found:
        return None
    user_id, data, created_at, last_seen_at, ended_at = found[0][:_USER_AT]
    if ended_at is not None:
        return None
    expired = (
        at - last_seen_at > timedelta(minutes=web.session_idle_minutes)
        or at - created_at > timedelta(minutes=web.session_minutes)
    )
    touch = not expired and at - last_seen_at >= TOUCH_EVERY
    who = (session_user_from([row[_USER_AT:] for row in found])
           if with_user and user_id is not None else None)
    if expired or touch:
        with sessions() as s:
            live = (StaffSession.id == key) & StaffSession.ended_at.is_(None)
            values = {"ended_at": at} if expired else {"last_seen_at": at}
            s.execute(update(StaffSession).where(live).values(**values))
            s.commit()
    return None if expired else Loaded(dict(data or {}), user_id, who)


def start(
    sessions: sessionmaker[Session], data: dict[str, Any], user_id: int | None, at: datetime
) -> str:
    """A new session; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    with sessions() as s:
        s.add(StaffSession(id=_key(token), user_id=user_id, data=data, created_at=at,
                           last_seen_at=at))
        s.commit()
    return token


def save(sessions: sessionmaker[Session], token: str, data: dict[str, Any]) -> None:
    with sessions() as s:
        s.execute(update(StaffSession).where(StaffSession.id == _key(token),
                                             StaffSession.ended_at.is_(None))
                  .values(data=data))
        s.commit()


def end(sessions: sessionmaker[Session], token: str, at: datetime) -> None:
    with sessions() as s:
        s.execute(update(StaffSession).where(StaffSession.id == _key(token))
                  .values(ended_at=at, data={}))
        s.commit()


def end_all_for(session: Session, user_id: int, at: datetime) -> int:
    """End every session of one account (in the caller's transaction), half-finished sign-ins
    included (else a password reset or a disabling would leave someone who had the old password
    free to finish with a code, or to set up a second factor of their own); how many were live."""
    recent = session.execute(
        select(StaffSession.id, StaffSession.data)
        .where(StaffSession.user_id.is_(None), StaffSession.ended_at.is_(None),
               StaffSession.created_at >= at - timedelta(minutes=PENDING_MINUTES))
    ).all()
    pending = [row.id for row in recent if (row.data or {}).get(PENDING_KEY) == user_id]
    result = session.execute(
        update(StaffSession)
        .where(or_(StaffSession.user_id == user_id, StaffSession.id.in_(pending)),
               StaffSession.ended_at.is_(None))
        .values(ended_at=at, data={})
    )
    return int(getattr(result, "rowcount", 0) or 0)


def forget_old(sessions: sessionmaker[Session], web: WebSettings, at: datetime) -> int:
    """Delete sessions ended or expired for a day: they only ever grow otherwise."""
    cutoff = at - timedelta(minutes=web.session_minutes) - timedelta(days=1)
    with sessions() as s:
        result = s.execute(delete(StaffSession).where(StaffSession.last_seen_at < cutoff))
        s.commit()
    return int(getattr(result, "rowcount", 0) or 0)
