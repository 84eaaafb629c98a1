"""Shared fixtures: application contexts on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from concerns.db.engine import make_engine, migrate
from concerns.db.models import Base
from concerns.workflows.context import AppContext
from concerns.workflows.settings import Settings, load_settings
from tests.services import create_pg_database, drop_pg_database, postgres_reachable, unavailable

REPO = Path(__file__).resolve().parent.parent


def make_settings(url: str, base_dir: Path) -> Settings:
    """The shipped config.toml's settings, pointed at URL and at a scratch folder."""
    shipped = load_settings(REPO / "config.toml")
    # Sign-in tests give a second factor only where they test it (test_second_factor).
    return replace(shipped, database_url=url, base_dir=base_dir,
                   web=replace(shipped.web, second_factor=False))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One throwaway PostgreSQL database per test run, migrated once."""
    reason = postgres_reachable()
    if reason:
        unavailable(reason)
    url = create_pg_database()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
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
def sqlite_ctx(tmp_path: Path) -> Iterator[AppContext]:
    ctx = _sqlite_ctx(tmp_path)
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def pg_ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppContext]:
    url: str = request.getfixturevalue("pg_database")
    _truncate_all(url)
    ctx = AppContext(make_settings(url, tmp_path), make_engine(url))
    yield ctx
    ctx.engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AppContext]:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        context = _sqlite_ctx(tmp_path)
    else:
        url: str = request.getfixturevalue("pg_database")
        _truncate_all(url)
        context = AppContext(make_settings(url, tmp_path), make_engine(url))
    yield context
    context.engine.dispose()
