"""The statutory month of a subject access request."""

from __future__ import annotations

from datetime import date

import pytest

from concerns.workflows.calendar import WorkingCalendar

CAL = WorkingCalendar((), country="GB", subdivision="ENG", timezone="Europe/London")


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2027, 3, 15), date(2027, 4, 15)),  # the same day of the next month
        (date(2026, 11, 30), date(2026, 12, 30)),
        (date(2027, 1, 31), date(2027, 3, 1)),  # no 31 Feb: 28 Feb, a Sunday, so Monday
        (date(2028, 1, 31), date(2028, 2, 29)),  # a leap year's last day of February
        (date(2026, 12, 15), date(2027, 1, 15)),  # across the year end
        (date(2026, 11, 25), date(2026, 12, 29)),  # Christmas, Boxing Day (Mon 28th), weekend
    ],
)
def test_one_calendar_month_is_the_same_day_next_month_or_the_next_working_day(
    received: date, due: date
) -> None:
    assert CAL.one_calendar_month(received) == due
