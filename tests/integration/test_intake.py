"""Intake through the service layer on real databases: raw first, duplicates, forwards,
matching of repeat contacts and children, and the IAT's merge and split."""

from __future__ import annotations

import hashlib
import json
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from concerns.db.models import (
    Attachment,
    Case,
    Contact,
    Event,
    PersonMatchFlag,
    RawSubmission,
    Respondent,
)
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.intake.submissions import (
    ingest_email,
    ingest_form,
    list_quarantine,
    log_submission,
    store_raw,
)
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.people import keep_apart, list_flags, merge_people, split_person
from concerns.workflows.queries import show_case
from tests.factories import create_staff, form_bytes

# No shared phone or postcode: only the name is alike.
APART: dict[str, Any] = {"phone": None, "postcode": None}


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def count(ctx: AppContext, model: type) -> int:
    with ctx.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def mail(
    body: str = "My son was let down.", *, sender: str = "Jane Smith <jane@example.com>",
    subject: str = "Concern", message_id: str = "<m1@example.com>",
    date: str = "Tue, 20 Apr 2021 10:15:00 +0100",
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "concernsaboutcare@example.gov.uk"
    msg["Subject"] = subject
    msg["Date"] = date
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return msg


def test_a_form_is_stored_raw_and_one_that_cannot_be_read_is_quarantined_with_its_bytes(
    staffed: AppContext,
) -> None:
    good = form_bytes(name="Jane Smith", email="jane@example.com")
    bad = b'{"respondent": {"name": ["a"]}, "concern": 5}'
    assert ingest_form(staffed, good, "good.json", "ian").status == "new_case"
    result = ingest_form(staffed, bad, "bad.json", "ian")
    assert result.status == "quarantined"
    assert result.reason == "respondent.name: expected text, got a list"
    with staffed.uow() as uow:
        rows = uow.session.scalars(select(RawSubmission).order_by(RawSubmission.id)).all()
        assert [(r.source, r.status) for r in rows] == [
            ("good.json", "contact"), ("bad.json", "quarantined")]
        assert rows[1].content == bad
        assert rows[1].sha256 == hashlib.sha256(bad).hexdigest()
    assert [q["source"] for q in list_quarantine(staffed, "alex")] == ["bad.json"]


def test_the_same_form_twice_is_one_contact(staffed: AppContext) -> None:
    raw = form_bytes(name="Jane Smith", email="jane@example.com")
    first = ingest_form(staffed, raw, "a.json", "ian")
    again = ingest_form(staffed, raw, "a-copy.json", "ian")
    assert again.status == "duplicate"
    assert again.reference == first.reference
    assert count(staffed, Contact) == 1


def test_the_same_email_twice_is_one_contact_and_a_resend_keeps_its_own_bytes(
    staffed: AppContext,
) -> None:
    msg = mail()
    first = ingest_email(staffed, msg.as_bytes(), "a.eml", "ian")
    assert first.status == "new_case"
    assert ingest_email(staffed, msg.as_bytes(), "a.eml", "ian").status == "duplicate"
    assert count(staffed, RawSubmission) == 1
    # Delivered again through another server: other bytes, the same Message-ID, sender, text.
    redelivered = b"Received: from mx2.example.gov.uk\r\n" + msg.as_bytes()
    result = ingest_email(staffed, redelivered, "b.eml", "ian")
    assert (result.status, result.reference) == ("duplicate", first.reference)
    assert count(staffed, Contact) == 1
    with staffed.uow() as uow:
        rows = uow.session.execute(
            select(RawSubmission.id, RawSubmission.status, RawSubmission.duplicate_of_id,
                   RawSubmission.content).order_by(RawSubmission.id)).all()
    assert [(r.status, r.duplicate_of_id) for r in rows] == [
        ("contact", None), ("duplicate", rows[0].id)]
    assert rows[1].content == redelivered


def test_a_reused_message_id_from_another_sender_is_a_new_contact_on_their_own_case(
    staffed: AppContext,
) -> None:
    first = ingest_email(staffed, mail().as_bytes(), "a.eml", "ian")
    other = mail("The school never called back.", sender="Omar Farouk <omar@example.net>")
    second = ingest_email(staffed, other.as_bytes(), "b.eml", "ian")
    assert second.status == "new_case"
    assert second.reference != first.reference
    with staffed.uow() as uow:
        contact = uow.session.scalars(
            select(Contact).join(Case).where(Case.reference == second.reference)).one()
        assert contact.concern == "The school never called back."
        assert any("shares a Message-ID" in f and str(first.reference) in f
                   for f in contact.flags)


def test_a_reused_message_id_from_the_same_sender_with_other_text_is_another_contact(
    staffed: AppContext,
) -> None:
    first = ingest_email(staffed, mail().as_bytes(), "a.eml", "ian")
    again = ingest_email(staffed, mail("And one more thing.").as_bytes(), "b.eml", "ian")
    assert (again.status, again.reference) == ("added_to_case", first.reference)
    assert count(staffed, Contact) == 2


def test_a_raw_submission_left_unread_by_a_crash_is_read_when_it_arrives_again(
    staffed: AppContext,
) -> None:
    raw = form_bytes(name="Jane Smith", email="jane@example.com")
    # Stored, then the process died before reading it.
    stored = store_raw(staffed, raw, channel="web", source="a.json")
    assert not stored.seen
    result = ingest_form(staffed, raw, "a.json", "ian")
    assert result.status == "new_case"
    assert count(staffed, RawSubmission) == 1
    assert count(staffed, Contact) == 1


def test_a_forwarded_email_is_the_original_senders_contact_with_its_attachments(
    staffed: AppContext,
) -> None:
    inner = mail("The original words.", sender="Mary Jones <mary@example.org>",
                 message_id="<orig@example.org>", date="Mon, 19 Apr 2021 08:30:00 +0100")
    inner.add_attachment(b"%PDF-1.4 scan", maintype="application", subtype="pdf",
                         filename="scan.pdf")
    outer = mail("For the IAT.", sender="Comms <communications@example.gov.uk>",
                 subject="FW: Concern", message_id="<fw@example.gov.uk>")
    outer.add_attachment(inner)
    result = ingest_email(staffed, outer.as_bytes(), "fw.eml", "ian")
    assert result.status == "new_case"
    assert result.reference is not None
    case = show_case(staffed, "alex", result.reference)
    assert case["respondent"]["name"] == "Mary Jones"
    assert case["respondent"]["email"] == "mary@example.org"
    assert case["received_at"].startswith("2021-04-19T07:30")
    contact = case["contacts"][0]
    assert contact["route"] == "communications@example.gov.uk"
    assert contact["concern"] == "The original words."
    with staffed.uow() as uow:
        stored = uow.session.scalars(select(Attachment)).one()
        assert contact["attachments"] == [{"id": stored.id, "filename": "scan.pdf",
                                           "content_type": "application/pdf", "size": 13}]
        assert stored.content == b"%PDF-1.4 scan"
        assert stored.sha256 == hashlib.sha256(b"%PDF-1.4 scan").hexdigest()


def test_auto_replies_and_bounces_are_set_aside_not_opened_as_concerns(
    staffed: AppContext,
) -> None:
    ooo = mail(subject="Automatic reply: Concern", message_id="<ooo@x>")
    ooo["Auto-Submitted"] = "auto-replied"
    bounce = mail(sender="MAILER-DAEMON@mx.example", subject="Undeliverable: x",
                  message_id="<b@x>")
    assert ingest_email(staffed, ooo.as_bytes(), "ooo.eml", "ian").status == "set_aside"
    assert ingest_email(staffed, bounce.as_bytes(), "b.eml", "ian").status == "set_aside"
    assert count(staffed, Case) == 0
    assert list_quarantine(staffed, "alex") == []
    listed = list_quarantine(staffed, "alex", include_set_aside=True)
    assert [(q["source"], q["status"], q["reason"]) for q in listed] == [
        ("ooo.eml", "set_aside", "automatic reply"),
        ("b.eml", "set_aside", "delivery failure"),
    ]


def test_a_repeat_contact_typed_differently_is_added_to_the_open_case(
    staffed: AppContext,
) -> None:
    child = [{"name": "Tom O'Brien", "date_of_birth": "2010-03-04"}]
    first = ingest_form(staffed, form_bytes(
        name="Mrs Jane O'Brien", email="jane.obrien@example.com", phone="07700 900123",
        children=child), "1.json", "ian")
    second = ingest_form(staffed, form_bytes(
        name="jane obrien", email="JANE.OBRIEN@Example.com", phone=None,
        children=[{"name": "tom obrien", "date_of_birth": "2010-03-04"}],
        concern="More to add."), "2.json", "ian")
    third = ingest_email(staffed, mail("And more.", sender="J. O'Brien <other@example.net>")
                         .as_bytes(), "3.eml", "ian")
    assert (first.status, second.status) == ("new_case", "added_to_case")
    assert second.reference == first.reference
    # Another email address and only an initial: not recognised, a new case.
    assert third.status == "new_case"
    fourth = ingest_form(staffed, form_bytes(
        name="Jane O Brien", email="jane.new@example.com", phone="+44 7700 900123",
        concern="By phone number."), "4.json", "ian")
    assert (fourth.status, fourth.reference) == ("added_to_case", first.reference)
    assert first.reference is not None
    case = show_case(staffed, "alex", first.reference)
    assert len(case["contacts"]) == 3
    assert [c["name"] for c in case["children"]] == ["Tom O'Brien"]
    assert [h["event"] for h in case["history"]][:3] == [
        "concern_logged", "contact_added", "contact_added"]


def test_a_contact_after_the_case_closed_opens_a_new_case_for_the_same_person(
    staffed: AppContext,
) -> None:
    first = ingest_form(staffed, form_bytes(name="Jane Smith", email="jane@example.com"),
                        "1.json", "ian")
    assert first.reference is not None
    fire_event(
        staffed, first.reference, "answer_query", "alex", {"wording": "Answered by phone."}, None
    )
    second = ingest_form(staffed, form_bytes(name="Jane Smith", email="jane@example.com",
                                             concern="Something new."), "2.json", "ian")
    assert second.status == "new_case"
    assert second.reference != first.reference
    assert count(staffed, Respondent) == 1


def test_two_people_about_the_same_child_have_separate_cases_linked_through_the_child(
    staffed: AppContext,
) -> None:
    ellie = [{"name": "Ellie Morgan", "date_of_birth": "2009-02-11"}]
    mum = ingest_form(staffed, form_bytes(name="Helen Morgan", email="helen@example.com",
                                          children=ellie), "1.json", "ian")
    gran = ingest_form(staffed, form_bytes(
        name="Margaret Morgan", email="margaret@example.org",
        children=[{"name": "ELLIE  MORGAN", "date_of_birth": "2009-02-11"}]), "2.json", "ian")
    assert (mum.status, gran.status) == ("new_case", "new_case")
    assert mum.reference and gran.reference
    case = show_case(staffed, "alex", gran.reference)
    assert case["children"][0]["related_cases"] == [mum.reference]


def test_an_uncertain_match_is_flagged_for_the_iat_and_never_merged(
    staffed: AppContext,
) -> None:
    ingest_form(staffed, form_bytes(name="Tom Williams", email="tom@example.com", **APART),
                "1.json", "ian")
    other = ingest_form(staffed, form_bytes(name="Tom Williams", email="t.w@example.net",
                                            **APART), "2.json", "ian")
    assert other.status == "new_case"
    assert count(staffed, Respondent) == 2
    flags = list_flags(staffed, "alex")
    assert len(flags) == 1
    assert flags[0]["reasons"] == ["name similarity 100", "different email"]
    with pytest.raises(NotAllowed):
        list_flags(staffed, "ian")


def test_merge_moves_cases_and_contacts_and_split_undoes_it_both_audited(
    staffed: AppContext,
) -> None:
    a = ingest_form(staffed, form_bytes(name="Tom Williams", email="tom@example.com", **APART),
                    "1.json", "ian")
    b = ingest_form(staffed, form_bytes(name="Tom Williams", email="t.w@example.net", **APART),
                    "2.json", "ian")
    flag = list_flags(staffed, "alex")[0]
    keep, absorb = flag["candidate"]["id"], flag["person"]["id"]
    with pytest.raises(NotAllowed):
        merge_people(staffed, "ian", keep, absorb)
    merged = merge_people(staffed, "alex", keep, absorb, note="Same man, new email.")
    assert merged["kept"]["cases"] == sorted([a.reference or "", b.reference or ""])
    assert list_flags(staffed, "alex") == []
    assert [f["status"] for f in list_flags(staffed, "alex", "all")] == ["merged"]
    with pytest.raises(BadInput):
        merge_people(staffed, "alex", keep, absorb)

    split = split_person(staffed, "alex", absorb, note="Different men after all.")
    assert split["restored"]["cases"] == [b.reference]
    assert split["from"]["cases"] == [a.reference]
    assert [f["status"] for f in list_flags(staffed, "alex", "all")] == ["kept_apart"]
    with staffed.uow() as uow:
        events = [e.event for e in uow.session.scalars(select(Event).order_by(Event.id))]
        assert events.count("people_merged") == 2  # on the case moved, and register-wide
        assert events.count("people_split") == 2
        assert verify_chain(uow.session).broken_at is None


def test_split_moves_a_wrongly_matched_case_to_a_new_person_read_from_its_contact(
    staffed: AppContext,
) -> None:
    first = ingest_form(staffed, form_bytes(name="Sam Lee", email="family@example.com"),
                        "1.json", "ian")
    assert first.reference
    fire_event(staffed, first.reference, "answer_query", "alex", {"wording": "Answered."}, None)
    # Another Sam Lee in the same household writes: matched by email and name.
    second = ingest_form(staffed, form_bytes(name="Sam Lee", email="family@example.com",
                                             phone="07700 900999", concern="Mine."),
                         "2.json", "ian")
    assert second.status == "new_case" and second.reference
    assert count(staffed, Respondent) == 1
    with staffed.uow() as uow:
        person = uow.session.scalars(select(Respondent)).one().id
    result = split_person(staffed, "alex", person, [second.reference])
    assert result["new"]["cases"] == [second.reference]
    assert result["new"]["phone"] == "07700 900999"
    assert result["from"]["cases"] == [first.reference]
    with pytest.raises(BadInput):
        split_person(staffed, "alex", person, [first.reference])


def test_keep_apart_closes_a_flag_and_the_pair_is_not_flagged_again(
    staffed: AppContext,
) -> None:
    for i, email in enumerate(["tom@example.com", "t.w@example.net"]):
        ingest_form(staffed, form_bytes(name="Tom Williams", email=email, **APART), f"{i}.json",
                    "ian")
    flag = list_flags(staffed, "alex")[0]
    assert keep_apart(staffed, "alex", flag["id"])["status"] == "kept_apart"
    ingest_form(staffed, form_bytes(name="Tom Williams", email="t.w@example.net",
                                    concern="Again.", **APART), "3.json", "ian")
    assert list_flags(staffed, "alex") == []
    assert count(staffed, PersonMatchFlag) == 1


def test_attachments_and_text_are_kept_whatever_markup_they_carry(staffed: AppContext) -> None:
    hostile = "<script>alert(1)</script> {{ 7*7 }} {% include 'x' %} =cmd|' /C calc'!A0"
    result = ingest_form(staffed, form_bytes(
        name=hostile[:40], email="h@example.com", concern=hostile,
        staff_named=["{{ config }}"], children=[{"name": "<b>Kid</b>"}]), "h.json", "ian")
    assert result.status == "new_case" and result.reference
    case = show_case(staffed, "alex", result.reference)
    assert case["contacts"][0]["concern"] == hostile
    assert case["staff_named"] == ["{{ config }}"]


def test_log_submission_refuses_nobody_but_intake_checks_the_role(staffed: AppContext) -> None:
    with pytest.raises(NotAllowed):
        ingest_email(staffed, mail().as_bytes(), "a.eml", "audrey")
    # 'public' is the public form's, not a member of staff: nobody has that username.
    with pytest.raises(BadInput, match="--as: no such user 'public'"):
        ingest_email(staffed, mail().as_bytes(), "a.eml", "public")
    assert count(staffed, RawSubmission) == 0
    assert callable(log_submission)


def test_the_files_of_a_folder_keep_their_names_as_sources(
    staffed: AppContext, tmp_path: Path,
) -> None:
    (tmp_path / "x.json").write_text(json.dumps({"concern": "no respondent"}))
    result = ingest_form(staffed, (tmp_path / "x.json").read_bytes(), str(tmp_path / "x.json"),
                         "ian")
    assert result.status == "quarantined"
    assert str(list_quarantine(staffed, "ian")[0]["source"]).endswith("x.json")


def test_a_quarantined_submission_is_read_again_once_the_reason_is_dealt_with(
    staffed: AppContext,
) -> None:
    from dataclasses import replace

    from concerns.workflows.intake.quarantine import retry_quarantined
    from concerns.workflows.intake.register_import import import_register

    shipped = staffed.settings
    staffed.settings = replace(shipped, intake=replace(shipped.intake, max_concern_characters=10))
    form = ingest_form(staffed, form_bytes(name="Jane Smith", email="jane@example.com"),
                       "long.json", "ian")
    rows = import_register(staffed, b"Date received,Name,Email,Concern,Stage\n"
                           b"16/04/2021,Ann Lee,ann@example.com,A concern longer than ten,"
                           b"Learning review\n",
                           "r.csv", "morgan")
    # A register row is never lost to a limit: it comes in cut short, flagged to check (the
    # whole row stays in the stored raw row).
    assert (form.status, rows[0].status) == ("quarantined", "new_case")
    assert rows[0].reason == ("to check: row 2, column 'Concern': longer than 10 characters; "
                              "the rest is left out")
    ids = [q["id"] for q in list_quarantine(staffed, "alex")]
    with pytest.raises(NotAllowed):
        retry_quarantined(staffed, "ian", int(str(ids[0])))
    still = retry_quarantined(staffed, "alex", int(str(ids[0])))
    assert still.status == "quarantined"

    staffed.settings = shipped
    results = [retry_quarantined(staffed, "alex", int(str(i))) for i in ids]
    assert [r.status for r in results] == ["new_case"]
    assert show_case(staffed, "alex", rows[0].reference or "")["state"] == "in_review"
    assert list_quarantine(staffed, "alex") == []
    with pytest.raises(BadInput):
        retry_quarantined(staffed, "alex", int(str(ids[0])))
