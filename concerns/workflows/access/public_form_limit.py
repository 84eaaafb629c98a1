"""The public form's rate limit: at most `web.public_form_per_hour` concerns accepted from one
address in a sliding hour, counted in the database so that every web process agrees.

Only accepted sends count, so a form refused for a mistake never uses up a person's allowance.
Addresses are stored keyed with the server's secret, never as typed by the network.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import PublicFormSend
from concerns.workflows.access.auth import address_key

WINDOW = timedelta(hours=1)


def may_send(sessions: sessionmaker[Session], limit: int, address: str, secret: str,
             at: datetime) -> bool:
    """Whether ADDRESS has sent fewer than LIMIT concerns in the hour before AT."""
    with sessions() as s:
        sent = s.scalar(select(func.count()).select_from(PublicFormSend).where(
            PublicFormSend.address_key == address_key(address, secret),
            PublicFormSend.at > at - WINDOW))
    return int(sent or 0) < limit


def record_send(sessions: sessionmaker[Session], address: str, secret: str,
                at: datetime) -> None:
    """Count one accepted concern from ADDRESS."""
    with sessions() as s:
        s.add(PublicFormSend(at=at, address_key=address_key(address, secret)))
        s.commit()


def forget_old(sessions: sessionmaker[Session], at: datetime) -> int:
    """Delete sends older than the window: they no longer count."""
    with sessions() as s:
        result = s.execute(delete(PublicFormSend).where(PublicFormSend.at <= at - WINDOW))
        s.commit()
    return int(getattr(result, "rowcount", 0) or 0)
