"""While this process holds SQLite's write lock, Python's cyclic collector waits: a full pass
took longer than the whole of an event's write transaction, and every other writer waited for
it. It is let go with the lock (commit, rollback or the connection closed), never left off, and
a collector switched off by someone else stays off."""

from __future__ import annotations

import gc

import pytest
from sqlalchemy import text

from concerns.collector import held as collector_held
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
