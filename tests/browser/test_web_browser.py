"""The people who use it, in real Chromium: the public, an officer, the director, her assistant."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from concerns.db.models import Case, Event, Letter
from tests.browser.conftest import (
    LiveServer,
    assert_accessible,
    assert_fits,
    click_and_load,
    screenshot,
    sign_in,
)
from tests.factories import act, log_concern, walk_to_signoff
from tests.integration.test_letters_posting import log as log_by_post

pytestmark = pytest.mark.browser


def _state(live: LiveServer, reference: str) -> str:
    with live.ctx.sessions() as session:
        return session.scalars(select(Case.state).where(Case.reference == reference)).one()


def _new_case(live: LiveServer, **details: Any) -> str:
    """A concern from a new person (no shared phone number, so never matched to another case)."""
    return log_concern(live.ctx, phone=None, **details)


def _fire(page: Any, event: str) -> None:
    """Press the button of the event's form on the case page."""
    form = page.locator(f"#event-{event.replace('_', '-')}")
    click_and_load(page, form.locator("button[type=submit]"))


def test_the_public_form_lists_every_problem_then_accepts_the_corrected_concern(
    new_page: Any, live: LiveServer
) -> None:
    page = new_page()
    page.goto("/concern")
    assert_accessible(page)
    screenshot(page, "public-concern-form")
    page.fill("#email", "not an email")
    page.fill("#from-year", "nineteen")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    summary.wait_for()
    links = summary.locator("a")
    assert links.all_inner_texts() == [
        "Enter your full name",
        "Enter an email address in the correct format, like name@example.com",
        "Enter the year social care became involved as a year between 1900 and now, like 2015",
        "Enter your concern",
    ]
    assert page.title().startswith("Error: ")
    # Each message is also next to its field, and the summary links there.
    assert "Enter your full name" in page.locator("#name-error").inner_text()
    assert page.input_value("#email") == "not an email"
    assert_accessible(page)
    screenshot(page, "public-concern-form-errors")
    links.first.click()
    assert page.evaluate("() => document.activeElement.id") == "name"

    page.fill("#name", "Robin Example")
    page.fill("#email", "robin@example.org")
    page.fill("#from-year", "2014")
    page.fill("#child-0-name", "Charlie Example")
    page.fill("#child-0-dob-day", "5")
    page.fill("#child-0-dob-month", "6")
    page.fill("#child-0-dob-year", "2011")
    page.fill("#concern", "<script>alert('x')</script> Nobody told us why the visits stopped.")
    page.get_by_role("button", name="Continue").click()
    # Check your answers: what was typed, as text, before anything is sent.
    answers = page.locator("#answers")
    answers.wait_for()
    assert "Charlie Example, born 5/6/2011" in answers.inner_text()
    assert "<script>alert('x')</script>" in answers.inner_text()
    assert_accessible(page)
    screenshot(page, "public-concern-check-answers")
    page.get_by_role("button", name="Send your concern").click()
    page.wait_for_url("**/concern/sent")
    reference = page.inner_text("#case-reference")
    assert re.fullmatch(r"CAC-\d{4}-\d{4}", reference)
    assert_accessible(page)
    screenshot(page, "public-concern-sent")
    with live.ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.channel == "web" and case.state == "logged"
        assert case.contacts[0].raw_submission_id is not None


def test_the_director_authorises_from_her_queue_with_edited_wording(
    new_page: Any, live: LiveServer
) -> None:
    reference = _new_case(live)
    walk_to_signoff(live.ctx, reference)
    director = new_page()
    sign_in(director, "dana")
    director.goto("/queue/director")
    assert_accessible(director)
    screenshot(director, "director-queue")
    click_and_load(director, director.get_by_role(
        "link", name=f"Authorise the outcome or return it case {reference}"))
    # Her next step leads, with the page's one green button; returning it is the other choice.
    forms = director.locator("form[id^=event-]")
    assert forms.evaluate_all("fs => fs.map(f => f.id)") == [
        "event-authorise", "event-return-for-changes"]
    assert director.locator("form[id^=event-] button:not(.govuk-button--secondary)").evaluate_all(
        "bs => bs.map(b => b.textContent.trim())") == ["Authorise the outcome"]
    wording = director.locator("#authorise-wording")
    assert "We are sorry" in wording.input_value()
    wording.fill("Thank you for writing to us. We apologise for the delay in sharing the plan.")
    assert_accessible(director)
    screenshot(director, "director-signoff")
    _fire(director, "authorise")
    director.wait_for_url("**/queue/director")
    assert "now authorised" in director.inner_text(".govuk-notification-banner")
    with live.ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        assert case.state == "authorised"
        assert case.outcome_wording is not None and "apologise" in case.outcome_wording


