"""The assistant's letters to post and the case page's correction form, against a real SQLite
database, through the same services as the CLI (`letters posted`, `case correct`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from concerns.db.models import Case, Event, Letter, Respondent
from concerns.workflows.context import AppContext
from tests.factories import act, create_staff
from tests.integration.test_letters_posting import log
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def _summary(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', html)


def letters(ctx: AppContext, reference: str) -> list[Letter]:
    with ctx.uow() as uow:
        rows = list(uow.session.scalars(
            select(Letter).options(undefer(Letter.pdf)).join(Case, Case.id == Letter.case_id)
            .where(Case.reference == reference).order_by(Letter.id)
        ))
        uow.session.expunge_all()
    return rows


def test_the_assistant_queue_lists_each_letter_to_post_with_a_print_link_and_a_button(
    web: AppContext,
) -> None:
    ref = log(web)
    act(web, ref, "request_information", "alex", wording="Please send the dates of the visits.")
    act(web, ref, "information_received", "alex")
    act(web, ref, "request_information", "alex", wording="Please send the name of the school.")
    first, second = letters(web, ref)
    client = client_for(web)
    sign_in(client, "erin")
    page = client.get("/queue/assistant").text
    assert "Letters to post" in page and "2 to post" in page
    for letter in (first, second):
        assert f'href="/cases/{ref}/letters/{letter.id}.pdf"' in page
        assert f'action="/cases/{ref}/letters/{letter.id}/posted"' in page
        # The print link serves that very letter, byte for byte, not the latest of its kind.
        pdf = client.get(f"/cases/{ref}/letters/{letter.id}.pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content == letter.pdf
        assert hashlib.sha256(pdf.content).hexdigest() == letter.sha256
        assert f"{ref}-information_request-{letter.id}.pdf" in pdf.headers["content-disposition"]
    assert first.pdf != second.pdf
    assert client.get(f"/cases/{ref}/letters/information_request.pdf").content == second.pdf
    # The case page links each letter by its id too, so the first request stays reachable.
    case_page = client.get(f"/cases/{ref}").text
    for letter in (first, second):
        assert f'href="/cases/{ref}/letters/{letter.id}.html"' in case_page
        assert f'href="/cases/{ref}/letters/{letter.id}.pdf"' in case_page
    framed = client.get(f"/cases/{ref}/letters/{first.id}.html")
    assert framed.text == first.html and "frame-ancestors 'self'" in framed.headers[
        "content-security-policy"
    ]


def test_recording_a_letter_as_posted_from_the_queue_removes_it_and_audits_it(
    web: AppContext,
) -> None:
    ref = log(web)
    act(web, ref, "acknowledge", "alex")
    [letter] = letters(web, ref)
    client = client_for(web)
    csrf = sign_in(client, "erin")
    # Without the session's CSRF token nothing is recorded.
    assert client.post(f"/cases/{ref}/letters/{letter.id}/posted").status_code == 403
    assert letters(web, ref)[0].sent_at is None

    response = client.post(f"/cases/{ref}/letters/{letter.id}/posted",
                           data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/queue/assistant"
    page = client.get("/queue/assistant").text
    assert f"Letter {letter.id} (acknowledgement) for case {ref} recorded as posted." in page
    assert "No letters to post." in page
    assert letters(web, ref)[0].sent_method == "post"
    with web.sessions() as session:
        [event] = session.scalars(select(Event).where(Event.event == "letter_posted")).all()
        assert (event.actor, event.data["letter_id"]) == ("erin", letter.id)


def test_a_refused_posting_is_shown_on_the_queue_and_never_a_server_error(
    web: AppContext,
) -> None:
    ref = log(web)
    act(web, ref, "acknowledge", "alex")
    [letter] = letters(web, ref)
    client = client_for(web)
    csrf = sign_in(client, "erin")
    url = f"/cases/{ref}/letters/{letter.id}/posted"
    assert client.post(url, data={"csrf_token": csrf}).status_code == 303
    # A second tab still showing the letter: refused, said on the page, nothing recorded twice.
    again = client.post(url, data={"csrf_token": csrf})
    assert again.status_code == 403
    [(target, message)] = _summary(again.text)
    assert target == "letters-to-post" and f"letter {letter.id} was already sent" in message
    assert 'id="letters-to-post"' in again.text
    missing = client.post(f"/cases/{ref}/letters/999999/posted", data={"csrf_token": csrf})
    assert missing.status_code == 404 and "has no letter 999999" in missing.text
    unknown = client.post(f"/cases/CAC-1999-0001/letters/{letter.id}/posted",
                          data={"csrf_token": csrf})
    assert unknown.status_code == 404 and "no case with reference" in unknown.text
    with web.sessions() as session:
        assert len(session.scalars(select(Event).where(Event.event == "letter_posted")).all()) == 1

    officer = client_for(web)
    officer_csrf = sign_in(officer, "alex")
    refused = officer.post(url, data={"csrf_token": officer_csrf})
    assert refused.status_code == 403 and "only the executive assistant may record" in refused.text


def test_the_case_page_corrects_the_persons_contact_details(web: AppContext) -> None:
    ref = log(web, email="rowan.hale@example.org")
    client = client_for(web)
    csrf = sign_in(client, "alex")
    page = client.get(f"/cases/{ref}").text
    assert 'action="/cases/' + ref + '/details"' in page
    assert 'id="details-email"' in page and 'value="rowan.hale@example.org"' in page
    form = {"csrf_token": csrf, "email": "rowan@example.net", "phone": "01885 555010",
            "address": "3 Mill Lane, Bromyard", "postcode": "HR7 4AA",
            "note": "She phoned with her new email address."}
    response = client.post(f"/cases/{ref}/details", data=form)
    assert response.status_code == 303 and response.headers["location"] == f"/cases/{ref}"
    after = client.get(f"/cases/{ref}").text
    assert "Contact details corrected: email." in after
    assert 'value="rowan@example.net"' in after
    with web.sessions() as session:
        person = session.scalars(
            select(Respondent).join(Case, Case.respondent_id == Respondent.id)
            .where(Case.reference == ref)
        ).one()
        assert (person.email, person.email_key) == ("rowan@example.net", "rowan@example.net")
        [event] = session.scalars(
            select(Event).where(Event.event == "respondent_details_corrected")
        ).all()
        assert event.data["fields"] == ["email"]
        assert event.note == "She phoned with her new email address."


def test_a_bad_correction_is_shown_next_to_its_field_with_what_was_typed(
    web: AppContext,
) -> None:
    ref = log(web, email="rowan.hale@example.org")
    client = client_for(web)
    csrf = sign_in(client, "erin")
    response = client.post(f"/cases/{ref}/details", data={
        "csrf_token": csrf, "email": "rowan@", "note": "Typo in the address."})
    assert response.status_code == 422
    [(target, message)] = _summary(response.text)
    assert target == "details-email" and "email: not an email address" in message
    assert 'id="details-email-error"' in response.text and 'value="rowan@"' in response.text
    no_reason = client.post(f"/cases/{ref}/details", data={
        "csrf_token": csrf, "email": "rowan@example.net", "note": ""})
    assert no_reason.status_code == 422 and _summary(no_reason.text)[0][0] == "details-note"
    with web.sessions() as session:
        assert session.scalars(select(Respondent.email)).one() == "rowan.hale@example.org"


def test_only_iat_staff_and_the_assistant_see_the_correction_form(web: AppContext) -> None:
    ref = log(web)
    for user, shown in (("alex", True), ("morgan", True), ("erin", True), ("lee", False),
                        ("priya", False), ("dana", False)):
        client = client_for(web)
        csrf = sign_in(client, user)
        page = client.get(f"/cases/{ref}").text
        assert ('id="correct-details"' in page) is shown, user
        if not shown:
            refused = client.post(f"/cases/{ref}/details", data={
                "csrf_token": csrf, "phone": "01432 555999", "note": "Should not work."})
            assert refused.status_code == 403 and "needs the role" in refused.text
    with web.sessions() as session:
        assert session.scalars(select(Respondent.phone)).one() == "01885 555010"
