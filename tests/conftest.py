"""Shared fixtures: application contexts on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import event, text

from concerns.db.engine import make_engine, migrate
from concerns.db.models import Base
from concerns.workflows.context import AppContext
from concerns.workflows.settings import Settings, load_settings
from tests.factories import create_staff
from tests.services import (
    copy_pg_database,
    drop_pg_database,
    make_pg_template,
    postgres_reachable,
    unavailable,
)

REPO = Path(__file__).resolve().parent.parent


def make_settings(url: str, base_dir: Path) -> Settings:
    """The shipped config.toml's settings, pointed at URL and at a scratch folder."""
    shipped = load_settings(REPO / "config.toml")
    # Sign-in tests give a second factor only where they test it (test_second_factor).
    return replace(shipped, database_url=url, base_dir=base_dir,
                   web=replace(shipped.web, second_factor=False))


# One name per run, shared by pytest-xdist's workers (they inherit the variable from the
# controller, which sets it before starting them).
RUN = os.environ.setdefault("CONCERNS_TEST_RUN", uuid.uuid4().hex[:10])
PG_TEMPLATE = f"concerns_template_{RUN}"


def pytest_unconfigure(config: pytest.Config) -> None:
    """The controller (or the only process) drops the run's template once every worker is done."""
    if not hasattr(config, "workerinput") and not postgres_reachable():
        drop_pg_database(PG_TEMPLATE)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated, empty PostgreSQL database that tests copy (CREATE DATABASE … TEMPLATE):
    migrated once per run by whichever worker needs it first. A copy takes a tenth of a second;
    emptying a shared database with TRUNCATE took three to ten times that. Copies are dropped
    by a background thread, so a test does not wait for the server to remove its files."""
    reason = postgres_reachable()
    if reason:
        unavailable(reason)
    make_pg_template(PG_TEMPLATE, _migrate_url)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-pg") as dropper:
        _PG_DROPPER.append(dropper)
        yield PG_TEMPLATE
        _PG_DROPPER.clear()


_PG_DROPPER: list[ThreadPoolExecutor] = []


def _migrate_url(url: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()


def fresh_pg_database(request: pytest.FixtureRequest) -> str:
    """A new, migrated, empty PostgreSQL database for this test, dropped after it."""
    template: str = request.getfixturevalue("pg_template")
    url = copy_pg_database(template)
    request.addfinalizer(lambda: _drop_later(url))
    return url


def _drop_later(url: str) -> None:
    if _PG_DROPPER:
        _PG_DROPPER[0].submit(drop_pg_database, url)
    else:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def pg_database(pg_template: str) -> Iterator[str]:
    """One PostgreSQL database for a whole process, for module fixtures that empty it
    themselves (_truncate_all); a test of its own uses pg_ctx."""
    url = copy_pg_database(pg_template)
    yield url
    drop_pg_database(url)


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


_TEMPLATE_DIR = Path(tempfile.mkdtemp(prefix="concerns-template-"))
atexit.register(shutil.rmtree, _TEMPLATE_DIR, True)


def sqlite_template() -> Path:
    """A migrated, empty SQLite register, made once per test process and copied for each test
    (migrating costs seconds; a copy, milliseconds). The copy is the same file `migrate` makes."""
    template = _TEMPLATE_DIR / "migrated.db"
    if not template.exists():
        partial = _TEMPLATE_DIR / "migrating.db"
        engine = make_engine(f"sqlite:///{partial}")
        migrate(engine)
        engine.dispose()  # the last connection closing folds the WAL into the file
        partial.replace(template)
    return template


def _sqlite_ctx(tmp_path: Path) -> AppContext:
    database = tmp_path / "concerns.db"
    shutil.copyfile(sqlite_template(), database)
    url = f"sqlite:///{database}"
    return AppContext(make_settings(url, tmp_path), make_engine(url))


@pytest.fixture
def collector_on() -> Iterator[None]:
    """Python's collector on for the test, as it was after."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


@pytest.fixture
def sqlite_ctx(tmp_path: Path) -> Iterator[AppContext]:
    ctx = _sqlite_ctx(tmp_path)
    yield ctx
    ctx.engine.dispose()


# The statements a count of SQL looks at (not BEGIN, COMMIT or PRAGMA).
TRACED = ("SELECT", "INSERT", "UPDATE", "DELETE")


@pytest.fixture
def traced(sqlite_ctx: AppContext) -> Iterator[tuple[AppContext, list[str]]]:
    """A SQLite context with the demo staff, and the statements its connections run from then
    on, counted by SQLite's own trace (so statements run on the driver's cursor, db.prebuilt,
    count too): each one's first four words only, as the rest may quote a person."""
    create_staff(sqlite_ctx)
    seen: list[str] = []

    def trace(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: seen.append(" ".join(sql.split()[:4]))
            if sql.lstrip().upper().startswith(TRACED) else None
        )

    sqlite_ctx.engine.dispose()
    event.listen(sqlite_ctx.engine, "connect", trace)
    yield sqlite_ctx, seen
    event.remove(sqlite_ctx.engine, "connect", trace)


@pytest.fixture
def pg_ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppContext]:
    url = fresh_pg_database(request)
    ctx = AppContext(make_settings(url, tmp_path), make_engine(url))
    yield ctx
    ctx.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppContext]:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        context = _sqlite_ctx(tmp_path)
    else:
        url = fresh_pg_database(request)
        context = AppContext(make_settings(url, tmp_path), make_engine(url))
    yield context
    context.engine.dispose()
