"""Upgrading a register re-chains its audit trail into the erasable form, only if it verifies."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from concerns.db.engine import alembic_config, create_database_if_missing, make_engine
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from tests.conftest import make_settings


def _old_hash(prev: str, row: dict[str, object]) -> str:
    content = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                         default=str)
    return hashlib.sha256((prev + content).encode()).hexdigest()


def _old_register(path: Path, *, tamper: bool) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    create_database_if_missing(engine)  # as `concerns init` does: connecting alone makes no file
    command.upgrade(alembic_config(engine), "0001")
    prev = "0" * 64
    with engine.begin() as conn:
        for n in range(3):
            at = datetime(2026, 11, 2, 10, n, tzinfo=UTC)
            data = {"username": f"user{n}"}
            content = {"case_id": None, "event": "user_added", "actor": "admin",
                       "at": at.isoformat(timespec="microseconds"), "from": None, "to": None,
                       "data": data, "note": f"note {n}"}
            digest = _old_hash(prev, content)
            conn.execute(
                text("INSERT INTO events (event, actor, at, data, note, prev_hash, hash) "
                     "VALUES ('user_added', 'admin', :at, :data, :note, :prev, :hash)"),
                {"at": at.replace(tzinfo=None), "data": json.dumps(data),
                 "note": "edited" if tamper and n == 1 else f"note {n}",
                 "prev": prev, "hash": digest},
            )
            prev = digest
    engine.dispose()
    return url


def test_an_old_trail_that_verifies_is_rechained_and_still_verifies(tmp_path: Path) -> None:
    url = _old_register(tmp_path / "old.db", tamper=False)
    ctx = AppContext(make_settings(url, tmp_path), make_engine(url))
    ctx.migrate()
    with ctx.uow() as uow:
        report = verify_chain(uow.session)
    assert report.rows == 3 and report.broken_at is None
    ctx.engine.dispose()


def test_an_old_trail_edited_by_hand_refuses_to_upgrade(tmp_path: Path) -> None:
    url = _old_register(tmp_path / "old.db", tamper=True)
    ctx = AppContext(make_settings(url, tmp_path), make_engine(url))
    with pytest.raises(RuntimeError, match="does not verify at event 2"):
        ctx.migrate()
    ctx.engine.dispose()
