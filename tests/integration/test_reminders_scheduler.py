"""The APScheduler wiring: a background scheduler and the `concerns scheduler` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from concerns.db.models import Notification
from concerns.workflows.context import AppContext
from concerns.workflows.scheduler import JOB_ID, start_background
from tests.factories import create_staff
from tests.integration.reminder_support import seed_deadlines

REPO = Path(__file__).resolve().parents[2]


def count_notifications(ctx: AppContext) -> int:
    with ctx.uow() as uow:
        return uow.session.scalar(select(func.count()).select_from(Notification)) or 0


def wait_for(ctx: AppContext, at_least: int, limit_seconds: float = 60) -> int:
    """Poll until the scheduler has made AT_LEAST rows (a wait with a limit, not a timing)."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        found = count_notifications(ctx)
        if found >= at_least:
            return found
        time.sleep(0.2)
    return count_notifications(ctx)


def seed_overdue(ctx: AppContext, count: int) -> None:
    today = datetime.now(UTC).date()
    seed_deadlines(ctx, count, clock="review", due=today - timedelta(days=14),
                   started=today - timedelta(days=60), owner_role="iat_officer", owner="alex")


def test_a_background_scheduler_sweeps_at_once_and_keeps_its_job_in_memory(
    sqlite_ctx: AppContext,
) -> None:
    create_staff(sqlite_ctx)
    seed_overdue(sqlite_ctx, 3)
    scheduler = start_background(sqlite_ctx, interval=3600)
    try:
        job = scheduler.get_job(JOB_ID)
        assert job is not None
        assert type(scheduler._jobstores["default"]).__name__ == "MemoryJobStore"
        # Three escalations to the manager (and a digest if it is working hours now).
        assert wait_for(sqlite_ctx, 3) >= 3
    finally:
        scheduler.shutdown(wait=True)
    escalations = count_notifications(sqlite_ctx)
    assert escalations in (3, 4)


def test_the_scheduler_command_runs_until_stopped_and_exits_cleanly(
    sqlite_ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(sqlite_ctx)
    seed_overdue(sqlite_ctx, 2)
    env = {
        **os.environ,
        "CONCERNS_DATABASE_URL": sqlite_ctx.settings.database_url,
        "CONCERNS_CONFIG": str(REPO / "config.toml"),
        # The checkout's package, whatever the working directory.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "concerns.cli.start", "scheduler", "--interval", "3600"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert wait_for(sqlite_ctx, 2) >= 2
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
