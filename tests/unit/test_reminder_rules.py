"""Which reminders a deadline is owed, and when they may be sent."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from concerns.workflows.calendar import WorkingCalendar
from concerns.workflows.reminder_rules import (
    BEFORE_DUE,
    CHASE,
    DIRECTOR,
    DUE_DAY,
    IAT_MANAGER,
    OVERDUE,
    OWNER,
    DeadlineFacts,
    DueReminder,
    ReminderPolicy,
    chase_horizons,
    deadline_status,
    digest_date,
    in_sending_window,
    next_sending_moment,
    reminders_due,
    selection_horizon,
)
from concerns.workflows.settings import Settings

CAL = WorkingCalendar()
POLICY = ReminderPolicy.from_settings(Settings())


def facts(
    due: date, *, clock: str = "review", started: date | None = None, **kw: object
) -> DeadlineFacts:
    values: dict[str, object] = {
        "clock": clock,
        "status": "running",
        "due_date": due,
        "started_on": started or date(2026, 1, 5),
        "owner": "reviewer1",
    }
    values.update(kw)
    return DeadlineFacts(**values)  # type: ignore[arg-type]


def levels(found: list[DueReminder]) -> list[tuple[str, str]]:
    return [(r.level, r.to) for r in found]


def now_utc() -> datetime:
    return datetime.now(UTC)


def test_the_policy_comes_from_the_settings() -> None:
    assert POLICY.days_before_due == 1
    assert POLICY.director_clocks == frozenset({"signoff", "signature"})
    assert POLICY.immediate_clocks == frozenset({"escalation"})
    assert POLICY.chase == {"information_wait": (10, 20)}


def test_a_bad_policy_is_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="days_before_due"):
        ReminderPolicy(days_before_due=-1)
    with pytest.raises(ValueError, match="working_hours_start"):
        ReminderPolicy(working_hours_start=time(18), working_hours_end=time(9))


def test_the_owner_is_reminded_one_working_day_before_the_due_date() -> None:
    with freeze_time("2026-06-09 10:00:00"):  # Tue, 11:00 BST
        assert levels(reminders_due(CAL, POLICY, facts(date(2026, 6, 10)), now_utc())) == [
            (BEFORE_DUE, OWNER)
        ]
        # Two working days away: nothing yet.
        assert reminders_due(CAL, POLICY, facts(date(2026, 6, 11)), now_utc()) == []


def test_the_owner_is_reminded_on_the_due_day() -> None:
    with freeze_time("2026-06-10 08:00:00"):  # Wed 09:00 BST
        found = reminders_due(CAL, POLICY, facts(date(2026, 6, 10)), now_utc())
    assert levels(found) == [(DUE_DAY, OWNER)]
    assert found[0].send_after == datetime(2026, 6, 10, 8, tzinfo=UTC)


def test_a_missed_deadline_is_escalated_to_the_iat_manager() -> None:
    with freeze_time("2026-06-11 12:00:00"):
        found = reminders_due(CAL, POLICY, facts(date(2026, 6, 10)), now_utc())
    assert levels(found) == [(OVERDUE, IAT_MANAGER)]


def test_a_missed_director_queue_deadline_is_escalated_to_the_director_too() -> None:
    with freeze_time("2026-06-11 12:00:00"):
        for clock in ("signoff", "signature"):
            found = reminders_due(CAL, POLICY, facts(date(2026, 6, 10), clock=clock), now_utc())
            assert levels(found) == [(OVERDUE, IAT_MANAGER), (OVERDUE, DIRECTOR)]


def test_an_unowned_deadline_reminds_the_iat_manager_instead() -> None:
    with freeze_time("2026-06-10 12:00:00"):
        found = reminders_due(CAL, POLICY, facts(date(2026, 6, 10), owner=None), now_utc())
    assert levels(found) == [(DUE_DAY, IAT_MANAGER)]


@pytest.mark.parametrize("status", ["paused", "met", "stopped"])
def test_paused_met_and_stopped_clocks_are_owed_nothing(status: str) -> None:
    with freeze_time("2026-06-11 12:00:00"):
        assert reminders_due(CAL, POLICY, facts(date(2026, 6, 10), status=status), now_utc()) == []


def test_after_days_of_downtime_only_the_level_that_fits_today_is_owed() -> None:
    # Due Wed 10 Jun; the scheduler comes back on Mon 15 Jun: one escalation, no stale
    # "due tomorrow" or "due today".
    with freeze_time("2026-06-15 09:30:00"):
        assert levels(reminders_due(CAL, POLICY, facts(date(2026, 6, 10)), now_utc())) == [
            (OVERDUE, IAT_MANAGER)
        ]


def test_a_reminder_due_on_a_sunday_is_sent_on_monday_morning() -> None:
    # Due Tue 8 Dec 2026: the "one working day before" is Mon 7 Dec. On Sunday 6 Dec the
    # reminder is owed as of Monday and may go at 09:00 GMT.
    with freeze_time("2026-12-06 15:00:00"):
        found = reminders_due(CAL, POLICY, facts(date(2026, 12, 8)), now_utc())
    assert levels(found) == [(BEFORE_DUE, OWNER)]
    assert found[0].send_after == datetime(2026, 12, 7, 9, tzinfo=UTC)


def test_a_due_day_reminder_never_goes_out_a_day_early_after_working_hours() -> None:
    # Fri 17:30 BST, due Monday: the next sending moment is Monday 09:00, the due day, so the
    # owner gets "due today" on Monday, not "due tomorrow" delivered on Monday.
    with freeze_time("2026-06-12 16:30:00"):
        found = reminders_due(CAL, POLICY, facts(date(2026, 6, 15)), now_utc())
    assert levels(found) == [(DUE_DAY, OWNER)]
    assert found[0].send_after == datetime(2026, 6, 15, 8, tzinfo=UTC)


def test_reminders_wait_for_the_christmas_holidays_to_end() -> None:
    # Christmas Eve 2026 at 17:30 GMT: next working hours are Tue 29 Dec 09:00 GMT.
    with freeze_time("2026-12-24 17:30:00"):
        assert next_sending_moment(CAL, POLICY, now_utc()) == datetime(2026, 12, 29, 9, tzinfo=UTC)
        # Due 29 Dec: the reminder is "due today" on the 29th.
        found = reminders_due(CAL, POLICY, facts(date(2026, 12, 29)), now_utc())
    assert levels(found) == [(DUE_DAY, OWNER)]


def test_new_year_and_easter_monday_are_not_sending_days() -> None:
    with freeze_time("2027-01-01 10:00:00"):
        assert not in_sending_window(CAL, POLICY, now_utc())
        assert next_sending_moment(CAL, POLICY, now_utc()) == datetime(2027, 1, 4, 9, tzinfo=UTC)
    with freeze_time("2026-04-03 10:00:00"):  # Good Friday
        assert next_sending_moment(CAL, POLICY, now_utc()) == datetime(2026, 4, 7, 8, tzinfo=UTC)


def test_the_august_bank_holiday_defers_a_reminder_to_tuesday() -> None:
    with freeze_time("2026-08-31 10:00:00"):
        found = reminders_due(CAL, POLICY, facts(date(2026, 9, 2)), now_utc())
    # On Tue 1 Sep the deadline (Wed 2 Sep) is one working day away.
    assert levels(found) == [(BEFORE_DUE, OWNER)]
    assert found[0].send_after == datetime(2026, 9, 1, 8, tzinfo=UTC)


def test_the_boxing_day_substitute_monday_is_not_a_sending_day() -> None:
    with freeze_time("2026-12-28 10:00:00"):
        assert next_sending_moment(CAL, POLICY, now_utc()) == datetime(2026, 12, 29, 9, tzinfo=UTC)


def test_working_hours_follow_local_time_across_the_october_clock_change() -> None:
    # 08:30 UTC is 09:30 BST on Fri 23 Oct (in hours) but 08:30 GMT on Mon 26 Oct (not yet).
    with freeze_time("2026-10-23 08:30:00"):
        assert in_sending_window(CAL, POLICY, now_utc())
    with freeze_time("2026-10-26 08:30:00"):
        assert not in_sending_window(CAL, POLICY, now_utc())
        assert next_sending_moment(CAL, POLICY, now_utc()) == datetime(2026, 10, 26, 9, tzinfo=UTC)


def test_a_friday_2330_bst_sweep_defers_reminders_to_monday_morning_bst() -> None:
    with freeze_time("2026-09-11 22:30:00"):
        assert next_sending_moment(CAL, POLICY, now_utc()) == datetime(2026, 9, 14, 8, tzinfo=UTC)


def test_a_safeguarding_escalation_is_escalated_at_once_even_on_a_sunday_night() -> None:
    # Raised Sat 5 Dec, due Sun 6 Dec (1 calendar day); at 23:00 on Mon it is overdue now.
    with freeze_time("2026-12-07 23:00:00"):
        found = reminders_due(
            CAL,
            POLICY,
            facts(date(2026, 12, 6), clock="escalation", started=date(2026, 12, 5),
                  working_days=False, owner="manager1"),
            now_utc(),
        )
    assert levels(found) == [(OVERDUE, IAT_MANAGER)]
    assert found[0].send_after == datetime(2026, 12, 7, 23, tzinfo=UTC)
    with freeze_time("2026-12-06 02:00:00"):  # Sunday night: due today, sent now
        found = reminders_due(
            CAL,
            POLICY,
            facts(date(2026, 12, 6), clock="escalation", started=date(2026, 12, 5),
                  working_days=False, owner="manager1"),
            now_utc(),
        )
    assert levels(found) == [(DUE_DAY, OWNER)]
    assert found[0].send_after == datetime(2026, 12, 6, 2, tzinfo=UTC)


def test_no_due_tomorrow_reminder_on_the_day_a_one_day_clock_starts() -> None:
    with freeze_time("2026-06-10 10:00:00"):
        found = reminders_due(
            CAL, POLICY, facts(date(2026, 6, 11), clock="dispatch", started=date(2026, 6, 10)),
            now_utc(),
        )
    assert found == []


def test_the_information_wait_is_chased_after_ten_working_days() -> None:
    started = date(2026, 6, 1)  # Mon; day 10 is Mon 15 Jun; due (20) Mon 29 Jun
    due = CAL.add_working_days(started, 20)
    wait = facts(due, clock="information_wait", started=started)
    with freeze_time("2026-06-12 10:00:00"):
        assert reminders_due(CAL, POLICY, wait, now_utc()) == []
    with freeze_time("2026-06-15 10:00:00"):
        assert levels(reminders_due(CAL, POLICY, wait, now_utc())) == [(CHASE, OWNER)]
        # The sweep's query reaches far enough to find it.
        assert chase_horizons(CAL, POLICY, now_utc())["information_wait"] >= due


def test_the_selection_horizon_covers_every_deadline_owed_a_reminder() -> None:
    with freeze_time("2026-12-24 12:00:00"):  # Christmas Eve, a working day
        horizon = selection_horizon(CAL, POLICY, now_utc())
        assert horizon == date(2026, 12, 29)
        assert reminders_due(CAL, POLICY, facts(date(2026, 12, 29)), now_utc()) != []
        assert reminders_due(CAL, POLICY, facts(date(2026, 12, 30)), now_utc()) == []


def test_a_zero_days_before_due_setting_sends_no_early_reminder() -> None:
    policy = replace(POLICY, days_before_due=0)
    with freeze_time("2026-06-09 10:00:00"):
        assert reminders_due(CAL, policy, facts(date(2026, 6, 10)), now_utc()) == []


def test_the_overdue_digest_is_made_only_in_working_hours() -> None:
    with freeze_time("2026-06-10 07:59:00"):  # 08:59 BST
        assert digest_date(CAL, POLICY, now_utc()) is None
    with freeze_time("2026-06-10 08:00:00"):
        assert digest_date(CAL, POLICY, now_utc()) == date(2026, 6, 10)
    with freeze_time("2026-06-13 10:00:00"):  # Saturday
        assert digest_date(CAL, POLICY, now_utc()) is None


def test_a_running_clock_past_its_due_date_shows_as_overdue() -> None:
    assert deadline_status("running", date(2026, 6, 10), date(2026, 6, 11)) == "overdue"
    assert deadline_status("running", date(2026, 6, 10), date(2026, 6, 10)) == "running"
    assert deadline_status("paused", date(2026, 6, 10), date(2026, 6, 11)) == "paused"
    assert deadline_status("met", date(2026, 6, 10), date(2026, 6, 11)) == "met"


@given(
    moment=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
        timezones=st.just(UTC),
    ),
    due_offset=st.integers(min_value=-30, max_value=30),
)
def test_a_working_hours_reminder_is_never_sent_out_of_hours_or_before_it_was_made(
    moment: datetime, due_offset: int
) -> None:
    due = CAL.local_date(moment) + timedelta(days=due_offset)
    for reminder in reminders_due(CAL, POLICY, facts(due, started=due - timedelta(days=60)),
                                  moment):
        assert reminder.send_after >= moment
        assert in_sending_window(CAL, POLICY, reminder.send_after)
    # At most one of before_due, due_day and overdue is owed at any moment.
    owed = {r.level for r in reminders_due(
        CAL, POLICY, facts(due, started=due - timedelta(days=60)), moment)}
    assert len(owed & {BEFORE_DUE, DUE_DAY, OVERDUE}) <= 1
