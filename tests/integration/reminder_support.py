"""Many open deadlines at once, inserted in bulk (the service path is exercised elsewhere)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select

from concerns.db.models import Case, Deadline, Notification, Respondent, User
from concerns.workflows.context import AppContext


def user_id(ctx: AppContext, username: str) -> int:
    with ctx.uow() as uow:
        found = uow.session.scalar(select(User.id).where(User.username == username))
    assert found is not None, username
    return found


def seed_deadlines(
    ctx: AppContext,
    count: int,
    *,
    clock: str,
    due: date,
    started: date,
    owner_role: str,
    owner: str | None = None,
    prefix: str = "CAC-2026-",
    first: int = 1,
) -> list[str]:
    """COUNT cases, each with one running deadline of CLOCK due on DUE; their references."""
    owner_id = user_id(ctx, owner) if owner else None
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    references = [f"{prefix}{i:05d}" for i in range(first, first + count)]
    with ctx.uow() as uow:
        s = uow.session
        respondent_ids = list(
            s.scalars(
                insert(Respondent).returning(Respondent.id, sort_by_parameter_order=True),
                [{"name": f"Bulk Person {i}", "name_key": f"bulk person {i}"}
                 for i in range(first, first + count)],
            )
        )
        case_rows: list[dict[str, Any]] = [
            {"reference": ref, "state": "in_review", "respondent_id": rid, "received_at": now,
             "version": 1}
            for ref, rid in zip(references, respondent_ids, strict=True)
        ]
        case_ids = list(
            s.scalars(insert(Case).returning(Case.id, sort_by_parameter_order=True), case_rows)
        )
        s.execute(
            insert(Deadline),
            [
                {"case_id": cid, "clock": clock, "status": "running", "started_on": started,
                 "target_days": 25, "working_days": clock != "escalation", "due_date": due,
                 "owner_role": owner_role, "owner_user_id": owner_id, "explanation": {}}
                for cid in case_ids
            ],
        )
        uow.commit()
    return references


def notifications(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.uow() as uow:
        rows = uow.session.execute(
            select(
                Notification.key,
                Notification.kind,
                Notification.level,
                Notification.to_address,
                Notification.subject,
                Notification.status,
                Notification.send_after,
                User.username,
            )
            .outerjoin(User, User.id == Notification.recipient_user_id)
            .order_by(Notification.id)
        ).all()
    return [dict(r._mapping) for r in rows]