def test_the_director_returns_an_outcome_with_a_note(new_page: Any, live: LiveServer) -> None:
    reference = _new_case(live)
    walk_to_signoff(live.ctx, reference)
    director = new_page()
    sign_in(director, "dana")
    director.goto(f"/queue/director/{reference}")
    _fire(director, "return_for_changes")
    assert "Enter an internal note" in director.inner_text(".govuk-error-summary")
    director.fill("#return-for-changes-note", "Please say sorry plainly.")
    _fire(director, "return_for_changes")
    assert _state(live, reference) == "in_review"


def test_the_assistant_prepares_the_letter_and_sends_it_once_signed(
    new_page: Any, live: LiveServer
) -> None:
    reference = _new_case(live)
    walk_to_signoff(live.ctx, reference)
    act(live.ctx, reference, "authorise", "dana")
    assistant = new_page()
    sign_in(assistant, "erin")
    assistant.goto("/queue/assistant")
    assert_accessible(assistant)
    screenshot(assistant, "assistant-queue")
    click_and_load(assistant, assistant.get_by_role(
        "button", name=f"Prepare the letter for case {reference}"))
    # She sees the outcome letter before it is made: its frame has loaded before she confirms (a
    # click while the frame is still loading can land on a page that is still moving).
    assert assistant.locator("iframe.app-letter-frame").count() == 1
    letter = assistant.frame_locator("iframe.app-letter-frame").locator("body")
    letter.wait_for()
    assert "Test Person" in letter.inner_text()
    assert_accessible(assistant)
    # Scrolled to first, as she would: below the letter's frame, a click that has to scroll the
    # page itself was seen to land nowhere in Chromium when other tests had run before.
    assistant.locator("#confirm-step").scroll_into_view_if_needed()
    assistant.locator("#confirm-step").click()
    assistant.wait_for_url("**/queue/assistant")
    assert _state(live, reference) == "letter_ready"

    director = new_page()
    sign_in(director, "dana")
    director.goto(f"/queue/director/{reference}")
    assert director.locator("iframe.app-letter-frame").count() == 1
    _fire(director, "sign")
    assert _state(live, reference) == "signed"

    assistant.goto("/queue/assistant")
    assistant.get_by_role("button", name=f"Record as posted for case {reference}").click()
    assert assistant.inner_text("h1") == "Are you sure?"
    assistant.locator("#confirm-step").click()
    assistant.wait_for_url("**/queue/assistant")
    assert _state(live, reference) == "responded"
    with live.ctx.sessions() as session:
        letter = session.scalars(
            select(Letter).join(Case).where(Case.reference == reference, Letter.kind == "outcome")
        ).one()
        assert letter.signed_at is not None and letter.sent_method == "post"


