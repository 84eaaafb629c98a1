"""What a learning review found, and what must change: themes with findings and actions arising,
given with `submit_outcome` and kept as rows the scrutiny report counts.

`--set finding.THEME=one line` tags the review with a theme from `[learning.themes]` (one or more
per outcome); `--set action.N.what=… action.N.owner=… action.N.due=YYYY-MM-DD action.N.theme=…`
adds action N. Each action runs on its own `action` clock (reminders like every clock) that stays
running after the case closes, until it is completed with evidence (`actions.complete_action`).

An outcome the director sends back and the reviewer resubmits with new findings or actions
replaces the ones not yet authorised: the old rows stay, superseded or withdrawn, for the record.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from concerns.db.models import Deadline, LearningAction, ReviewFinding
from concerns.workflows import clocks
from concerns.workflows.errors import BadInput, day_field
from concerns.workflows.hooks import EventContext, checks, on_event
from concerns.workflows.machine import ACTION_PARTS

MAX_ACTIONS = 20


def _themes_message(labels: dict[str, str]) -> str:
    return "not a learning theme (one of " + ", ".join(labels) + ")"


def _actions(ec: EventContext, labels: dict[str, str]) -> list[dict[str, Any]]:
    """The actions given, checked part by part (the field named is the --set key)."""
    given: dict[str, dict[str, str]] = ec.values.get("action") or {}
    if len(given) > MAX_ACTIONS:
        raise BadInput("action", f"at most {MAX_ACTIONS} actions with one outcome")
    settings, calendar = ec.ctx.settings, ec.ctx.calendar
    today = calendar.local_date(ec.at)
    spec = settings.clock("action")
    out = []
    for number in sorted(given, key=int):
        parts = given[number]
        for part in ACTION_PARTS:
            if not parts.get(part):
                raise BadInput(f"action.{number}.{part}", "required for every action")
        if parts["theme"] not in labels:
            raise BadInput(f"action.{number}.theme", _themes_message(labels))
        due = day_field(parts["due"], f"action.{number}.due", required=True)
        assert due is not None  # required=True
        if due <= today:
            raise BadInput(f"action.{number}.due", "must be after today")
        if not calendar.is_working_day(due):
            raise BadInput(
                f"action.{number}.due",
                f"{due.isoformat()} is not a working day ({calendar.non_working_reason(due)}); "
                f"the next is {calendar.next_working_day(due).isoformat()}",
            )
        days = calendar.days_between(today, due)
        if spec.max_working_days is not None and days > spec.max_working_days:
            latest = calendar.add_working_days(today, spec.max_working_days)
            raise BadInput(
                f"action.{number}.due",
                f"at most {spec.max_working_days} working days ahead "
                f"(the latest allowed is {latest.isoformat()})",
            )
        out.append({"number": number, "what": parts["what"], "owner": parts["owner"],
                    "theme": parts["theme"], "due": due, "days": days})
    return out


# A case's current findings and its actions: read on every view of a case, so each statement
# is built once (building one costs its cache key on every call, more than running it).
_CURRENT_FINDINGS = (
    select(ReviewFinding)
    .where(ReviewFinding.case_id == bindparam("case_id"), ReviewFinding.superseded_at.is_(None))
    .order_by(ReviewFinding.id)
)
_ACTIONS = (
    select(LearningAction).where(LearningAction.case_id == bindparam("case_id"))
    .order_by(LearningAction.id)
)


def _current_findings(session: Session, case_id: int) -> list[ReviewFinding]:
    return list(session.scalars(_CURRENT_FINDINGS, {"case_id": case_id}))


def _checked(
    ec: EventContext,
) -> tuple[dict[str, str], list[ReviewFinding], list[dict[str, Any]]]:
    """The findings given, those already current, and the actions: refused part by part."""
    labels = ec.ctx.settings.learning.theme_labels
    findings: dict[str, str] = ec.values.get("finding") or {}
    for theme in findings:
        if theme not in labels:
            raise BadInput(f"finding.{theme}", _themes_message(labels))
    current = _current_findings(ec.session, ec.case.id)
    if not findings and not current:
        raise BadInput(
            "finding",
            "tag the review with at least one learning theme, each with a one-line finding "
            "(finding.THEME=…)",
        )
    return findings, current, _actions(ec, labels)


@checks("submit_outcome")
def check_findings_and_actions(ec: EventContext) -> None:
    """Refuse the outcome's themes and actions before its letter is shown (nothing stored)."""
    _checked(ec)


