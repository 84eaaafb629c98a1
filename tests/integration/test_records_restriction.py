"""A restricted record is kept but shown only to the information officer and the IAT manager."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from concerns.db.models import Case, Event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.queries import list_cases, show_case
from concerns.workflows.records.restriction import set_restriction
from tests.factories import create_staff, log_concern


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def test_restriction_hides_the_persons_cases_from_other_staff_until_it_is_lifted(
    staffed: AppContext,
) -> None:
    ref = log_concern(staffed, name="Wilhelmina Strand", email="w.strand@example.org")
    other = log_concern(staffed)
    with staffed.uow() as uow:
        person = uow.session.scalars(select(Case.respondent_id).where(
            Case.reference == ref)).one()
    done = set_restriction(staffed, "priya", person, True, "She objects to the processing")
    assert done == {"person": person, "restricted": True, "cases": [ref]}

    for user in ("alex", "dana", "lee"):
        with pytest.raises(NotAllowed, match="you cannot open this case"):
            show_case(staffed, user, ref)
        listed = [c["reference"] for c in list_cases(staffed, user)]
        # Legal and the director list no newly logged case anyway (need to know).
        assert listed == ([other] if user == "alex" else [])
    with pytest.raises(NotAllowed, match="you cannot open this case"):
        fire_event(staffed, ref, "acknowledge", "alex", {}, None)
    for user in ("priya", "morgan"):
        assert show_case(staffed, user, ref)["reference"] == ref
    # The information officer's case list holds only cases in triage (need to know); her
    # records work has its own lists.
    assert ref in [c["reference"] for c in list_cases(staffed, "morgan")]

    with pytest.raises(NotAllowed, match="already restricted"):
        set_restriction(staffed, "morgan", person, True, "Again")
    with pytest.raises(NotAllowed, match="information_officer"):
        set_restriction(staffed, "alex", person, False, "Lift it")
    with pytest.raises(BadInput, match="reason: required"):
        set_restriction(staffed, "priya", person, False, "")
    set_restriction(staffed, "morgan", person, False, "Objection withdrawn in writing")
    assert show_case(staffed, "alex", ref)["reference"] == ref
    with staffed.uow() as uow:
        trail = uow.session.scalars(select(Event).where(
            Event.event.in_(("person_restricted", "restriction_lifted"))).order_by(Event.id)).all()
        assert [(e.event, e.actor, e.note) for e in trail] == [
            ("person_restricted", "priya", "She objects to the processing"),
            ("restriction_lifted", "morgan", "Objection withdrawn in writing")]
