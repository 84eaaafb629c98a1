"""The working-day calendar: England and Wales bank holidays, closures, Europe/London dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from concerns.workflows.calendar import WorkingCalendar
from concerns.workflows.settings import CalendarSettings

CAL = WorkingCalendar()


def test_christmas_boxing_day_and_new_year_are_not_working_days() -> None:
    # Wed 23 Dec 2026 + 3: Thu 24 (1), Fri 25 Christmas, Sat, Sun, Mon 28 Boxing Day
    # substitute, Tue 29 (2), Wed 30 (3).
    assert CAL.add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)
    # Across New Year: Wed 30 Dec 2026 + 2: Thu 31 (1), Fri 1 Jan holiday, Mon 4 Jan (2).
    assert CAL.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 4)


def test_boxing_day_on_a_saturday_gives_the_monday_as_substitute_day() -> None:
    assert date(2026, 12, 26).weekday() == 5
    assert CAL.non_working_reason(date(2026, 12, 26)) == "weekend"
    reason = CAL.non_working_reason(date(2026, 12, 28))
    assert reason is not None and "Boxing Day" in reason
    assert CAL.skipped_between(date(2026, 12, 24), date(2026, 12, 29)) == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day (observed)"),
    ]


def test_christmas_2027_on_a_weekend_moves_both_holidays_to_monday_and_tuesday() -> None:
    assert not CAL.is_working_day(date(2027, 12, 27))
    assert not CAL.is_working_day(date(2027, 12, 28))
    assert CAL.add_working_days(date(2027, 12, 24), 1) == date(2027, 12, 29)


def test_easter_skips_good_friday_and_easter_monday() -> None:
    # Thu 2 Apr 2026 + 1 → Tue 7 Apr (Good Friday 3rd, Easter Monday 6th).
    assert CAL.add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert [d for d, _ in CAL.skipped_between(date(2026, 4, 1), date(2026, 4, 8))] == [
        date(2026, 4, 3),
        date(2026, 4, 6),
    ]


def test_the_august_bank_holiday_is_skipped() -> None:
    # Fri 28 Aug 2026 + 1 → Tue 1 Sep (Mon 31 Aug is the late summer bank holiday).
    assert CAL.add_working_days(date(2026, 8, 28), 1) == date(2026, 9, 1)
    assert CAL.non_working_reason(date(2026, 8, 31)) == "Late Summer Bank Holiday"


def test_council_closure_days_are_skipped_like_holidays() -> None:
    cal = WorkingCalendar([date(2026, 12, 24), date(2026, 12, 29)])
    assert cal.non_working_reason(date(2026, 12, 24)) == "council closure day"
    # Wed 23 + 3: 24 closed, 25 Christmas, 28 Boxing Day, 29 closed → Wed 30, Thu 31, Mon 4 Jan.
    assert cal.add_working_days(date(2026, 12, 23), 3) == date(2027, 1, 4)


def test_a_calendar_is_built_from_the_settings() -> None:
    cal = WorkingCalendar.from_settings(CalendarSettings(closure_days=(date(2026, 6, 1),)))
    assert not cal.is_working_day(date(2026, 6, 1))


def test_an_unknown_time_zone_or_subdivision_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match=r"calendar\.timezone"):
        WorkingCalendar(timezone="Europe/Atlantis")
    # The bank holidays are loaded when a day is first checked (commands that only read local
    # dates never load them), and an unknown subdivision is refused then.
    nowhere = WorkingCalendar(subdivision="NOWHERE")
    with pytest.raises(ValueError, match=r"calendar\.country/subdivision"):
        nowhere.is_working_day(date(2026, 12, 25))


def test_a_friday_2330_bst_receipt_counts_from_that_friday() -> None:
    # 23:30 BST on Fri 11 Sep 2026 is 22:30 UTC the same day; 00:30 BST Saturday is still
    # Friday in UTC but Saturday for the council.
    with freeze_time("2026-09-11 22:30:00"):
        received = datetime.now(UTC)
        assert CAL.local_date(received) == date(2026, 9, 11)
        assert CAL.add_working_days(CAL.local_date(received), 3) == date(2026, 9, 16)
    with freeze_time("2026-09-11 23:30:00"):
        assert CAL.local_date(datetime.now(UTC)) == date(2026, 9, 12)
        assert CAL.add_working_days(CAL.local_date(datetime.now(UTC)), 3) == date(2026, 9, 16)


def test_in_winter_local_dates_follow_gmt() -> None:
    with freeze_time("2026-12-11 23:30:00"):
        assert CAL.local_date(datetime.now(UTC)) == date(2026, 12, 11)


def test_the_clocks_going_back_in_october_changes_the_utc_hour_of_nine_in_the_morning() -> None:
    # BST ends at 02:00 on Sun 25 Oct 2026.
    assert CAL.local_moment(date(2026, 10, 23), time(9)) == datetime(2026, 10, 23, 8, tzinfo=UTC)
    assert CAL.local_moment(date(2026, 10, 26), time(9)) == datetime(2026, 10, 26, 9, tzinfo=UTC)
    # The same UTC hour either side of the change is a different local date at 23:30 UTC.
    assert CAL.local_date(datetime(2026, 10, 24, 23, 30, tzinfo=UTC)) == date(2026, 10, 25)
    assert CAL.local_date(datetime(2026, 10, 26, 23, 30, tzinfo=UTC)) == date(2026, 10, 26)


def test_the_clocks_going_forward_in_march_do_not_change_working_day_counts() -> None:
    # BST starts on Sun 29 Mar 2026: a Friday + 1 is still the Monday.
    assert CAL.add_working_days(date(2026, 3, 27), 1) == date(2026, 3, 30)
    assert CAL.local_moment(date(2026, 3, 30), time(9)) == datetime(2026, 3, 30, 8, tzinfo=UTC)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.local_date(datetime(2026, 1, 1, 12))


def test_a_start_on_a_weekend_counts_from_the_next_working_day() -> None:
    assert CAL.add_working_days(date(2026, 9, 12), 1) == date(2026, 9, 14)
    assert CAL.next_working_day(date(2026, 12, 25)) == date(2026, 12, 29)
    assert CAL.next_working_day(date(2026, 12, 29)) == date(2026, 12, 29)


def test_zero_days_is_the_start_itself_and_negative_days_are_refused() -> None:
    assert CAL.add_working_days(date(2026, 9, 12), 0) == date(2026, 9, 12)
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2026, 9, 12), -1)


def test_subtracting_working_days_skips_the_same_holidays() -> None:
    assert CAL.subtract_working_days(date(2026, 12, 29), 1) == date(2026, 12, 24)
    assert CAL.shift(date(2026, 12, 29), -1) == date(2026, 12, 24)
    assert CAL.shift(date(2026, 12, 29), -1, working=False) == date(2026, 12, 28)


def test_working_days_between_counts_after_the_start_up_to_the_end() -> None:
    assert CAL.working_days_between(date(2026, 12, 23), date(2026, 12, 30)) == 3
    assert CAL.working_days_between(date(2026, 12, 30), date(2026, 12, 23)) == 0
    assert CAL.days_between(date(2026, 12, 30), date(2026, 12, 23)) == -3


def test_the_explanation_names_the_start_the_days_and_the_holidays_skipped() -> None:
    explained = CAL.explain(date(2026, 12, 23), 3)
    assert explained.due == date(2026, 12, 30)
    data = explained.to_dict()
    assert data["from"] == "2026-12-23"
    assert data["days"] == 3
    assert data["due"] == "2026-12-30"
    assert data["working_days"] is True
    assert data["skipped"] == [
        ["2026-12-25", "Christmas Day"],
        ["2026-12-28", "Boxing Day (observed)"],
    ]
    assert data["weekend_days"] == 2
    assert "Christmas Day on Fri 25 Dec 2026" in data["text"]
    assert data["text"].endswith("due Wed 30 Dec 2026")


def test_a_pause_that_spans_christmas_resumes_with_the_days_that_were_left() -> None:
    # 10 working days from Fri 11 Dec 2026; paused Wed 16 Dec (3 used: 14, 15, 16), resumed
    # Mon 4 Jan 2027 with 7 left: 5, 6, 7, 8, 11, 12, 13 → Wed 13 Jan.
    explained = CAL.explain(date(2026, 12, 11), 10, pauses=[(date(2026, 12, 16), date(2027, 1, 4))])
    assert explained.due == date(2027, 1, 13)
    assert explained.pauses[0].remaining == 7
    # The holidays inside the pause are not counted as skipped: the clock was stopped anyway.
    assert explained.skipped == []
    assert "paused Wed 16 Dec 2026 to Mon 04 Jan 2027, 7 working days left" in explained.text()


def test_a_clock_still_paused_has_no_due_date_only_the_days_left() -> None:
    explained = CAL.explain(date(2026, 12, 11), 10, pauses=[(date(2026, 12, 16), None)])
    assert explained.due is None
    assert explained.remaining == 7
    assert explained.to_dict()["due"] is None


def test_a_clock_paused_after_its_due_date_stays_late_after_it_resumes() -> None:
    # 1 working day from Mon 7 Dec → due Tue 8; paused Thu 10 (2 days late), resumed Mon 14.
    explained = CAL.explain(date(2026, 12, 7), 1, pauses=[(date(2026, 12, 10), date(2026, 12, 14))])
    assert explained.pauses[0].remaining == -2
    assert explained.due == date(2026, 12, 10)
    assert "already late by 2 working days" in explained.text()


def test_pauses_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError):
        CAL.explain(date(2026, 12, 11), 5, pauses=[(date(2026, 12, 1), date(2026, 12, 2))])
    with pytest.raises(ValueError):
        CAL.explain(
            date(2026, 12, 11),
            5,
            pauses=[(date(2026, 12, 14), None), (date(2026, 12, 15), date(2026, 12, 16))],
        )


def test_a_calendar_day_clock_counts_weekends_and_holidays() -> None:
    explained = CAL.explain(date(2026, 12, 24), 1, working=False)
    assert explained.due == date(2026, 12, 25)
    assert explained.to_dict()["working_days"] is False
    assert "1 calendar day from" in explained.text()


@given(
    start=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    n=st.integers(min_value=0, max_value=70),
)
def test_adding_then_counting_working_days_gives_back_the_same_number(start: date, n: int) -> None:
    due = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, due) == n
    if n > 0:
        assert CAL.is_working_day(due)
        # Going back lands on START, or on the last working day before it.
        back = CAL.subtract_working_days(due, n)
        assert back <= start
        assert CAL.is_working_day(back)
        assert CAL.working_days_between(back, start) == 0
    assert CAL.explain(start, n).due == due
