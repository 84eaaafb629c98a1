"""Sessions kept on the server: a cookie saved before sign-out, disabling, a password reset or
a role change is refused afterwards; nothing secret is in the cookie; idle and absolute
time-outs; HSTS behind HTTPS."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from concerns.db.models import StaffSession
from concerns.workflows.access.users import disable_user, reset_password, set_roles
from concerns.workflows.context import AppContext
from tests.factories import create_staff, log_concern
from tests.integration.web_helpers import PASSWORD, client_for, sign_in

COOKIE = "concerns_session"


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def _replay(web: AppContext, cookie: str) -> TestClient:
    """Another browser holding a copy of the cookie."""
    thief = client_for(web)
    thief.cookies.set(COOKIE, cookie)
    return thief


def _signed_in_copy(web: AppContext, username: str) -> tuple[TestClient, str, str]:
    client = client_for(web)
    csrf = sign_in(client, username)
    cookie = client.cookies.get(COOKIE)
    assert cookie
    copy = _replay(web, cookie)
    assert copy.get("/api/me").status_code == 200
    return client, csrf, cookie


def test_a_cookie_saved_before_sign_out_is_refused_afterwards(web: AppContext) -> None:
    reference = log_concern(web)
    client, csrf, cookie = _signed_in_copy(web, "alex")
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    copy = _replay(web, cookie)
    assert copy.get("/api/me").status_code == 401
    assert copy.get(f"/cases/{reference}").status_code == 303
    assert copy.get(f"/api/cases/{reference}").status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        lambda ctx: disable_user(ctx, "admin", "sam", "left the council"),
        lambda ctx: reset_password(ctx, "admin", "sam", "a brand new passphrase", "forgotten"),
        lambda ctx: set_roles(ctx, "admin", "sam", ["iat_manager"], "promoted"),
    ],
    ids=["disabled", "password reset", "roles changed"],
)
def test_a_cookie_saved_before_an_account_change_is_refused_afterwards(
    web: AppContext, change: Callable[[AppContext], object],
) -> None:
    client, _csrf, cookie = _signed_in_copy(web, "sam")
    other, _, _ = _signed_in_copy(web, "alex")
    change(web)
    assert _replay(web, cookie).get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 401
    # Other people's sessions go on.
    assert other.get("/api/me").status_code == 200


def test_the_cookie_holds_a_random_token_and_nothing_else(web: AppContext) -> None:
    client = client_for(web)
    before = client.get("/login").cookies.get(COOKIE)
    csrf = sign_in(client, "alex")
    cookie = client.cookies.get(COOKIE)
    assert cookie and cookie != before  # a new session at sign-in
    assert "." not in cookie and 40 <= len(cookie) <= 50
    assert csrf not in cookie
    with web.sessions() as s:
        stored = s.scalars(select(StaffSession.id)).all()
    # Stored by its hash: the database does not hand out live cookies either.
    assert cookie not in stored


def test_an_idle_or_too_old_session_ends(web: AppContext) -> None:
    for idle, age in ((61, 61), (10, 481)):
        client = client_for(web)
        sign_in(client, "alex")
        assert client.get("/api/me").status_code == 200
        with web.sessions() as s:
            for row in s.scalars(select(StaffSession).where(StaffSession.ended_at.is_(None))):
                row.last_seen_at -= timedelta(minutes=idle)
                row.created_at -= timedelta(minutes=age)
            s.commit()
        assert client.get("/api/me").status_code == 401, (idle, age)


def test_hsts_is_sent_only_with_secure_cookies(web: AppContext) -> None:
    assert "strict-transport-security" not in client_for(web).get("/login").headers
    settings = replace(web.settings, web=replace(web.settings.web, secure_cookies=True))
    secure = client_for(AppContext(settings, web.engine))
    headers = secure.get("/login").headers
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert "secure" in headers["set-cookie"].lower()
