"""Signing in with a second factor in Chromium: set up with the key shown, the recovery codes
shown once, then a code from the app at the next sign-in; axe on both pages, and at 320px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pyotp
import pytest

from concerns.workflows.context import AppContext
from tests.browser.conftest import (
    LiveServer,
    _missing,
    assert_accessible,
    assert_fits,
    click_and_load,
    screenshot,
)
from tests.conftest import _sqlite_ctx
from tests.factories import create_staff
from tests.integration.web_helpers import PASSWORD
from tests.services import unavailable

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live_2fa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    reason = _missing()
    if reason:
        unavailable(reason)
    base = _sqlite_ctx(tmp_path_factory.mktemp("browser2fa"))
    create_staff(base, PASSWORD)
    ctx = AppContext(replace(base.settings, web=replace(base.settings.web, second_factor=True)),
                     base.engine)
    with LiveServer(ctx) as server:
        yield server
    base.engine.dispose()


@pytest.fixture(scope="module")
def chromium(browser: Any, live_2fa: LiveServer) -> Any:
    """The run's one Chromium (a second Playwright in the same thread cannot start)."""
    return browser


def _page(chromium: Any, live: LiveServer, width: int = 1024) -> Any:
    context = chromium.new_context(base_url=live.url, viewport={"width": width, "height": 900})
    context.set_default_timeout(15_000)
    return context.new_page()


def _password(page: Any, username: str) -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/login/code")


def test_a_member_of_staff_sets_up_and_then_signs_in_with_a_code(
    chromium: Any, live_2fa: LiveServer,
) -> None:
    page = _page(chromium, live_2fa, width=320)
    _password(page, "alex")
    assert "Set up your second factor" in page.inner_text("h1")
    assert_accessible(page)
    assert_fits(page)
    screenshot(page, "second-factor-setup")
    key = page.inner_text("#totp-key").replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", key)
    page.fill("#code", "123456" if pyotp.TOTP(key).now() != "123456" else "654321")
    click_and_load(page, page.get_by_role("button", name="Continue"))
    assert "not right" in page.inner_text(".govuk-error-summary")
    page.fill("#code", pyotp.TOTP(key).now())
    click_and_load(page, page.get_by_role("button", name="Continue"))
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert_accessible(page)
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/my-work")
    page.context.close()

    again = _page(chromium, live_2fa)
    _password(again, "alex")
    assert "Enter your code" in again.inner_text("h1")
    assert_accessible(again)
    next_code = pyotp.TOTP(key).at(live_2fa.ctx.now() + timedelta(seconds=30))
    again.fill("#code", next_code)
    again.get_by_role("button", name="Continue").click()
    again.wait_for_url("**/my-work")
    assert again.goto("/cases").ok
    again.context.close()


def test_the_admins_staff_page_with_its_account_form_is_accessible(
    chromium: Any, live_2fa: LiveServer,
) -> None:
    page = _page(chromium, live_2fa)
    # An administrator gives a code too: their password alone could reset anyone's account.
    _password(page, "admin")
    assert "Set up your second factor" in page.inner_text("h1")
    key = page.inner_text("#totp-key").replace(" ", "")
    page.fill("#code", pyotp.TOTP(key).now())
    click_and_load(page, page.get_by_role("button", name="Continue"))
    assert len(page.locator("#recovery-codes li").all_inner_texts()) == 10
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/users")
    assert "Change an account" in page.inner_text("main")
    assert_accessible(page)
    page.get_by_role("button", name="Change the account").click()
    assert "Choose what to do" in page.inner_text(".govuk-error-summary")
    assert_accessible(page)
    # A new surname: refused by its own field while empty, then taken.
    page.select_option("#account-username", "sam")
    page.check("#action-rename")
    page.fill("#account-reason", "Married in May")
    page.get_by_role("button", name="Change the account").click()
    assert "Give the person's full name" in page.inner_text(".govuk-error-summary")
    assert page.input_value("#account-reason") == "Married in May"
    assert_accessible(page)
    page.set_viewport_size({"width": 320, "height": 900})
    # Each account stacks into one block, every value named and in view.
    cells = page.locator("td[data-label='Last signed in']")
    assert cells.count() >= 2
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
    assert "Roles" in page.locator("td[data-label=Roles]").first.evaluate(
        "td => getComputedStyle(td, '::before').content")
    screenshot(page, "staff-accounts-rename-error-320")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.fill("#account-full-name", "Sam Okafor")
    click_and_load(page, page.get_by_role("button", name="Change the account"))
    assert "sam: done (rename)" in page.inner_text("main")
    assert "Sam Okafor" in page.inner_text("table")
    page.context.close()
