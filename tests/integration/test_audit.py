"""The audit trail is hash-chained: any edit or deletion by hand is found."""

from __future__ import annotations

from sqlalchemy import text

from concerns.workflows.admin import verify_audit
from concerns.workflows.context import AppContext
from tests.factories import act, create_staff, log_concern


def test_a_clean_register_verifies(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    act(ctx, ref, "acknowledge", "alex")
    report = verify_audit(ctx, "audrey")
    assert report.broken_at is None and report.rows >= 13


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
