"""Anonymising a closed case erases the person everywhere, and keeps the figures and the chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from concerns.db.models import Case, Erasure, Respondent
from concerns.workflows.admin import verify_audit
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.learning.scrutiny_service import scrutiny_report
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.records.anonymise import anonymise_case, read_erasure_log
from tests.factories import create_staff
from tests.integration.records_support import (
    OTHER,
    ZEBEDEE,
    build_register,
    found_in_database,
    found_in_files,
)


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def test_anonymising_both_cases_leaves_nothing_of_the_person_and_the_same_figures(
    staffed: AppContext, tmp_path: Path
) -> None:
    reg = build_register(staffed, tmp_path)
    assert set(found_in_database(staffed.engine, ZEBEDEE)) > {
        "respondents.name: name", "children.name: child", "contacts.concern: concern",
        "attachments.content: attachment", "raw_submissions.content: concern, emailed",
        "escalations.note: escalation", "events.note: review note",
    }
    assert found_in_files(reg.maildir, ZEBEDEE)
    figures = scrutiny_report(staffed, "morgan")

    first = anonymise_case(staffed, "priya", reg.first, "Erasure request received 1 Dec")
    assert first["person_erased"] is False  # the second case still needs their details
    second = anonymise_case(staffed, "priya", reg.second, "Erasure request received 1 Dec")
    assert second["person_erased"] is True and second["files_removed"] == 1

    assert found_in_database(staffed.engine, ZEBEDEE) == []
    assert found_in_files(tmp_path, ZEBEDEE) == []
    assert scrutiny_report(staffed, "morgan") == figures
    report = verify_audit(staffed, "audrey")
    assert report.broken_at is None, report
    assert report.erased == first["audit_rows"] + second["audit_rows"] > 10
    # The other person, and the case they wrote, are untouched.
    assert set(found_in_database(staffed.engine, OTHER)) >= {
        "respondents.name_key: name", "contacts.concern: concern"}
    with staffed.uow() as uow:
        s = uow.session
        cases = s.scalars(select(Case).where(Case.reference.in_([reg.first, reg.second]))).all()
        assert {c.retention_state for c in cases} == {"anonymised"}
        assert s.scalar(select(Respondent.anonymised_at).where(
            Respondent.id == cases[0].respondent_id)) is not None
        assert len(s.scalars(select(Erasure)).all()) == 2
    assert [e["reference"] for e in read_erasure_log(staffed.settings)] == [
        reg.first, reg.second]


def test_only_a_closed_case_may_be_anonymised_by_the_information_officer_with_a_reason(
    staffed: AppContext, tmp_path: Path
) -> None:
    reg = build_register(staffed, tmp_path)
    with pytest.raises(NotAllowed, match="only a closed case"):
        anonymise_case(staffed, "priya", reg.other, "Erasure request")
    with pytest.raises(NotAllowed, match="information_officer"):
        anonymise_case(staffed, "alex", reg.first, "Erasure request")
    with pytest.raises(BadInput, match="reason: required"):
        anonymise_case(staffed, "priya", reg.first, "  ")
    anonymise_case(staffed, "priya", reg.first, "Erasure request")
    with pytest.raises(NotAllowed, match="already anonymised"):
        anonymise_case(staffed, "priya", reg.first, "Erasure request")
    with pytest.raises(NotAllowed, match="anonymised"):
        fire_event(staffed, reg.first, "reopen", "morgan", {}, "Reopened by mistake")


def test_a_payload_edited_by_hand_is_found_though_erasing_one_is_not(
    staffed: AppContext, tmp_path: Path
) -> None:
    reg = build_register(staffed, tmp_path)
    with staffed.engine.begin() as conn:
        target = conn.execute(text(
            "SELECT id FROM events WHERE event = 'add_review_note'")).scalar_one()
        conn.execute(text("UPDATE events SET note = 'Nothing found.' WHERE id = :id"),
                     {"id": target})
    report = verify_audit(staffed, "audrey")
    assert report.broken_at == target
    assert report.problem == "its data or note was changed (payload hash differs)"
    with staffed.engine.begin() as conn:
        conn.execute(text("UPDATE events SET erased_at = at WHERE id = :id"), {"id": target})
    report = verify_audit(staffed, "audrey")
    assert report.broken_at == target
    assert report.problem == "it is marked erased but still holds a payload"
    assert reg.first
