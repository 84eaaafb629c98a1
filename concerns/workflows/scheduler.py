"""APScheduler 3 wiring: wake up every interval, sweep for due reminders, deliver the outbox.

APScheduler only wakes the work up. Its job store is in memory and private to each process (its
documentation warns never to share a job store between processes); the database decides what is
due (unique notification keys) and who delivers it (outbox claims), so any number of scheduler
processes, and web processes started with --with-scheduler, can run side by side.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from concerns.workflows import letter_previews, outbox, reminders
from concerns.workflows.access import auth, public_form_limit
from concerns.workflows.access import sessions as staff_sessions
from concerns.workflows.context import AppContext
from concerns.workflows.doctor import write_heartbeat

log = logging.getLogger("concerns.scheduler")

JOB_ID = "reminders"


@dataclass
class CycleResult:
    sweep: reminders.SweepResult = field(default_factory=reminders.SweepResult)
    delivery: outbox.DeliveryResult = field(default_factory=outbox.DeliveryResult)
    sessions_forgotten: int = 0
    previews_forgotten: int = 0
    throttle_rows_forgotten: int = 0

    def to_dict(self) -> dict[str, object]:
        return {**self.sweep.to_dict(), "delivery": self.delivery.to_dict(),
                "sessions_forgotten": self.sessions_forgotten,
                "previews_forgotten": self.previews_forgotten,
                "throttle_rows_forgotten": self.throttle_rows_forgotten}


def run_cycle(ctx: AppContext, now: datetime | None = None, *, deliver: bool = True) -> CycleResult:
    """One sweep, then one delivery run of the outbox, both at NOW; sign-in sessions long over,
    expired letter previews and sign-in failures and public-form sends past their window are
    deleted on the way (the tables would only grow otherwise)."""
    now = now or ctx.now()
    result = CycleResult(sweep=reminders.sweep(ctx, now))
    result.sessions_forgotten = staff_sessions.forget_old(ctx.sessions, ctx.settings.web, now)
    result.previews_forgotten = letter_previews.forget_expired(ctx.sessions, now)
    result.throttle_rows_forgotten = (
        auth.forget_old_failures(ctx.sessions, ctx.settings.web, now)
        + public_form_limit.forget_old(ctx.sessions, now))
    if deliver:
        result.delivery = outbox.deliver(ctx, now)
    return result


def _scheduled_cycle(ctx: AppContext) -> None:
    # A failed cycle must not stop the scheduler: the next interval tries again, and nothing
    # was half-done (each step is its own transaction).
    ok = True
    try:
        run_cycle(ctx)
    except Exception as exc:
        ok = False
        log.error("reminder cycle failed: %s", type(exc).__name__)
        log.debug("reminder cycle failure", exc_info=True)
    # `concerns doctor` reads when a scheduler last ran, and whether that cycle worked.
    try:
        write_heartbeat(ctx, ok)
    except OSError:
        log.warning("could not write the scheduler heartbeat in %s", ctx.settings.var_dir)


def configure(scheduler: BaseScheduler, ctx: AppContext, interval: int | None = None) -> None:
    seconds = interval or ctx.settings.reminders.sweep_interval_seconds
    scheduler.configure(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(1)},
        # After a pause (a laptop asleep, a busy database) one cycle catches everything up.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": seconds},
        timezone=UTC,
    )
    scheduler.add_job(
        _scheduled_cycle,
        "interval",
        seconds=seconds,
        args=[ctx],
        id=JOB_ID,
        replace_existing=True,
        next_run_time=datetime.now(UTC),  # the first cycle at once, not after one interval
    )


def start_background(ctx: AppContext, interval: int | None = None) -> BackgroundScheduler:
    """Start a scheduler in background threads (for `concerns serve --with-scheduler`)."""
    scheduler = BackgroundScheduler()
    configure(scheduler, ctx, interval)
    scheduler.start()
    log.info("scheduler started in the background")
    return scheduler


def run_blocking(ctx: AppContext, interval: int | None = None) -> None:
    """Run the scheduler in the foreground until SIGINT or SIGTERM (`concerns scheduler`)."""
    scheduler = BlockingScheduler()
    configure(scheduler, ctx, interval)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler running")
    scheduler.start()
