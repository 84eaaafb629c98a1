"""A letter is rendered before its event's write transaction, never while holding SQLite's write
lock; the short write that follows still refuses, or redoes, an event whose case changed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from concerns.db.models import Case, Letter
from concerns.workflows import hooks
from concerns.workflows.context import AppContext
from concerns.workflows.errors import ConcurrentChange
from concerns.workflows.hooks import EventContext
from concerns.workflows.letters_service import render_case_letter
from concerns.workflows.lifecycle import fire_event
from tests.factories import act, create_staff, log_concern, walk_to_signoff


@pytest.fixture
def while_preparing() -> Iterator[list[object]]:
    """Register a preparer for `acknowledge` that runs after the letter's own (so after the PDF
    was made); the test sets what it does. Removed afterwards."""
    actions: list[object] = []

    def run(ec: EventContext) -> None:
        for action in list(actions):
            assert callable(action)
            action(ec)

    hooks.prepares("acknowledge")(run)
    yield actions
    hooks._PREPARERS["acknowledge"].remove(run)


def _db_path(ctx: AppContext) -> str:
    database = ctx.engine.url.database
    assert database
    return database


def _version(ctx: AppContext, ref: str) -> int:
    with ctx.uow() as uow:
        return int(uow.session.scalars(select(Case.version).where(Case.reference == ref)).one())


def test_while_the_letter_is_rendered_another_writer_can_take_the_write_lock(
    sqlite_ctx: AppContext, while_preparing: list[object]
) -> None:
    create_staff(sqlite_ctx)
    ref = log_concern(sqlite_ctx)
    took_the_lock: list[bool] = []
    rendered: list[str] = []

    def try_to_write(ec: EventContext) -> None:
        assert "letter" in ec.prepared  # the PDF is already made at this point
        rendered.append(ec.prepared["letter"][1].sha256)
        other = sqlite3.connect(_db_path(sqlite_ctx), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if anyone holds the write lock
            took_the_lock.append(True)
            other.execute("ROLLBACK")
        finally:
            other.close()

    while_preparing.append(try_to_write)
    assert act(sqlite_ctx, ref, "acknowledge", "alex") == "triage"
    assert took_the_lock == [True]
    with sqlite_ctx.uow() as uow:
        letter = uow.session.scalars(select(Letter).where(Letter.kind == "acknowledgement")).one()
        assert letter.pdf and letter.pdf.startswith(b"%PDF")
        # The stored letter is the one rendered before the write transaction, not a re-render.
        assert [letter.sha256] == rendered


def test_a_case_changed_while_its_letter_was_rendered_is_refused_when_the_version_was_given(
    ctx: AppContext, while_preparing: list[object]
) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    seen = _version(ctx, ref)

    def someone_else_acts(ec: EventContext) -> None:
        while_preparing.clear()
        # Another writer changes the case (its version moves on) while the letter is made.
        with ctx.uow() as uow:
            case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
            case.legal_comment = "changed by someone else"
            uow.commit()

    while_preparing.append(someone_else_acts)
    with pytest.raises(ConcurrentChange):
        fire_event(ctx, ref, "acknowledge", "alex", expected_version=seen)
    with ctx.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
        assert case.state == "logged"
        assert uow.session.scalars(select(Letter).where(Letter.case_id == case.id)).all() == []


def test_a_case_changed_while_its_letter_was_rendered_is_prepared_again_without_a_version(
    ctx: AppContext, while_preparing: list[object]
) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    calls: list[int] = []

    def someone_else_acts_once(ec: EventContext) -> None:
        calls.append(ec.case.version)
        if len(calls) == 1:
            with ctx.uow() as uow:
                case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
                case.legal_comment = "changed by someone else"
                uow.commit()

    while_preparing.append(someone_else_acts_once)
    before = _version(ctx, ref)
    result = fire_event(ctx, ref, "acknowledge", "alex")
    assert result.to_state == "triage"
    # Prepared twice: first on the old version, then on the one someone else wrote.
    assert calls == [before, before + 1]
    assert result.version == before + 2
    with ctx.uow() as uow:
        letters = uow.session.scalars(select(Letter)).all()
        assert [x.kind for x in letters] == ["acknowledgement"]


def test_each_event_writes_the_case_once_so_its_version_goes_up_by_one(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    version = _version(ctx, ref)
    steps = [
        ("acknowledge", "alex", {}),
        ("record_complaints_triage", "priya", {"meets_criteria": "no",
                                                "reason": "time_limit_passed"}),
        ("record_legal_triage", "lee", {"proceedings": "none"}),
        ("assign_reviewer", "morgan", {"reviewer": "alex"}),
        ("start_review", "alex", {}),
        # Events whose hooks store a letter or a learning outcome, or (closing) change the case
        # again after it was written: still one new version each.
        ("submit_outcome", "alex", {"summary": "Records read.", "wording": "We are sorry.",
                                    "finding.record_keeping": "Decisions not written down."}),
        ("authorise", "dana", {}),
        ("prepare_letter", "erin", {}),
        ("sign", "dana", {}),
        ("send", "erin", {"method": "post"}),
        ("close", "morgan", {"reason": "Closed early for the test."}),
    ]
    for event, actor, values in steps:
        result = fire_event(ctx, ref, event, actor, values)
        version += 1
        assert result.version == version, event
        assert _version(ctx, ref) == version, event


def test_the_signed_and_sent_outcome_letter_is_the_pdf_rendered_before_the_transaction(
    sqlite_ctx: AppContext,
) -> None:
    create_staff(sqlite_ctx)
    ref = log_concern(sqlite_ctx)
    walk_to_signoff(sqlite_ctx, ref)
    act(sqlite_ctx, ref, "authorise", "dana")
    prepared = fire_event(sqlite_ctx, ref, "prepare_letter", "erin")
    act(sqlite_ctx, ref, "sign", "dana")
    act(sqlite_ctx, ref, "send", "erin", method="post")
    stored = render_case_letter(sqlite_ctx, "erin", ref, "outcome", "pdf")
    assert stored.signed
    assert stored.sha256 == prepared.data["letter_sha256"]
