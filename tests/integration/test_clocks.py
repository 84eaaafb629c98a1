"""SLA clocks through the real lifecycle, on SQLite and PostgreSQL, with time frozen."""

from __future__ import annotations

from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from concerns.db.models import Case, Deadline
from concerns.workflows import clocks
from concerns.workflows.cases import case_and_actor
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.queries import show_case
from tests.factories import act, create_staff, log_concern, walk_to_review


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def deadlines(ctx: AppContext, reference: str) -> dict[str, dict[str, Any]]:
    """clock → its latest run's status, due date, days left and explanation."""
    with ctx.uow() as uow:
        rows = uow.session.scalars(
            select(Deadline)
            .join(Case, Case.id == Deadline.case_id)
            .where(Case.reference == reference)
            .order_by(Deadline.id)
        ).all()
        return {
            d.clock: {
                "status": d.status,
                "due": d.due_date.isoformat(),
                "left": d.remaining_days,
                "explanation": d.explanation,
            }
            for d in rows
        }


def test_a_concern_received_at_2330_on_a_friday_in_bst_counts_from_that_friday(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-09-12 09:00:00"):
        ref = log_concern(staffed, submitted_at="2026-09-11T23:30:00+01:00")
    ack = deadlines(staffed, ref)["acknowledge"]
    # Fri 11 Sep + 3 working days → Wed 16 Sep.
    assert ack["due"] == "2026-09-16"
    assert ack["explanation"]["from"] == "2026-09-11"


def test_the_acknowledgement_clock_skips_christmas_and_the_boxing_day_substitute(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-12-23 11:00:00"):
        ref = log_concern(staffed, submitted_at="2026-12-23T10:00:00+00:00")
        ack = deadlines(staffed, ref)["acknowledge"]
        assert ack["due"] == "2026-12-30"
        assert ack["explanation"]["skipped"] == [
            ["2026-12-25", "Christmas Day"],
            ["2026-12-28", "Boxing Day (observed)"],
        ]
        shown = show_case(staffed, "alex", ref)
    explained = next(d for d in shown["deadlines"] if d["clock"] == "acknowledge")
    assert explained["explanation"]["text"] == (
        "3 working days from Wed 23 Dec 2026; not counting Christmas Day on Fri 25 Dec 2026, "
        "Boxing Day (observed) on Mon 28 Dec 2026; 2 weekend days; due Wed 30 Dec 2026"
    )


def test_a_pause_that_spans_christmas_resumes_with_the_working_days_that_were_left(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-12-11 10:00:00") as frozen:  # Fri
        ref = log_concern(staffed, submitted_at="2026-12-11T09:00:00+00:00")
        act(staffed, ref, "acknowledge", "alex")
        # 10 working days from Fri 11 Dec: 14–18, 21–24, 29 → Tue 29 Dec.
        assert deadlines(staffed, ref)["legal_triage"]["due"] == "2026-12-29"
        frozen.move_to("2026-12-16 15:00:00")  # Wed
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
        paused = deadlines(staffed, ref)["legal_triage"]
        # Left: 17, 18, 21, 22, 23, 24, 29.
        assert (paused["status"], paused["left"]) == ("paused", 7)
        frozen.move_to("2027-01-04 10:00:00")  # Mon
        act(staffed, ref, "information_received", "erin")
    resumed = deadlines(staffed, ref)["legal_triage"]
    # 7 working days from Mon 4 Jan: 5, 6, 7, 8, 11, 12, 13 → Wed 13 Jan.
    assert (resumed["status"], resumed["due"]) == ("running", "2027-01-13")
    assert resumed["explanation"]["pauses"] == [
        {"from": "2026-12-16", "to": "2027-01-04", "days_left": 7}
    ]
    assert "paused Wed 16 Dec 2026 to Mon 04 Jan 2027, 7 working days left" in (
        resumed["explanation"]["text"]
    )
    # The information wait itself was met when the reply came.
    assert deadlines(staffed, ref)["information_wait"]["status"] == "met"


def test_a_safeguarding_escalation_clock_is_not_paused_while_waiting_for_information(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 10:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref)
        act(staffed, ref, "raise_escalation", "alex", "Child may be at risk.",
            severity="safeguarding", to="morgan")
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
    found = deadlines(staffed, ref)
    assert found["escalation"]["status"] == "running"
    assert found["escalation"]["due"] == "2026-06-02"
    assert found["review"]["status"] == "paused"


def test_an_extension_beyond_the_cap_is_refused_with_the_latest_date_allowed(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 10:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref)
        before = deadlines(staffed, ref)["review"]
        # 65 working days from Mon 1 Jun 2026 (the August bank holiday skipped) → Tue 1 Sep.
        with pytest.raises(NotAllowed) as refused:
            fire_event(staffed, ref, "extend_deadline", "morgan",
                       {"clock": "review", "due": "2026-09-02", "reason": "Staff on leave"})
    assert str(refused.value) == (
        "The learning review deadline may run at most 65 working days; "
        "2026-09-02 would make it 66 (the latest due date allowed is 2026-09-01)"
    )
    assert deadlines(staffed, ref)["review"] == before


def test_an_extension_up_to_the_cap_moves_the_due_date_and_records_who_and_why(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 10:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref)
        act(staffed, ref, "extend_deadline", "morgan", clock="review", due="2026-09-01",
            reason="Interviews with former staff")
    review = deadlines(staffed, ref)["review"]
    assert review["due"] == "2026-09-01"
    assert review["explanation"]["extra_days"] == 40
    assert review["explanation"]["extensions"] == [
        {"from": "2026-07-06", "to": "2026-09-01", "days": 40,
         "reason": "Interviews with former staff", "by": "morgan"}
    ]
    assert review["explanation"]["text"].endswith(
        "extended from 2026-07-06 to 2026-09-01 by morgan (Interviews with former staff)"
    )


def test_an_extension_to_a_bank_holiday_is_refused_naming_the_next_working_day(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 10:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref)
        with pytest.raises(BadInput, match=r"due: 2026-08-31 is not a working day "
                           r"\(Late Summer Bank Holiday\); the next is 2026-09-01"):
            fire_event(staffed, ref, "extend_deadline", "morgan",
                       {"clock": "review", "due": "2026-08-31", "reason": "Leave"})


def test_a_clock_with_no_maximum_cannot_be_extended(staffed: AppContext) -> None:
    with freeze_time("2026-06-01 10:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        with pytest.raises(NotAllowed, match="acknowledgement deadline cannot be extended"):
            fire_event(staffed, ref, "extend_deadline", "morgan",
                       {"clock": "acknowledge", "due": "2026-06-10", "reason": "Busy"})


def test_a_paused_clock_cannot_be_extended_until_it_resumes(staffed: AppContext) -> None:
    with freeze_time("2026-06-01 10:00:00"):
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        walk_to_review(staffed, ref)
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
        with pytest.raises(NotAllowed, match="learning review deadline is paused"):
            fire_event(staffed, ref, "extend_deadline", "morgan",
                       {"clock": "review", "due": "2026-08-03", "reason": "Leave"})


def test_the_october_clock_change_does_not_move_a_due_date(staffed: AppContext) -> None:
    # Received 23:30 BST on Fri 23 Oct; BST ends on Sun 25 Oct.
    with freeze_time("2026-10-26 09:00:00"):
        ref = log_concern(staffed, submitted_at="2026-10-23T23:30:00+01:00")
    assert deadlines(staffed, ref)["acknowledge"]["due"] == "2026-10-28"


def test_case_show_reports_a_paused_clock_and_an_overdue_one(staffed: AppContext) -> None:
    with freeze_time("2026-06-01 10:00:00") as frozen:
        ref = log_concern(staffed, submitted_at="2026-06-01T09:00:00+01:00")
        frozen.move_to("2026-06-05 10:00:00")  # acknowledge was due Thu 4 Jun
        shown = show_case(staffed, "alex", ref)
        assert [(d["clock"], d["status"]) for d in shown["deadlines"]] == [
            ("acknowledge", "overdue")
        ]
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
        shown = show_case(staffed, "alex", ref)
    statuses = {d["clock"]: d["status"] for d in shown["deadlines"]}
    assert statuses == {"acknowledge": "paused", "information_wait": "running"}
    paused = next(d for d in shown["deadlines"] if d["clock"] == "acknowledge")
    assert "already late by 1 working day" in paused["explanation"]["text"]


def test_the_open_clocks_read_with_the_case_still_count_a_clock_started_and_stored_since(
    staffed: AppContext,
) -> None:
    # An event reads the case's open clocks with the case and keeps them for its transaction;
    # a clock started and flushed after that must not be lost from what it sees.
    ref = log_concern(staffed)
    with staffed.uow() as uow:
        s = uow.session
        today = staffed.calendar.local_date(staffed.now())
        case, *_ = case_and_actor(s, ref, today=today, username="alex", with_actor=False)
        read = clocks.open_deadlines(s, case)
        started = clocks.start_clock(s, staffed.settings, staffed.calendar, case, "route",
                                     staffed.now())
        s.flush()
        assert [d.clock for d in clocks.open_deadlines(s, case)] == [
            *(d.clock for d in read), started.clock
        ]
