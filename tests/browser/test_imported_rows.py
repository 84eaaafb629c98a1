"""The IAT manager works through the imported rows to check, in real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from concerns.workflows.intake.register_import import import_register
from tests.browser.conftest import (
    LiveServer,
    assert_accessible,
    assert_fits,
    screenshot,
    sign_in,
)
from tests.data.register.build import csv_bytes

pytestmark = pytest.mark.browser


def test_the_manager_sees_each_flagged_imported_row_and_opens_its_case_at_320_pixels(
    new_page: Any, live: LiveServer
) -> None:
    results = import_register(live.ctx, csv_bytes(), "register.csv", "morgan")
    flagged = [r for r in results if r.reason and r.reason.startswith("to check")]
    page = new_page()
    sign_in(page, "morgan")
    page.get_by_role("link", name="Imported rows to check").click()
    page.wait_for_url("**/imported-rows")
    assert page.locator("tbody tr").count() == len(flagged)
    assert page.get_by_text("'Pending?' is not a stage in the mapping").count() >= 3
    assert_accessible(page)
    screenshot(page, "imported-rows")
    pending = next(r for r in flagged if "'Pending?'" in (r.reason or ""))
    page.get_by_role("link", name=pending.reference or "", exact=True).click()
    page.wait_for_url(f"**/cases/{pending.reference}")
    narrow = new_page(width=320)
    sign_in(narrow, "alex")
    narrow.goto("/imported-rows")
    assert_fits(narrow)
    assert_accessible(narrow)
    intake = new_page()
    sign_in(intake, "ian", lands_on="/log-contact")
    assert intake.get_by_role("link", name="Imported rows to check").count() == 0
