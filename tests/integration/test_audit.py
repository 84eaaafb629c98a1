"""The audit trail is hash-chained: any edit or deletion by hand is found."""

from __future__ import annotations

from sqlalchemy import text

from concerns.workflows.admin import verify_audit
from concerns.workflows.audit import append_event
from concerns.workflows.cases import case_and_actor
from concerns.workflows.context import AppContext
from tests.factories import act, create_staff, log_concern, walk_to_signoff


def test_a_clean_register_verifies(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    act(ctx, ref, "acknowledge", "alex")
    report = verify_audit(ctx, "audrey")
    assert report.broken_at is None and report.rows >= 13


def test_a_whole_lifecycle_with_its_letters_chains_every_row_to_the_one_before(
    ctx: AppContext,
) -> None:
    # An event reads the chain's head with its case (on SQLite) and may append more than one
    # row in its transaction: each must chain to the row just before it.
    create_staff(ctx)
    refs = [log_concern(ctx), log_concern(ctx)]
    for ref in refs:
        walk_to_signoff(ctx, ref)
        act(ctx, ref, "authorise", "dana")
        act(ctx, ref, "prepare_letter", "erin")
    for ref in refs:
        act(ctx, ref, "sign", "dana")
        act(ctx, ref, "send", "erin", method="post")
        act(ctx, ref, "close", "morgan", reason="Closed early for the test.")
    report = verify_audit(ctx, "audrey")
    assert report.broken_at is None, report.problem
    with ctx.engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        closed = conn.execute(
            text("SELECT count(*) FROM events WHERE event = 'close'")
        ).scalar_one()
    assert report.rows == stored and closed == 2


def test_rows_appended_one_after_another_after_reading_the_case_chain_in_order(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    with ctx.uow() as uow:
        s = uow.session
        case, *_ = case_and_actor(s, ref, today=ctx.calendar.local_date(ctx.now()),
                                  username="", with_actor=False)
        for _ in range(3):
            append_event(s, event="case_viewed", actor="alex", at=ctx.now(), case_id=case.id)
        uow.commit()
    report = verify_audit(ctx, "audrey")
    assert report.broken_at is None, report.problem


def test_a_row_changed_by_hand_is_named_as_the_first_broken_row(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    act(ctx, ref, "acknowledge", "alex")
    act(ctx, ref, "record_legal_triage", "lee", proceedings="none")
    with ctx.engine.begin() as conn:
        target = conn.execute(
            text("SELECT id FROM events WHERE event = 'acknowledge'")
        ).scalar_one()
        conn.execute(text("UPDATE events SET actor = 'morgan' WHERE id = :id"), {"id": target})
    report = verify_audit(ctx, "audrey")
    assert report.broken_at == target
    assert report.problem is not None and "changed" in report.problem


def test_a_deleted_row_breaks_the_chain_at_the_row_after_it(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    act(ctx, ref, "acknowledge", "alex")
    act(ctx, ref, "record_legal_triage", "lee", proceedings="none")
    with ctx.engine.begin() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM events ORDER BY id"))]
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": ids[-2]})
    report = verify_audit(ctx, "audrey")
    assert report.broken_at == ids[-1]
