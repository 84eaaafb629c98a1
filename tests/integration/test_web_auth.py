"""Signing in: argon2 hashes, lock-out after repeated failures, password changes end sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.engine import make_engine, migrate, session_factory
from concerns.db.models import User, UserRole
from concerns.workflows.access import auth
from concerns.workflows.errors import BadInput, NotFound
from concerns.workflows.settings import WebSettings

PASSWORD = "correct horse battery staple"


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'auth.db'}")
    migrate(engine)
    factory = session_factory(engine)
    with factory() as session:
        user = User(username="alice", full_name="Alice Example", active=True)
        user.roles = [UserRole(role="iat_officer")]
        session.add(user)
        session.commit()
    auth.set_password(factory, "alice", PASSWORD)
    yield factory
    engine.dispose()


def _user(sessions: sessionmaker[Session]) -> User:
    with sessions() as session:
        user = session.query(User).filter_by(username="alice").one()
        session.expunge(user)
        return user


def test_the_right_password_signs_in_and_the_hash_is_argon2(
    sessions: sessionmaker[Session],
) -> None:
    result = auth.authenticate(sessions, WebSettings(), Clock(), "alice", PASSWORD)
    assert result.ok and result.username == "alice"
    stored = _user(sessions).password_hash
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_wrong_password_or_unknown_user_gets_the_same_message(
    sessions: sessionmaker[Session],
) -> None:
    wrong = auth.authenticate(sessions, WebSettings(), Clock(), "alice", "not the password")
    unknown = auth.authenticate(sessions, WebSettings(), Clock(), "nobody", PASSWORD)
    assert not wrong.ok and not unknown.ok
    assert wrong.message == unknown.message
    assert _user(sessions).failed_logins == 1


def test_the_account_locks_after_the_configured_failures_and_unlocks_after_the_wait(
    sessions: sessionmaker[Session],
) -> None:
    web = WebSettings(max_failed_logins=3, lockout_minutes=15)
    clock = Clock()
    results = [auth.authenticate(sessions, web, clock, "alice", "wrong") for _ in range(3)]
    assert [r.reason for r in results] == ["bad_credentials", "bad_credentials", "locked"]
    # Even the right password is refused while locked.
    assert auth.authenticate(sessions, web, clock, "alice", PASSWORD).reason == "locked"
    clock.at += timedelta(minutes=14)
    assert auth.authenticate(sessions, web, clock, "alice", PASSWORD).reason == "locked"
    clock.at += timedelta(minutes=2)
    assert auth.authenticate(sessions, web, clock, "alice", PASSWORD).ok
    user = _user(sessions)
    assert user.failed_logins == 0 and user.locked_until is None


def test_a_successful_sign_in_resets_the_failure_count(sessions: sessionmaker[Session]) -> None:
    web = WebSettings(max_failed_logins=3)
    clock = Clock()
    auth.authenticate(sessions, web, clock, "alice", "wrong")
    auth.authenticate(sessions, web, clock, "alice", "wrong")
    assert auth.authenticate(sessions, web, clock, "alice", PASSWORD).ok
    assert auth.authenticate(sessions, web, clock, "alice", "wrong").reason == "bad_credentials"


def test_an_inactive_account_cannot_sign_in(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.query(User).filter_by(username="alice").update({"active": False})
        session.commit()
    assert not auth.authenticate(sessions, WebSettings(), Clock(), "alice", PASSWORD).ok


def test_changing_the_password_ends_existing_sessions(sessions: sessionmaker[Session]) -> None:
    result = auth.authenticate(sessions, WebSettings(), Clock(), "alice", PASSWORD)
    assert result.user_id is not None
    assert auth.session_user(sessions, result.user_id, result.fingerprint) is not None
    auth.set_password(sessions, "alice", "a different long passphrase")
    assert auth.session_user(sessions, result.user_id, result.fingerprint) is None


def test_a_short_password_is_refused_naming_the_field(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(BadInput) as raised:
        auth.set_password(sessions, "alice", "short")
    assert raised.value.field == "password"


def test_setting_the_password_of_an_unknown_user_is_not_found(
    sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(NotFound):
        auth.set_password(sessions, "nobody", PASSWORD)


def test_sign_ins_failures_and_lock_outs_are_in_the_audit_trail(
    sessions: sessionmaker[Session],
) -> None:
    from concerns.db.models import Event

    web = WebSettings(max_failed_logins=2)
    clock = Clock()
    auth.authenticate(sessions, web, clock, "alice", "wrong")
    auth.authenticate(sessions, web, clock, "alice", "wrong")
    auth.authenticate(sessions, web, clock, "alice", PASSWORD)
    clock.at += timedelta(hours=1)
    auth.authenticate(sessions, web, clock, "alice", PASSWORD)
    auth.authenticate(sessions, web, clock, "nobody", PASSWORD)
    with sessions() as session:
        events = [(e.event, e.actor) for e in session.query(Event).order_by(Event.id)]
    assert events == [
        ("password_set", "alice"),
        ("sign_in_failed", "alice"),
        ("account_locked", "alice"),
        ("sign_in_refused", "alice"),
        ("signed_in", "alice"),
    ]
    with sessions() as session:
        texts = [str(e.data) + (e.note or "") for e in session.query(Event)]
    assert not any(PASSWORD in t or "wrong" in t for t in texts)
