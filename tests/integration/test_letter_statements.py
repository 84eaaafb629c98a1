"""What a letter event writes inside SQLite's write lock, counted by SQLite's own trace (issue
15): an emailed letter is stored by one INSERT, already marked sent, and not updated after.
(A letter to post stays unsent for the assistant: test_letters_posting.)"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select

from concerns.db.models import Letter, Notification
from concerns.workflows.context import AppContext
from tests.factories import act, create_staff, log_concern


@pytest.fixture
def traced(sqlite_ctx: AppContext) -> Iterator[tuple[AppContext, list[str]]]:
    """The context, and the first words of each write its connections run (the rest may quote
    a person)."""
    create_staff(sqlite_ctx)
    seen: list[str] = []

    def trace(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: seen.append(" ".join(sql.split()[:3]))
            if sql.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")) else None
        )

    sqlite_ctx.engine.dispose()
    event.listen(sqlite_ctx.engine, "connect", trace)
    yield sqlite_ctx, seen
    event.remove(sqlite_ctx.engine, "connect", trace)


def test_an_emailed_acknowledgement_is_stored_by_one_insert_already_marked_sent(
    traced: tuple[AppContext, list[str]],
) -> None:
    ctx, seen = traced
    reference = log_concern(ctx, name="Ada Lovelace", email="ada@example.com")
    seen.clear()
    act(ctx, reference, "acknowledge", "alex")
    assert seen.count("INSERT INTO letters") == 1, seen
    assert not any(s.startswith("UPDATE letters") for s in seen), seen
    with ctx.uow() as uow:
        letter = uow.session.scalars(select(Letter)).one()
        assert (letter.sent_method, letter.sent_at is not None) == ("email", True)
        email = uow.session.scalars(
            select(Notification).where(Notification.letter_id == letter.id)).one()
        assert email.to_address == "ada@example.com" and email.status == "pending"

