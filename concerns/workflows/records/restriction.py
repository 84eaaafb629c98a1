"""Restriction of processing (UK GDPR art. 18, and objection, art. 21): the person's record is
kept but not used or shown beyond the information officer and the IAT manager
(RECORDS_OFFICERS) until the restriction is lifted.

`access.readers.ensure_may_read` refuses every other member of staff the person's cases (so no
event can be fired on them either), and the case lists leave them out (`hidden_by_restriction`).
Restricting and lifting are audited on each of the person's cases, the reason as the note (so
anonymising a case erases it with the rest of its trail).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from concerns.db.models import Case, Respondent
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed, NotFound
from concerns.workflows.machine import RECORDS_OFFICERS, Actor
from concerns.workflows.records.common import checked_reason, records_officer


def hidden_by_restriction(actor: Actor, case: Case) -> bool:
    """Whether ACTOR may not see CASE because its person's record is restricted: for lists that
    loaded the case with its person (no query; a scan of every case for the few restricted ones
    costs more than the rest of a queue)."""
    return restriction_hides(actor, case.respondent.restricted_at)


def restriction_hides(actor: Actor, restricted_at: datetime | None) -> bool:
    """The same rule for a list that read the person's `restricted_at` as a plain column."""
    return restricted_at is not None and not actor.roles & RECORDS_OFFICERS


def set_restriction(
    ctx: AppContext, actor_name: str | None, person_id: int, restricted: bool, reason: str
) -> dict[str, Any]:
    """Restrict (or lift the restriction on) the person's record, with a reason."""
    reason = checked_reason(reason, "why the record is restricted, or no longer")
    with ctx.uow() as uow:
        s = uow.session
        actor = records_officer(s, actor_name, "restricting a record")
        person = s.get(Respondent, person_id)
        if person is None or person.merged_into_id is not None:
            raise NotFound(f"no person with id {person_id}")
        if (person.restricted_at is not None) == restricted:
            raise NotAllowed(f"person {person_id}: "
                             + ("already restricted" if restricted else "not restricted"))
        at = ctx.now()
        person.restricted_at = at if restricted else None
        cases = s.scalars(select(Case).where(Case.respondent_id == person.id)
                          .order_by(Case.id)).all()
        event = "person_restricted" if restricted else "restriction_lifted"
        for case in cases:
            append_event(s, case_id=case.id, event=event, actor=actor, at=at,
                         from_state=case.state, to_state=case.state,
                         data={"person": person.id}, note=reason)
        result = {"person": person.id, "restricted": restricted,
                  "cases": [c.reference for c in cases]}
        uow.commit()
    return result