def test_the_assistant_prints_a_letter_and_records_it_as_posted_at_320_pixels(
    new_page: Any, live: LiveServer
) -> None:
    # A person who gave a postal address and no email: the acknowledgement goes by post.
    reference = log_by_post(live.ctx, name="Quinn Marsh", address="7 Castle Street, Ledbury")
    act(live.ctx, reference, "acknowledge", "alex")
    with live.ctx.sessions() as session:
        letter = session.scalars(
            select(Letter).join(Case).where(Case.reference == reference)
        ).one()
        letter_id, sha256 = letter.id, letter.sha256
    assistant = new_page(width=320)
    sign_in(assistant, "erin")
    assistant.goto("/queue/assistant")
    row = assistant.locator(f"#letter-{letter_id}")
    assert "Acknowledgement" in row.inner_text()
    assert_fits(assistant)
    assert_accessible(assistant)
    screenshot(assistant, "assistant-letters-to-post")
    with assistant.expect_download() as download:
        row.get_by_role("link", name=f"Print letter {letter_id}").click()
    pdf = Path(download.value.path()).read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == sha256
    # Chromium may put a space before the visually hidden part of the name.
    name = re.compile(rf"^Record as posted\s*: letter {letter_id} \(acknowledgement\)")
    row.get_by_role("button", name=name).click()
    assistant.wait_for_url("**/queue/assistant")
    assert "recorded as posted" in assistant.inner_text(".govuk-notification-banner")
    assert assistant.locator(f"#letter-{letter_id}").count() == 0
    assert_fits(assistant)
    assert_accessible(assistant)
    with live.ctx.sessions() as session:
        assert session.get_one(Letter, letter_id).sent_method == "post"

    # Her correction of the person's details, refused for a bad email, is shown at the field.
    assistant.goto(f"/cases/{reference}")
    assistant.fill("#details-email", "quinn@")
    assistant.fill("#details-note", "Gave an email address on the phone.")
    assistant.get_by_role("button", name="Correct the details").click()
    assistant.locator(".govuk-error-summary").wait_for()
    assert "not an email address" in assistant.inner_text("#details-email-error")
    assert_fits(assistant)
    assert_accessible(assistant)


def test_an_officer_cannot_open_the_directors_queue(new_page: Any, live: LiveServer) -> None:
    page = new_page()
    sign_in(page, "alex")
    response = page.goto("/queue/director")
    assert response is not None and response.status == 403
    assert "needs the role Director" in page.inner_text("main")
    assert page.get_by_role("link", name="Sign-off queue").count() == 0


def test_a_person_named_in_a_concern_cannot_open_its_case(
    new_page: Any, live: LiveServer
) -> None:
    reference = _new_case(live, staff_named=["Jo Bloggs"])
    page = new_page()
    sign_in(page, "jo")
    response = page.goto(f"/cases/{reference}")
    assert response is not None and response.status == 403
    assert "you cannot open this case" in page.inner_text("main")
    assert "named" not in page.inner_text("main")
    with live.ctx.sessions() as session:
        refused = session.scalars(
            select(Event).join(Case).where(
                Case.reference == reference, Event.event == "case_view_refused",
                Event.actor == "jo",
            )
        ).all()
    assert len(refused) == 1


def test_the_auditor_lands_on_the_scrutiny_report_with_its_chart(
    new_page: Any, live: LiveServer
) -> None:
    _new_case(live)
    page = new_page()
    sign_in(page, "audrey", lands_on="/reports/scrutiny")
    assert page.locator("svg.app-chart rect").count() >= 1
    assert page.get_by_role("link", name="Cases").count() == 0
    assert_accessible(page)
    screenshot(page, "scrutiny-report")


def test_a_phone_call_is_logged_from_the_log_a_contact_page(
    new_page: Any, live: LiveServer
) -> None:
    page = new_page()
    sign_in(page, "ian", lands_on="/log-contact")
    assert_accessible(page)
    page.get_by_label("Phone call", exact=True).check()
    page.fill("#received-day", "2")
    page.fill("#received-month", "11")
    page.fill("#received-year", "2026")
    page.fill("#name", "Pat Caller")
    page.fill("#phone", "01432 555 777")
    page.fill("#concern", "Rang to say the contact arrangements were cancelled twice.")
    screenshot(page, "log-a-contact")
    page.get_by_role("button", name="Log the contact").click()
    page.wait_for_url("**/log-contact")
    banner = page.inner_text(".govuk-notification-banner")
    reference = re.search(r"CAC-\d{4}-\d{4}", banner)
    assert reference is not None
    with live.ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference.group(0))).one()
        assert case.contacts[0].channel == "phone"


@pytest.mark.parametrize("path", ["/concern", "/login"])
def test_public_pages_work_at_320_pixels_wide(new_page: Any, path: str) -> None:
    page = new_page(width=320)
    page.goto(path)
    assert_fits(page)
    assert_accessible(page)


