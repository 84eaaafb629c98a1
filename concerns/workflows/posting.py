"""Letters that go by post: what the executive assistant has to post, and recording the posting.

A letter other than the outcome is emailed at its event whenever the person gave an email
address (letters_service.make_letter); one stored without being sent was therefore made for a
person who gave only a postal address, and waits here until the assistant records it as posted.
The signed outcome letter is not handled here: its `send` event emails or posts it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, load_only

from concerns.db.models import Case, Letter
from concerns.workflows.access.need_to_know import may_read
from concerns.workflows.access.readers import ensure_may_read, is_named_in, load_actor
from concerns.workflows.audit import append_event
from concerns.workflows.cases import get_case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed, NotFound

POSTERS = frozenset({"executive_assistant"})
# The IAT manager oversees what is still waiting; only the assistant posts.
POST_QUEUE_READERS = POSTERS | {"iat_manager"}
# Sent by the `send` lifecycle event, never by `letters posted`.
SENT_BY_EVENT = "outcome"
POSTED = "letter_posted"


@dataclass(frozen=True)
class LetterToPost:
    letter_id: int
    reference: str
    state: str
    kind: str
    recipient_name: str
    made_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "letter_id": self.letter_id,
            "reference": self.reference,
            "state": self.state,
            "kind": self.kind,
            "recipient_name": self.recipient_name,
            "made_at": self.made_at.isoformat(),
        }


@dataclass(frozen=True)
class PostedLetter:
    letter_id: int
    reference: str
    kind: str
    posted_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "letter_id": self.letter_id,
            "reference": self.reference,
            "kind": self.kind,
            "posted_at": self.posted_at.isoformat(),
        }


def waiting_to_post(session: Session, case_ids: Iterable[int] | None = None) -> list[Letter]:
    """Stored letters nobody has sent yet, oldest first (all cases, or only CASE_IDS)."""
    query = (
        select(Letter)
        # A list, not the letters themselves: leave their HTML and PDF in the database.
        .options(
            load_only(
                Letter.id, Letter.case_id, Letter.kind, Letter.recipient_name, Letter.created_at
            )
        )
        .where(Letter.kind != SENT_BY_EVENT, Letter.sent_at.is_(None))
        .order_by(Letter.created_at, Letter.id)
    )
    if case_ids is not None:
        ids = list(case_ids)
        if not ids:
            return []
        query = query.where(Letter.case_id.in_(ids))
    return list(session.scalars(query))


def letters_to_post(ctx: AppContext, actor_name: str | None) -> list[LetterToPost]:
    """Letters waiting to be posted, on the cases the user may read, oldest first."""
    with ctx.read() as read:
        s = read.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & POST_QUEUE_READERS:
            raise NotAllowed("only the executive assistant or an IAT manager may see the post")
        letters = waiting_to_post(s)
        ids = sorted({x.case_id for x in letters})
        cases = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(ids)))}
        return [
            LetterToPost(
                letter_id=letter.id,
                reference=cases[letter.case_id].reference,
                state=cases[letter.case_id].state,
                kind=letter.kind,
                recipient_name=letter.recipient_name,
                made_at=letter.created_at,
            )
            for letter in letters
            if not is_named_in(s, actor, cases[letter.case_id])
        ]


def mark_posted(
    ctx: AppContext, actor_name: str | None, reference: str, letter_id: int
) -> PostedLetter:
    """Record that the executive assistant posted the case's letter LETTER_ID, once."""
    with ctx.uow() as uow:
        s = uow.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & POSTERS:
            raise NotAllowed("only the executive assistant may record a letter as posted")
        case = get_case(s, reference)
        ensure_may_read(s, actor, case)
        may_read(actor, case.state, "letters", case.reference)
        letter = s.get(Letter, letter_id)
        if letter is None or letter.case_id != case.id:
            raise NotFound(f"case {case.reference} has no letter {letter_id}")
        if letter.kind == SENT_BY_EVENT:
            raise NotAllowed(
                f"letter {letter.id} is the outcome letter: it is sent once signed, with "
                f"`concerns case act {case.reference} send --set method=post`"
            )
        if letter.sent_at is not None:
            raise NotAllowed(
                f"letter {letter.id} was already sent ({letter.sent_method or 'unknown'}) "
                f"on {letter.sent_at.date().isoformat()}"
            )
        now = ctx.now()
        # Only while still unsent: of two assistants recording it at once, the second is refused
        # (PostgreSQL re-checks the condition after the first commits; SQLite has one writer).
        done = s.execute(
            update(Letter)
            .where(Letter.id == letter.id, Letter.sent_at.is_(None))
            .values(sent_at=now, sent_method="post")
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            raise NotAllowed(f"letter {letter.id} was sent by someone else just now")
        append_event(
            s,
            case_id=case.id,
            event=POSTED,
            actor=actor.username,
            at=now,
            from_state=case.state,
            to_state=case.state,
            data={"letter_id": letter.id, "kind": letter.kind, "sha256": letter.sha256},
        )
        result = PostedLetter(letter.id, case.reference, letter.kind, now)
        uow.commit()
    return result
