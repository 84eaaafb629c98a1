"""The web app's defences against a real SQLite database: CSRF, sessions, roles, conflict of
interest (refused and audited), headers, cookies and the public form's rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from concerns.db.models import Event
from concerns.workflows.context import AppContext
from tests.factories import create_staff, log_concern, walk_to_signoff
from tests.integration.web_helpers import (
    PASSWORD,
    client_for,
    csrf_of,
    fire,
    public_form,
    sign_in,
)


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def test_a_post_without_the_csrf_token_is_refused(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    sign_in(client, "alex")
    response = client.post(f"/cases/{reference}/events/acknowledge", data={"note": "x"})
    assert response.status_code == 403
    assert web_state(web, reference) == "logged"


def test_a_post_with_a_wrong_csrf_token_is_refused(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    sign_in(client, "alex")
    response = client.post(
        f"/cases/{reference}/events/acknowledge", data={"csrf_token": "forged" * 8}
    )
    assert response.status_code == 403
    assert web_state(web, reference) == "logged"


def test_another_users_csrf_token_does_not_work_with_my_session(web: AppContext) -> None:
    reference = log_concern(web)
    alex, sam = client_for(web), client_for(web)
    sign_in(alex, "alex")
    sams_token = sign_in(sam, "sam")
    response = alex.post(
        f"/cases/{reference}/events/acknowledge", data={"csrf_token": sams_token}
    )
    assert response.status_code == 403
    assert web_state(web, reference) == "logged"


def test_the_right_csrf_token_lets_the_event_through(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    token = sign_in(client, "alex")
    response = fire(client, token, reference, "acknowledge")
    assert response.status_code == 303
    assert web_state(web, reference) == "triage"


def test_a_tampered_session_cookie_signs_nobody_in(web: AppContext) -> None:
    client = client_for(web)
    sign_in(client, "alex")
    cookie = client.cookies.get("concerns_session")
    assert cookie
    # Another first character (the token is random: it may already begin with "x").
    client.cookies.set("concerns_session", ("y" if cookie[0] == "x" else "x") + cookie[1:])
    response = client.get("/cases")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_a_signed_out_session_cookie_cannot_be_reused(web: AppContext) -> None:
    client = client_for(web)
    token = sign_in(client, "alex")
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/cases").status_code == 303


def test_pages_and_the_api_need_sign_in(web: AppContext) -> None:
    client = client_for(web)
    for path in ("/my-work", "/cases", "/queue/director", "/queue/assistant", "/log-contact"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"
    assert client.get("/api/cases").status_code == 401


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("alex", "/queue/director"),
        ("alex", "/queue/assistant"),
        ("erin", "/queue/director"),
        ("dana", "/queue/assistant"),
        ("audrey", "/cases"),
        ("ian", "/cases"),
        ("admin", "/cases"),
        ("alex", "/queue/director/CAC-2026-0001"),
        ("audrey", "/log-contact"),
        ("alex", "/users"),
        ("admin", "/queue/director"),
    ],
)
def test_another_roles_pages_are_refused(web: AppContext, username: str, path: str) -> None:
    log_concern(web)
    client = client_for(web)
    sign_in(client, username)
    assert client.get(path).status_code == 403


def test_a_person_named_in_a_concern_gets_403_and_the_attempt_is_audited(
    web: AppContext,
) -> None:
    reference = log_concern(web, staff_named=["Sam Patel"])
    client = client_for(web)
    sign_in(client, "sam")
    page = client.get(f"/cases/{reference}")
    assert page.status_code == 403
    assert "you cannot open this case" in page.text and "named" not in page.text
    assert client.get(f"/api/cases/{reference}").status_code == 403
    # Not in their lists either.
    assert reference not in client.get("/cases").text
    with web.sessions() as session:
        refused = session.scalars(
            select(Event).where(Event.event == "case_view_refused", Event.actor == "sam")
        ).all()
    assert len(refused) == 2


def test_every_view_of_a_case_page_is_audited(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    sign_in(client, "alex")
    assert client.get(f"/cases/{reference}").status_code == 200
    assert client.get(f"/cases/{reference}").status_code == 200
    with web.sessions() as session:
        views = session.scalars(
            select(Event).where(Event.event == "case_viewed", Event.actor == "alex")
        ).all()
    assert len(views) == 2


def test_security_headers_are_on_every_response(web: AppContext) -> None:
    client = client_for(web)
    for path in ("/concern", "/login", "/healthz", "/api/openapi.json", "/nowhere"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        csp = headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp, path


def test_the_session_cookie_is_httponly_and_samesite(web: AppContext) -> None:
    client = client_for(web)
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie


def test_the_session_cookie_is_secure_behind_https(web: AppContext) -> None:
    settings = replace(web.settings, web=replace(web.settings.web, secure_cookies=True))
    secure = AppContext(settings, web.engine)
    client = client_for(secure)
    cookie = client.get("/login").headers["set-cookie"].lower()
    assert "; secure" in cookie


def test_the_public_form_is_rate_limited_per_client(web: AppContext) -> None:
    settings = replace(web.settings, web=replace(web.settings.web, public_form_per_hour=2))
    client = client_for(AppContext(settings, web.engine))
    csrf = csrf_of(client.get("/concern").text)
    statuses = [
        client.post("/concern", data=public_form(csrf, concern=f"Concern number {i}")).status_code
        for i in range(3)
    ]
    assert statuses == [303, 303, 429]


def test_repeated_failed_sign_ins_never_lock_the_account(web: AppContext) -> None:
    settings = replace(web.settings, web=replace(web.settings.web, sign_in_max_delay_seconds=0))
    client = client_for(AppContext(settings, web.engine))
    csrf = csrf_of(client.get("/login").text)
    for _ in range(8):
        response = client.post(
            "/login", data={"username": "alex", "password": "wrong!", "csrf_token": csrf}
        )
        assert response.status_code == 401
        assert "The username or password is not right" in response.text
    response = client.post(
        "/login", data={"username": "alex", "password": PASSWORD, "csrf_token": csrf}
    )
    assert response.status_code == 303


def test_sign_in_never_redirects_to_another_site(web: AppContext) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/login").text)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={"username": "alex", "password": PASSWORD, "csrf_token": csrf, "next": target},
        )
        assert response.headers["location"] == "/my-work"
        csrf = csrf_of(client.get("/logout").text)
        client.post("/logout", data={"csrf_token": csrf})
        csrf = csrf_of(client.get("/login").text)


def test_the_api_needs_the_csrf_header_to_fire_an_event(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    sign_in(client, "alex")
    me = client.get("/api/me").json()
    path = f"/api/cases/{reference}/events/acknowledge"
    assert client.post(path, json={}).status_code == 403
    response = client.post(path, json={}, headers={"X-CSRF-Token": me["csrf_token"]})
    assert response.status_code == 200, response.text
    assert response.json()["to_state"] == "triage"


def test_a_stale_version_is_refused_with_a_reload_message(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    token = sign_in(client, "alex")
    response = client.post(
        f"/cases/{reference}/events/acknowledge", data={"csrf_token": token, "version": "99"}
    )
    assert response.status_code == 409
    assert "reload" in response.text


def test_the_director_opens_the_signoff_page_of_a_case_awaiting_her(web: AppContext) -> None:
    reference = log_concern(web)
    walk_to_signoff(web, reference)
    client = client_for(web)
    sign_in(client, "dana")
    assert client.get(f"/queue/director/{reference}").status_code == 200


def web_state(ctx: AppContext, reference: str) -> str:
    from concerns.db.models import Case

    with ctx.sessions() as session:
        return session.scalars(select(Case.state).where(Case.reference == reference)).one()




def test_the_admin_lands_on_the_staff_accounts_and_sees_no_case(web: AppContext) -> None:
    log_concern(web, name="Harriet Quill", phone=None)
    client = client_for(web)
    sign_in(client, "admin")
    assert client.get("/my-work").headers["location"] == "/users"
    page = client.get("/users")
    assert page.status_code == 200 and "dana" in page.text and "Harriet" not in page.text
