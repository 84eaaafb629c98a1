"""What only reads never takes SQLite's write lock: a report, a list or a form's choices run
while another writer holds the lock (an event, a public form being stored, a reminder sweep),
and none of them makes that writer, or any other, wait. Each read here is a use case that the
staff pages and the `concerns` command call; before, each ran in a write transaction, and the
scrutiny report over a large register held every writer off for its whole run."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from concerns.db.engine import sqlite_path
from concerns.workflows import lifecycle, outbox, people, posting, queries
from concerns.workflows.access import conflicts, users
from concerns.workflows.admin import verify_audit
from concerns.workflows.context import AppContext
from concerns.workflows.intake import register_import, submissions
from concerns.workflows.learning import actions, scrutiny_service
from concerns.workflows.records import retention
from tests.factories import act, create_staff, log_concern

# Long enough for a read on a slow machine; far shorter than the 30 s a writer would wait.
PATIENCE_S = 10

READS: dict[str, Callable[[AppContext, str], Any]] = {
    "scrutiny report": lambda ctx, ref: scrutiny_service.scrutiny_report(ctx, "morgan"),
    "cases behind a figure": lambda ctx, ref: scrutiny_service.figure_cases(
        ctx, "morgan", "cases"),
    "audit chain check": lambda ctx, ref: verify_audit(ctx, "audrey"),
    "events on a case": lambda ctx, ref: queries.events_for(ctx, "alex", ref),
    "event form choices": lambda ctx, ref: lifecycle.form_choices(ctx, "morgan", ref),
    "reviewers": lambda ctx, ref: lifecycle.reviewers(ctx, "morgan", ref),
    "letters to post": lambda ctx, ref: posting.letters_to_post(ctx, "erin"),
    "possible matches": lambda ctx, ref: people.list_flags(ctx, "alex"),
    "outbox": lambda ctx, ref: outbox.outbox_status(ctx, "admin"),
    "conflicts of interest": lambda ctx, ref: conflicts.list_conflicts(ctx, "morgan"),
    "staff accounts": lambda ctx, ref: users.list_users(ctx, "admin"),
    "learning actions": lambda ctx, ref: actions.list_actions(ctx, "morgan"),
    "retention review": lambda ctx, ref: retention.list_schedule(ctx, "priya"),
    "quarantine": lambda ctx, ref: submissions.list_quarantine(ctx, "alex"),
    "imported rows to check": lambda ctx, ref: register_import.rows_to_check(ctx, "morgan"),
}


@pytest.fixture
def register(sqlite_ctx: AppContext) -> str:
    create_staff(sqlite_ctx)
    reference = log_concern(sqlite_ctx)
    act(sqlite_ctx, reference, "acknowledge", "alex")
    return reference


@pytest.fixture
def lock_held_elsewhere(sqlite_ctx: AppContext) -> Iterator[None]:
    """Another process's writer in the middle of its transaction: SQLite's write lock held."""
    path = sqlite_path(sqlite_ctx.engine)
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize("name", sorted(READS))
def test_a_read_runs_while_another_writer_holds_the_write_lock(
    sqlite_ctx: AppContext, register: str, lock_held_elsewhere: None, name: str
) -> None:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(READS[name](sqlite_ctx, register))
        except Exception as exc:  # reported below, by the main thread
            outcome.append(exc)

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    reader.join(PATIENCE_S)

    assert not reader.is_alive(), f"{name} waited for the write lock"
    assert outcome and not isinstance(outcome[0], Exception), outcome


def test_a_write_still_waits_for_the_lock(
    sqlite_ctx: AppContext, register: str
) -> None:
    # The fixture's lock is real: a use case that writes does wait for it (and then goes on).
    path = sqlite_path(sqlite_ctx.engine)
    assert path is not None
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    done = threading.Event()

    def write() -> None:
        act(sqlite_ctx, register, "record_legal_triage", "lee", proceedings="none")
        done.set()

    thread = threading.Thread(target=write, daemon=True)
    try:
        thread.start()
        assert not done.wait(1.0)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.wait(PATIENCE_S)
