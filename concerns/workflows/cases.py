"""Reading a case for the service layer: lookup, references and the facts the guards need."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def case_facts(session: Session, case: Case, values: dict[str, Any] | None = None) -> CaseFacts:
    return case_facts_many(session, [case], values)[case.id]


def case_facts_many(
    session: Session, cases: Sequence[Case], values: dict[str, Any] | None = None
) -> dict[int, CaseFacts]:
    """The guards' facts for many cases in three queries, whatever their number (queues)."""
    values = values or {}
    ids = [c.id for c in cases]
    open_by_case: dict[int, dict[str, int]] = {cid: {} for cid in ids}
    if ids:
        rows = session.execute(
            select(Escalation.case_id, Escalation.severity, func.count())
            .where(Escalation.case_id.in_(ids), Escalation.resolved_at.is_(None))
            .group_by(Escalation.case_id, Escalation.severity)
        ).all()
        for case_id, severity, count in rows:
            open_by_case[case_id][severity] = int(count)
    names = usernames(session, {u for c in cases for u in (c.reviewer_id, c.submitted_by_id)})
    out: dict[int, CaseFacts] = {}
    for case in cases:
        summary = values.get("summary") or case.outcome_summary
        wording = values.get("wording") or case.outcome_wording
        open_by_severity = open_by_case[case.id]
        out[case.id] = CaseFacts(
            state=case.state,
            reviewer=names.get(case.reviewer_id) if case.reviewer_id else None,
            complaints_meets_criteria=case.complaints_meets_criteria,
            legal_proceedings=case.legal_proceedings,
            has_outcome=bool(summary and wording),
            submitted_by=names.get(case.submitted_by_id) if case.submitted_by_id else None,
            open_safeguarding_escalations=open_by_severity.get("safeguarding", 0),
            open_escalations=sum(open_by_severity.values()),
            return_state=case.return_state,
            staff_named_keys=frozenset(case.staff_named_keys or []),
        )
    return out


def usernames(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {u for u in user_ids if u is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
