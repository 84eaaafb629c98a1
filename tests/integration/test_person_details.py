"""Correcting a person's contact details: checked as intake checks them, the matching keys
recomputed, audited without the values, and a bounced letter email retried to the new address.

Runs on a real SQLite file and on the real PostgreSQL; the email goes to a real aiosmtpd server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from concerns.db.models import Case, Event, Notification, Respondent
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.intake.submissions import ingest_form
from concerns.workflows.outbox import deliver, retry_notification
from concerns.workflows.person_details import CORRECTED, correct_respondent_details
from tests.factories import act, create_staff
from tests.integration.test_outbox import SmtpServer, free_port

REASON = "Phoned on 3 November to say the email address was mistyped."


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def log(
    ctx: AppContext,
    *,
    name: str = "Noor Baines",
    staff_named: list[str] | None = None,
    **respondent: str,
) -> str:
    details = respondent or {"email": "noor.baines@example.org", "postcode": "HR1 2AB"}
    form = {
        "submitted_at": "2026-11-02T10:15:00+00:00",
        "channel": "web",
        "respondent": {"name": name, "relationship": "parent", **details},
        "staff_named": staff_named or [],
        "concern": "Nobody told us the review meeting had moved.",
    }
    result = ingest_form(ctx, json.dumps(form).encode(), f"{name}-{len(details)}.json", "ian")
    assert result.reference is not None, result
    return result.reference


def person_of(ctx: AppContext, reference: str) -> Respondent:
    with ctx.uow() as uow:
        person = uow.session.scalars(
            select(Respondent).join(Case, Case.respondent_id == Respondent.id)
            .where(Case.reference == reference)
        ).one()
        uow.session.expunge_all()
    return person


def corrections(ctx: AppContext) -> list[Event]:
    with ctx.uow() as uow:
        rows = list(uow.session.scalars(
            select(Event).where(Event.event == CORRECTED).order_by(Event.id)
        ))
        uow.session.expunge_all()
    return rows


def test_correcting_details_stores_them_recomputes_the_keys_and_audits_only_field_names(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    done = correct_respondent_details(
        staffed, "alex", ref,
        {"email": " Noor.B@Example.ORG ", "phone": "07700 900982", "postcode": "hr4 0le"},
        REASON,
    )
    assert done.changed == ("email", "phone", "postcode")
    person = person_of(staffed, ref)
    assert (person.email, person.phone, person.postcode) == (
        "Noor.B@Example.ORG", "07700 900982", "hr4 0le"
    )
    # The same keys intake computes, so a repeat contact finds this person by the new details.
    assert (person.email_key, person.phone_key, person.postcode_key) == (
        "noor.b@example.org", "+447700900982", "HR4 0LE"
    )
    [event] = corrections(staffed)
    assert (event.actor, event.note) == ("alex", REASON)
    assert event.data == {"respondent_id": person.id, "fields": ["email", "phone", "postcode"],
                          "other_cases": []}
    assert event.from_state == event.to_state == "logged"
    recorded = json.dumps(event.data)
    for value in ("noor", "Noor", "07700", "HR4", "hr4", "example.org"):
        assert value not in recorded
    with staffed.uow() as uow:
        assert verify_chain(uow.session).broken_at is None


def test_a_repeat_contact_with_the_corrected_email_is_recognised_as_the_same_person(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    correct_respondent_details(staffed, "erin", ref, {"email": "noor@example.net"}, REASON)
    again = log(staffed, email="NOOR@example.net")
    assert person_of(staffed, again).id == person_of(staffed, ref).id


def test_only_details_that_differ_are_changes_and_an_empty_value_removes_one(
    staffed: AppContext,
) -> None:
    ref = log(staffed, email="noor.baines@example.org", phone="01432 555123",
              address="1 Example Street, Hereford", postcode="HR1 2AB")
    # A form sent back with every box filled in: only what was edited counts.
    done = correct_respondent_details(staffed, "morgan", ref, {
        "email": "noor.baines@example.org", "phone": "", "address": "1 Example Street, Hereford",
        "postcode": "HR1 2AB",
    }, REASON)
    assert done.changed == ("phone",)
    person = person_of(staffed, ref)
    assert (person.phone, person.phone_key, person.email) == (
        None, None, "noor.baines@example.org"
    )
    with pytest.raises(BadInput, match="nothing to correct"):
        correct_respondent_details(staffed, "morgan", ref, {"phone": " "}, REASON)
    assert len(corrections(staffed)) == 1


def test_bad_details_are_refused_naming_the_field_and_nothing_is_stored(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    before = person_of(staffed, ref)
    refused = {
        "email": {"email": "noor@"},
        "phone": {"phone": "12"},
        "postcode": {"postcode": "--"},
        "address": {"address": "x" * 1001},
        "nickname": {"nickname": "Noor", "email": "noor@example.net"},
        "set": {},
    }
    for field, changes in refused.items():
        with pytest.raises(BadInput) as caught:
            correct_respondent_details(staffed, "alex", ref, changes, REASON)
        assert caught.value.field == field
        # The message names the field, never the value typed.
        assert "Noor" not in caught.value.message and "noor" not in caught.value.message
    with pytest.raises(BadInput) as caught:
        correct_respondent_details(staffed, "alex", ref, {"email": "noor@example.net"}, "  ")
    assert caught.value.field == "note"
    # The person must keep a way to reply, as at intake.
    with pytest.raises(BadInput, match="at least one way to reply"):
        correct_respondent_details(staffed, "alex", ref, {"email": ""}, REASON)
    after = person_of(staffed, ref)
    assert (after.email, after.email_key, after.postcode) == (
        before.email, before.email_key, before.postcode
    )
    assert corrections(staffed) == []


def test_only_iat_staff_and_the_executive_assistant_may_correct_details(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    for user in ("ian", "priya", "lee", "dana", "audrey", "admin"):
        with pytest.raises(NotAllowed):
            correct_respondent_details(staffed, user, ref, {"email": "n@example.net"}, REASON)
    with pytest.raises(NotFound):
        correct_respondent_details(staffed, "alex", "CAC-1999-0001", {"phone": "01432 555123"},
                                   REASON)
    for user in ("alex", "morgan", "erin"):
        correct_respondent_details(staffed, user, ref, {"email": f"{user}.n@example.net"}, REASON)
    assert [e.actor for e in corrections(staffed)] == ["alex", "morgan", "erin"]


def test_a_member_of_staff_named_in_the_concern_may_not_correct_its_details(
    staffed: AppContext,
) -> None:
    ref = log(staffed, staff_named=["Alex Morgan"])
    with pytest.raises(NotAllowed, match="you cannot open this case"):
        correct_respondent_details(staffed, "alex", ref, {"email": "n@example.net"}, REASON)
    assert person_of(staffed, ref).email == "noor.baines@example.org"
    correct_respondent_details(staffed, "sam", ref, {"email": "n@example.net"}, REASON)
    assert person_of(staffed, ref).email == "n@example.net"


def test_the_correction_names_the_persons_other_cases_which_use_the_same_details(
    staffed: AppContext,
) -> None:
    first = log(staffed)
    act(staffed, first, "answer_query", "alex", wording="Your records are held at Plough Lane.")
    second = log(staffed, email="noor.baines@example.org", phone="01432 555123")
    assert person_of(staffed, first).id == person_of(staffed, second).id
    correct_respondent_details(staffed, "alex", second, {"postcode": "HR4 0LE"}, REASON)
    [event] = corrections(staffed)
    assert event.data["other_cases"] == [first]


@pytest.fixture
def mail(staffed: AppContext) -> Iterator[tuple[AppContext, SmtpServer]]:
    server = SmtpServer(free_port())
    staffed.settings = replace(
        staffed.settings, smtp=replace(staffed.settings.smtp, host="127.0.0.1", port=server.port)
    )
    server.start()
    yield staffed, server
    server.stop()


def test_a_bounced_letter_email_is_retried_to_the_corrected_address(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    # aiosmtpd's test inbox refuses nobody@ addresses: the acknowledgement email fails.
    ref = log(ctx, email="nobody@example.org")
    act(ctx, ref, "acknowledge", "alex")
    deliver(ctx, ctx.now())
    with ctx.uow() as uow:
        [failed] = uow.session.scalars(select(Notification).where(Notification.kind == "letter"))
        failed_id, letter_id = failed.id, failed.letter_id
        assert failed.status == "failed"
    assert server.inbox.received == []

    correct_respondent_details(ctx, "erin", ref, {"email": "noor.baines@example.org"}, REASON)
    with freeze_time(ctx.now()):
        retried = retry_notification(ctx, "morgan", failed_id)
    assert retried["address_changed"] is True and retried["letter_id"] == letter_id
    assert deliver(ctx, ctx.now()).sent == 1
    [(to, message)] = server.inbox.received
    assert to == ["noor.baines@example.org"]
    assert ref in str(message["Subject"])
    [attachment] = list(message.iter_attachments())
    with ctx.uow() as uow:
        stored = uow.session.scalars(
            select(Notification).where(Notification.id == failed_id)
        ).one()
        assert stored.status == "sent"
        assert verify_chain(uow.session).broken_at is None
    assert attachment.get_content_type() == "application/pdf"
