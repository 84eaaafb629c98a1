"""The public form's rate limit: at most `web.public_form_per_hour` concerns accepted from one
address in a sliding hour, counted in the database so that every web process agrees.

The send is counted by `count_send` inside the transaction that stores the submission
(`intake.store_raw`): the count and the stored concern commit together or not at all, so a
concern is never stored uncounted (a crash between two transactions) nor counted unstored.
Only accepted sends count, so a form refused for a mistake never uses up a person's allowance,
and a resend of the very same bytes (stored once) is not counted again. Addresses are stored
keyed with the server's secret, never as typed by the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import PublicFormSend
from concerns.workflows.access.auth import address_key
from concerns.workflows.errors import NotAllowed

WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Sender:
    """Where a public form came from, and how many sends an hour that address may make."""

    address: str
    secret: str
    per_hour: int


class TooManySends(NotAllowed):
    """The address has sent its allowance of concerns this hour; nothing was stored."""

    http_status = 429

    def __init__(self) -> None:
        super().__init__("too many concerns sent from this connection in the last hour")


def count_send(session: Session, sender: Sender, at: datetime) -> None:
    """In the caller's transaction: TooManySends if SENDER's address has used its allowance in
    the hour before AT, else count this send (committed with the caller's work)."""
    key = address_key(sender.address, sender.secret)
    if session.get_bind().dialect.name == "postgresql":
        # Two sends from one address at once: the second waits for the first's commit, so both
        # cannot pass on the same count. (SQLite's transactions hold the write lock from BEGIN.)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": int(key[:15], 16)})
    sent = session.scalar(select(func.count()).select_from(PublicFormSend).where(
        PublicFormSend.address_key == key, PublicFormSend.at > at - WINDOW))
    if int(sent or 0) >= sender.per_hour:
        raise TooManySends()
    session.add(PublicFormSend(at=at, address_key=key))


def forget_old(sessions: sessionmaker[Session], at: datetime) -> int:
    """Delete sends older than the window: they no longer count."""
    with sessions() as s:
        result = s.execute(delete(PublicFormSend).where(PublicFormSend.at <= at - WINDOW))
        s.commit()
    return int(getattr(result, "rowcount", 0) or 0)