@on_event("submit_outcome")
def record_findings_and_actions(ec: EventContext) -> None:
    """Store the themes, findings and actions given with the outcome (one or more themes)."""
    s, case = ec.session, ec.case
    labels = ec.ctx.settings.learning.theme_labels
    findings, current, actions = _checked(ec)
    if findings:
        for old in current:
            if old.authorised_at is None:
                old.superseded_at = ec.at
        for theme in labels:  # in the configured order
            if theme in findings:
                s.add(ReviewFinding(case_id=case.id, theme=theme, finding=findings[theme],
                                    recorded_by_id=ec.user.id, recorded_at=ec.at))
    if actions:
        _withdraw_unauthorised(s, case.id, ec)
        made = []
        for a in actions:
            deadline = clocks.start_clock(
                s, ec.ctx.settings, ec.ctx.calendar, case, "action", ec.at, days=a["days"]
            )
            s.flush()
            row = LearningAction(
                case_id=case.id, theme=a["theme"], description=a["what"],
                owner_service=a["owner"], due_date=deadline.due_date, status="open",
                deadline_id=deadline.id, created_by_id=ec.user.id, created_at=ec.at,
            )
            s.add(row)
            s.flush()
            made.append(row.id)
        ec.data["actions_created"] = made
    ec.data["themes"] = [t for t in labels if t in findings] if findings else sorted(
        {f.theme for f in current})


def _withdraw_unauthorised(s: Session, case_id: int, ec: EventContext) -> None:
    rows = s.scalars(
        select(LearningAction).where(
            LearningAction.case_id == case_id,
            LearningAction.status == "open",
            LearningAction.authorised_at.is_(None),
        )
    ).all()
    for row in rows:
        row.status = "withdrawn"
        if row.deadline_id is not None:
            deadline = s.get(Deadline, row.deadline_id)
            if deadline is not None and deadline.status in clocks.OPEN_STATUSES:
                clocks.finish(deadline, ec.at, ec.ctx.calendar, status="stopped")
    if rows:
        ec.data["actions_withdrawn"] = [r.id for r in rows]


@on_event("authorise")
def authorise_learning(ec: EventContext) -> None:
    """The director's authorisation agrees the findings and actions sent with the outcome."""
    s = ec.session
    for finding in _current_findings(s, ec.case.id):
        if finding.authorised_at is None:
            finding.authorised_at = ec.at
    for action in s.scalars(
        select(LearningAction).where(
            LearningAction.case_id == ec.case.id,
            LearningAction.status == "open",
            LearningAction.authorised_at.is_(None),
        )
    ):
        action.authorised_at = ec.at


def case_learning(
    session: Session, case_id: int, labels: dict[str, str], today: date
) -> dict[str, Any]:
    """The case's current findings and its actions, for the case page and `case show`."""
    findings = [
        {"theme": f.theme, "theme_label": labels.get(f.theme, f.theme), "finding": f.finding,
         "authorised": f.authorised_at is not None}
        for f in _current_findings(session, case_id)
    ]
    actions = [
        action_summary(a, labels, today)
        for a in session.scalars(_ACTIONS, {"case_id": case_id})
    ]
    return {"findings": findings, "actions": actions}


def action_summary(a: LearningAction, labels: dict[str, str], today: date) -> dict[str, Any]:
    status = a.status
    if status == "open" and a.due_date < today:
        status = "overdue"
    return {
        "id": a.id, "theme": a.theme, "theme_label": labels.get(a.theme, a.theme),
        "what": a.description, "owner_service": a.owner_service,
        "due": a.due_date.isoformat(), "status": status, "evidence": a.evidence,
        "completed_at": a.completed_at.isoformat() if a.completed_at else None,
        "authorised": a.authorised_at is not None,
    }
