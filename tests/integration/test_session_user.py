"""The session check reads the signed-in user (and every role) with the session's row, in one
statement: the same user, by the same rule, as reading the account on its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

from concerns.db.models import User, UserRole
from concerns.workflows.access import auth, sessions
from concerns.workflows.access.users import set_roles
from concerns.workflows.context import AppContext
from tests.factories import create_staff

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def _user_id(ctx: AppContext, username: str) -> int:
    with ctx.sessions() as s:
        found = s.scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def _load(ctx: AppContext, token: str) -> sessions.Loaded | None:
    return sessions.load(ctx.sessions, ctx.settings.web, token, NOW + timedelta(seconds=5),
                         read_sessions=ctx.read_sessions, with_user=True)


def test_the_session_brings_its_user_with_every_role(ctx: AppContext) -> None:
    create_staff(ctx, "a long enough passphrase")
    set_roles(ctx, "admin", "morgan", ["iat_manager", "iat_officer"], "covers the team")
    morgan = _user_id(ctx, "morgan")
    token = sessions.start(ctx.sessions, {"csrf": "x" * 43}, morgan, NOW)

    loaded = _load(ctx, token)

    assert loaded is not None
    assert loaded.data == {"csrf": "x" * 43}
    assert loaded.user_id == morgan
    assert loaded.user == auth.session_user(ctx.read_sessions, morgan)
    assert loaded.user == auth.SessionUser(morgan, "morgan", "Morgan Reid", "morgan reid",
                                           frozenset({"iat_manager", "iat_officer"}))


def test_no_user_for_a_half_finished_sign_in_or_an_account_that_may_not_sign_in(
    ctx: AppContext,
) -> None:
    create_staff(ctx, "a long enough passphrase")
    pending = sessions.start(ctx.sessions, {sessions.PENDING_KEY: 1}, None, NOW)
    dana, erin, lee = (_user_id(ctx, name) for name in ("dana", "erin", "lee"))
    tokens = {name: sessions.start(ctx.sessions, {}, uid, NOW)
              for name, uid in (("dana", dana), ("erin", erin), ("lee", lee))}
    # Changed under the sessions, as a stale row would be: each is checked on every request.
    with ctx.uow() as uow:
        uow.session.execute(update(User).where(User.id == dana).values(active=False))
        uow.session.execute(update(User).where(User.id == erin).values(password_hash=None))
        uow.session.execute(delete(UserRole).where(UserRole.user_id == lee))
        uow.commit()

    half = _load(ctx, pending)
    assert half is not None and half.user is None and half.data == {sessions.PENDING_KEY: 1}
    for name in ("dana", "erin"):
        loaded = _load(ctx, tokens[name])
        assert loaded is not None and loaded.user is None, name
    without_roles = _load(ctx, tokens["lee"])
    assert without_roles is not None and without_roles.user is not None
    assert without_roles.user.roles == frozenset()
    assert without_roles.user == auth.session_user(ctx.read_sessions, lee)
