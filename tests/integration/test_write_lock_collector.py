"""While this process holds SQLite's write lock, Python's cyclic collector waits: a full pass
took longer than the whole of an event's write transaction, and every other writer waited for
it. It is let go with the lock (commit, rollback or the connection closed), never left off, and
a collector switched off by someone else stays off."""

from __future__ import annotations

import gc
import sqlite3

import pytest
from sqlalchemy import text

from concerns.collector import held as collector_held
from concerns.db.engine import WriteLockConnection, sqlite_path
from concerns.workflows.context import AppContext
from tests.factories import act, create_staff, log_concern


def test_a_write_transaction_holds_the_collector_off_until_its_commit(
    sqlite_ctx: AppContext, collector_on: None
) -> None:
    with sqlite_ctx.uow() as uow:
        uow.session.execute(text("SELECT 1"))
        assert collector_held() and not gc.isenabled()
        uow.commit()
        assert not collector_held() and gc.isenabled()
    assert gc.isenabled()


def test_a_rolled_back_or_failed_write_transaction_lets_it_go(
    sqlite_ctx: AppContext, collector_on: None
) -> None:
    with sqlite_ctx.uow() as uow:
        uow.session.execute(text("SELECT 1"))
        assert not gc.isenabled()
    assert not collector_held() and gc.isenabled()
    with pytest.raises(RuntimeError), sqlite_ctx.uow() as uow:
        uow.session.execute(text("SELECT 1"))
        raise RuntimeError("a use case refused")
    assert not collector_held() and gc.isenabled()


def test_reading_leaves_the_collector_alone(
    sqlite_ctx: AppContext, collector_on: None
) -> None:
    with sqlite_ctx.read() as read:
        read.session.execute(text("SELECT 1"))
        assert not collector_held() and gc.isenabled()


def test_events_let_the_collector_go_and_one_switched_off_stays_off(
    sqlite_ctx: AppContext, collector_on: None
) -> None:
    create_staff(sqlite_ctx)
    reference = log_concern(sqlite_ctx)
    act(sqlite_ctx, reference, "acknowledge", "alex")
    assert not collector_held() and gc.isenabled()
    gc.disable()
    act(sqlite_ctx, reference, "record_legal_triage", "lee", proceedings="none")
    assert not collector_held() and not gc.isenabled()


def test_postgresql_transactions_leave_the_collector_alone(
    pg_ctx: AppContext, collector_on: None
) -> None:
    with pg_ctx.uow() as uow:
        uow.session.execute(text("SELECT 1"))
        assert not collector_held() and gc.isenabled()


def test_a_connection_back_in_the_pool_mid_transaction_is_rolled_back_and_lets_the_lock_go(
    sqlite_ctx: AppContext, collector_on: None
) -> None:
    # SQLAlchemy ends every transaction it begins; this is the net under a failure between
    # the driver and SQLAlchemy: a connection checked in with its transaction still open.
    pooled = sqlite_ctx.engine.raw_connection()
    driver = pooled.driver_connection
    assert isinstance(driver, WriteLockConnection)
    driver.execute("BEGIN IMMEDIATE")
    driver.hold_collector()
    driver.execute("CREATE TABLE left_open (x INTEGER)")

    pooled.close()

    assert not driver.in_transaction
    assert not collector_held() and gc.isenabled()
    path = sqlite_path(sqlite_ctx.engine)
    assert path is not None
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock is free: no wait at all
        tables = {row[0] for row in other.execute("SELECT name FROM sqlite_master")}
        assert "left_open" not in tables
        other.execute("ROLLBACK")
    finally:
        other.close()
