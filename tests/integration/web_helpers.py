"""Shared set-up for the web tests: a real SQLite file, staff accounts, signed-in clients."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from concerns.web import create_app
from concerns.workflows.context import AppContext

PASSWORD = "a long enough passphrase"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def client_for(ctx: AppContext) -> TestClient:
    return TestClient(create_app(ctx.settings, ctx), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/logout").text)


def public_form(csrf: str, **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "name": "Sam Public",
        "email": "sam@example.org",
        "relationship": "parent",
        "child-0-name": "Kim Public",
        "child-0-dob-day": "3",
        "child-0-dob-month": "4",
        "child-0-dob-year": "2012",
        "from-year": "2015",
        "to-year": "2020",
        "concern": "The social worker did not return my calls for months.",
        "consent": "yes",
        # The public form's last step: sent from the check-your-answers page.
        "action": "send",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


LETTER_SEEN_RE = re.compile(r'name="letter_seen" value="([^"]+)"')


def fire(client: TestClient, csrf: str, reference: str, event: str, **data: str) -> Any:
    """Fire EVENT from its page as a member of staff would: answer the form, then look at the
    letter (or confirm) on the check page when there is one, and send."""
    form = {"csrf_token": csrf, **data}
    response = client.post(f"/cases/{reference}/events/{event}", data=form)
    if response.status_code == 200 and ("Check the letter before it goes" in response.text
                                        or "Check your wording in the letter" in response.text):
        seen = LETTER_SEEN_RE.search(response.text)
        assert seen, "a check page without the letter"
        response = client.post(
            f"/cases/{reference}/events/{event}", data={**form, "letter_seen": seen.group(1)}
        )
    elif response.status_code == 200 and "Are you sure?" in response.text:
        response = client.post(
            f"/cases/{reference}/events/{event}", data={**form, "confirmed": "yes"}
        )
    return response
