"""What every records use case checks first: the acting officer, and the reason given."""

from __future__ import annotations

from sqlalchemy.orm import Session

from concerns.workflows.access.readers import load_actor
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.machine import RECORDS_OFFICERS

MAX_REASON = 2000


def records_officer(session: Session, actor_name: str | None, what: str) -> str:
    """The acting user's name, if they are a records officer; else NotAllowed naming WHAT."""
    _, actor = load_actor(session, actor_name)
    if not actor.roles & RECORDS_OFFICERS:
        raise NotAllowed(f"{what} needs the role " + " or ".join(sorted(RECORDS_OFFICERS)))
    return actor.username


def checked_reason(reason: str | None, missing: str) -> str:
    """The reason, stripped; BadInput naming `reason` when it is empty (MISSING says what it is
    for) or too long."""
    reason = (reason or "").strip()
    if not reason:
        raise BadInput("reason", f"required: {missing}")
    if len(reason) > MAX_REASON:
        raise BadInput("reason", f"longer than {MAX_REASON} characters")
    return reason
