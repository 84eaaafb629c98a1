"""Scrutiny figures whose SQL was reshaped for speed, checked against rows placed by hand on
SQLite and on PostgreSQL: open cases with an overdue deadline, timeliness's on-time count
when deadlines met the same day differ only in their due date, and the learning themes by
local quarter, on either side of the clock change and of the new year."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from concerns.db.models import Case, Deadline, Respondent, ReviewFinding, User
from concerns.reports.scrutiny import Options, Period, scrutiny
from concerns.workflows.context import AppContext
from tests.factories import create_staff

TODAY = date(2026, 4, 15)
OPTIONS = Options(themes=(("record_keeping", "Record keeping"), ("consent", "Consent")))


def utc(y: int, m: int, d: int, h: int = 9, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC)


def deadline(clock: str, status: str, due: date, met_on: date | None = None,
             taken: int | None = None) -> Deadline:
    return Deadline(clock=clock, status=status, started_on=date(2026, 3, 1), target_days=3,
                    due_date=due, owner_role="iat_officer", met_on=met_on,
                    met_at=utc(met_on.year, met_on.month, met_on.day) if met_on else None,
                    working_days_taken=taken)


def place(ctx: AppContext) -> None:
    create_staff(ctx)
    with ctx.uow() as uow:
        s = uow.session
        staff = s.scalars(select(User.id).where(User.username == "alex")).one()

        def new_case(ref: str, state: str, received: datetime,
                     deadlines: list[Deadline]) -> Case:
            c = Case(reference=ref, state=state, received_at=received,
                     respondent=Respondent(name=f"Person {ref}"))
            s.add(c)
            s.flush()
            for d in deadlines:
                d.case_id = c.id
                s.add(d)
            return c

        # Two overdue deadlines: the case is counted once.
        c1 = new_case("S-1", "in_review", utc(2026, 3, 10), [
            deadline("review", "running", date(2026, 4, 1)),
            deadline("signoff", "running", date(2026, 4, 2))])
        # Closed: not counted, whatever still runs on it.
        c2 = new_case("S-2", "closed", utc(2026, 3, 11), [
            deadline("review", "running", date(2026, 4, 1))])
        # Only an action's clock is overdue, and the review is due today (not yet overdue).
        c3 = new_case("S-3", "in_review", utc(2026, 3, 12), [
            deadline("action", "running", date(2026, 4, 1)),
            deadline("review", "running", TODAY)])
        # Met late, not running; two acknowledgements met the same day after 3 days, one by
        # its due date and one a day past it.
        c4 = new_case("S-4", "in_review", utc(2026, 3, 13), [
            deadline("review", "met", date(2026, 4, 1), date(2026, 4, 3), 20),
            deadline("acknowledge", "met", date(2026, 3, 5), date(2026, 3, 5), 3),
            deadline("acknowledge", "met", date(2026, 3, 4), date(2026, 3, 5), 3)])
        # Overdue, but received in February.
        new_case("S-5", "in_review", utc(2026, 2, 10), [
            deadline("review", "running", date(2026, 3, 1))])

        def finding(c: Case, theme: str, at: datetime, superseded: bool = False) -> None:
            s.add(ReviewFinding(case_id=c.id, theme=theme, finding="Not written down.",
                                recorded_by_id=staff, recorded_at=at,
                                superseded_at=at if superseded else None))

        finding(c1, "record_keeping", utc(2026, 6, 30, 22, 30))  # 23:30 BST 30 June: Q2
        finding(c1, "record_keeping", utc(2026, 6, 30, 23, 30))  # 00:30 BST 1 July: Q3
        finding(c2, "consent", utc(2025, 12, 31, 23, 30))  # GMT: 2025-Q4
        finding(c2, "record_keeping", utc(2026, 1, 1, 0, 30))  # 2026-Q1
        # Replaced: not counted, nor its quarter shown.
        finding(c3, "consent", utc(2026, 10, 2), superseded=True)
        finding(c4, "consent", utc(2026, 5, 5))  # 2026-Q2
        uow.commit()


def report(ctx: AppContext, start: date | None = None, end: date | None = None
           ) -> dict[str, Any]:
    with ctx.uow() as uow:
        return scrutiny(uow.session, Period(start, end), TODAY, OPTIONS)


def test_open_cases_with_an_overdue_deadline_are_counted_once_each(ctx: AppContext) -> None:
    place(ctx)
    assert report(ctx)["overdue"] == 2  # S-1 and S-5
    assert report(ctx, date(2026, 3, 1), date(2026, 3, 31))["overdue"] == 1  # S-1


def test_deadlines_met_the_same_day_are_on_time_by_their_own_due_date(ctx: AppContext) -> None:
    place(ctx)
    timeliness = report(ctx)["timeliness"]
    ack, review = timeliness["acknowledge"], timeliness["review"]
    assert (ack["completed"], ack["on_time"], ack["median_days"]) == (2, 1, 3)
    assert [(m["month"], m["completed"], m["on_time"]) for m in ack["by_month"]] == [
        ("2026-03", 2, 1)]
    assert (review["completed"], review["on_time"]) == (1, 0)


def test_themes_are_counted_by_local_quarter_and_only_the_current_findings(
    ctx: AppContext,
) -> None:
    place(ctx)
    themes = report(ctx)["themes"]
    assert themes["reviews_with_themes"] == 3
    assert themes["quarters"] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert {t: (v["findings"], v["cases"], v["by_quarter"])
            for t, v in themes["by_theme"].items()} == {
        "record_keeping": (3, 2, {"2025-Q4": 0, "2026-Q1": 1, "2026-Q2": 1, "2026-Q3": 1}),
        "consent": (2, 2, {"2025-Q4": 1, "2026-Q1": 0, "2026-Q2": 1, "2026-Q3": 0}),
    }
    # The first half of 2026 (local days) leaves out 00:30 BST on 1 July and the old year.
    half = report(ctx, date(2026, 1, 1), date(2026, 6, 30))["themes"]
    assert half["quarters"] == ["2026-Q1", "2026-Q2"]
    assert {t: (v["findings"], v["cases"], v["by_quarter"])
            for t, v in half["by_theme"].items()} == {
        "record_keeping": (2, 2, {"2026-Q1": 1, "2026-Q2": 1}),
        "consent": (1, 1, {"2026-Q1": 0, "2026-Q2": 1}),
    }
    assert half["reviews_with_themes"] == 3
