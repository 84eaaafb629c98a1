"""SQLite's write-ahead log is folded into the database file when a connection goes back to the
pool, every so many write transactions: never inside a transaction's commit, where every other
writer would wait for it, and never left to grow."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from concerns.db import engine as engine_module
from concerns.db.engine import sqlite_path
from concerns.workflows.context import AppContext


def _staff_in_the_file_alone(ctx: AppContext, tmp_path: Path) -> int:
    """Accounts in a copy of the database file without its log: what checkpoints put there."""
    database = sqlite_path(ctx.engine)
    assert database is not None
    copy = tmp_path / "file-alone.db"
    shutil.copyfile(database, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def _add_account(conn: object, n: int) -> None:
    conn.execute(  # type: ignore[attr-defined]
        text("INSERT INTO users (username, full_name, email, name_key, active, created_at) "
             "VALUES (:u, '', '', '', 1, '2026-11-30 09:00:00')"), {"u": f"user{n}"})


@pytest.fixture
def folded(sqlite_ctx: AppContext) -> AppContext:
    """A register whose file holds everything so far (the schema included)."""
    raw = sqlite_ctx.engine.raw_connection()
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    finally:
        raw.close()
    return sqlite_ctx


def test_every_so_many_write_transactions_the_log_goes_into_the_file_at_check_in(
    folded: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "CHECKPOINT_EVERY", 3)
    before = _staff_in_the_file_alone(folded, tmp_path)
    for n in range(2):
        with folded.engine.begin() as conn:
            _add_account(conn, n)
    assert _staff_in_the_file_alone(folded, tmp_path) == before, "only in the log so far"
    with folded.engine.connect() as conn:
        _add_account(conn, 2)
        conn.commit()
        # Committed, and the connection not yet back in the pool: the commit did not fold.
        assert _staff_in_the_file_alone(folded, tmp_path) == before
    assert _staff_in_the_file_alone(folded, tmp_path) == before + 3


def test_reading_counts_for_nothing(
    folded: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "CHECKPOINT_EVERY", 2)
    before = _staff_in_the_file_alone(folded, tmp_path)
    with folded.engine.begin() as conn:
        _add_account(conn, 1)
    for _ in range(5):
        with folded.read() as read:
            read.session.execute(text("SELECT count(*) FROM users"))
    assert _staff_in_the_file_alone(folded, tmp_path) == before
    with folded.engine.begin() as conn:
        _add_account(conn, 2)
    assert _staff_in_the_file_alone(folded, tmp_path) == before + 2


def test_sqlite_checkpoints_on_its_own_only_as_a_backstop(folded: AppContext) -> None:
    with folded.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
    assert pages == engine_module.WAL_BACKSTOP_PAGES
