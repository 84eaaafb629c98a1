"""In real Chromium at 320 pixels: a person raises a concern through the public form, then each
member of staff takes it to closed using only the next-step panel's one button, checking each
letter before it goes; every page on the way passes axe-core and fits the screen."""

from __future__ import annotations

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
from tests.factories import log_concern, walk_to_review

pytestmark = pytest.mark.browser


def _state(live: LiveServer, reference: str) -> str:
    with live.ctx.sessions() as session:
        return session.scalars(select(Case.state).where(Case.reference == reference)).one()


def _checked(page: Any) -> None:
    assert_fits(page)
    assert_accessible(page)


def primary(page: Any, reference: str, expected: str) -> None:
    """Open the case, read the panel, press its one button: the event's own page opens."""
    page.goto(f"/cases/{reference}")
    _checked(page)
    button = page.locator("#primary-step")
    assert button.inner_text().strip() == expected
    # The panel comes before the case's details: no scrolling to find what to do.
    assert page.locator(".app-next-step").bounding_box()["y"] < page.locator(
        "h2", has_text="Summary").bounding_box()["y"]
    click_and_load(page, button)
    assert page.locator(".govuk-back-link").count() == 1
    _checked(page)


def submit(page: Any) -> None:
    click_and_load(page, page.locator("form[id^=event-] button[type=submit]").first)


def confirm(page: Any, *, letter: bool, draft: bool = False) -> None:
    """On the check page: the letter is shown (or the question asked) before anything goes."""
    heading = page.inner_text("h1")
    assert heading == ("Check your wording in the letter" if draft else
                       "Check the letter before it goes" if letter else "Are you sure?")
    assert page.locator("iframe.app-letter-frame").count() == (1 if letter or draft else 0)
    if letter or draft:
        page.frame_locator("iframe.app-letter-frame").locator("body").wait_for()
    _checked(page)
    page.locator("#confirm-step").scroll_into_view_if_needed()
    click_and_load(page, page.locator("#confirm-step"))


def raise_a_concern(page: Any, name: str = "Robin Walker", *, pictured: bool = True) -> str:
    """A person sends a concern through the public form (no sign-in): the form, the check of
    their answers and the confirmation; returns the reference the confirmation gives."""
    page.goto("/concern")
    _checked(page)
    page.fill("#name", name)
    page.fill("#email", f"{name.lower().replace(' ', '.')}@example.org")
    page.fill("#address", "7 Widemarsh Street\nHereford")
    page.fill("#postcode", "HR4 9EP")
    page.get_by_label("Parent", exact=True).check()
    page.fill("#child-0-name", f"Sky {name.split()[-1]}")
    page.fill("#child-0-dob-day", "14")
    page.fill("#child-0-dob-month", "2")
    page.fill("#child-0-dob-year", "2013")
    page.fill("#from-year", "2019")
    page.fill("#concern", "The child protection plan was changed and nobody told us why.")
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    page.locator("#answers").wait_for()
    assert f"Sky {name.split()[-1]}" in page.inner_text("#answers")
    _checked(page)
    page.get_by_role("button", name="Send your concern").click()
    page.wait_for_url("**/concern/sent")
    _checked(page)
    assert page.locator("#reply-by").is_visible() and page.locator("#receipt").is_visible()
    if pictured:
        screenshot(page, "public-concern-sent")
    return str(page.inner_text("#case-reference"))


