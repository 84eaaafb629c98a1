"""What a letter event writes inside SQLite's write lock, counted by SQLite's own trace (the
`traced` fixture, tests/conftest.py; issue 15): an emailed letter is stored by one INSERT,
already marked sent, and not updated after. (A letter to post stays unsent for the assistant:
test_letters_posting.)"""

from __future__ import annotations

from sqlalchemy import select

from concerns.db.models import Letter, Notification
from concerns.workflows.context import AppContext
from tests.factories import act, log_concern


def test_an_emailed_acknowledgement_is_stored_by_one_insert_already_marked_sent(
    traced: tuple[AppContext, list[str]],
) -> None:
    ctx, seen = traced
    reference = log_concern(ctx, name="Ada Lovelace", email="ada@example.com")
    seen.clear()
    act(ctx, reference, "acknowledge", "alex")
    assert sum(s.startswith("INSERT INTO letters") for s in seen) == 1, seen
    assert not any(s.startswith("UPDATE letters") for s in seen), seen
    with ctx.uow() as uow:
        letter = uow.session.scalars(select(Letter)).one()
        assert (letter.sent_method, letter.sent_at is not None) == ("email", True)
        email = uow.session.scalars(
            select(Notification).where(Notification.letter_id == letter.id)).one()
        assert email.to_address == "ada@example.com" and email.status == "pending"

