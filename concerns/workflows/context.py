"""What every use case runs with: settings, the database, the calendar and the clock."""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.engine import make_engine, migrate, read_only, session_factory
from concerns.db.uow import ReadOnlyWork, UnitOfWork
from concerns.workflows.calendar import WorkingCalendar
from concerns.workflows.settings import Settings, load_settings


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session] = field(init=False)
    # Sessions whose transactions only read: on SQLite they never take the write lock.
    read_sessions: sessionmaker[Session] = field(init=False)
    calendar: WorkingCalendar = field(init=False)

    def __post_init__(self) -> None:
        _tune_collector()
        self.sessions = session_factory(self.engine)
        self.read_sessions = session_factory(read_only(self.engine))
        cal = self.settings.calendar
        self.calendar = WorkingCalendar(
            cal.closure_days,
            country=cal.country,
            subdivision=cal.subdivision,
            timezone=cal.timezone,
        )

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def read(self) -> ReadOnlyWork:
        """A transaction that only reads (a consistent snapshot, never the write lock)."""
        return ReadOnlyWork(self.read_sessions)

    @staticmethod
    def now() -> datetime:
        # Read through datetime.now so freezegun can move time in tests.
        return datetime.now(UTC)

    def migrate(self) -> None:
        migrate(self.engine)

    def warm_up(self) -> None:
        """Load now what a command loads only when it first needs it (the modules that act on
        events, the bank holidays, the PDF engine), for a server about to take requests: its
        first public form or letter then waits no longer than the next one."""
        from concerns.letters import pdf
        from concerns.workflows import hooks

        hooks.load_modules()
        today = self.calendar.local_date(self.now())
        self.calendar.is_working_day(today)
        self.calendar.is_working_day(today.replace(year=today.year + 1, day=1))
        pdf.warm_up()


_tuned = False

# Allocations between the collector's young passes (Python's default is 700).
YOUNG_PASS_EVERY = 7000


def _tune_collector() -> None:
    """Once per process, at its first context: an event makes thousands of short-lived objects
    (ORM states, rows, parameters), so at Python's default the collector ran several young
    passes per event and, every hundredth, a full pass over every object loaded. Ten times
    fewer passes, the same garbage collected (about a tenth of an event's CPU time). Freezing
    the loaded objects instead (gc.freeze) saved as much but set off one full pass of 75 ms
    inside a write transaction once WeasyPrint had loaded."""
    global _tuned
    if not _tuned:
        _tuned = True
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_PASS_EVERY, middle, old)


def build_context(settings: Settings | None = None) -> AppContext:
    settings = settings or load_settings()
    return AppContext(settings=settings, engine=make_engine(settings.database_url))
