"""Reading a case for the service layer: lookup, references and the facts the guards need."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from concerns.db.models import Case, Escalation, ReferenceCounter, User
from concerns.workflows.errors import NotFound
from concerns.workflows.machine import CaseFacts


def get_case(session: Session, reference: str) -> Case:
    case = session.scalars(select(Case).where(Case.reference == reference.strip().upper())).first()
    if case is None:
        raise NotFound(f"no case with reference {reference.strip()[:40]}")
    return case


def next_reference(session: Session, prefix: str, at: datetime) -> str:
    """CAC-2026-0001: numbered per year, atomically, on SQLite and PostgreSQL alike."""
    year = at.year
    table = ReferenceCounter.__table__
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(table)
        .values(year=year, last=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last": table.c.last + 1})
        .returning(table.c.last)
    )
    number = session.execute(stmt).scalar_one()
    return f"{prefix}-{year}-{number:04d}"


def _username(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return session.scalar(select(User.username).where(User.id == user_id))


def case_facts(session: Session, case: Case, values: dict[str, Any] | None = None) -> CaseFacts:
    values = values or {}
    open_rows = session.execute(
        select(Escalation.severity, func.count())
        .where(Escalation.case_id == case.id, Escalation.resolved_at.is_(None))
        .group_by(Escalation.severity)
    ).all()
    open_by_severity = {severity: int(count) for severity, count in open_rows}
    summary = values.get("summary") or case.outcome_summary
    wording = values.get("wording") or case.outcome_wording
    return CaseFacts(
        state=case.state,
        reviewer=_username(session, case.reviewer_id),
        complaints_meets_criteria=case.complaints_meets_criteria,
        legal_proceedings=case.legal_proceedings,
        has_outcome=bool(summary and wording),
        submitted_by=_username(session, case.submitted_by_id),
        open_safeguarding_escalations=open_by_severity.get("safeguarding", 0),
        open_escalations=sum(open_by_severity.values()),
        return_state=case.return_state,
        staff_named_keys=frozenset(case.staff_named_keys or []),
    )
