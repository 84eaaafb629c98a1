"""The pages against a real SQLite database: the public form, logging a phone call, the case
list and page, the scrutiny report and the quarantine, through the same services as the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from concerns.db.models import Case, Contact, RawSubmission
from concerns.workflows.context import AppContext
from concerns.workflows.intake.submissions import ingest_form
from tests.factories import create_staff, log_concern
from tests.integration.web_helpers import (
    PASSWORD,
    client_for,
    csrf_of,
    fire,
    public_form,
    sign_in,
)


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def _summary(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', html)


def test_healthz_answers_ok_with_the_database_reachable(web: AppContext) -> None:
    response = client_for(web).get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_the_public_form_names_every_problem_and_keeps_what_was_typed(web: AppContext) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    response = client.post("/concern", data=public_form(
        csrf, name="", email="sam@", concern="   ", **{"child-0-dob-month": "13", "to-year": "1800"}
    ))
    assert response.status_code == 400
    assert [field for field, _ in _summary(response.text)] == [
        "name", "email", "child-0-dob-month", "to-year", "concern",
    ]
    assert 'value="sam@"' in response.text
    with web.sessions() as session:
        assert session.scalars(select(RawSubmission)).all() == []


def test_the_public_form_stores_the_submission_raw_and_shows_the_reference(
    web: AppContext,
) -> None:
    client = client_for(web)
    csrf = csrf_of(client.get("/concern").text)
    response = client.post("/concern", data=public_form(csrf, **{"staff-named": "A Worker"}))
    assert response.status_code == 303
    page = client.get("/concern/sent")
    reference = re.search(r'id="case-reference">([^<]+)<', page.text)
    assert reference is not None
    with web.sessions() as session:
        raw = session.scalars(select(RawSubmission)).one()
        stored = json.loads(raw.content)
        assert raw.channel == "web" and raw.status == "contact"
        assert stored["respondent"]["name"] == "Sam Public"
        assert stored["children"] == [{"name": "Kim Public", "date_of_birth": "2012-04-03"}]
        assert stored["involvement"] == {"from_year": 2015, "to_year": 2020}
        assert stored["staff_named"] == ["A Worker"]
        case = session.scalars(select(Case).where(Case.reference == reference.group(1))).one()
        assert case.state == "logged" and case.staff_named == ["A Worker"]
    # The confirmation is shown once; a reload goes back to the form.
    assert client.get("/concern/sent").status_code == 303


def test_the_same_form_the_web_refuses_is_refused_by_intake_form(web: AppContext) -> None:
    """One validation: what the page refuses, the intake service quarantines for the same field."""
    from concerns.web import concern_form

    checked = concern_form.check(
        {"name": "Sam", "concern": "x"}, web.now(), max_concern=100_000
    )
    assert [e.field for e in checked.errors] == ["respondent"]
    result = ingest_form(web, json.dumps(checked.mapping).encode(), "t.json", "ian")
    assert result.status == "quarantined" and result.field == "respondent"


def test_a_phone_call_is_logged_with_its_channel_and_received_date(web: AppContext) -> None:
    client = client_for(web)
    csrf = sign_in(client, "alex")
    form = public_form(csrf, channel="phone", **{
        "received-day": "2", "received-month": "3", "received-year": "2026"})
    response = client.post("/log-contact", data=form)
    assert response.status_code == 303, response.text
    reference = response.headers["location"].rsplit("/", 1)[1]
    with web.sessions() as session:
        case = session.scalars(select(Case).where(Case.reference == reference)).one()
        contact = session.scalars(select(Contact).where(Contact.case_id == case.id)).one()
        assert contact.channel == "phone"
        assert contact.received_at.date().isoformat() == "2026-03-02"


def test_logging_a_contact_needs_a_channel_and_a_past_date(web: AppContext) -> None:
    client = client_for(web)
    csrf = sign_in(client, "ian")
    form = public_form(csrf, **{"received-day": "1", "received-month": "1",
                                "received-year": "2999"})
    response = client.post("/log-contact", data=form)
    assert response.status_code == 400
    assert [f for f, _ in _summary(response.text)][:2] == ["channel", "received-day"]


def test_the_case_list_filters_by_state_and_finds_by_name_or_reference(web: AppContext) -> None:
    first = log_concern(web, name="Harriet Quill", phone=None)
    second = log_concern(web, name="Oscar Brook", phone=None)
    client = client_for(web)
    sign_in(client, "alex")
    by_name = client.get("/cases", params={"q": "quill"}).text
    assert first in by_name and second not in by_name
    by_reference = client.get("/cases", params={"q": second}).text
    assert second in by_reference and first not in by_reference
    assert first in client.get("/cases", params={"state": "logged"}).text
    assert first not in client.get("/cases", params={"state": "triage"}).text
    assert client.get("/cases", params={"state": "nonsense"}).status_code == 422


def test_the_case_page_shows_the_concern_as_text_and_the_forms_the_user_may_use(
    web: AppContext,
) -> None:
    reference = log_concern(web, concern="<script>alert(1)</script> & more")
    client = client_for(web)
    sign_in(client, "alex")
    page = client.get(f"/cases/{reference}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    primary = re.findall(r'href="/cases/[^/]+/events/([a-z_]+)"[^>]*id="primary-step"', page)
    assert primary == ["acknowledge"]
    others = re.findall(r'<li><a class="govuk-link" href="/cases/[^/]+/events/([a-z_]+)"', page)
    assert others == ["request_information", "answer_query"]
    assert "Acknowledge the concern" in page and "IAT officer, by" in page
    # Each due date says how it was worked out.
    assert "How the due dates were worked out" in page and "3 working days from" in page


def test_an_event_form_with_a_bad_value_names_the_field(web: AppContext) -> None:
    reference = log_concern(web)
    client = client_for(web)
    csrf = sign_in(client, "alex")
    fire(client, csrf, reference, "acknowledge")
    client = client_for(web)
    csrf = sign_in(client, "priya")
    response = client.post(
        f"/cases/{reference}/events/record_complaints_triage",
        data={"csrf_token": csrf, "meets_criteria": "perhaps", "reason": "other"},
    )
    assert response.status_code == 422
    assert _summary(response.text)[0][0] == "record-complaints-triage-meets-criteria"


def test_an_unknown_case_is_not_found(web: AppContext) -> None:
    client = client_for(web)
    sign_in(client, "alex")
    assert client.get("/cases/CAC-1999-9999").status_code == 404
    assert client.get("/api/cases/CAC-1999-9999").status_code == 404


def test_the_auditor_sees_the_scrutiny_report_with_counts_and_no_names(web: AppContext) -> None:
    log_concern(web, name="Harriet Quill", phone=None)
    client = client_for(web)
    csrf_of(client.get("/login").text)
    sign_in_auditor = client.post("/login", data={
        "username": "audrey", "password": PASSWORD,
        "csrf_token": csrf_of(client.get("/login").text)})
    assert sign_in_auditor.status_code == 303
    assert client.get("/my-work").headers["location"] == "/reports/scrutiny"
    page = client.get("/reports/scrutiny")
    assert page.status_code == 200
    assert "Contacts received" in page.text and "<svg" in page.text
    assert "Harriet" not in page.text
    csv = client.get("/reports/scrutiny.csv")
    assert csv.status_code == 200 and csv.text.startswith("figure,value")
    assert client.get("/reports/scrutiny", params={"from": "yesterday"}).status_code == 422
    assert client.get("/cases").status_code == 403


def test_the_quarantine_lists_what_could_not_be_read(web: AppContext) -> None:
    ingest_form(web, b"{not json", "broken.json", "ian")
    client = client_for(web)
    sign_in(client, "alex")
    page = client.get("/quarantine")
    assert page.status_code == 200
    assert "broken.json" in page.text and "not valid JSON" in page.text


def test_a_contacts_flags_read_in_words_and_optional_fields_left_null_raise_none(
    web: AppContext,
) -> None:
    # Null phone, postcode and end year are "not given" (the form's schema agrees): no flag.
    quiet = log_concern(web, phone=None, postcode=None,
                        involvement={"from_year": 2019, "to_year": None})
    flagged = log_concern(web, phone="12",
                          children=[{"name": "Ava", "date_of_birth": "2999-01-01"}])
    client = client_for(web)
    sign_in(client, "alex")
    page = client.get(f"/cases/{quiet}").text
    assert "Check:" not in page and "form schema" not in page
    involvement = re.sub(r"<[^>]+>", "", page).split("Involvement")[1][:40]
    assert "From 2019" in involvement and "?" not in involvement
    page = client.get(f"/cases/{flagged}").text
    assert "Phone number: too few digits" in page
    assert "Child 1&#39;s date of birth: in the future" in page
    assert "respondent.phone" not in page and "children[0]" not in page
