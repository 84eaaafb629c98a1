"""The scrutiny report as a use case: who may see it, for which period, in which version, and
the cases behind any figure (the drill-down, for staff who may read cases).

The figures come from reports/scrutiny.py. The version for publication (`publish=True`) applies
the small-number rule to every count and leaves out references and findings' words, whatever the
format; the auditor, who may not read cases, never gets references or findings either.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from concerns.db.models import Case
from concerns.reports import drilldown
from concerns.reports.scrutiny import Options, Period, scrutiny, suppressed
from concerns.workflows.access.need_to_know import listed_states
from concerns.workflows.access.readers import is_named_in, load_actor
from concerns.workflows.clocks import days_taken
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.machine import CASE_READERS, Actor
from concerns.workflows.records.restriction import hidden_by_restriction
from concerns.workflows.reminders import clock_label

REPORT_ROLES = frozenset({"auditor", "iat_officer", "iat_manager", "director"})
# Staff who may follow a figure to the cases behind it (they may read cases).
DRILL_ROLES = REPORT_ROLES & CASE_READERS


def _check_period(start: date | None, end: date | None) -> None:
    if start and end and start > end:
        raise BadInput("from", "is after --to")


def _options(ctx: AppContext, actor: Actor, since: date | None, publish: bool) -> Options:
    settings, calendar = ctx.settings, ctx.calendar

    class _Row:  # what days_taken reads of a deadline
        def __init__(self, started_on: date, explanation: dict[str, Any], working: bool) -> None:
            self.started_on, self.explanation, self.working_days = started_on, explanation, working

    def taken(started_on: date, met_at: datetime, explanation: dict[str, Any], working: bool
              ) -> tuple[date, int]:
        met_on = calendar.local_date(met_at)
        row: Any = _Row(started_on, explanation, working)
        return met_on, days_taken(calendar, row, met_on)

    return Options(
        themes=settings.learning.themes,
        clocks=tuple(
            (c.name, c.target, "working days" if c.working else "days")
            for c in settings.clocks.values()
        ),
        clock_labels={name: clock_label(name) for name in settings.clocks},
        overdue_since=since,
        details=bool(actor.roles & DRILL_ROLES) and not publish,
        taken=taken,
    )


def _report_actor(ctx: AppContext, session: Any, actor_name: str | None) -> Actor:
    _, actor = load_actor(session, actor_name)
    if not actor.roles & REPORT_ROLES:
        raise NotAllowed("the scrutiny report needs the role " + " or ".join(
            sorted(REPORT_ROLES)))
    return actor


def scrutiny_report(
    ctx: AppContext,
    actor_name: str | None,
    start: date | None = None,
    end: date | None = None,
    *,
    publish: bool = False,
    overdue_since: date | None = None,
) -> dict[str, Any]:
    """The scrutiny figures for contacts and cases received from START to END (inclusive);
    what became overdue since OVERDUE_SINCE (default: `learning.newly_overdue_days` ago)."""
    _check_period(start, end)
    with ctx.read() as read:
        actor = _report_actor(ctx, read.session, actor_name)
        today = ctx.calendar.local_date(ctx.now())
        since = overdue_since or today - timedelta(days=ctx.settings.learning.newly_overdue_days)
        if since > today:
            raise BadInput("overdue-since", "is after today")
        period = Period(start, end, ctx.settings.calendar.timezone)
        report = scrutiny(read.session, period, today, _options(ctx, actor, since, publish))
    report["produced_on"] = today.isoformat()
    if publish:
        return suppressed(report, ctx.settings.learning.publish_threshold)
    return report


def figure_cases(
    ctx: AppContext,
    actor_name: str | None,
    figure: str,
    key: str | None = None,
    start: date | None = None,
    end: date | None = None,
    overdue_since: date | None = None,
) -> dict[str, Any]:
    """The cases behind one figure of the report (same period, same rules), for staff who may
    read cases; cases they are barred from are left out and counted."""
    _check_period(start, end)
    if figure not in drilldown.FIGURES:
        raise BadInput("figure", "one of " + ", ".join(drilldown.FIGURES))
    with ctx.read() as read:
        s = read.session
        actor = _report_actor(ctx, s, actor_name)
        if not actor.roles & DRILL_ROLES:
            raise NotAllowed("the cases behind a figure need the role " + " or ".join(
                sorted(DRILL_ROLES)))
        today = ctx.calendar.local_date(ctx.now())
        since = overdue_since or today - timedelta(days=ctx.settings.learning.newly_overdue_days)
        period = Period(start, end, ctx.settings.calendar.timezone)
        ids = drilldown.case_ids(figure, key, period, today, since)
        cases = s.scalars(select(Case).where(Case.id.in_(ids)).order_by(Case.received_at)).all()
        # As in every list: only cases the reader may list in their state (need to know), not
        # a restricted person's, not one they are named in.
        listed = set(listed_states(actor))
        visible = [c for c in cases if c.state in listed and not hidden_by_restriction(actor, c)
                   and not is_named_in(s, actor, c)]
        return {
            "figure": figure, "key": key, "since": since.isoformat(),
            "period": {"from": start.isoformat() if start else None,
                       "to": end.isoformat() if end else None},
            "cases": [{"reference": c.reference, "state": c.state,
                       "received_at": c.received_at.isoformat()} for c in visible],
            "not_shown": len(cases) - len(visible),
        }
