"""Sign-in sessions long over are deleted by the scheduler's cycle (the table would only grow
otherwise); a live session, and one that ended only recently, stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from concerns.db.models import StaffSession
from concerns.workflows.access import sessions
from concerns.workflows.context import AppContext
from concerns.workflows.scheduler import run_cycle

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_the_cycle_forgets_sessions_over_for_a_day_and_keeps_the_rest(ctx: AppContext) -> None:
    web = ctx.settings.web
    old = NOW - timedelta(minutes=web.session_minutes) - timedelta(days=2)
    long_over = sessions.start(ctx.sessions, {}, None, old)
    live = sessions.start(ctx.sessions, {"user": 1}, None, NOW - timedelta(minutes=5))

    result = run_cycle(ctx, NOW, deliver=False)

    assert result.sessions_forgotten == 1
    assert result.to_dict()["sessions_forgotten"] == 1
    assert sessions.load(ctx.sessions, web, long_over, NOW) is None
    assert sessions.load(ctx.sessions, web, live, NOW) is not None
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(StaffSession)) == 1
