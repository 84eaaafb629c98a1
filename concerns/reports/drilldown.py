"""The cases behind each figure of the scrutiny report: the same conditions as the counts in
reports/scrutiny.py (shared from there), as a SELECT of case ids.

Figures that take a KEY: `newly_overdue`, `late` and `extended` a clock; `theme` and the
`actions_…` figures a theme; `escalations` a severity.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, distinct, func, select

from concerns.db.models import (
    Case,
    CaseChild,
    Contact,
    Deadline,
    Escalation,
    LearningAction,
    ReviewFinding,
)
from concerns.reports.scrutiny import (
    Period,
    actions_in,
    findings_in,
    met_in,
    newly_overdue_where,
    outside,
    overdue_case,
    within,
)

FIGURES = (
    "contacts", "cases", "respondents", "respondents_with_multiple_contacts", "children",
    "children_with_contacts_from_several_people", "outside_framework",
    "learning_reviews_completed", "open_cases", "overdue", "newly_overdue", "late", "extended",
    "theme", "actions_open", "actions_overdue", "actions_completed", "escalations",
)


def _keyed(column: Any, key: str | None) -> list[ColumnElement[bool]]:
    return [column == key] if key else []


def case_ids(figure: str, key: str | None, period: Period, today: date, since: date
             ) -> Select[tuple[int]]:
    contact_in = within(Contact.received_at, period)
    case_in = within(Case.received_at, period)
    if figure in ("contacts", "respondents", "children"):
        return select(distinct(Contact.case_id)).where(*contact_in)
    if figure == "respondents_with_multiple_contacts":
        repeaters = (select(Contact.respondent_id).where(*contact_in)
                     .group_by(Contact.respondent_id).having(func.count() > 1))
        return select(distinct(Contact.case_id)).where(
            *contact_in, Contact.respondent_id.in_(repeaters))
    if figure == "children_with_contacts_from_several_people":
        shared = (select(CaseChild.child_id).join(Contact, Contact.case_id == CaseChild.case_id)
                  .where(*contact_in).group_by(CaseChild.child_id)
                  .having(func.count(distinct(Contact.respondent_id)) > 1))
        return (select(distinct(Contact.case_id))
                .join(CaseChild, CaseChild.case_id == Contact.case_id)
                .where(*contact_in, CaseChild.child_id.in_(shared)))
    if figure == "cases":
        return select(Case.id).where(*case_in)
    if figure == "outside_framework":
        return select(Case.id).where(*case_in, outside())
    if figure == "learning_reviews_completed":
        return select(Case.id).where(*case_in, Case.learning_review_completed.is_(True))
    if figure == "open_cases":
        return select(Case.id).where(*case_in, Case.state != "closed")
    if figure == "overdue":
        return (select(distinct(Deadline.case_id)).join(Case, Case.id == Deadline.case_id)
                .where(*case_in, *overdue_case(today)))
    if figure == "newly_overdue":
        return select(distinct(Deadline.case_id)).where(
            *newly_overdue_where(today, since), *_keyed(Deadline.clock, key))
    if figure == "late":
        return select(distinct(Deadline.case_id)).where(
            *met_in(period), Deadline.met_on > Deadline.due_date, *_keyed(Deadline.clock, key))
    if figure == "extended":
        return select(distinct(Deadline.case_id)).where(
            *met_in(period), Deadline.extended_days > 0, *_keyed(Deadline.clock, key))
    if figure == "theme":
        return select(distinct(ReviewFinding.case_id)).where(
            *findings_in(period), *_keyed(ReviewFinding.theme, key))
    if figure.startswith("actions_"):
        status = {"actions_open": [LearningAction.status == "open"],
                  "actions_overdue": [LearningAction.status == "open",
                                      LearningAction.due_date < today],
                  "actions_completed": [LearningAction.status == "completed"]}[figure]
        return select(distinct(LearningAction.case_id)).where(
            *actions_in(period), *status, *_keyed(LearningAction.theme, key))
    if figure == "escalations":
        return select(distinct(Escalation.case_id)).where(
            *within(Escalation.raised_at, period), *_keyed(Escalation.severity, key))
    raise LookupError(figure)