def test_every_role_moves_the_case_on_with_the_primary_button(
    new_page: Any, live: LiveServer
) -> None:
    reference = raise_a_concern(new_page(width=320))
    assert _state(live, reference) == "logged"
    pages = {}
    for username in ("alex", "priya", "lee", "morgan", "sam", "dana", "erin"):
        pages[username] = new_page(width=320)
        sign_in(pages[username], username)

    alex = pages["alex"]
    primary(alex, reference, "Acknowledge the concern")
    alex.fill("#acknowledge-note", "INTERNAL-ONLY: rang first.")
    submit(alex)
    # The letter is seen first, without the internal note.
    frame = alex.frame_locator("iframe.app-letter-frame")
    assert "Robin Walker" in frame.locator("body").inner_text()
    assert "INTERNAL-ONLY" not in frame.locator("body").inner_text()
    confirm(alex, letter=True)
    assert _state(live, reference) == "triage"

    priya = pages["priya"]
    primary(priya, reference, "Record the complaints triage decision")
    priya.get_by_label("Yes", exact=True).check()
    priya.get_by_label("The time limit has passed", exact=True).check()
    priya.fill("#record-complaints-triage-note", "Checked the complaints log.")
    submit(priya)
    # A contradictory decision is refused by the field, with everything typed kept.
    assert "means it does not meet the criteria" in priya.inner_text(
        "#record-complaints-triage-reason-error")
    assert priya.input_value("#record-complaints-triage-note") == "Checked the complaints log."
    _checked(priya)
    priya.get_by_label("No", exact=True).check()
    submit(priya)

    lee = pages["lee"]
    primary(lee, reference, "Record the legal triage decision")
    lee.get_by_label("No proceedings", exact=True).check()
    submit(lee)

    # Triage complete, no reviewer: the IAT manager's, on her team view and her list.
    morgan = pages["morgan"]
    morgan.goto("/team")
    _checked(morgan)
    assert "Assign a reviewer" in morgan.inner_text("table")
    primary(morgan, reference, "Assign a reviewer")
    morgan.get_by_label("Sam Patel", exact=True).check()
    submit(morgan)

    primary(alex, reference, "Start the learning review")
    submit(alex)

    sam = pages["sam"]
    primary(sam, reference, "Send the outcome to the director")
    assert "Thank you" in sam.inner_text(".govuk-inset-text") or "thank-you" in sam.inner_text(
        ".govuk-inset-text")
    sam.fill("#submit-outcome-summary", "Records read; the plan was not shared in time.")
    sam.fill("#submit-outcome-wording", "We are sorry the plan was not shared with you.")
    sam.fill("#submit-outcome-finding-communication-with-families",
             "The plan was not shared with the family in time.")
    submit(sam)
    # She reads the outcome letter around her wording (the template's opening and closing), so
    # she need not repeat them, then sends it on.
    letter = sam.frame_locator("iframe.app-letter-frame").locator("body").inner_text()
    assert letter.index("Thank you for raising your concern") < letter.index(
        "We are sorry the plan was not shared with you.") < letter.index(
        "If you are not happy with this outcome")
    assert _state(live, reference) == "in_review"
    sam.frame_locator("iframe.app-letter-frame").locator("h2").first.wait_for()
    sam.locator("iframe.app-letter-frame").scroll_into_view_if_needed()
    screenshot(sam, "outcome-wording-check")
    confirm(sam, letter=False, draft=True)
    assert _state(live, reference) == "awaiting_signoff"

    dana = pages["dana"]
    primary(dana, reference, "Authorise the outcome")
    submit(dana)

    erin = pages["erin"]
    primary(erin, reference, "Prepare the letter")
    submit(erin)
    assert "We are sorry the plan" in erin.frame_locator("iframe.app-letter-frame").locator(
        "body").inner_text()
    confirm(erin, letter=True)

    primary(dana, reference, "Sign the letter")
    # She signs the letter she reads on the same page.
    assert "We are sorry the plan" in dana.frame_locator("iframe.app-letter-frame").locator(
        "body").inner_text()
    # Below a letter frame the button is scrolled to first, as on the check pages.
    dana.locator("#event-sign button[type=submit]").scroll_into_view_if_needed()
    submit(dana)

    primary(erin, reference, "Send the signed letter")
    erin.get_by_label("By post", exact=True).check()
    submit(erin)
    confirm(erin, letter=False)
    assert _state(live, reference) == "responded"

    # The reply window runs: the officer has no close button; the manager closes with a reason.
    alex.goto(f"/cases/{reference}")
    assert alex.locator("#primary-step").count() == 0 or "Close" not in alex.inner_text(
        "#primary-step")
    primary(morgan, reference, "Close the case")
    morgan.fill("#close-reason", "The person phoned: content with the answer.")
    submit(morgan)
    confirm(morgan, letter=False)
    assert _state(live, reference) == "closed"

    with live.ctx.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        letters = session.scalars(select(Letter).where(Letter.case_id == case.id)).all()
        seen = session.scalars(
            select(Event.data).where(Event.case_id == case.id, Event.event == "letter_previewed")
        ).all()
    # Every letter that went was checked by a member of staff first.
    assert {letter.kind for letter in letters} == {"acknowledgement", "outcome"}
    assert {d["kind"] for d in seen} >= {"acknowledgement", "outcome"}


def test_screenshots_of_my_work_the_case_page_team_view_and_a_letter_check(
    new_page: Any, live: LiveServer
) -> None:
    reference = raise_a_concern(new_page(width=320), "Alex Sample", pictured=False)
    officer = new_page()
    sign_in(officer, "alex")  # lands on My work
    _checked(officer)
    assert "Acknowledge the concern" in officer.inner_text("table")
    screenshot(officer, "my-work")
    manager = new_page()
    sign_in(manager, "morgan")
    manager.goto(f"/cases/{reference}")
    _checked(manager)
    screenshot(manager, "case-page")
    manager.goto("/team")
    _checked(manager)
    screenshot(manager, "team-view")
    manager.goto(f"/cases/{reference}/events/request_information")
    manager.fill("#request-information-wording", "Please tell us the dates of the visits.")
    manager.fill("#request-information-note", "Internal: the file is incomplete.")
    submit(manager)
    manager.frame_locator("iframe.app-letter-frame").locator("body").wait_for()
    _checked(manager)
    screenshot(manager, "letter-preview")


def test_staff_date_inputs_mark_only_the_wrong_part_at_320_pixels(
    new_page: Any, live: LiveServer
) -> None:
    reference = log_concern(live.ctx, phone=None, name="Dee Dates")
    walk_to_review(live.ctx, reference)
    morgan = new_page(width=320)
    sign_in(morgan, "morgan")
    morgan.goto(f"/cases/{reference}/events/extend_deadline")
    _checked(morgan)
    morgan.locator("input[name=clock][value=review]").check()
    morgan.fill("#extend-deadline-due-day", "4")
    morgan.fill("#extend-deadline-due-month", "13")
    morgan.fill("#extend-deadline-due-year", "2031")
    morgan.fill("#extend-deadline-reason", "Waiting for the health records.")
    submit(morgan)
    assert "New due date must include a real month" in morgan.inner_text(".govuk-error-summary")
    assert morgan.locator(".govuk-input--error").evaluate_all("es => es.map(e => e.id)") == [
        "extend-deadline-due-month"]
    assert morgan.input_value("#extend-deadline-due-day") == "4"
    assert morgan.input_value("#extend-deadline-reason") == "Waiting for the health records."
    _checked(morgan)
    # The summary leads to the box at fault.
    morgan.locator(".govuk-error-summary a").first.click()
    assert morgan.evaluate("() => document.activeElement.id") == "extend-deadline-due-month"

    morgan.goto("/reports/scrutiny")
    _checked(morgan)
    morgan.fill("#from-day", "1")
    morgan.fill("#from-month", "4")
    morgan.fill("#from-year", "26")
    click_and_load(morgan, morgan.get_by_role("button", name="Show"))
    assert "must include a real year" in morgan.inner_text(".govuk-error-summary")
    assert morgan.locator(".govuk-input--error").evaluate_all("es => es.map(e => e.id)") == [
        "from-year"]
    _checked(morgan)
