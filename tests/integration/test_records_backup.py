"""Backup while the register is being written, restore into an empty database, and a restore
that never brings an erased person back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from concerns.db.engine import make_engine
from concerns.db.models import Case
from concerns.workflows.admin import verify_audit
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.records.anonymise import anonymise_case
from concerns.workflows.records.backup import backup, restore
from tests.conftest import make_settings
from tests.factories import create_staff, log_concern
from tests.integration.records_support import ZEBEDEE, build_register, found_in_database
from tests.services import create_pg_database, drop_pg_database


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


@pytest.fixture
def empty(ctx: AppContext, tmp_path: Path) -> Iterator[AppContext]:
    """A second, empty database of the same kind, sharing the erased-people list."""
    if ctx.engine.dialect.name == "sqlite":
        url = f"sqlite:///{tmp_path / 'elsewhere' / 'empty.db'}"
    else:
        url = create_pg_database()
    other = AppContext(replace(make_settings(url, tmp_path), records=ctx.settings.records),
                       make_engine(url))
    yield other
    other.engine.dispose()
    if ctx.engine.dialect.name != "sqlite":
        drop_pg_database(url)


def cases(ctx: AppContext) -> int:
    with ctx.uow() as uow:
        return int(uow.session.scalar(select(func.count(Case.id))) or 0)


def test_a_backup_taken_while_a_writer_runs_restores_whole_into_an_empty_database(
    staffed: AppContext, empty: AppContext, tmp_path: Path
) -> None:
    for _ in range(3):
        log_concern(staffed)
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        while not stop.is_set():
            written.append(log_concern(staffed))

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 2:
            stop.wait(0.05)
        before = len(written)
        manifest = backup(staffed, tmp_path / "register.backup")
        after = len(written)
    finally:
        stop.set()
        thread.join()
    # A consistent snapshot: every case logged before it began, none half-written after.
    assert 3 + before <= manifest["cases"] <= 3 + after

    restored = restore(empty, tmp_path / "register.backup")
    assert restored["cases"] == manifest["cases"] == cases(empty)
    report = verify_audit(empty, "audrey")
    assert report.broken_at is None and report.rows > manifest["cases"]


def test_a_restore_of_a_backup_from_before_an_anonymisation_does_not_bring_the_person_back(
    staffed: AppContext, tmp_path: Path
) -> None:
    reg = build_register(staffed, tmp_path)
    backup(staffed, tmp_path / "before.backup")
    anonymise_case(staffed, "priya", reg.first, "Erasure request")
    anonymise_case(staffed, "priya", reg.second, "Erasure request")
    with pytest.raises(NotAllowed, match=r"newer than the backup.*--force"):
        restore(staffed, tmp_path / "before.backup")

    done = restore(staffed, tmp_path / "before.backup", force=True)
    assert sorted(done["erasures_reapplied"]) == sorted([reg.first, reg.second])
    assert found_in_database(staffed.engine, ZEBEDEE) == []
    assert verify_audit(staffed, "audrey").broken_at is None
    assert cases(staffed) == 3


def test_a_file_that_is_not_a_backup_or_already_exists_is_refused(
    staffed: AppContext, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BadInput, match=r"file: notes\.txt is not a register backup"):
        restore(staffed, tmp_path / "notes.txt")
    with pytest.raises(BadInput, match=r"file: notes\.txt already exists"):
        backup(staffed, tmp_path / "notes.txt")