def test_staff_pages_work_at_320_pixels_wide(new_page: Any, live: LiveServer) -> None:
    reference = _new_case(live)
    walk_to_signoff(live.ctx, reference)
    page = new_page(width=320)
    sign_in(page, "dana")
    for path in ("/my-work", "/cases", f"/cases/{reference}", "/queue/director",
                 f"/queue/director/{reference}"):
        page.goto(path)
        assert_fits(page)
        assert_accessible(page)
    officer = new_page(width=320)
    sign_in(officer, "morgan")
    for path in (f"/cases/{reference}", "/log-contact", "/quarantine", "/reports/scrutiny"):
        officer.goto(path)
        assert_fits(officer)
        assert_accessible(officer)


def test_on_a_phone_the_director_s_queue_shows_each_case_s_action_without_scrolling_sideways(
    new_page: Any, live: LiveServer
) -> None:
    reference = _new_case(live)
    walk_to_signoff(live.ctx, reference)
    director = new_page(320)
    sign_in(director, "dana")
    director.goto("/queue/director")
    assert_accessible(director)
    action = director.get_by_role(
        "link", name=f"Authorise the outcome or return it case {reference}")
    box = action.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
    # Stacked, the date still says what it is.
    assert "Due" in director.locator("td[data-label=Due]").first.evaluate(
        "td => getComputedStyle(td, '::before').content")


def test_on_a_phone_the_case_lists_stack_with_who_has_each_case_and_when_in_view(
    new_page: Any, live: LiveServer
) -> None:
    references = [_new_case(live) for _ in range(3)]
    act(live.ctx, references[0], "acknowledge", "alex")
    officer = new_page(320)
    sign_in(officer, "alex")
    for path, label in (("/cases", "Received"), ("/my-work", "Next")):
        officer.goto(path)
        assert_fits(officer)
        assert_accessible(officer)
        rows = officer.locator("table.app-table--stack tbody tr")
        assert rows.count() >= 2, path
        for i in range(rows.count()):
            for name in ("With", label):
                cell = rows.nth(i).locator(f"td[data-label={name}]")
                box = cell.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320, (
                    path, name)
                assert name in cell.evaluate("td => getComputedStyle(td, '::before').content")
        screenshot(officer, f"case-list-{path.strip('/')}-320")
    wide = new_page(1280)
    sign_in(wide, "alex")
    wide.goto("/cases")
    # On a wide screen it stays a table with its column headings.
    assert wide.locator("th", has_text="Received").is_visible()
    assert "none" in wide.locator("td[data-label=With]").first.evaluate(
        "td => getComputedStyle(td, '::before').content")


def test_on_a_phone_a_case_s_deadlines_stack_with_each_date_named_and_in_view(
    new_page: Any, live: LiveServer
) -> None:
    reference = _new_case(live)
    act(live.ctx, reference, "acknowledge", "alex")
    officer = new_page(320)
    sign_in(officer, "alex")
    officer.goto(f"/cases/{reference}")
    assert_fits(officer)
    assert_accessible(officer)
    table = officer.locator("table", has=officer.locator("th", has_text="Clock"))
    rows = table.locator("tbody tr")
    assert rows.count() >= 2  # the acknowledgement met, the triage clocks running
    for i in range(rows.count()):
        due = rows.nth(i).locator("td[data-label=Due]")
        box = due.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320
        assert "Due" in due.evaluate("td => getComputedStyle(td, '::before').content")
    # The clock's name heads its block (a row header, read out before each of its cells).
    assert rows.first.locator("th[scope=row]").count() == 1
    screenshot(officer, "case-deadlines-320")
    wide = new_page(1280)
    sign_in(wide, "alex")
    wide.goto(f"/cases/{reference}")
    # On a wide screen it stays a table with its column headings.
    assert table.count() == 1 and wide.locator("th", has_text="Started").is_visible()
    assert "none" in wide.locator("td[data-label=Due]").first.evaluate(
        "td => getComputedStyle(td, '::before').content")
