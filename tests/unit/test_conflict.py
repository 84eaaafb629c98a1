"""The conflict-of-interest check alone (pure): every way of writing a name in the table."""

from __future__ import annotations

import pytest

from concerns.triage.conflict import check, split_names
from concerns.workflows.access.users import DEMO_USERS
from tests.conflict_table import NAME_TABLE, Written


@pytest.mark.parametrize("written", NAME_TABLE, ids=[w.why for w in NAME_TABLE])
def test_each_way_of_writing_a_name_excludes_flags_or_leaves_alone(written: Written) -> None:
    found = {}
    for username, _roles, full_name in DEMO_USERS:
        match = check(full_name, written.staff_named, [written.concern])
        if match is not None:
            found[username] = match.finding
    assert found == written.expected


def test_the_table_has_at_least_twenty_ways_of_writing_a_name() -> None:
    assert len(NAME_TABLE) >= 20
    assert {"excluded", "flagged"} <= {f for w in NAME_TABLE for f in w.expected.values()}
    assert any(not w.expected for w in NAME_TABLE)


def test_a_list_is_split_into_names_and_a_reversed_name_is_kept_whole() -> None:
    assert split_names("Alex Morgan and Sam Patel") == ["Alex Morgan", "Sam Patel"]
    assert split_names("Morgan, Alex (IAT officer)") == ["Morgan, Alex"]
    assert split_names("Alex Morgan, Sam Patel; Jo Bloggs") == [
        "Alex Morgan", "Sam Patel", "Jo Bloggs"]


def test_the_match_says_where_the_name_was_found() -> None:
    in_text = check("Alex Morgan", [], ["I rang Alex Morgan."])
    assert in_text is not None and in_text.source == "concern_text"
    assert in_text.mention == "Alex Morgan"
    in_list = check("Alex Morgan", ["Sam Patel", "A. Morgan"], [])
    assert in_list is not None and (in_list.source, in_list.mention) == ("staff_named", "A. Morgan")


def test_a_staff_member_without_a_surname_on_record_is_never_matched() -> None:
    assert check("Administrator", ["Administrator"], ["Administrator"]) is None
