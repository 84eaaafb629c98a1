"""Letters being checked before they go, held in the database for the check page's frame.

The check page and the frame it shows are two requests, and with several web workers
(`concerns serve --workers N`) they may reach two processes: the preview is kept where every
worker sees it. A preview is the HTML the event would store, for the one member of staff and case
it was made for, for a short while. The row is keyed by the SHA-256 of an unguessable token (the
frame's address holds the token; a copy of the database hands out no previews). The event's own
transaction deletes the previews it answers; the scheduler's cycle deletes expired ones; an
anonymised case loses its own. The event re-renders the letter and refuses if it is not the one
shown (its SHA-256 is carried in the form), so a lost preview only means looking again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.orm import Session, sessionmaker

from concerns.db.models import Case, LetterPreview, User
from concerns.workflows.access.readers import readable_case
from concerns.workflows.context import AppContext

TTL = timedelta(minutes=30)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def hold(ctx: AppContext, actor_name: str | None, reference: str, event: str, html: str) -> str:
    """Keep HTML, the letter EVENT would make on case REFERENCE, for ACTOR_NAME to look at;
    returns the token that finds it again."""
    token = secrets.token_urlsafe(24)
    at = ctx.now()
    with ctx.uow() as uow:
        s = uow.session
        user, _, case = readable_case(s, actor_name, reference)
        s.add(LetterPreview(id=_key(token), case_id=case.id, user_id=user.id, event=event,
                            html=html, created_at=at, expires_at=at + TTL))
        uow.commit()
    return token


def held(ctx: AppContext, actor_name: str | None, reference: str, token: str) -> str | None:
    """The preview TOKEN finds, if it is ACTOR_NAME's, for case REFERENCE and not expired."""
    if not token or len(token) > 200:
        return None
    with ctx.read() as work:
        s = work.session
        row = s.execute(
            select(LetterPreview.html, LetterPreview.expires_at)
            .join(Case, Case.id == LetterPreview.case_id)
            .join(User, User.id == LetterPreview.user_id)
            .where(LetterPreview.id == _key(token), Case.reference == reference.upper(),
                   User.username == (actor_name or ""))
        ).first()
    if row is None or row.expires_at <= ctx.now():
        return None
    return str(row.html)


def forget_answered(session: Session, case_id: int, user_id: int, event: str) -> None:
    """The previews of EVENT on this case by this user, in the event's own transaction: the
    letter they showed is stored now (or the event came out another way)."""
    # Past the ORM (no preview is loaded in an event's session): this runs under the write lock.
    session.connection().execute(_FORGET, {"case_id": case_id, "user_id": user_id,
                                           "event": event})


_PREVIEWS = cast(Table, LetterPreview.__table__)
_FORGET = delete(_PREVIEWS).where(
    _PREVIEWS.c.case_id == bindparam("case_id"),
    _PREVIEWS.c.user_id == bindparam("user_id"),
    _PREVIEWS.c.event == bindparam("event"),
)


def forget_case(session: Session, case_id: int) -> None:
    """Every preview of one case (it is being anonymised)."""
    session.execute(delete(LetterPreview).where(LetterPreview.case_id == case_id))


def forget_expired(sessions: sessionmaker[Session], at: datetime) -> int:
    """Delete previews past their time; how many."""
    with sessions() as s:
        result = s.execute(delete(LetterPreview).where(LetterPreview.expires_at <= at))
        s.commit()
    return int(getattr(result, "rowcount", 0) or 0)
