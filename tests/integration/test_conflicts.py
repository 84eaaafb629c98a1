"""Conflicts of interest in the register (SQLite and PostgreSQL): every way of writing a name in
the table, logged through intake, keeps the named member of staff out of the case, or holds them
out until the IAT manager decides, or leaves them be."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from concerns.db.models import Case, CaseConflict, User
from concerns.workflows.access.conflicts import decide_conflict, list_conflicts
from concerns.workflows.access.users import add_user
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.queries import list_cases, show_case
from tests.conflict_table import NAME_TABLE
from tests.factories import STAFF, create_staff, log_concern

READERS = ("alex", "sam", "jo", "morgan", "priya", "lee", "dana", "erin")
# Need to know: the readers whose lists show a case in every state (the others' only in theirs).
EVERY_STATE_LISTS = ("alex", "sam", "jo", "morgan", "erin")


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def _opens(ctx: AppContext, username: str, reference: str) -> bool:
    try:
        show_case(ctx, username, reference)
    except NotAllowed as refused:
        assert str(refused).endswith("you cannot open this case")
        assert "named" not in str(refused)
        return False
    return True


def test_every_way_of_writing_a_name_is_caught_in_the_register(staffed: AppContext) -> None:
    logged = [
        (row, log_concern(staffed, staff_named=row.staff_named, concern=row.concern))
        for row in NAME_TABLE
    ]
    flags = {(c.reference, c.username) for c in list_conflicts(staffed, "morgan")}
    listed = {u: {r["reference"] for r in list_cases(staffed, u, limit=500)} for u in READERS}
    for row, reference in logged:
        for username in READERS:
            expected = row.expected.get(username)
            assert _opens(staffed, username, reference) is (expected is None), (row.why, username)
            shown = reference in listed[username]
            if username in EVERY_STATE_LISTS:
                assert shown is (expected is None), (row.why, username)
            else:  # a newly logged case is in no triager's or director's list yet
                assert not shown, (row.why, username)
            if username != "morgan":
                assert ((reference, username) in flags) is (expected == "flagged"), row.why


def test_the_manager_clears_or_confirms_a_flag_with_a_reason_and_it_is_audited(
    staffed: AppContext,
) -> None:
    cleared = log_concern(staffed, staff_named=["A. Morgan"])
    confirmed = log_concern(staffed, concern="Mr Morgan never returned my calls.")
    assert not _opens(staffed, "alex", cleared)
    with pytest.raises(BadInput, match="reason"):
        decide_conflict(staffed, "morgan", cleared, "alex", "clear", "  ")
    with pytest.raises(NotAllowed):
        decide_conflict(staffed, "sam", cleared, "alex", "clear", "not an IAT manager")
    decide_conflict(staffed, "morgan", cleared, "alex", "clear",
                    "A. Morgan is Anne Morgan at the school, not Alex")
    decide_conflict(staffed, "morgan", confirmed, "alex", "confirm", "Alex was the worker then")
    assert _opens(staffed, "alex", cleared)
    assert not _opens(staffed, "alex", confirmed)
    assert {c.reference for c in list_conflicts(staffed, "morgan")} & {cleared, confirmed} == set()
    events = [e["event"] for e in show_case(staffed, "morgan", cleared)["history"]]
    assert "conflict_cleared" in events
    with staffed.uow() as uow:
        assert verify_chain(uow.session).broken_at is None


def test_a_certain_match_cannot_be_cleared(staffed: AppContext) -> None:
    reference = log_concern(staffed, staff_named=["Alex Morgan"])
    with pytest.raises(BadInput, match="certain"):
        decide_conflict(staffed, "morgan", reference, "alex", "clear", "they asked nicely")
    assert not _opens(staffed, "alex", reference)


def test_a_manager_cannot_rule_on_their_own_flag(staffed: AppContext) -> None:
    reference = log_concern(staffed, staff_named=["Reid"])
    assert not _opens(staffed, "morgan", reference)
    with pytest.raises(NotAllowed, match="another manager"):
        decide_conflict(staffed, "morgan", reference, "morgan", "clear", "it is not me")


def test_a_manager_kept_out_of_a_case_cannot_rule_on_anyone_elses_flag_on_it(
    staffed: AppContext,
) -> None:
    reference = log_concern(staffed, staff_named=["Reid", "A. Morgan"])
    assert not _opens(staffed, "morgan", reference)
    with pytest.raises(NotAllowed, match=r"you cannot open this case$"):
        decide_conflict(staffed, "morgan", reference, "alex", "clear", "A. Morgan is not Alex")
    # Alex's flag stands, undecided (and the case is not on the barred manager's list either).
    assert not _opens(staffed, "alex", reference)
    with staffed.uow() as uow:
        status = uow.session.scalars(
            select(CaseConflict.status).join(User, User.id == CaseConflict.user_id)
            .join(Case, Case.id == CaseConflict.case_id)
            .where(Case.reference == reference, User.username == "alex")
        ).one()
    assert status == "open"
    assert reference not in {c.reference for c in list_conflicts(staffed, "morgan")}


def test_staff_who_join_later_are_checked_against_the_cases_already_held(
    staffed: AppContext,
) -> None:
    reference = log_concern(staffed, concern="Kim Oduya at the contact centre was rude to me.")
    add_user(staffed, "admin", "kim", ("iat_officer",), full_name="Kim Oduya")
    assert not _opens(staffed, "kim", reference)
    assert _opens(staffed, "alex", reference)


def test_a_later_contact_naming_someone_closes_the_case_to_them(staffed: AppContext) -> None:
    first = log_concern(staffed, email="same.person@example.com", name="Pat Example")
    assert _opens(staffed, "sam", first)
    again = log_concern(staffed, email="same.person@example.com", name="Pat Example",
                        concern="And Sam Patel has not replied either.")
    assert again == first
    assert not _opens(staffed, "sam", first)


def test_the_table_is_on_the_demo_staff() -> None:
    assert {u for u, _r, _n in STAFF} >= set(READERS)
