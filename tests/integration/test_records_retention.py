"""The retention schedule: set when a case closes, reviewed by the information officer when its
date comes, with a clock and reminders; decisions in bulk with a reason, all audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from concerns.db.models import Case, Event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.records.retention import anonymise_due, decide, list_schedule
from concerns.workflows.reminders import sweep
from concerns.workflows.settings import RecordsSettings
from tests.factories import act, create_staff, log_concern, walk_to_review
from tests.integration.reminder_support import notifications


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    ctx.settings = replace(ctx.settings, records=RecordsSettings(
        retention_years=2, safeguarding_retention_years=5, erasure_log=str(
            ctx.settings.base_dir / "erasures.jsonl")))
    return ctx


def answered(ctx: AppContext, **kwargs: object) -> str:
    ref = log_concern(ctx, **kwargs)  # type: ignore[arg-type]
    act(ctx, ref, "answer_query", "alex", wording="Here is our answer.")
    return ref


def with_safeguarding(ctx: AppContext) -> str:
    ref = log_concern(ctx)
    walk_to_review(ctx, ref)
    act(ctx, ref, "raise_escalation", "alex", "Risk to a sibling.", severity="safeguarding",
        to="MASH")
    act(ctx, ref, "resolve_escalation", "morgan", "Referred.")
    act(ctx, ref, "close_outside_framework", "morgan", reason="withdrawn")
    return ref


def schedule_of(ctx: AppContext, ref: str) -> tuple[str, date | None]:
    with ctx.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
        return case.retention_state, case.retention_review_on


def test_a_closed_case_is_scheduled_for_review_and_longer_after_a_safeguarding_escalation(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 09:00:00"):
        plain = answered(staffed)
        guarded = with_safeguarding(staffed)
        still_open = log_concern(staffed)
    assert schedule_of(staffed, plain) == ("review", date(2028, 6, 1))
    assert schedule_of(staffed, guarded) == ("review", date(2031, 6, 1))
    assert schedule_of(staffed, still_open) == ("not_set", None)
    act(staffed, plain, "reopen", "morgan", "New information came in.")
    assert schedule_of(staffed, plain) == ("not_set", None)


def test_the_review_queue_has_a_clock_with_reminders_and_bulk_decisions_meet_it(
    staffed: AppContext,
) -> None:
    with freeze_time("2024-01-15 09:00:00"):
        old = [answered(staffed) for _ in range(3)]
    with freeze_time("2026-01-10 09:00:00"):
        recent = answered(staffed)
    with freeze_time("2026-01-16 09:00:00"):  # Fri: two years after the first three closed
        assert [r.reference for r in list_schedule(staffed, "priya")] == old
        sweep(staffed)
        rows = list_schedule(staffed, "priya")
    assert {r.clock_due for r in rows} == {date(2026, 2, 12)}  # 20 working days from 15 Jan
    assert recent not in [r.reference for r in list_schedule(staffed, "priya")]
    assert recent in [r.reference for r in list_schedule(staffed, "priya", queue_only=False)]
    with freeze_time("2026-02-11 09:00:00"):  # Wed, the day before it is due
        sweep(staffed)
    owed = [n for n in notifications(staffed) if "retention review" in n["subject"]]
    assert {(n["username"], n["level"]) for n in owed} == {("priya", "before_due")}
    assert len(owed) == 3

    with freeze_time("2026-02-11 10:00:00"):
        kept = decide(staffed, "priya", [old[0]], "retain", "Legal hold: proceedings running",
                      until=date(2027, 3, 1))
        assert kept[0]["to"] == "retain"
        decide(staffed, "priya", old[1:], "destroy", "Past its retention period")
        rows = list_schedule(staffed, "priya")
    assert [(r.reference, r.state, r.clock_due) for r in rows] == [
        (old[1], "to_be_destroyed", None), (old[2], "to_be_destroyed", None)]
    with freeze_time("2026-02-11 11:00:00"):
        done = anonymise_due(staffed, "priya", "Retention period over")
    assert [d["reference"] for d in done] == old[1:]
    assert schedule_of(staffed, old[1]) == ("anonymised", None)
    with staffed.uow() as uow:
        events = uow.session.scalars(
            select(Event).where(Event.event == "retention_decided").order_by(Event.id)).all()
        assert (events[0].data["decision"], events[0].note) == (
            "retain", "Legal hold: proceedings running")
        # The destroyed cases' decisions were erased with the rest of their trail.
        assert [e.erased_at is not None for e in events] == [False, True, True]
    # The hold runs out: the case is back in the queue with a new clock.
    with freeze_time("2027-03-01 09:00:00"):
        sweep(staffed)
        [back] = list_schedule(staffed, "priya")
    assert (back.reference, back.state, back.clock_status) == (old[0], "review", "running")


def test_decisions_are_refused_with_the_field_named_and_nothing_stored(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-06-01 09:00:00"):
        closed = answered(staffed)
        still_open = log_concern(staffed)
        with pytest.raises(BadInput, match="until: required to retain"):
            decide(staffed, "priya", [closed], "retain", "Hold")
        with pytest.raises(BadInput, match="reason: required"):
            decide(staffed, "priya", [closed], "destroy", " ")
        with pytest.raises(BadInput, match="decision: expected one of"):
            decide(staffed, "priya", [closed], "shred", "x")
        with pytest.raises(NotAllowed, match="information_officer"):
            decide(staffed, "alex", [closed], "destroy", "x")
        with pytest.raises(NotAllowed, match=f"case {still_open}: only a closed case"):
            decide(staffed, "priya", [closed, still_open], "destroy", "x")
    assert schedule_of(staffed, closed)[0] == "review"
