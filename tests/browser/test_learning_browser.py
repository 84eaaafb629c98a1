"""In Chromium: a reviewer tags learning themes and adds an action arising on the outcome form;
the IAT manager's scrutiny report shows them, a figure leads to the case behind it, and the PDF
for publication shows the count of 3 as "fewer than 5" and holds no name or reference."""

from __future__ import annotations

import io
from typing import Any

import pytest
from pypdf import PdfReader

from concerns.workflows.lifecycle import fire_event
from tests.browser.conftest import (
    LiveServer,
    assert_accessible,
    click_and_load,
    screenshot,
    sign_in,
)
from tests.factories import log_concern, walk_to_review

pytestmark = pytest.mark.browser


def _in_review(live: LiveServer, name: str) -> str:
    reference = log_concern(live.ctx, phone=None, name=name)
    walk_to_review(live.ctx, reference)
    return reference


def test_themes_and_an_action_reach_the_report_its_drill_down_and_the_published_pdf(
    new_page: Any, live: LiveServer
) -> None:
    ctx = live.ctx
    names = ["Rosalind Pemberton-Hale", "Ifeoma Adeyemi-Clarke", "Bartholomew Quince"]
    others = [_in_review(live, name) for name in names[:2]]
    for reference in others:
        fire_event(ctx, reference, "submit_outcome", "alex", {
            "summary": "Records read.", "wording": "We are sorry.",
            "finding.consent": "Consent to share was not recorded."})
    reference = _in_review(live, names[2])
    due = ctx.calendar.add_working_days(ctx.calendar.local_date(ctx.now()), 15).isoformat()

    officer = new_page()
    sign_in(officer, "alex")
    officer.goto(f"/cases/{reference}")
    officer.goto(f"/cases/{reference}/events/submit_outcome")  # the step has a page of its own
    officer.wait_for_load_state()
    officer.fill("#submit-outcome-summary", "The records were read and staff interviewed.")
    officer.fill("#submit-outcome-wording", "Thank you for raising this. We are sorry.")
    officer.get_by_label("Consent", exact=True).fill(
        "Consent was not sought before the school was told.")
    officer.get_by_label("Record keeping", exact=True).fill("The visit notes were not filed.")
    officer.fill("#submit-outcome-action-1-what", "Check consent at every first visit.")
    officer.fill("#submit-outcome-action-1-owner", "Children in Need service")
    officer.select_option("#submit-outcome-action-1-theme", "consent")
    for part, value in zip(("year", "month", "day"), due.split("-"), strict=True):
        officer.fill(f"#submit-outcome-action-1-due-{part}", value)
    click_and_load(officer, officer.locator("#event-submit-outcome button[type=submit]"))
    # The outcome letter with her wording in place, before it goes on to the director.
    assert officer.inner_text("h1") == "Check your wording in the letter"
    officer.frame_locator("iframe.app-letter-frame").locator("body").wait_for()
    assert "Thank you for raising this. We are sorry." in officer.frame_locator(
        "iframe.app-letter-frame").locator("body").inner_text()
    officer.locator("#confirm-step").scroll_into_view_if_needed()
    click_and_load(officer, officer.locator("#confirm-step"))
    assert "now waiting for sign-off" in officer.inner_text(".govuk-notification-banner")
    assert officer.locator("#action-1, [id^=action-]").first.is_visible()
    assert "Check consent at every first visit." in officer.inner_text("main")
    assert_accessible(officer)
    screenshot(officer, "case-learning")

    manager = new_page()
    sign_in(manager, "morgan")
    manager.goto("/reports/scrutiny")
    themes = manager.locator("#themes")
    consent = themes.locator("tr", has_text="Consent")
    assert consent.locator("td").nth(1).inner_text().split()[0] == "3"
    assert consent.locator("td").nth(2).inner_text().split()[0] == "1"  # one action open
    assert manager.locator("svg.app-chart").count() >= 2
    assert_accessible(manager)
    screenshot(manager, "scrutiny-report-staff")

    # The record keeping figure (1) leads to the one case behind it.
    click_and_load(manager, themes.locator("tr", has_text="Record keeping").locator("a").first)
    assert manager.locator("h1").inner_text() == "Theme: Record keeping"
    rows = manager.locator("tbody tr")
    assert rows.count() == 1 and rows.first.locator("a").inner_text() == reference
    assert_accessible(manager)
    screenshot(manager, "scrutiny-drill-down")

    published = manager.request.get("/reports/scrutiny.pdf?publish=yes")
    assert published.status == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(published.body())).pages)
    assert "Version for publication" in text
    consent_rows = [line for line in text.splitlines() if line.startswith("Consent ")]
    assert consent_rows and all("fewer than 5" in line for line in consent_rows), consent_rows
    for name in names:
        assert name not in text and name.split()[-1] not in text
    for ref in [*others, reference]:
        assert ref not in text
    assert "Consent was not sought" not in text and "Children in Need" not in text
