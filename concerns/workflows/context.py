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
        _freeze_startup_objects()
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


_frozen = False


def _freeze_startup_objects() -> None:
    """Once per process, at its first context: what is loaded by then (modules, mapped classes,
    prebuilt statements) lives as long as the process, so it is moved out of the garbage
    collector's generations. An event makes many short-lived objects, which set off the
    collector's full passes; each walked every one of those objects (about a tenth of an
    event's CPU time)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()


def build_context(settings: Settings | None = None) -> AppContext:
    settings = settings or load_settings()
    return AppContext(settings=settings, engine=make_engine(settings.database_url))
