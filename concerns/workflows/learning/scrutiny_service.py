"""The scrutiny report as a use case: who may see it, and for which period.

Aggregates only, so the auditor may see it too; the figures come from reports/scrutiny.py.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from concerns.reports.scrutiny import Period, scrutiny
from concerns.workflows.access.users import load_actor
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed

REPORT_ROLES = frozenset({"auditor", "iat_officer", "iat_manager", "director"})


def parse_day(value: str | None, field: str) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(field, "expected a date as YYYY-MM-DD") from None


def scrutiny_report(
    ctx: AppContext, actor_name: str | None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    """The scrutiny figures for contacts and cases received from START to END (inclusive)."""
    if start and end and start > end:
        raise BadInput("from", "is after --to")
    with ctx.uow() as uow:
        _, actor = load_actor(uow.session, actor_name)
        if not actor.roles & REPORT_ROLES:
            raise NotAllowed("the scrutiny report needs the role " + " or ".join(
                sorted(REPORT_ROLES)))
        today = ctx.calendar.local_date(ctx.now())
        period = Period(start, end, ctx.settings.calendar.timezone)
        return scrutiny(uow.session, period, today)
