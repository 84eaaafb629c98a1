"""The old hard lock-out's columns (`users.failed_logins`, `users.locked_until`) are dropped on
SQLite (batch mode rebuilds the table) and on PostgreSQL, keeping every account; `unlock` still
means something: it forgets the account's throttled failures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, func, inspect, select, text

from concerns.db.engine import alembic_config, create_database_if_missing, make_engine
from concerns.db.models import SignInFailure
from concerns.workflows.access.users import unlock_user
from concerns.workflows.context import AppContext
from tests.factories import create_staff
from tests.integration.test_web_auth import PASSWORD, attempt
from tests.services import create_pg_database, drop_pg_database, postgres_reachable, unavailable

BEFORE = "i12_letter_previews"


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        made = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        create_database_if_missing(made)
        yield made
        made.dispose()
        return
    reason = postgres_reachable()
    if reason:
        unavailable(reason)
    url = create_pg_database("concerns_lockout")
    made = make_engine(url)
    yield made
    made.dispose()
    drop_pg_database(url)


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in inspect(engine).get_columns("users")}


def test_the_lockout_columns_go_and_the_accounts_stay(engine: Engine) -> None:
    config = alembic_config(engine)
    command.upgrade(config, BEFORE)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (username, full_name, email, name_key, active, failed_logins,"
            " locked_until, created_at, recovery_codes)"
            " VALUES ('lee', 'Lee Evans', '', 'evans lee', :t, 5, :at, :at, '[]')"),
            {"t": True, "at": "2026-11-02 10:00:00"})
        # What refers to the account must survive the table's rebuild on SQLite: a role (its
        # key cascades on delete) and a stored submission (its key does not).
        conn.execute(text("INSERT INTO user_roles (user_id, role) SELECT id, 'iat_officer'"
                          " FROM users"))
        conn.execute(text(
            "INSERT INTO raw_submissions (channel, source, sha256, content, size, received_at,"
            " status, submitted_by_id) SELECT 'form', 'a.json', 'ab', :b, 1, :at, 'logged', id"
            " FROM users"), {"b": b"{", "at": "2026-11-02 10:00:00"})
    assert {"failed_logins", "locked_until"} <= _columns(engine)
    command.upgrade(config, "head")
    assert not {"failed_logins", "locked_until"} & _columns(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username, full_name FROM users")).all() == [
            ("lee", "Lee Evans")]
        assert conn.execute(text("SELECT role FROM user_roles")).scalars().all() == [
            "iat_officer"]
        assert conn.execute(text("SELECT count(*) FROM raw_submissions")).scalar() == 1
    command.downgrade(config, BEFORE)
    assert {"failed_logins", "locked_until"} <= _columns(engine)
    command.upgrade(config, "head")


def test_unlock_forgets_the_accounts_failures_and_only_its(sqlite_ctx: AppContext) -> None:
    ctx = sqlite_ctx
    create_staff(ctx, PASSWORD)
    for username in ("lee", "lee", "lee", "sam"):
        attempt(ctx, username, "wrong password", "192.0.2.9")
    unlock_user(ctx, "admin", "lee", "Lee phoned the service desk")
    with ctx.sessions() as s:
        left = s.scalar(select(func.count()).select_from(SignInFailure))
    assert left == 1  # sam's failure stays
