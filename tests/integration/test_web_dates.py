"""Every date typed on a staff page is a GOV.UK date input (day, month, year): a date that
cannot be read is refused naming the field in words, only the wrong box is marked (all three
for a real date that is not allowed), and everything typed stays."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from freezegun import freeze_time

from concerns.workflows.context import AppContext
from concerns.workflows.queries import show_case
from tests.factories import create_staff, log_concern, walk_to_review
from tests.integration.web_helpers import PASSWORD, client_for, sign_in

MONDAY = "2026-11-02 10:00:00"


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def _marked(page: str) -> set[str]:
    """The ids of the inputs marked as wrong."""
    return set(re.findall(r'class="govuk-input[^"]*govuk-input--error[^"]*" id="([^"]+)"', page))


def _summary(page: str) -> list[tuple[str, str]]:
    summary = page.partition('class="govuk-error-summary')[2].partition("</ul>")[0]
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)


def test_a_deadline_extension_date_is_three_boxes_and_only_the_wrong_one_is_marked(
    web: AppContext,
) -> None:
    with freeze_time(MONDAY):
        ref = log_concern(web)
        walk_to_review(web, ref)
        client = client_for(web)
        csrf = sign_in(client, "morgan")
        page = client.get(f"/cases/{ref}/events/extend_deadline").text
        assert 'name="due-day"' in page and 'name="due-month"' in page and 'name="due-year"' in page
        assert 'type="date"' not in page
        form = {"csrf_token": csrf, "clock": "review", "reason": "Awaiting the file.",
                "due-day": "30", "due-month": "2", "due-year": "2027"}
        refused = client.post(f"/cases/{ref}/events/extend_deadline", data=form)
        assert refused.status_code == 422
        [(link, words)] = _summary(refused.text)
        assert link == "extend-deadline-due-day" and "must include a real day" in words
        assert words[0].isupper() and "due" in words.lower()
        assert _marked(refused.text) == {"extend-deadline-due-day"}
        assert 'value="Awaiting the file."' in refused.text or "Awaiting the file." in refused.text
        assert re.search(r'id="extend-deadline-due-day" name="due-day" type="text" value="30"',
                         refused.text)

        refused = client.post(f"/cases/{ref}/events/extend_deadline",
                              data={**form, "due-day": "3", "due-month": "13"})
        assert _summary(refused.text)[0][0] == "extend-deadline-due-month"
        assert _marked(refused.text) == {"extend-deadline-due-month"}
        refused = client.post(f"/cases/{ref}/events/extend_deadline",
                              data={**form, "due-day": "3", "due-month": "", "due-year": ""})
        assert "must include a month and a year" in _summary(refused.text)[0][1]
        assert _marked(refused.text) == {"extend-deadline-due-month", "extend-deadline-due-year"}

        # A real date the service refuses (before the clock's due date): all three marked.
        refused = client.post(f"/cases/{ref}/events/extend_deadline",
                              data={**form, "due-day": "3", "due-month": "11", "due-year": "2026"})
        assert refused.status_code == 422
        assert _summary(refused.text)[0] == (
            "extend-deadline-due-day", "New due date must be after the current due date 2026-12-07")
        assert _marked(refused.text) == {f"extend-deadline-due-{p}"
                                         for p in ("day", "month", "year")}

        done = client.post(f"/cases/{ref}/events/extend_deadline",
                           data={**form, "due-day": "14", "due-month": "12", "due-year": "2026"})
        assert done.status_code == 303, _summary(done.text)
        assert "2026-12-14" in str(show_case(web, "morgan", ref)["deadlines"])


def test_an_actions_due_date_is_three_boxes_named_in_words(web: AppContext) -> None:
    with freeze_time(MONDAY):
        ref = log_concern(web)
        walk_to_review(web, ref)
        client = client_for(web)
        csrf = sign_in(client, "alex")
        page = client.get(f"/cases/{ref}/events/submit_outcome").text
        assert 'name="action.1.due-month"' in page
        form = {"csrf_token": csrf, "summary": "Records read.", "wording": "We are sorry.",
                "finding.record_keeping": "Notes were not filed.",
                "action.1.what": "File notes weekly.", "action.1.owner": "Children in Need",
                "action.1.theme": "record_keeping",
                "action.1.due-day": "30", "action.1.due-month": "x", "action.1.due-year": "2026"}
        refused = client.post(f"/cases/{ref}/events/submit_outcome", data=form)
        assert refused.status_code == 422
        assert _summary(refused.text) == [
            ("submit-outcome-action-1-due-month",
             "The due date of action 1 must include a real month")]
        assert _marked(refused.text) == {"submit-outcome-action-1-due-month"}
        assert "File notes weekly." in refused.text
        # A real date the service refuses: named in words, all three boxes marked.
        refused = client.post(f"/cases/{ref}/events/submit_outcome",
                              data={**form, "action.1.due-day": "1", "action.1.due-month": "11"})
        assert _summary(refused.text) == [
            ("submit-outcome-action-1-due-day", "The due date of action 1 must be after today")]
        assert _marked(refused.text) == {f"submit-outcome-action-1-due-{p}"
                                         for p in ("day", "month", "year")}


def test_the_date_a_contact_was_received_marks_only_its_wrong_part(web: AppContext) -> None:
    client = client_for(web)
    csrf = sign_in(client, "alex")
    refused = client.post("/log-contact", data={
        "csrf_token": csrf, "channel": "phone", "received-day": "3", "received-month": "13",
        "received-year": "2026", "name": "Sam Caller", "phone": "01432 000000",
        "concern": "Rang about the visits."})
    assert refused.status_code == 400
    assert ("received-month", "The date received must include a real month") in _summary(
        refused.text)
    assert _marked(refused.text) == {"received-month"}
    assert "Rang about the visits." in refused.text


def test_the_report_period_is_three_boxes_and_its_links_carry_the_dates(web: AppContext) -> None:
    client = client_for(web)
    sign_in(client, "morgan")
    page = client.get("/reports/scrutiny").text
    assert 'name="from-day"' in page and 'name="to-year"' in page and 'type="date"' not in page
    shown = client.get("/reports/scrutiny", params={
        "from-day": "1", "from-month": "4", "from-year": "2026",
        "to-day": "", "to-month": "", "to-year": ""})
    assert shown.status_code == 200
    assert "from 1 April 2026" in shown.text and "from=2026-04-01" in shown.text
    assert re.search(r'id="from-month" name="from-month" type="text" value="4"', shown.text)
    refused = client.get("/reports/scrutiny", params={
        "from-day": "1", "from-month": "4", "from-year": "26"})
    assert refused.status_code == 422
    assert _summary(refused.text) == [
        ("from-year", "The start of the period must include a real year")]
    assert _marked(refused.text) == {"from-year"}
    # A link's YYYY-MM-DD date fills the boxes.
    linked = client.get("/reports/scrutiny", params={"to": "2026-10-31"})
    assert re.search(r'id="to-day" name="to-day" type="text" value="31"', linked.text)


def test_a_meeting_date_in_three_boxes_reaches_the_check_page_and_the_letter(
    web: AppContext,
) -> None:
    from sqlalchemy import select

    from concerns.db.models import Letter
    from tests.factories import act
    from tests.integration.test_web_words import LETTER_WALK
    from tests.integration.web_helpers import fire

    ref = log_concern(web)
    for event, actor, values in LETTER_WALK:
        if event == "offer_meeting":
            break
        act(web, ref, event, actor, "A note.", **values)
    day = web.calendar.add_working_days(web.calendar.local_date(web.now()), 5)
    words = f"{day.day} {day:%B} {day.year}"
    client = client_for(web)
    csrf = sign_in(client, "dana")
    page = client.get(f"/cases/{ref}/events/offer_meeting").text
    assert 'name="date-day"' in page
    form = {"date-day": str(day.day), "date-month": str(day.month), "date-year": str(day.year),
            "wording": "Please come to Plough Lane."}
    shown = client.post(f"/cases/{ref}/events/offer_meeting", data={"csrf_token": csrf, **form})
    assert shown.status_code == 200 and "Check the letter before it goes" in shown.text
    assert words in shown.text  # the answers, in words
    frame = re.search(r'src="(/cases/[^"]+/previews/[^"]+\.html)"', shown.text)
    assert frame and words in client.get(frame.group(1)).text
    assert fire(client, csrf, ref, "offer_meeting", **form).status_code == 303
    with web.sessions() as s:
        letter = s.scalars(select(Letter).where(Letter.kind == "meeting_offer")).one()
        assert words in letter.html and "Please come to Plough Lane." in letter.html
