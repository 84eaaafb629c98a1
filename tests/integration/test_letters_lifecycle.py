"""Letters through the lifecycle on a real database: made at their events, signed, locked, sent.

Runs on a real SQLite file and on the real PostgreSQL; the email test sends through a real SMTP
server (aiosmtpd) started here, via the outbox, and compares the attachment's SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pypdf
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import undefer

from concerns.db.models import Case, Letter, Notification, User
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.intake.submissions import ingest_form
from concerns.workflows.letters_service import LetterLocked, render_case_letter
from concerns.workflows.outbox import deliver
from tests.factories import act, create_staff, walk_to_signoff

HOSTILE = "<script>alert(1)</script> {{ 7 * 7 }} {% raw %}"


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def log(
    ctx: AppContext,
    *,
    name: str = "Morgan Ellery",
    email: str | None = "morgan.ellery@example.org",
    address: str | None = "14 Orchard Row, Leominster",
    postcode: str | None = "HR6 8AB",
    phone: str | None = None,
    concern: str = "Nobody explained why my grandson was moved.",
    children: tuple[str, ...] = ("Riley Ellery",),
) -> str:
    respondent = {
        "name": name,
        "email": email,
        "address": address,
        "postcode": postcode,
        "phone": phone,
        "relationship": "grandparent",
    }
    form = {
        "submitted_at": "2026-11-02T10:15:00+00:00",
        "channel": "web",
        "respondent": {k: v for k, v in respondent.items() if v is not None},
        "children": [{"name": child, "date_of_birth": "2012-04-01"} for child in children],
        "involvement": {"from_year": 2018, "to_year": 2020},
        "concern": concern,
        "consent_to_contact": True,
    }
    result = ingest_form(ctx, json.dumps(form).encode(), "letters-test.json", "ian")
    assert result.reference is not None, result
    return result.reference


def letters(ctx: AppContext, reference: str) -> list[Letter]:
    with ctx.uow() as uow:
        s = uow.session
        case_id = s.scalar(select(Case.id).where(Case.reference == reference))
        rows = s.scalars(
            select(Letter)
            .options(undefer(Letter.pdf))
            .where(Letter.case_id == case_id)
            .order_by(Letter.id)
        ).all()
        s.expunge_all()
        return list(rows)


def letter_emails(ctx: AppContext) -> list[Notification]:
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(Notification).where(Notification.kind == "letter").order_by(Notification.id)
        ).all()
        uow.session.expunge_all()
        return list(rows)


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def to_signed(ctx: AppContext, reference: str, wording: str | None = None) -> None:
    walk_to_signoff(ctx, reference)
    if wording is None:
        act(ctx, reference, "authorise", "dana")
    else:
        act(ctx, reference, "authorise", "dana", wording=wording)
    act(ctx, reference, "prepare_letter", "erin")
    act(ctx, reference, "sign", "dana")


# --- made at their events -------------------------------------------------------------------


def test_acknowledging_makes_and_stores_the_acknowledgement_with_its_sha256(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = letters(staffed, ref)
    assert letter.kind == "acknowledgement"
    assert letter.recipient_name == "Morgan Ellery"
    assert letter.pdf is not None and letter.sha256 == sha(letter.pdf)
    text = pdf_text(letter.pdf)
    assert ref in text
    assert "Morgan Ellery" in text
    assert "Nobody explained why my grandson was moved." in text
    assert "14 Orchard Row" in text
    assert "about Riley Ellery" in text
    assert ref in letter.html


def test_an_acknowledgement_names_every_child_in_the_order_given_and_quotes_the_concern(
    staffed: AppContext,
) -> None:
    ref = log(staffed, children=("Riley Ellery", "Alex Ellery", "Sam Ellery"),
              concern="Nobody told us about the meeting.")
    act(staffed, ref, "acknowledge", "alex")
    [letter] = letters(staffed, ref)
    assert letter.pdf is not None
    text = pdf_text(letter.pdf)
    named = [text.find(child) for child in ("Riley Ellery", "Alex Ellery", "Sam Ellery")]
    assert all(i >= 0 for i in named) and named == sorted(named), text
    assert "Nobody told us about the meeting." in text


def test_an_acknowledgement_may_carry_the_officers_own_wording_and_never_the_note(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex", note="INTERNAL-ONLY: check the older file",
        wording="Could you tell us which school Riley goes to?")
    [letter] = letters(staffed, ref)
    assert letter.pdf is not None
    text = pdf_text(letter.pdf)
    assert "Could you tell us which school Riley goes to?" in text
    assert "INTERNAL-ONLY" not in text and "INTERNAL-ONLY" not in letter.html


def test_each_letter_event_makes_its_own_kind_of_letter(staffed: AppContext) -> None:
    answered = log(staffed)
    act(staffed, answered, "answer_query", "alex", wording="Your file is held at Plough Lane.")
    offered = log(staffed, name="Sam Rivers", email="sam.rivers@example.org")
    act(staffed, offered, "acknowledge", "alex")
    act(
        staffed, offered, "request_information", "alex",
        wording="Please send the dates of the move.",
    )
    act(staffed, offered, "information_received", "erin")
    act(
        staffed,
        offered,
        "record_complaints_triage",
        "priya",
        meets_criteria="yes",
        reason="within_time_limit",
    )
    act(staffed, offered, "offer_complaints_route", "alex")
    reviewed = log(staffed, name="Kit Owens", email="kit.owens@example.org")
    to_signed(staffed, reviewed)
    act(staffed, reviewed, "send", "erin", method="post")
    act(staffed, reviewed, "record_dissatisfaction", "erin")
    act(staffed, reviewed, "offer_meeting", "dana", date="2026-12-03")

    assert [x.kind for x in letters(staffed, answered)] == ["answer"]
    assert [x.kind for x in letters(staffed, offered)] == [
        "acknowledgement",
        "information_request",
        "complaints_offer",
    ]
    assert [x.kind for x in letters(staffed, reviewed)] == [
        "acknowledgement",
        "outcome",
        "meeting_offer",
    ]
    answer = pdf_text(letters(staffed, answered)[0].pdf or b"")
    assert "Your file is held at Plough Lane." in answer
    request = pdf_text(letters(staffed, offered)[1].pdf or b"")
    assert "Please send the dates of the move." in request
    meeting = pdf_text(letters(staffed, reviewed)[2].pdf or b"")
    assert "I can meet you on 3 December 2026." in meeting
    for letter in letters(staffed, offered) + letters(staffed, reviewed):
        assert letter.sha256 == sha(letter.pdf or b"")


def test_letters_that_need_no_signature_go_to_the_outbox_once_when_there_is_an_email(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = letters(staffed, ref)
    [email] = letter_emails(staffed)
    assert email.letter_id == letter.id
    assert email.key == f"letter:{letter.id}"
    assert email.to_address == "morgan.ellery@example.org"
    assert ref in email.subject
    assert letter.sent_method == "email"


def test_the_outcome_letter_carries_the_wording_the_director_authorised(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    walk_to_signoff(staffed, ref)
    act(staffed, ref, "authorise", "dana", wording="We are sorry. The move was not explained.")
    act(staffed, ref, "prepare_letter", "erin")
    outcome = letters(staffed, ref)[-1]
    assert outcome.kind == "outcome"
    text = pdf_text(outcome.pdf or b"")
    assert "We are sorry. The move was not explained." in text
    assert "Thank you for writing to us. We are sorry for what happened." not in text
    assert "Director of Children's Services" in text and "Dana Whitfield" in text
    # Not sent before it is signed.
    assert outcome.sent_at is None
    assert [e.letter_id for e in letter_emails(staffed)] == [letters(staffed, ref)[0].id]


def test_hostile_concern_text_is_stored_literally_in_the_letter(staffed: AppContext) -> None:
    ref = log(staffed, concern=HOSTILE)
    act(staffed, ref, "acknowledge", "alex")
    [letter] = letters(staffed, ref)
    assert "<script>" not in letter.html
    assert "&lt;script&gt;" in letter.html
    assert HOSTILE in pdf_text(letter.pdf or b"")


def test_a_request_without_wording_is_refused_naming_the_wording_and_nothing_is_stored(
    staffed: AppContext,
) -> None:
    ref = log(staffed)
    with pytest.raises(BadInput) as refused:
        act(staffed, ref, "request_information", "alex", "Internal: phoned first.")
    assert refused.value.field == "wording"
    assert refused.value.problem == "Enter the wording in the letter"
    assert letters(staffed, ref) == []
    with staffed.uow() as uow:
        assert uow.session.scalar(select(Case.state).where(Case.reference == ref)) == "logged"


def test_a_person_who_gave_only_a_phone_number_is_acknowledged_without_a_letter(
    staffed: AppContext,
) -> None:
    ref = log(staffed, email=None, address=None, postcode=None, phone="01432 555123")
    assert act(staffed, ref, "acknowledge", "alex") == "triage"
    assert letters(staffed, ref) == []


def test_a_broken_council_template_stops_the_event_before_anything_is_stored(
    staffed: AppContext, tmp_path: Path
) -> None:
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "outcome.html").write_text(
        '{% extends "_layout.html" %}\n{% block body %}\n{% if wording %}\n{% endblock %}\n'
    )
    ref = log(staffed)
    walk_to_signoff(staffed, ref)
    act(staffed, ref, "authorise", "dana")
    council = replace(staffed.settings.council, letter_templates=str(folder))
    broken = AppContext(replace(staffed.settings, council=council), staffed.engine)
    with pytest.raises(BadInput) as refused:
        act(broken, ref, "prepare_letter", "erin")
    assert "outcome.html, line 4" in str(refused.value)
    assert [x.kind for x in letters(staffed, ref)] == ["acknowledgement"]
    with staffed.uow() as uow:
        assert uow.session.scalar(select(Case.state).where(Case.reference == ref)) == "authorised"


# --- signed, and never changed --------------------------------------------------------------


def test_signing_records_who_when_and_the_sha256_of_the_exact_pdf(staffed: AppContext) -> None:
    ref = log(staffed)
    to_signed(staffed, ref)
    outcome = letters(staffed, ref)[-1]
    assert outcome.signed_sha256 == sha(outcome.pdf or b"") == outcome.sha256
    assert outcome.signed_at is not None
    with staffed.uow() as uow:
        dana = uow.session.scalar(select(User.id).where(User.username == "dana"))
    assert outcome.signed_by_id == dana


def test_a_signed_letters_bytes_never_change(staffed: AppContext) -> None:
    ref = log(staffed)
    to_signed(staffed, ref)
    before = letters(staffed, ref)[-1]
    assert before.pdf is not None
    for attempt in (
        {"pdf": b"%PDF-forged"},
        {"html": "<p>forged</p>"},
        {"sha256": "0" * 64},
        {"signed_sha256": "0" * 64},
    ):
        with staffed.uow() as uow, pytest.raises(LetterLocked, match="signed"):
            row = uow.session.get(Letter, before.id)
            assert row is not None
            for name, value in attempt.items():
                setattr(row, name, value)
            uow.session.flush()
    with staffed.uow() as uow, pytest.raises(LetterLocked):
        row = uow.session.get(Letter, before.id)
        uow.session.delete(row)
        uow.session.flush()
    # Asking for it again gives back the stored bytes, never a fresh rendering.
    again = render_case_letter(staffed, "erin", ref, "outcome", "pdf")
    assert again.data == before.pdf
    assert again.sha256 == before.signed_sha256
    assert again.signed
    with pytest.raises(NotAllowed, match="signed"):
        render_case_letter(staffed, "erin", ref, "outcome", "docx")
    after = letters(staffed, ref)[-1]
    assert (after.pdf, after.html, after.sha256, after.signed_sha256, after.signed_at) == (
        before.pdf,
        before.html,
        before.sha256,
        before.signed_sha256,
        before.signed_at,
    )


def test_posting_the_signed_letter_records_it_without_an_email(staffed: AppContext) -> None:
    ref = log(staffed)
    to_signed(staffed, ref)
    emails_before = len(letter_emails(staffed))
    assert act(staffed, ref, "send", "erin", method="post") == "responded"
    outcome = letters(staffed, ref)[-1]
    assert outcome.sent_method == "post" and outcome.sent_at is not None
    assert len(letter_emails(staffed)) == emails_before


def test_a_letter_cannot_be_posted_without_an_address_or_emailed_without_an_email(
    staffed: AppContext,
) -> None:
    no_address = log(staffed, address=None, postcode=None)
    to_signed(staffed, no_address)
    with pytest.raises(BadInput, match="method: the person gave no postal address"):
        act(staffed, no_address, "send", "erin", method="post")
    no_email = log(staffed, name="Pat Lane", email=None)
    to_signed(staffed, no_email)
    with pytest.raises(BadInput, match="method: the person gave no email address"):
        act(staffed, no_email, "send", "erin", method="email")
    for ref in (no_address, no_email):
        assert letters(staffed, ref)[-1].sent_at is None


# --- sent exactly as signed -----------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_send_delivers_exactly_the_signed_bytes_through_a_real_smtp_server(
    staffed: AppContext, smtp_server: tuple[_Inbox, int]
) -> None:
    inbox, port = smtp_server
    ref = log(staffed, address=None, postcode=None)
    to_signed(staffed, ref, wording="We found that the move was not explained, and we are sorry.")
    signed = letters(staffed, ref)[-1]
    assert act(staffed, ref, "send", "erin", method="email") == "responded"
    settings = replace(
        staffed.settings, smtp=replace(staffed.settings.smtp, host="127.0.0.1", port=port)
    )
    outbox = AppContext(settings, staffed.engine)
    result = deliver(outbox, staffed.now())
    assert result.failed == 0 and result.sent >= 1

    mine = [
        m
        for m in inbox.messages
        if ref in str(m["Subject"])
        and "outcome" in str([p.get_filename() for p in m.iter_attachments()])
    ]
    assert len(mine) == 1
    [attachment] = list(mine[0].iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{ref}-outcome.pdf"
    delivered = attachment.get_payload(decode=True)
    assert isinstance(delivered, bytes)
    assert sha(delivered) == signed.signed_sha256
    assert delivered == signed.pdf
    assert str(mine[0]["To"]) == "morgan.ellery@example.org"
    assert "We found that the move was not explained" in pdf_text(delivered)

    # Delivered once: a second run finds nothing more for this letter.
    again = deliver(outbox, staffed.now())
    assert again.sent == 0
    with staffed.uow() as uow:
        statuses = uow.session.execute(
            select(Notification.status, func.count())
            .where(Notification.letter_id == signed.id)
            .group_by(Notification.status)
        ).all()
    assert statuses == [("sent", 1)]


# --- `letters render` -----------------------------------------------------------------------


def test_rendering_a_kind_not_yet_stored_previews_it_from_the_case(staffed: AppContext) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    act(staffed, ref, "request_information", "alex", wording="Please send the dates of the move.")
    chase = render_case_letter(staffed, "alex", ref, "information_chase", "pdf")
    assert chase.letter_id is None and not chase.signed
    text = pdf_text(chase.data)
    assert "Please send the dates of the move." in text
    assert "We have not received it yet." in text
    word = render_case_letter(staffed, "alex", ref, "acknowledgement", "docx")
    assert word.data.startswith(b"PK") and word.letter_id == letters(staffed, ref)[0].id


def test_rendering_needs_a_role_that_may_read_the_case(staffed: AppContext) -> None:
    ref = log(staffed)
    act(staffed, ref, "acknowledge", "alex")
    with pytest.raises(NotAllowed):
        render_case_letter(staffed, "audrey", ref, "acknowledgement", "pdf")
    with pytest.raises(BadInput, match="kind"):
        render_case_letter(staffed, "alex", ref, "apology", "pdf")
    with pytest.raises(BadInput, match="format"):
        render_case_letter(staffed, "alex", ref, "acknowledgement", "odt")
