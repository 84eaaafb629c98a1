"""Real services for tests: a throwaway PostgreSQL database, skip-or-fail when one is missing.

With CONCERNS_REQUIRE_SERVICES=1 (CI), a missing service fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get(
    "CONCERNS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REQUIRE_SERVICES = os.environ.get("CONCERNS_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip with the reason printed, or fail where services are required (CI)."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def postgres_reachable() -> str | None:
    """None if the server answers, else the reason it does not."""
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return (
            f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: "
            f"{type(exc).__name__}"
        )


def create_pg_database(prefix: str = "concerns_test") -> str:
    """A new empty database; returns its URL. Drop it with drop_pg_database."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def copy_pg_database(template: str, prefix: str = "concerns_test") -> str:
    """A new database copied from TEMPLATE (which nobody may be connected to); returns its URL."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    engine.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def make_pg_template(name: str, migrate: Callable[[str], None]) -> None:
    """Database NAME, made by MIGRATE(url) unless it is there already. Processes of one run
    (pytest-xdist's workers) queue on an advisory lock, so the first makes it and the others
    find it; it is built under another name and renamed, so a crash leaves no half template."""
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(hashtext(:n))"), {"n": name})
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                 {"n": name})
            if not exists:
                building = f"{name}_building"
                conn.execute(text(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{building}"'))
                migrate(make_url(PG_ADMIN_URL).set(database=building)
                        .render_as_string(hide_password=False))
                conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": name})
    finally:
        engine.dispose()


def drop_pg_database(url: str) -> None:
    """Drop the database URL (or the database of that name) if it is there."""
    name = make_url(url).database if "://" in url else url
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )
