"""The reminder sweep on SQLite and PostgreSQL: who is told what, when, and only once."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from concerns.db.models import Deadline, Notification
from concerns.workflows.context import AppContext
from concerns.workflows.reminder_rules import ReminderPolicy
from concerns.workflows.reminders import selection_horizon, sweep
from tests.factories import act, create_staff, log_concern, walk_to_review, walk_to_signoff
from tests.integration.reminder_support import notifications, seed_deadlines


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def at(text_: str) -> datetime:
    return datetime.fromisoformat(text_).astimezone(UTC)


def reminders_made(ctx: AppContext) -> list[tuple[str, str, str]]:
    return [(n["level"], n["username"], n["subject"].split(" ", 1)[0])
            for n in notifications(ctx) if n["kind"] == "reminder"]


def test_two_sweeps_at_the_same_moment_create_nothing_the_second_time(
    staffed: AppContext,
) -> None:
    seed_deadlines(staffed, 30, clock="signoff", due=date(2026, 6, 8),
                   started=date(2026, 6, 1), owner_role="director")
    moment = at("2026-06-10T10:00:00+01:00")
    first = sweep(staffed, moment)
    second = sweep(staffed, moment)
    # Each overdue sign-off goes to the IAT manager and to the director.
    assert first.created == 60
    assert second.created == 0
    assert second.items == []
    assert len([n for n in notifications(staffed) if n["kind"] == "reminder"]) == 60


def test_the_owner_hears_before_and_on_the_due_day_and_the_manager_once_it_is_missed(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 08:00:00"):  # Mon 09:00 BST
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref, reviewer="sam")
    # Review: 25 working days from Mon 1 Jun → Mon 6 Jul.
    moments = {
        "2026-07-02T10:00:00+01:00": [],  # Thu: two working days before, nothing yet
        "2026-07-03T10:00:00+01:00": [("before_due", "sam", "Reminder:")],
        "2026-07-06T10:00:00+01:00": [("due_day", "sam", "Due")],
        "2026-07-07T10:00:00+01:00": [("overdue", "morgan", "Overdue:")],
    }
    seen = 0
    for moment, expected in moments.items():
        result = sweep(staffed, at(moment))
        made = reminders_made(staffed)[seen:]
        assert [(m[0], m[1], m[2]) for m in made if m[0] != "chase"] == expected, moment
        assert result.items == [
            {"reference": ref, "clock": "review", "level": level, "to": to}
            for level, to, _ in expected
        ]
        seen += len(made)
    # A second sweep the same day adds nothing; the review clock is not a director queue.
    assert sweep(staffed, at("2026-07-07T15:00:00+01:00")).created == 0


def test_a_missed_sign_off_is_escalated_to_the_manager_and_the_director(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 08:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_signoff(staffed, ref)
    # Sign-off: 5 working days from Mon 1 Jun → Mon 8 Jun; missed on Tue 9 Jun.
    result = sweep(staffed, at("2026-06-09T09:30:00+01:00"))
    assert [(i["clock"], i["level"], i["to"]) for i in result.items] == [
        ("signoff", "overdue", "morgan"),
        ("signoff", "overdue", "dana"),
    ]
    addresses = {n["to_address"] for n in notifications(staffed) if n["kind"] == "reminder"}
    assert addresses == {"morgan@example.gov.uk", "dana@example.gov.uk"}


def test_after_days_of_downtime_one_sweep_sends_one_escalation_not_a_storm(
    staffed: AppContext,
) -> None:
    seed_deadlines(staffed, 5, clock="review", due=date(2026, 6, 3), started=date(2026, 5, 1),
                   owner_role="iat_officer", owner="alex")
    # The scheduler was down from Fri 29 May to Mon 15 Jun.
    result = sweep(staffed, at("2026-06-15T09:05:00+01:00"))
    assert {i["level"] for i in result.items} == {"overdue"}
    assert result.created == 5
    assert sweep(staffed, at("2026-06-16T09:05:00+01:00")).created == 0


def test_a_reminder_due_on_a_sunday_waits_for_monday_morning(staffed: AppContext) -> None:
    # Due Tue 8 Dec 2026: its one-working-day-before reminder belongs to Mon 7 Dec.
    seed_deadlines(staffed, 1, clock="review", due=date(2026, 12, 8), started=date(2026, 11, 2),
                   owner_role="iat_officer", owner="alex")
    result = sweep(staffed, at("2026-12-06T15:00:00+00:00"))  # Sunday
    assert [i["level"] for i in result.items] == ["before_due"]
    [made] = [n for n in notifications(staffed) if n["kind"] == "reminder"]
    assert made["send_after"] == datetime(2026, 12, 7, 9, tzinfo=UTC)
    # Monday's own sweep finds the same reminder already made.
    assert sweep(staffed, at("2026-12-07T09:10:00+00:00")).created == 0


def test_a_paused_clock_is_owed_no_reminders(staffed: AppContext) -> None:
    with freeze_time("2026-06-01 08:00:00") as frozen:
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        frozen.move_to("2026-06-03 10:00:00")
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
    result = sweep(staffed, at("2026-06-10T10:00:00+01:00"))
    assert [i["clock"] for i in result.items] == []


def test_a_safeguarding_escalation_is_escalated_at_night_without_waiting(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-05 14:00:00"):  # Fri
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref)
        act(staffed, ref, "raise_escalation", "alex", "Child may be at risk.",
            severity="safeguarding", to="morgan")
    # Due Sat 6 Jun; at 02:00 on Sunday it is overdue and goes at once.
    moment = at("2026-06-07T02:00:00+01:00")
    result = sweep(staffed, moment)
    assert [(i["clock"], i["level"], i["to"]) for i in result.items] == [
        ("escalation", "overdue", "morgan")
    ]
    [made] = [n for n in notifications(staffed) if n["level"] == "overdue"]
    assert made["send_after"] == moment


def test_each_person_gets_one_overdue_digest_a_day_in_working_hours(
    staffed: AppContext,
) -> None:
    seed_deadlines(staffed, 3, clock="review", due=date(2026, 6, 3), started=date(2026, 5, 1),
                   owner_role="iat_officer", owner="alex")
    seed_deadlines(staffed, 2, clock="signoff", due=date(2026, 6, 4), started=date(2026, 5, 28),
                   owner_role="director", first=100)
    assert sweep(staffed, at("2026-06-08T07:00:00+01:00")).digests == 0  # before 09:00
    assert sweep(staffed, at("2026-06-08T09:30:00+01:00")).digests == 2
    assert sweep(staffed, at("2026-06-08T16:00:00+01:00")).digests == 0
    digests = {n["username"]: n for n in notifications(staffed) if n["kind"] == "digest"}
    assert set(digests) == {"alex", "dana"}
    assert digests["alex"]["subject"] == "Overdue today: 3 deadlines you own"
    assert sweep(staffed, at("2026-06-09T09:30:00+01:00")).digests == 2  # the next day


def test_the_sweep_logs_counts_and_no_personal_data(
    staffed: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    with freeze_time("2026-06-01 08:00:00"):
        ref = log_concern(staffed, name="Zebedee Quartermain", email="zq@example.com",
                          submitted_at="2026-06-01T09:00:00+01:00")
    with caplog.at_level(logging.INFO, logger="concerns.reminders"):
        sweep(staffed, at("2026-06-08T10:00:00+01:00"))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "created=1" in logged
    assert "duration_ms=" in logged
    for secret in ("Zebedee", "zq@example.com", "morgan@", ref):
        assert secret not in logged


def test_the_due_deadlines_are_read_through_the_status_and_due_date_index(
    staffed: AppContext,
) -> None:
    horizon = selection_horizon(
        staffed.calendar, ReminderPolicy.from_settings(staffed.settings),
        at("2026-06-08T10:00:00+01:00"),
    )
    query = select(Deadline.id).where(Deadline.status == "running",
                                      Deadline.due_date <= horizon)
    with staffed.engine.connect() as conn:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            conn.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned
            plan = " ".join(str(r) for r in conn.execute(text(f"EXPLAIN {sql}")))
    assert "ix_deadlines_open_due" in plan


def test_notification_keys_are_unique_in_the_database(staffed: AppContext) -> None:
    seed_deadlines(staffed, 1, clock="review", due=date(2026, 6, 3), started=date(2026, 5, 1),
                   owner_role="iat_officer", owner="alex")
    sweep(staffed, at("2026-06-08T10:00:00+01:00"))
    with staffed.uow() as uow:
        row = uow.session.scalars(select(Notification)).first()
        assert row is not None
        key = row.key
    with staffed.uow() as uow, pytest.raises(IntegrityError):
        uow.session.add(Notification(key=key, kind="reminder", to_address="x@example.gov.uk",
                                     subject="s", body="b"))
        uow.session.flush()


def test_an_information_request_is_chased_after_ten_working_days(staffed: AppContext) -> None:
    with freeze_time("2026-06-01 09:00:00"):  # Mon
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
    # Day 10 is Mon 15 Jun; the wait is due (20) on Mon 29 Jun, far beyond the usual horizon.
    assert sweep(staffed, at("2026-06-12T10:00:00+01:00")).items == []
    result = sweep(staffed, at("2026-06-15T10:00:00+01:00"))
    assert {(i["clock"], i["level"]) for i in result.items} == {("information_wait", "chase")}
    assert sweep(staffed, at("2026-06-16T10:00:00+01:00")).created == 0


def test_a_reminder_owed_to_a_role_nobody_holds_is_logged_as_a_warning(
    ctx: AppContext, caplog: pytest.LogCaptureFixture
) -> None:
    # No staff at all: nobody to escalate the missed sign-off to.
    seed_deadlines(ctx, 1, clock="signoff", due=date(2026, 6, 3), started=date(2026, 5, 27),
                   owner_role="director")
    with caplog.at_level(logging.WARNING, logger="concerns.reminders"):
        result = sweep(ctx, at("2026-06-10T10:00:00+01:00"))
    assert (result.created, result.unaddressed) == (0, 2)
    assert "2 reminder(s) owed to a role no active user holds" in caplog.text
