"""Actions arising from learning reviews as tracked items: listed, extended with a reason,
completed with evidence. Each is one transaction with its audit row on the case it came from.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from concerns.db.models import Case, Deadline, LearningAction, User
from concerns.workflows import clocks
from concerns.workflows.access.need_to_know import parts_for
from concerns.workflows.access.readers import ensure_may_read, load_actor, readable_case
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.learning.action_statuses import STATUSES
from concerns.workflows.learning.outcome import action_summary
from concerns.workflows.machine import ACTION_ROLES, CASE_READERS, Actor

MAX_EVIDENCE = 5_000


def list_actions(
    ctx: AppContext, actor_name: str | None, status: str | None = None
) -> list[dict[str, Any]]:
    """Actions arising, each with its case reference, earliest due first; STATUS filters."""
    if status is not None and status not in STATUSES:
        raise BadInput("status", f"one of {', '.join(STATUSES)}")
    with ctx.read() as read:
        s = read.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & CASE_READERS:
            raise NotAllowed("your role may not read case content")
        today = ctx.calendar.local_date(ctx.now())
        labels = ctx.settings.learning.theme_labels
        rows = s.execute(
            select(LearningAction, Case)
            .join(Case, Case.id == LearningAction.case_id)
            .order_by(LearningAction.due_date, LearningAction.id)
        ).all()
        out = []
        for action, case in rows:
            # Need to know: an action is what the case's outcome says, so only those who may
            # open the case and read its outcome now see it (not triage once its part is done).
            if "outcome" not in parts_for(actor, case.state):
                continue
            try:
                ensure_may_read(s, actor, case)
            except NotAllowed:
                continue
            item = action_summary(action, labels, today) | {"reference": case.reference}
            if status is None or item["status"] == status:
                out.append(item)
        return out


def _action_on_readable_case(
    s: Session, actor_name: str | None, action_id: int
) -> tuple[User, Actor, Case, LearningAction]:
    """The action and its case, if the user may read the case (conflict of interest too)."""
    action = s.get(LearningAction, action_id)
    if action is None:
        raise NotFound(f"action {action_id}: no such action")
    reference = s.scalar(select(Case.reference).where(Case.id == action.case_id))
    user, actor, case = readable_case(s, actor_name, str(reference))
    return user, actor, case, action


def complete_action(
    ctx: AppContext, actor_name: str | None, action_id: int, evidence: str
) -> dict[str, Any]:
    """Close an open action with the evidence that it was done; its clock is met today."""
    evidence = (evidence or "").strip()
    if not evidence:
        raise BadInput("evidence", "say what shows the action was done")
    if len(evidence) > MAX_EVIDENCE:
        raise BadInput("evidence", f"longer than {MAX_EVIDENCE} characters")
    with ctx.uow() as uow:
        s = uow.session
        user, actor, case, action = _action_on_readable_case(s, actor_name, action_id)
        if not actor.roles & ACTION_ROLES:
            raise NotAllowed(
                "completing an action needs the role " + " or ".join(sorted(ACTION_ROLES))
            )
        if action.status != "open":
            raise NotAllowed(f"action {action_id} is {action.status}, not open")
        at = ctx.now()
        action.status = "completed"
        action.evidence = evidence
        action.completed_at = at
        action.completed_by_id = user.id
        deadline = s.get(Deadline, action.deadline_id) if action.deadline_id else None
        if deadline is not None and deadline.status in clocks.OPEN_STATUSES:
            clocks.finish(deadline, at, ctx.calendar)
        s.flush()
        append_event(
            s, case_id=case.id, event="action_completed", actor=user.username, at=at,
            from_state=case.state, to_state=case.state, data={"action": action.id},
            note=evidence,
        )
        result = action_summary(action, ctx.settings.learning.theme_labels,
                                ctx.calendar.local_date(at)) | {"reference": case.reference}
        uow.commit()
        return result


def extend_action(
    ctx: AppContext, actor_name: str | None, action_id: int, due: date, reason: str
) -> dict[str, Any]:
    """Move an open action's due date later, with a reason (the IAT manager, as for any clock)."""
    with ctx.uow() as uow:
        s = uow.session
        user, actor, case, action = _action_on_readable_case(s, actor_name, action_id)
        if "iat_manager" not in actor.roles:
            raise NotAllowed("extending an action needs the role iat_manager")
        if action.status != "open":
            raise NotAllowed(f"action {action_id} is {action.status}, not open")
        deadline = s.get(Deadline, action.deadline_id) if action.deadline_id else None
        if deadline is None:
            raise NotAllowed(f"action {action_id} has no clock to extend")
        clocks.extend_deadline(ctx.settings, ctx.calendar, deadline, due, reason, user.username)
        action.due_date = deadline.due_date
        at = ctx.now()
        s.flush()
        append_event(
            s, case_id=case.id, event="action_extended", actor=user.username, at=at,
            from_state=case.state, to_state=case.state,
            data={"action": action.id, "due": action.due_date.isoformat()}, note=reason,
        )
        result = action_summary(action, ctx.settings.learning.theme_labels,
                                ctx.calendar.local_date(at)) | {"reference": case.reference}
        uow.commit()
        return result


def reference_of(ctx: AppContext, actor_name: str | None, action_id: int) -> str:
    """The reference of the case an action belongs to, if the user may read that case."""
    with ctx.read() as read:
        _, _, case, _ = _action_on_readable_case(read.session, actor_name, action_id)
        return case.reference
