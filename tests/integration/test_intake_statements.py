"""How many statements one intake sends: a count, not a timing (issue 15). Each statement SQLAlchemy
runs costs more than the SQL itself, so a change that reads back what the intake just wrote, or
runs a query per row, shows here before any bench notices it.

Counted by SQLite's own trace of what the driver runs, so statements run on the driver's cursor
(db.prebuilt) are counted too (the `traced` fixture, tests/conftest.py); SQLite only, as the bench
that asks for the speed runs on it.
"""

from __future__ import annotations

from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from tests.factories import log_concern


def test_a_new_concern_is_stored_and_logged_in_thirteen_statements(
    traced: tuple[AppContext, list[str]],
) -> None:
    ctx, seen = traced
    log_concern(ctx, name="Ada Lovelace", email="ada@example.com")
    seen.clear()
    log_concern(ctx, name="Grace Hopper", email="grace@example.com", phone="07700 900001",
                postcode="HR4 0LE", concern="Nobody at the council wrote down why.")
    # Storing the raw bytes: the actor, the same bytes stored before, the INSERT. Logging: the
    # raw row (with the audit chain's head), the person's candidates, then the person, the
    # reference, the case, its clock, the contact, the staff for the conflict check, the raw
    # row's status and the audit row.
    assert len(seen) <= 13, seen
    # Nothing the intake just wrote is read back: the concern's text is in hand.
    assert not any(s.startswith("SELECT contacts.concern") for s in seen), seen
    assert not any(s.startswith("SELECT events.hash") for s in seen), seen
    with ctx.uow() as uow:
        assert verify_chain(uow.session).broken_at is None


def test_a_repeat_contact_is_logged_on_the_open_case_without_reading_the_chain_twice(
    traced: tuple[AppContext, list[str]],
) -> None:
    ctx, seen = traced
    first = log_concern(ctx, name="Ada Lovelace", email="ada@example.com")
    seen.clear()
    again = log_concern(ctx, name="ADA LOVELACE", email="Ada@Example.com",
                        concern="I wrote before and nobody answered.")
    assert again == first
    # After the three that store the raw bytes: the raw row (with the chain's head), the
    # candidates, the person, the open case, the contact, the case's new version, its
    # contacts' text, the staff, the raw row's status and the audit row.
    assert len(seen) <= 13, seen
    assert not any(s.startswith("SELECT events.hash") for s in seen), seen
    with ctx.uow() as uow:
        assert verify_chain(uow.session).broken_at is None
