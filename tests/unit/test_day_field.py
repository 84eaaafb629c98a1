"""Every date a person types (a command's option, a page's input, an action's due date) is read
by one function, so the same mistake gets the same words everywhere, naming the field."""

from __future__ import annotations

from datetime import date

import pytest

from concerns.workflows.errors import BadInput, day_field


def test_a_date_is_read_and_a_blank_one_is_none() -> None:
    assert day_field(" 2026-12-03 ", "--until") == date(2026, 12, 3)
    assert day_field("", "--until") is None and day_field(None, "from") is None


@pytest.mark.parametrize(("typed", "problem"), [
    ("3/12/2026", "expected a date as YYYY-MM-DD"),
    ("2026-02-30", "not a real date: the day must be 01 to the last day of the month"),
    ("2026-13-01", "not a real date: the month must be 01 to 12"),
])
def test_a_wrong_date_names_the_field_and_the_problem(typed: str, problem: str) -> None:
    with pytest.raises(BadInput) as refused:
        day_field(typed, "action.1.due")
    assert (refused.value.field, refused.value.problem) == ("action.1.due", problem)


def test_a_required_date_left_blank_is_refused_not_passed_on() -> None:
    with pytest.raises(BadInput, match=r"--due: required"):
        day_field("  ", "--due", required=True)
