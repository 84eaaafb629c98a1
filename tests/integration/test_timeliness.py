"""Timeliness per clock and what newly became overdue, checked against a hand count over the
August 2026 bank holiday (Monday 31 August), on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time

from concerns.workflows.context import AppContext
from concerns.workflows.learning.scrutiny_service import figure_cases, scrutiny_report
from tests.factories import act, create_staff, log_concern


def at(day: int, month: int = 8, hour: int = 9) -> datetime:
    """A working-hours moment in 2026 (BST: 09:00 UTC is 10:00 in London)."""
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def logged(ctx: AppContext, moment: datetime) -> str:
    with freeze_time(moment):
        return log_concern(ctx, submitted_at=moment)


def acknowledged(ctx: AppContext, ref: str, moment: datetime) -> None:
    with freeze_time(moment):
        act(ctx, ref, "acknowledge", "alex")


@pytest.fixture
def council(ctx: AppContext) -> AppContext:
    # The acknowledgement may be extended to 10 working days, so one case can be.
    clocks = dict(ctx.settings.clocks)
    clocks["acknowledge"] = replace(clocks["acknowledge"], max_working_days=10)
    extended = AppContext(replace(ctx.settings, clocks=clocks), ctx.engine)
    create_staff(extended)
    return extended


def test_acknowledgement_timeliness_matches_the_hand_count_across_the_bank_holiday(
    council: AppContext,
) -> None:
    ctx = council
    # Acknowledge: 3 working days. Monday 31 August is a bank holiday.
    # C: logged Wed 26 Aug, due Tue 1 Sep; acknowledged the same day: 0 days, on time (August).
    c = logged(ctx, at(26))
    acknowledged(ctx, c, at(26, hour=15))
    # A: logged Thu 27 Aug, due Wed 2 Sep (Fri 28, Tue 1, Wed 2); done Tue 1 Sep: 2, on time.
    a = logged(ctx, at(27))
    acknowledged(ctx, a, at(1, 9))
    # D: logged Thu 27 Aug, done Wed 2 Sep, its due date: 3, on time.
    d = logged(ctx, at(27, hour=11))
    acknowledged(ctx, d, at(2, 9))
    # B: logged Fri 28 Aug, due Thu 3 Sep; done Fri 4 Sep: 4 working days, late.
    b = logged(ctx, at(28))
    acknowledged(ctx, b, at(4, 9))
    # E: logged Tue 1 Sep, due Fri 4 Sep, extended by 2 working days to Tue 8 Sep; done Mon 7
    # Sep: 4 working days (Wed, Thu, Fri, Mon), on time thanks to the extension.
    e = logged(ctx, at(1, 9))
    with freeze_time(at(3, 9)):
        act(ctx, e, "extend_deadline", "morgan", clock="acknowledge", due="2026-09-08",
            reason="Waiting for the interpreter.")
    acknowledged(ctx, e, at(7, 9))

    with freeze_time(at(9, 9)):
        report = scrutiny_report(ctx, "audrey", date(2026, 8, 1), date(2026, 9, 30))
    ack = report["timeliness"]["acknowledge"]
    # Days taken: 0, 2, 3, 4, 4. Median: the 3rd of 5 = 3; 90th percentile: the 5th = 4.
    assert {k: ack[k] for k in ("completed", "on_time", "on_time_share", "median_days",
                                "p90_days", "extended", "extension_days", "target_days",
                                "unit")} == {
        "completed": 5, "on_time": 4, "on_time_share": 0.8, "median_days": 3, "p90_days": 4,
        "extended": 1, "extension_days": 2, "target_days": 3, "unit": "working days",
    }
    # August: C alone. September: 2, 3, 4, 4 (median the 2nd = 3, 90th the 4th = 4), B late.
    assert [(m["month"], m["completed"], m["on_time"], m["median_days"], m["p90_days"])
            for m in ack["by_month"]] == [("2026-08", 1, 1, 0, 0), ("2026-09", 4, 3, 3, 4)]
    assert [(q["quarter"], q["completed"], q["on_time_share"]) for q in ack["by_quarter"]] == [
        ("2026-Q3", 5, 0.8)]
    # The triage clocks started at acknowledgement are still running: nothing met yet.
    assert report["timeliness"]["complaints_triage"]["completed"] == 0
    assert report["timeliness"]["complaints_triage"]["median_days"] is None
    # The late one is behind the figure.
    with freeze_time(at(9, 9)):
        late = figure_cases(ctx, "morgan", "late", "acknowledge", date(2026, 8, 1),
                            date(2026, 9, 30))
        extended = figure_cases(ctx, "morgan", "extended", "acknowledge", date(2026, 8, 1),
                                date(2026, 9, 30))
    assert [row["reference"] for row in late["cases"]] == [b]
    assert [row["reference"] for row in extended["cases"]] == [e]
    # A period of August alone counts only C.
    with freeze_time(at(9, 9)):
        august = scrutiny_report(ctx, "audrey", date(2026, 8, 1), date(2026, 8, 31))
    assert august["timeliness"]["acknowledge"]["completed"] == 1
    assert [a, d] and c


def test_newly_overdue_since_a_date_is_right_at_the_boundary(council: AppContext) -> None:
    ctx = council
    # Acknowledgement due dates: F Fri 4 Sep, G Mon 7 Sep, H Tue 8 Sep, I Wed 9 Sep.
    # A deadline is overdue from the day after its due date.
    f = logged(ctx, at(1, 9))
    g = logged(ctx, at(2, 9))
    h = logged(ctx, at(3, 9))
    i = logged(ctx, at(4, 9))
    today = at(9, 9)  # Wednesday 9 September: I is due today, not yet overdue.

    def newly(since: date) -> tuple[int, list[str]]:
        with freeze_time(today):
            report = scrutiny_report(ctx, "morgan", overdue_since=since)
            cases = figure_cases(ctx, "morgan", "newly_overdue", overdue_since=since)
        assert report["newly_overdue"]["references"] == sorted(
            row["reference"] for row in cases["cases"])
        return report["newly_overdue"]["cases"], sorted(r["reference"] for r in cases["cases"])

    assert newly(date(2026, 9, 9)) == (1, [h])  # H became overdue today
    assert newly(date(2026, 9, 8)) == (2, sorted([g, h]))  # G on Tuesday 8
    assert newly(date(2026, 9, 6)) == (2, sorted([g, h]))  # F on Saturday 5: before
    assert newly(date(2026, 9, 5)) == (3, sorted([f, g, h]))
    assert i not in newly(date(2026, 9, 1))[1]
    with freeze_time(today):
        # The auditor gets the count, never the references.
        assert "references" not in scrutiny_report(ctx, "audrey")["newly_overdue"]
