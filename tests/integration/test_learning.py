"""A learning review's themes, findings and actions arising, given with submit_outcome: stored,
refused field by field, replaced when an outcome comes back, and tracked after the case closes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from concerns.db.models import Deadline, LearningAction, ReviewFinding
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.learning.actions import complete_action, extend_action, list_actions
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.queries import show_case
from concerns.workflows.reminders import sweep
from tests.factories import act, create_staff, log_concern, walk_to_review

# Monday 2 November 2026; 20 working days later is Monday 30 November.
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def in_review(ctx: AppContext) -> tuple[AppContext, str]:
    create_staff(ctx)
    with freeze_time(MONDAY):
        ref = log_concern(ctx)
        walk_to_review(ctx, ref)
    return ctx, ref


def submit(ctx: AppContext, ref: str, **values: str) -> str:
    base = {"summary": "Records read.", "wording": "We are sorry."}
    return fire_event(ctx, ref, "submit_outcome", "alex", base | values).to_state


def rows(ctx: AppContext) -> dict[str, Any]:
    with ctx.uow() as uow:
        s = uow.session
        return {
            "findings": [(f.theme, f.finding, f.superseded_at is None)
                         for f in s.scalars(select(ReviewFinding).order_by(ReviewFinding.id))],
            "actions": [(a.description, a.status, a.due_date.isoformat())
                        for a in s.scalars(select(LearningAction).order_by(LearningAction.id))],
            "action_clocks": [(d.status, d.due_date.isoformat(), d.owner_role)
                              for d in s.scalars(select(Deadline).where(Deadline.clock == "action")
                                                 .order_by(Deadline.id))],
        }


ACTION = {
    "action.1.what": "Write to families after every review meeting.",
    "action.1.owner": "Children in Need service",
    "action.1.due": "2026-11-30",
    "action.1.theme": "record_keeping",
}


def test_an_outcome_without_a_theme_is_refused_naming_the_field(in_review: tuple[AppContext, str]
                                                                ) -> None:
    ctx, ref = in_review
    with freeze_time(MONDAY), pytest.raises(BadInput, match=r"^finding: tag the review"):
        submit(ctx, ref)
    assert rows(ctx) == {"findings": [], "actions": [], "action_clocks": []}


@pytest.mark.parametrize(
    "values, field",
    [
        ({"finding.weather": "Rain."}, "finding.weather"),
        ({"finding.consent": "Two\nlines."}, "finding.consent"),
        ({"finding.consent": "x", "action.1.what": "Do it."}, "action.1.owner"),
        ({"finding.consent": "x"} | ACTION | {"action.1.due": "2026-11-02"}, "action.1.due"),
        ({"finding.consent": "x"} | ACTION | {"action.1.due": "2026-12-25"}, "action.1.due"),
        ({"finding.consent": "x"} | ACTION | {"action.1.due": "2027-12-01"}, "action.1.due"),
        ({"finding.consent": "x"} | ACTION | {"action.1.theme": "luck"}, "action.1.theme"),
        ({"finding.consent": "x", "action.one.what": "Do it."}, "action.one.what"),
    ],
)
def test_a_bad_finding_or_action_is_refused_naming_it_and_nothing_is_stored(
    in_review: tuple[AppContext, str], values: dict[str, str], field: str
) -> None:
    ctx, ref = in_review
    with freeze_time(MONDAY), pytest.raises(BadInput) as refused:
        submit(ctx, ref, **values)
    assert refused.value.field == field
    assert rows(ctx) == {"findings": [], "actions": [], "action_clocks": []}
    assert show_case(ctx, "alex", ref)["state"] == "in_review"


def test_themes_and_an_action_are_stored_and_the_action_runs_on_its_own_clock(
    in_review: tuple[AppContext, str],
) -> None:
    ctx, ref = in_review
    with freeze_time(MONDAY):
        assert submit(ctx, ref, **{
            "finding.record_keeping": "Decisions were not written down.",
            "finding.consent": "Consent was not sought before sharing.",
        } | ACTION) == "awaiting_signoff"
    # Stored in the configured order of the themes; the action's clock is the reviewer's.
    assert rows(ctx) == {
        "findings": [("record_keeping", "Decisions were not written down.", True),
                     ("consent", "Consent was not sought before sharing.", True)],
        "actions": [("Write to families after every review meeting.", "open", "2026-11-30")],
        "action_clocks": [("running", "2026-11-30", "iat_officer")],
    }
    learning = show_case(ctx, "alex", ref)["learning"]
    assert [f["theme_label"] for f in learning["findings"]] == ["Record keeping", "Consent"]
    assert learning["actions"][0]["status"] == "open"


def test_the_sign_off_clock_is_stored_before_the_action_clock_started_after_it(
    in_review: tuple[AppContext, str],
) -> None:
    # The event holds its own clock off the session until it writes it; the action's clock,
    # started by the learning hook after it, still comes second (clocks are read in id order).
    ctx, ref = in_review
    with freeze_time(MONDAY):
        submit(ctx, ref, **{"finding.record_keeping": "Decisions were not written down."}
               | ACTION)
    with ctx.uow() as uow:
        started = [d.clock for d in uow.session.scalars(
            select(Deadline).where(Deadline.clock.in_(("signoff", "action")))
            .order_by(Deadline.id))]
    assert started == ["signoff", "action"]


def test_a_returned_outcome_resubmitted_with_new_themes_replaces_the_unauthorised_ones(
    in_review: tuple[AppContext, str],
) -> None:
    ctx, ref = in_review
    with freeze_time(MONDAY):
        submit(ctx, ref, **{"finding.consent": "First view."} | ACTION)
        act(ctx, ref, "return_for_changes", "dana", "Say more.")
        # Resubmitted with new wording only: the themes and the action stay as they were.
        submit(ctx, ref, wording="We are very sorry.")
        assert rows(ctx)["findings"] == [("consent", "First view.", True)]
        act(ctx, ref, "return_for_changes", "dana", "Say more still.")
        submit(ctx, ref, **{"finding.record_keeping": "Second view."}
               | ACTION | {"action.1.what": "A better action."})
        act(ctx, ref, "authorise", "dana")
    state = rows(ctx)
    assert state["findings"] == [("consent", "First view.", False),
                                 ("record_keeping", "Second view.", True)]
    assert state["actions"] == [
        ("Write to families after every review meeting.", "withdrawn", "2026-11-30"),
        ("A better action.", "open", "2026-11-30"),
    ]
    assert [s for s, _, _ in state["action_clocks"]] == ["stopped", "running"]


def test_an_action_outlives_the_closed_case_is_chased_and_is_completed_with_evidence(
    in_review: tuple[AppContext, str],
) -> None:
    ctx, ref = in_review
    with freeze_time(MONDAY):
        submit(ctx, ref, **{"finding.consent": "Consent was not sought."} | ACTION)
        act(ctx, ref, "close_outside_framework", "morgan", reason="withdrawn")
    assert rows(ctx)["action_clocks"] == [("running", "2026-11-30", "iat_officer")]
    # The day after its due date the IAT manager is told it is overdue.
    created = sweep(ctx, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    assert {(i["clock"], i["level"], i["to"]) for i in created.items} >= {
        ("action", "overdue", "morgan")}
    with freeze_time(datetime(2026, 12, 1, 11, 0, tzinfo=UTC)):
        [item] = list_actions(ctx, "morgan", "overdue")
        assert item["reference"] == ref and item["owner_service"] == "Children in Need service"
        with pytest.raises(BadInput, match=r"^evidence"):
            complete_action(ctx, "alex", item["id"], "  ")
        with pytest.raises(NotAllowed):
            complete_action(ctx, "priya", item["id"], "Done.")
        done = complete_action(ctx, "alex", item["id"], "Letter template changed on 20 Nov.")
    assert done["status"] == "completed"
    with ctx.uow() as uow:
        deadline = uow.session.scalars(select(Deadline).where(Deadline.clock == "action")).one()
        # Met a working day late: 20 working days to the 30th, 21 to 1 December.
        assert (deadline.status, deadline.met_on.isoformat(), deadline.working_days_taken) == (
            "met", "2026-12-01", 21)
    with pytest.raises(NotAllowed, match="completed, not open"):
        complete_action(ctx, "alex", item["id"], "Again.")


def test_the_iat_manager_extends_an_action_to_a_working_day_with_a_reason(
    in_review: tuple[AppContext, str],
) -> None:
    ctx, ref = in_review
    with freeze_time(MONDAY):
        submit(ctx, ref, **{"finding.consent": "Consent was not sought."} | ACTION)
        [item] = list_actions(ctx, "morgan")
        with pytest.raises(NotAllowed, match="iat_manager"):
            extend_action(ctx, "alex", item["id"], datetime(2026, 12, 4).date(), "More time.")
        extended = extend_action(ctx, "morgan", item["id"], datetime(2026, 12, 4).date(),
                                 "The service restructure.")
    assert extended["due"] == "2026-12-04"
    with ctx.uow() as uow:
        deadline = uow.session.scalars(select(Deadline).where(Deadline.clock == "action")).one()
        assert (deadline.due_date.isoformat(), deadline.extended_days) == ("2026-12-04", 4)
