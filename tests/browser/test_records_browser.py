"""The information officer's retention review queue in Chromium: its clock, its reminders, a
refused decision shown again as typed, and a bulk decision, at 320 px with axe."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from concerns.db.models import Case, Event
from concerns.workflows.reminders import sweep
from tests.browser.conftest import (
    LiveServer,
    assert_accessible,
    assert_fits,
    screenshot,
    sign_in,
)
from tests.factories import act, log_concern


def _due_for_review(live: LiveServer, days_ago: int) -> str:
    """A closed case whose retention review date was DAYS_AGO."""
    ctx = live.ctx
    reference = log_concern(ctx)
    act(ctx, reference, "answer_query", "alex", wording="Our answer.")
    today = ctx.calendar.local_date(ctx.now())
    with ctx.uow() as uow:
        uow.session.execute(update(Case).where(Case.reference == reference).values(
            retention_review_on=today - timedelta(days=days_ago)))
        uow.commit()
    return reference


def test_the_information_officer_reviews_her_queue_with_its_clock_and_reminders(
    new_page: Any, live: LiveServer
) -> None:
    late = _due_for_review(live, 60)
    fresh = _due_for_review(live, 0)
    sweep(live.ctx)  # starts each case's review clock and owes its reminders

    page = new_page()
    sign_in(page, "priya")
    page.get_by_role("link", name="Retention").click()
    page.wait_for_url("**/records/retention")
    page.set_viewport_size({"width": 320, "height": 900})
    rows = {ref: page.locator("tr", has=page.locator(f"#ref-{ref}")).inner_text()
            for ref in (late, fresh)}
    assert "Overdue" in rows[late] and "overdue (pending)" in rows[late]
    assert "Overdue" not in rows[fresh]
    assert_fits(page)
    # Each case stacks into one block, its decide-by date named and in view (no sideways
    # scrolling inside the table).
    for ref in (late, fresh):
        due = page.locator("tr", has=page.locator(f"#ref-{ref}")).locator(
            "td[data-label='Decide by']")
        box = due.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
        assert "Decide by" in due.evaluate("td => getComputedStyle(td, '::before').content")
    assert_accessible(page)
    screenshot(page, "retention-review")

    # A retain decision without a date is refused, with what was typed kept.
    page.check(f"#ref-{late}")
    page.check("#decision-retain")
    page.fill("#reason", "Legal hold while proceedings run")
    page.get_by_role("button", name="Record the decision").click()
    assert "Enter the date to review it again" in page.inner_text(".govuk-error-summary")
    assert page.is_checked(f"#ref-{late}") and page.is_checked("#decision-retain")
    assert page.input_value("#reason") == "Legal hold while proceedings run"
    assert_accessible(page)

    page.check(f"#ref-{fresh}")
    # Only the wrong part of the date is marked; the rest stays as typed.
    page.fill("#until-day", "31")
    page.fill("#until-month", "14")
    page.fill("#until-year", "2031")
    page.get_by_role("button", name="Record the decision").click()
    assert "The date to review it again must include a real month" in page.inner_text(
        ".govuk-error-summary")
    assert page.locator(".govuk-input--error").evaluate_all("es => es.map(e => e.id)") == [
        "until-month"]
    assert page.input_value("#until-day") == "31" and page.is_checked(f"#ref-{late}")
    assert_accessible(page)
    page.check(f"#ref-{fresh}")
    page.fill("#until-month", "1")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_url("**/records/retention")
    assert "2 case(s): retain until a date." in page.inner_text(".govuk-notification-banner")
    assert page.locator(f"#ref-{late}").count() == 0
    assert page.locator(f"#ref-{fresh}").count() == 0
    with live.ctx.sessions() as session:
        decided = session.scalars(select(Event).where(
            Event.event == "retention_decided", Event.actor == "priya")).all()
        assert len(decided) == 2
        assert {e.note for e in decided} == {"Legal hold while proceedings run"}


def test_staff_outside_records_management_see_no_retention_link(
    new_page: Any, live: LiveServer
) -> None:
    page = new_page()
    sign_in(page, "alex")
    assert page.get_by_role("link", name="Retention").count() == 0
    response = page.goto("/records/retention")
    assert response is not None and response.status == 403


def test_a_subject_access_bundle_is_reviewed_and_released_from_the_browser(
    new_page: Any, live: LiveServer, tmp_path: Path
) -> None:
    child = {"name": "Marigold Ashcombe", "date_of_birth": "2013-02-02"}
    reference = log_concern(live.ctx, name="Harriet Ashcombe", email="harriet@example.org",
                            children=[child], concern="Marigold's review meeting was cancelled.")
    log_concern(live.ctx, name="Bartholomew Quince", email="bq@example.net", children=[child],
                concern="I am Marigold's grandfather.")
    with live.ctx.sessions() as session:
        person = session.scalars(select(Case.respondent_id).where(
            Case.reference == reference)).one()

    page = new_page()
    sign_in(page, "priya")
    page.goto("/records/retention")
    page.fill("#person", "not a number")
    page.get_by_role("button", name="Open").click()
    assert "person: enter the person's id" in page.inner_text(".govuk-error-summary")
    page.fill("#person", str(person))
    page.get_by_role("button", name="Open").click()
    page.wait_for_url("**/records/subject-access/*")
    assert "opened: respond by" in page.inner_text(".govuk-notification-banner")
    table = page.inner_text("table")
    assert "Bartholomew Quince" in table and "bq@example.net" in table
    assert "Harriet" not in table  # her own details are never redacted from her
    assert_accessible(page)
    screenshot(page, "subject-access-review")

    page.fill("#words", "review meeting")
    page.get_by_role("button", name="Add the redaction").click()
    page.wait_for_url("**/records/subject-access/*")
    page.get_by_role("button", name="Remove redaction of review meeting").click()
    page.wait_for_url("**/records/subject-access/*")
    assert page.get_by_role("button", name="Redact again redaction of review meeting").count() == 1

    with page.expect_download() as download:
        page.get_by_role("button", name="Release and download the bundle").click()
    saved = tmp_path / "bundle.zip"
    download.value.save_as(saved)
    with zipfile.ZipFile(saved) as zf:
        assert "index.pdf" in zf.namelist()
    page.reload()
    assert "Released; the bundle's SHA-256 is" in page.inner_text("main")
