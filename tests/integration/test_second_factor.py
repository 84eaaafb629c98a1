"""The second factor at sign-in (TOTP with recovery codes), through the pages: set up on first
sign-in, a code each time after, a code accepted once, a recovery code once, wrong codes end the
half-finished sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from concerns.db.models import User
from concerns.workflows.access.users import reset_second_factor
from concerns.workflows.context import AppContext
from tests.factories import create_staff
from tests.integration.web_helpers import PASSWORD, client_for, csrf_of

KEY_RE = re.compile(r'<code id="totp-key"[^>]*>([A-Z2-7 ]+)</code>')
CODES_RE = re.compile(r"<li><code>([0-9a-f-]{14})</code></li>")


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    settings = replace(sqlite_ctx.settings,
                       web=replace(sqlite_ctx.settings.web, second_factor=True))
    yield AppContext(settings, sqlite_ctx.engine)


def _password(client: TestClient, username: str) -> None:
    csrf = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": csrf})
    assert response.status_code == 303


def _code(client: TestClient, code: str) -> object:
    page = client.get("/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_of(page.text)})


def _enrol(web: AppContext, username: str) -> tuple[str, list[str]]:
    client = client_for(web)
    _password(client, username)
    assert client.get("/login/code").headers.get("location") is None
    page = client.get("/login/code").text
    found = KEY_RE.search(page)
    assert found, "no key on the setup page"
    key = found.group(1).replace(" ", "")
    done = client.post("/login/code", data={"code": pyotp.TOTP(key).now(),
                                            "csrf_token": csrf_of(page)})
    assert done.status_code == 200
    codes = CODES_RE.findall(done.text)
    assert len(codes) == 10
    assert client.get("/api/me").status_code == 200
    return key, codes


def test_a_password_alone_does_not_open_the_case_pages(web: AppContext) -> None:
    client = client_for(web)
    _password(client, "alex")
    assert client.get("/api/me").status_code == 401
    assert client.get("/cases").status_code == 303


def test_set_up_then_sign_in_with_a_code_each_time_and_each_code_once(web: AppContext) -> None:
    key, _codes = _enrol(web, "alex")
    client = client_for(web)
    _password(client, "alex")
    # The code used to set up (its time step, read back: the clock may have moved on since)
    # is not accepted again; the next step's is.
    with web.sessions() as s:
        used = s.scalars(select(User.totp_last_step).where(User.username == "alex")).one()
    assert used is not None
    replayed = _code(client, pyotp.TOTP(key).generate_otp(used))
    assert replayed.status_code == 401
    later = pyotp.TOTP(key).generate_otp(used + 1)
    assert _code(client, later).status_code == 303
    assert client.get("/api/me").status_code == 200


def test_a_recovery_code_works_once(web: AppContext) -> None:
    _key, codes = _enrol(web, "dana")
    first = client_for(web)
    _password(first, "dana")
    assert _code(first, codes[0].upper()).status_code == 303
    second = client_for(web)
    _password(second, "dana")
    assert _code(second, codes[0]).status_code == 401


def test_five_wrong_codes_end_the_half_finished_sign_in(web: AppContext) -> None:
    _enrol(web, "erin")
    client = client_for(web)
    _password(client, "erin")
    for _ in range(4):
        assert _code(client, "000000").status_code == 401
    last = _code(client, "000000")
    assert last.headers["location"] == "/login"
    assert client.get("/login/code").headers["location"] == "/login"


def test_roles_that_do_not_read_cases_sign_in_with_a_password(web: AppContext) -> None:
    client = client_for(web)
    _password(client, "audrey")
    assert client.get("/api/me").status_code == 200


def test_an_administrator_gives_a_code_too(web: AppContext) -> None:
    """An admin reads no case, but their password alone could reset anyone's password and second
    factor and so open every case."""
    client = client_for(web)
    _password(client, "admin")
    assert client.get("/api/me").status_code == 401
    assert client.get("/users").status_code == 303
    _enrol(web, "admin")


def test_an_administrator_resets_a_lost_second_factor_and_it_is_set_up_again(
    web: AppContext,
) -> None:
    _enrol(web, "lee")
    reset_second_factor(web, "admin", "lee", "Lost phone, reported to IT")
    client = client_for(web)
    _password(client, "lee")
    assert KEY_RE.search(client.get("/login/code").text), "set up again"


def test_wrong_codes_hold_the_next_ones_longer_and_a_new_password_does_not_forget_them(
    web: AppContext,
) -> None:
    """Someone who has the password cannot try five codes, give the password again and try five
    more at full speed: every wrong code counts, across half-finished sign-ins, until the
    administrator's unlock."""
    from concerns.db.models import SignInFailure
    from concerns.web.security import secret_key
    from concerns.workflows.access import auth
    from concerns.workflows.access.users import unlock_user

    _enrol(web, "erin")
    with web.sessions() as s:
        erin = s.scalars(select(User.id).where(User.username == "erin")).one()

    secret = secret_key(web.settings.web.secret_key, web.settings.var_dir)

    def delay() -> float:
        return auth.code_delay(web.sessions, web.settings.web, erin, "testclient", secret,
                               web.now())

    assert delay() == 0
    client = client_for(web)
    for _round in range(2):
        _password(client, "erin")
        for _ in range(2):
            assert _code(client, "000000").status_code == 401
    # Four wrong codes, over two sign-ins with the right password: the next is held.
    assert delay() > 0
    with web.sessions() as s:
        stored = s.scalars(select(SignInFailure.account_key)).all()
    assert stored and all("erin" not in key for key in stored)
    unlock_user(web, "admin", "erin", "Rang the service desk from her desk phone")
    assert delay() == 0


@pytest.mark.parametrize("change", ["reset the password", "disable the account"])
def test_a_half_finished_sign_in_ends_with_the_accounts_other_sessions(
    web: AppContext, change: str,
) -> None:
    """Someone who had the old password is at the second-factor step when the administrator
    resets the password (or disables the account): they can neither set up a second factor of
    their own nor finish with a code."""
    from concerns.workflows.access.users import disable_user, reset_password

    client = client_for(web)
    _password(client, "lee")
    page = client.get("/login/code").text
    found = KEY_RE.search(page)
    assert found, "no key on the setup page"
    if change == "reset the password":
        reset_password(web, "admin", "lee", "a brand new long passphrase", "Password seen")
    else:
        disable_user(web, "admin", "lee", "Account misused")
    done = client.post("/login/code", data={
        "code": pyotp.TOTP(found.group(1).replace(" ", "")).now(), "csrf_token": csrf_of(page)})
    assert done.status_code in (303, 403)
    assert client.get("/api/me").status_code == 401
    with web.sessions() as s:
        assert s.scalars(select(User.totp_secret).where(User.username == "lee")).one() is None
