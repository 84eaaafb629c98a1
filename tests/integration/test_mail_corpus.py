"""The mail corpus of tests/data/mail/, one message for each way real inboxes deliver mail that
was once lost or misfiled: read on SQLite and PostgreSQL, each message ends with the status,
sender, text and flag its entry in expected.toml names, and nothing is lost."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from concerns.db.models import Attachment, Case, Contact, RawSubmission, Respondent
from concerns.workflows.context import AppContext
from concerns.workflows.intake.submissions import IntakeResult, ingest_email
from tests.factories import create_staff

CORPUS = Path(__file__).resolve().parent.parent / "data" / "mail"
EXPECTED: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text())


@pytest.fixture
def read_corpus(ctx: AppContext) -> tuple[AppContext, dict[str, IntakeResult]]:
    create_staff(ctx)
    results = {
        path.name: ingest_email(ctx, path.read_bytes(), path.name, "ian")
        for path in sorted(CORPUS.glob("*.eml"))
    }
    return ctx, results


def test_every_message_of_the_corpus_has_an_expected_outcome() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in CORPUS.glob("*.eml"))


def test_every_message_ends_as_expected_with_its_sender_text_and_flag(
    read_corpus: tuple[AppContext, dict[str, IntakeResult]],
) -> None:
    ctx, results = read_corpus
    for name, want in EXPECTED.items():
        got = results[name]
        assert got.status == want["status"], (name, got)
        if "reason" in want:
            assert got.reason is not None and got.reason.startswith(want["reason"]), (name, got)
        if got.status not in ("new_case", "added_to_case"):
            continue
        with ctx.uow() as uow:
            contact = uow.session.execute(
                select(Contact.id, Contact.concern, Contact.flags, Contact.subject,
                       Contact.received_at, Respondent.email, Respondent.name)
                .join(Respondent, Respondent.id == Contact.respondent_id)
                .join(RawSubmission, RawSubmission.id == Contact.raw_submission_id)
                .where(RawSubmission.source == name)
            ).one()
            files = uow.session.scalars(
                select(Attachment.filename).where(Attachment.contact_id == contact.id)
                .order_by(Attachment.id)).all()
        assert want["sender"] in (contact.email, contact.name), (name, contact)
        assert want["excerpt"] in contact.concern, (name, contact.concern)
        if want["flag"]:
            assert any(want["flag"] in f for f in contact.flags), (name, contact.flags)
        if "subject" in want:
            assert contact.subject == want["subject"], name
        if "attachments" in want:
            assert list(files) == want["attachments"], name
        if "received" in want:
            assert contact.received_at == datetime.fromisoformat(want["received"]), name


def test_a_resent_message_is_reported_on_its_own_senders_case_and_its_bytes_are_kept(
    read_corpus: tuple[AppContext, dict[str, IntakeResult]],
) -> None:
    ctx, results = read_corpus
    first = results["reused-id-1-jane.eml"]
    resent = results["reused-id-3-jane-resent.eml"]
    assert resent.reference == first.reference
    assert results["reused-id-2-omar.eml"].reference != first.reference
    with ctx.uow() as uow:
        row = uow.session.scalars(
            select(RawSubmission).where(RawSubmission.source == "reused-id-3-jane-resent.eml")
        ).one()
        assert row.status == "duplicate"
        assert row.content == (CORPUS / "reused-id-3-jane-resent.eml").read_bytes()


def test_no_message_is_lost_and_no_text_holds_a_replacement_character(
    read_corpus: tuple[AppContext, dict[str, IntakeResult]],
) -> None:
    ctx, _ = read_corpus
    with ctx.uow() as uow:
        stored = uow.session.scalars(select(RawSubmission.content)).all()
        texts = uow.session.execute(select(Contact.concern, Contact.subject)).all()
        cases = uow.session.scalars(select(Case.reference)).all()
    assert sorted(stored) == sorted(p.read_bytes() for p in CORPUS.glob("*.eml"))
    assert len(cases) == len({r for r in cases})
    for concern, subject in texts:
        assert "\ufffd" not in concern and "\ufffd" not in (subject or "")
        assert "\x00" not in concern
