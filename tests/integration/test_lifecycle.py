"""Every branch of the lifecycle table through the service layer, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from freezegun import freeze_time
from sqlalchemy import func, select

from concerns.db.models import Case, Deadline, Event
from concerns.workflows.access.users import disable_user
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.lifecycle import fire_event, reviewers
from concerns.workflows.queries import list_cases, show_case
from tests.factories import act, create_staff, log_concern, walk_to_review, walk_to_signoff


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def snapshot(ctx: AppContext, reference: str) -> dict[str, Any]:
    with ctx.uow() as uow:
        s = uow.session
        case = s.scalars(select(Case).where(Case.reference == reference)).one()
        return {
            "state": case.state,
            "version": case.version,
            "events": s.scalar(
                select(func.count()).select_from(Event).where(Event.case_id == case.id)
            ),
            "deadlines": sorted(
                (d.clock, d.status, d.due_date.isoformat())
                for d in s.scalars(select(Deadline).where(Deadline.case_id == case.id))
            ),
            "reviewer": case.reviewer_id,
            "wording": case.outcome_wording,
        }


def assert_refused(
    ctx: AppContext,
    reference: str,
    event: str,
    actor: str,
    match: str,
    note: str | None = None,
    **values: str,
) -> None:
    before = snapshot(ctx, reference)
    with pytest.raises(NotAllowed, match=match):
        fire_event(ctx, reference, event, actor, values, note)
    assert snapshot(ctx, reference) == before


def clocks(ctx: AppContext, reference: str) -> dict[str, str]:
    """clock → status of its latest run."""
    out: dict[str, str] = {}
    for clock, status, _due in snapshot(ctx, reference)["deadlines"]:
        out[clock] = status
    return out


def test_a_query_answered_straight_away_closes_outside_the_framework(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    assert act(staffed, ref, "answer_query", "alex", wording="Here is our answer.") == "closed"
    with staffed.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
        assert case.outcome == "answered" and case.closed_at is not None
    assert clocks(staffed, ref) == {"acknowledge": "met"}


def test_the_complaints_route_offered_and_accepted_closes_the_case(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    act(staffed, ref, "acknowledge", "alex")
    assert_refused(staffed, ref, "offer_complaints_route", "alex", "not yet recorded")
    act(
        staffed,
        ref,
        "record_complaints_triage",
        "priya",
        meets_criteria="yes",
        reason="within_time_limit",
    )
    act(staffed, ref, "record_legal_triage", "lee", proceedings="none")
    assert_refused(staffed, ref, "start_review", "alex", "meets the criteria")
    assert act(staffed, ref, "offer_complaints_route", "alex") == "complaint_offered"
    assert act(staffed, ref, "accept_complaints_route", "erin") == "closed"
    with staffed.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
        assert case.outcome == "referred_to_complaints"


def test_the_complaints_route_declined_goes_to_review_once_a_reviewer_is_assigned(
    staffed: AppContext,
) -> None:
    ref = log_concern(staffed)
    act(staffed, ref, "acknowledge", "alex")
    act(
        staffed,
        ref,
        "record_complaints_triage",
        "priya",
        meets_criteria="yes",
        reason="within_time_limit",
    )
    act(staffed, ref, "offer_complaints_route", "alex")
    assert_refused(staffed, ref, "decline_complaints_route", "alex", "no reviewer")
    act(staffed, ref, "assign_reviewer", "morgan", reviewer="sam")
    assert act(staffed, ref, "decline_complaints_route", "alex") == "in_review"
    assert clocks(staffed, ref)["review"] == "running"
    assert clocks(staffed, ref)["offer_reply"] == "met"


def test_the_full_learning_review_path_to_a_closed_case(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    walk_to_review(staffed, ref)
    act(
        staffed, ref, "add_review_note", "alex", "Read the 2012 case file.", kind="records_examined"
    )
    act(
        staffed,
        ref,
        "add_review_note",
        "morgan",
        "Spoke to the team manager.",
        kind="interview_staff",
    )
    assert_refused(staffed, ref, "add_review_note", "sam", "assigned reviewer", "x", kind="other")
    act(
        staffed,
        ref,
        "raise_escalation",
        "alex",
        "Possible risk to a sibling.",
        severity="safeguarding",
        to="dana",
    )
    assert clocks(staffed, ref)["escalation"] == "running"
    assert_refused(
        staffed,
        ref,
        "submit_outcome",
        "alex",
        "safeguarding escalation is still open",
        summary="s",
        wording="w",
    )
    assert_refused(staffed, ref, "resolve_escalation", "alex", "IAT manager")
    act(staffed, ref, "resolve_escalation", "morgan", "Referred and acknowledged by MASH.")
    assert clocks(staffed, ref)["escalation"] == "met"
    assert_refused(
        staffed, ref, "submit_outcome", "sam", "assigned reviewer", summary="s", wording="w"
    )
    assert (
        act(staffed, ref, "submit_outcome", "alex", summary="Findings.", wording="First draft.",
            **{"finding.consent": "Consent was not sought before sharing."})
        == "awaiting_signoff"
    )
    with pytest.raises(BadInput, match="note: Enter an internal note"):
        fire_event(staffed, ref, "return_for_changes", "dana", {}, None)
    assert (
        act(staffed, ref, "return_for_changes", "dana", "Please say sorry plainly.") == "in_review"
    )
    act(staffed, ref, "submit_outcome", "alex", wording="Second draft, with an apology.")
    assert_refused(staffed, ref, "authorise", "alex", "needs the role Director")
    assert act(staffed, ref, "authorise", "dana", wording="Final wording.") == "authorised"
    assert snapshot(staffed, ref)["wording"] == "Final wording."
    assert_refused(staffed, ref, "sign", "dana", "not possible while the case is authorised")
    assert act(staffed, ref, "prepare_letter", "erin") == "letter_ready"
    assert_refused(staffed, ref, "sign", "erin", "needs the role Director")
    assert act(staffed, ref, "sign", "dana") == "signed"
    assert act(staffed, ref, "send", "erin", method="email") == "responded"
    assert act(staffed, ref, "record_dissatisfaction", "alex") == "dissatisfied"
    assert act(staffed, ref, "offer_meeting", "dana", date="2026-12-01") == "meeting_offered"
    assert act(staffed, ref, "record_meeting", "dana", result="further_action") == "in_review"
    act(staffed, ref, "submit_outcome", "alex", wording="After the meeting: our answer.")
    act(staffed, ref, "authorise", "dana")
    act(staffed, ref, "prepare_letter", "erin")
    act(staffed, ref, "sign", "dana")
    act(staffed, ref, "send", "erin", method="email")
    assert_refused(staffed, ref, "close", "alex", "reply window is still running")
    with pytest.raises(BadInput, match="reason: Enter the reason for closing before"):
        act(staffed, ref, "close", "morgan")
    with freeze_time(datetime.now(UTC) + timedelta(days=40)):
        assert act(staffed, ref, "close", "alex") == "closed"
    assert all(status == "met" for status in clocks(staffed, ref).values())
    with staffed.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
        assert case.outcome == "responded" and case.learning_review_completed


def test_a_meeting_that_resolves_things_closes_the_case(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    walk_to_signoff(staffed, ref)
    act(staffed, ref, "authorise", "dana")
    act(staffed, ref, "prepare_letter", "erin")
    act(staffed, ref, "sign", "dana")
    act(staffed, ref, "send", "erin", method="email")
    act(staffed, ref, "record_dissatisfaction", "erin")
    act(staffed, ref, "offer_meeting", "erin")
    assert act(staffed, ref, "record_meeting", "dana", result="resolved") == "closed"


def test_a_manager_closes_outside_the_framework_and_reopens(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    act(staffed, ref, "acknowledge", "alex")
    assert_refused(
        staffed, ref, "close_outside_framework", "alex", "IAT manager", reason="withdrawn"
    )
    assert act(staffed, ref, "close_outside_framework", "morgan", reason="withdrawn") == "closed"
    assert all(status == "met" for status in clocks(staffed, ref).values())
    with pytest.raises(BadInput, match="note: Enter an internal note"):
        fire_event(staffed, ref, "reopen", "morgan", {}, None)
    assert (
        act(staffed, ref, "reopen", "morgan", "The person wrote again with new facts.")
        == "in_review"
    )
    assert clocks(staffed, ref)["review"] == "running"
    with staffed.uow() as uow:
        case = uow.session.scalars(select(Case).where(Case.reference == ref)).one()
        assert case.outcome is None and case.closed_at is None


@pytest.mark.parametrize("walk", ["logged", "triage", "in_review"])
def test_information_requested_and_received_returns_the_case_where_it_was(
    staffed: AppContext, walk: str
) -> None:
    ref = log_concern(staffed)
    if walk == "triage":
        act(staffed, ref, "acknowledge", "alex")
    elif walk == "in_review":
        walk_to_review(staffed, ref)
    running_before = {c for c, s, _ in snapshot(staffed, ref)["deadlines"] if s == "running"}
    assert (
        act(staffed, ref, "request_information", "alex", wording="Please send the dates.")
        == "awaiting_information"
    )
    states = clocks(staffed, ref)
    assert states["information_wait"] == "running"
    assert all(states[c] == "paused" for c in running_before)
    assert act(staffed, ref, "information_received", "erin") == walk
    states = clocks(staffed, ref)
    assert states["information_wait"] == "met"
    assert all(states[c] == "running" for c in running_before)


def test_extending_a_deadline_is_capped_at_the_stages_maximum(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    walk_to_review(staffed, ref)
    review = next(d for d in snapshot(staffed, ref)["deadlines"] if d[0] == "review")
    assert_refused(
        staffed,
        ref,
        "extend_deadline",
        "morgan",
        "at most 65 working days",
        clock="review",
        due="2028-01-05",
        reason="Staff on long leave",
    )
    with pytest.raises(BadInput, match="due: must be after"):
        fire_event(
            staffed,
            ref,
            "extend_deadline",
            "morgan",
            {"clock": "review", "due": "2020-01-01", "reason": "x"},
        )
    act(
        staffed,
        ref,
        "extend_deadline",
        "morgan",
        clock="review",
        due="2027-01-29",
        reason="Interviews with former staff",
    )
    after = next(d for d in snapshot(staffed, ref)["deadlines"] if d[0] == "review")
    assert after[2] == "2027-01-29" != review[2]


def test_a_reviewer_named_in_the_concern_cannot_be_assigned_or_read_it(staffed: AppContext) -> None:
    ref = log_concern(staffed, staff_named=["Jo  BLOGGS"])
    act(staffed, ref, "acknowledge", "alex")
    assert_refused(staffed, ref, "assign_reviewer", "morgan", "conflict of interest", reviewer="jo")
    offered = reviewers(staffed, "morgan", ref)
    assert "jo" not in offered and {"alex", "sam", "morgan"} <= set(offered)
    with pytest.raises(NotAllowed, match="you cannot open this case"):
        show_case(staffed, "jo", ref)
    assert ref not in {row["reference"] for row in list_cases(staffed, "jo")}
    assert ref in {row["reference"] for row in list_cases(staffed, "alex")}


def test_a_reviewer_must_be_an_enabled_iat_member_of_staff_named_by_their_username(
    staffed: AppContext,
) -> None:
    ref = log_concern(staffed)
    act(staffed, ref, "acknowledge", "alex")
    before = snapshot(staffed, ref)
    with pytest.raises(BadInput, match="reviewer") as unknown:
        fire_event(staffed, ref, "assign_reviewer", "morgan", {"reviewer": "nobody"})
    assert "nobody" in str(unknown.value)
    with pytest.raises(BadInput, match="must be an IAT officer or manager"):
        fire_event(staffed, ref, "assign_reviewer", "morgan", {"reviewer": "lee"})
    disable_user(staffed, "admin", "sam", "left the council")
    with pytest.raises(BadInput, match="user sam: the account is disabled"):
        fire_event(staffed, ref, "assign_reviewer", "morgan", {"reviewer": "sam"})
    assert snapshot(staffed, ref) == before
    act(staffed, ref, "assign_reviewer", "morgan", reviewer="alex")


def test_unknown_cases_users_and_events_are_reported_clearly(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    with pytest.raises(NotFound, match="no case with reference"):
        fire_event(staffed, "CAC-1999-9999", "acknowledge", "alex")
    with pytest.raises(BadInput, match="--as: no such user 'nobody'"):
        fire_event(staffed, ref, "acknowledge", "nobody")
    with pytest.raises(BadInput, match="event: no such event"):
        fire_event(staffed, ref, "teleport", "alex")
    with pytest.raises(BadInput, match="--as: no such user 'nobody'"):
        # The acting user, read with the case, is still told of before a case that is not there.
        fire_event(staffed, "CAC-1999-9999", "acknowledge", "nobody")
    with pytest.raises(BadInput, match="--as: no acting user given"):
        fire_event(staffed, ref, "acknowledge", None)


def test_a_disabled_account_cannot_act_on_a_case(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    disable_user(staffed, "admin", "alex", "left the council")
    with pytest.raises(NotAllowed, match="user alex: the account is disabled"):
        fire_event(staffed, ref, "acknowledge", "alex")
    act(staffed, ref, "acknowledge", "morgan")


def test_every_event_is_recorded_with_actor_time_states_and_data(staffed: AppContext) -> None:
    ref = log_concern(staffed)
    act(staffed, ref, "acknowledge", "alex")
    act(staffed, ref, "record_legal_triage", "lee", proceedings="in_progress", comment="Care order")
    history = show_case(staffed, "alex", ref)["history"]
    assert [h["event"] for h in history] == ["concern_logged", "acknowledge", "record_legal_triage"]
    last = history[-1]
    assert last["actor"] == "lee" and last["from"] == "triage" and last["to"] == "triage"
    assert last["data"] == {"proceedings": "in_progress", "comment": "Care order"}
    assert last["at"].endswith("+00:00")
