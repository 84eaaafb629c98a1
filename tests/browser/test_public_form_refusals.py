"""In Chromium: the public form refused for an expired session or for the rate limit shows every
typed value again, and a 5 MB post is refused before the server reads it, with a clear page."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from concerns.workflows.context import AppContext
from tests.browser.conftest import LiveServer, _missing, assert_accessible, click_and_load
from tests.conftest import _sqlite_ctx
from tests.services import unavailable

pytestmark = pytest.mark.browser

TYPED = {
    "#name": "Robin Example",
    "#email": "robin@example.org",
    "#phone": "01632 960001",
    "#address": "1 Example Street\nHereford",
    "#postcode": "HR1 2AB",
    "#child-0-name": "Charlie Example",
    "#child-0-dob-day": "5",
    "#child-0-dob-month": "6",
    "#child-0-dob-year": "2011",
    "#from-year": "2014",
    "#to-year": "2020",
    "#staff-named": "Pat Jones",
    "#concern": "Nobody told us why the visits stopped — 探视为什么停了？",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app allowing one public submission an hour per address."""
    reason = _missing()
    if reason:
        unavailable(reason)
    ctx = _sqlite_ctx(tmp_path_factory.mktemp("refusals"))
    settings = replace(ctx.settings, web=replace(ctx.settings.web, public_form_per_hour=1))
    with LiveServer(AppContext(settings, ctx.engine)) as server:
        yield server
    ctx.engine.dispose()


@pytest.fixture(scope="module")
def chromium(browser: Any, limited: LiveServer) -> Any:
    """The run's one Chromium (a second Playwright in the same thread cannot start)."""
    return browser


@pytest.fixture
def page(chromium: Any, limited: LiveServer) -> Iterator[Any]:
    context = chromium.new_context(base_url=limited.url, viewport={"width": 1024, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def fill(page: Any) -> None:
    page.goto("/concern")
    for selector, value in TYPED.items():
        page.fill(selector, value)
    page.check("#relationship")  # the first choice: Parent


def assert_everything_typed_is_there(page: Any) -> None:
    for selector, value in TYPED.items():
        assert page.input_value(selector) == value, selector
    assert page.is_checked("#relationship")


def press(page: Any, button: str) -> None:
    click_and_load(page, page.get_by_role("button", name=button))


def send(page: Any) -> None:
    """Continue to the check-your-answers page, then send from it."""
    press(page, "Continue")
    press(page, "Send your concern")


def test_an_expired_session_and_the_rate_limit_show_every_typed_value_again(page: Any) -> None:
    fill(page)
    page.context.clear_cookies()  # the session cookie expired while the person was typing
    press(page, "Continue")
    assert "Your concern has not been sent yet" in page.inner_text("#refusal")
    assert_everything_typed_is_there(page)
    assert_accessible(page)
    send(page)
    page.wait_for_url("**/concern/sent")

    fill(page)  # a second concern within the hour: over this server's limit of one
    send(page)
    assert "try again in an hour" in page.inner_text("#refusal")
    assert_everything_typed_is_there(page)


def test_children_are_added_one_at_a_time_and_every_answer_is_checked_before_sending(
    page: Any,
) -> None:
    page.goto("/concern")
    assert page.locator("#child-1-name").count() == 0  # one child block to begin with
    page.fill("#child-0-name", "Charlie Example")
    press(page, "Add another child")
    page.fill("#child-1-name", "Alex Example")
    page.fill("#child-1-dob-day", "1")
    page.fill("#child-1-dob-month", "2")
    page.fill("#child-1-dob-year", "2015")
    assert page.input_value("#child-0-name") == "Charlie Example"
    assert page.locator("#child-2-name").count() == 0
    page.fill("#name", "Robin Example")
    page.fill("#email", "robin@example.org")
    page.fill("#concern", "Nobody told us why the visits stopped.")
    press(page, "Continue")
    answers = page.inner_text("#answers")
    assert "Charlie Example" in answers and "Alex Example, born 1/2/2015" in answers
    assert_accessible(page)
    press(page, "Change your answers")
    assert page.input_value("#child-1-name") == "Alex Example"
    assert page.input_value("#concern") == "Nobody told us why the visits stopped."


def test_a_5_mb_post_is_refused_with_a_clear_page(page: Any) -> None:
    page.goto("/concern")
    page.fill("#name", "Robin Example")
    page.fill("#email", "robin@example.org")
    page.evaluate(
        "() => { document.querySelector('#concern').value = 'x'.repeat(5 * 1024 * 1024) }")
    press(page, "Continue")
    assert "too long to accept" in page.inner_text("h1")
    assert "back button" in page.inner_text("main")
    assert_accessible(page)
    page.go_back()
    # The browser still holds what was typed.
    assert page.input_value("#name") == "Robin Example"


def test_a_5_mb_post_is_answered_before_its_body_has_even_been_sent(limited: LiveServer) -> None:
    """Only the headers and 4 KB of a declared 5 MB body go out; the refusal comes back anyway,
    so the server cannot have read (or held) the body."""
    port = int(limited.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /concern HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     + f"Content-Length: {5 * 1024 * 1024}\r\n\r\n".encode()
                     + b"concern=" + b"x" * 4096)
        reply = b""
        while b"</html>" not in reply:
            chunk = conn.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413")
    assert b"too long to accept" in reply
