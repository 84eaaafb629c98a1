"""No open case is ever without someone who must act and a date: walked through every state of
the lifecycle table and every shape of triage, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from concerns.db.models import Case, Deadline
from concerns.workflows.cases import case_facts
from concerns.workflows.context import AppContext
from concerns.workflows.machine import OPEN_STATES, duties
from concerns.workflows.queries import list_cases
from tests.factories import act, create_staff, log_concern, walk_to_signoff

States = set[str]


def assert_owned(ctx: AppContext, reference: str, seen: States) -> None:
    """The case's state has a duty, and each duty's clock runs on the case, owned as declared."""
    with ctx.uow() as uow:
        s = uow.session
        case = s.scalars(select(Case).where(Case.reference == reference)).one()
        if case.state == "closed":
            return
        facts = case_facts(s, case)
        found = duties(facts)
        assert found, f"{reference} in {case.state} has no owner"
        rows = s.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.status == "running")
        ).all()
        for duty in found:
            running = [d for d in rows if d.clock == duty.clock]
            assert running, f"{case.state}: {duty.task} has no running {duty.clock} clock"
            if duty.owner == "reviewer":
                assert running[-1].owner_user_id == case.reviewer_id is not None
            else:
                assert running[-1].owner_role == duty.owner
        seen.add(case.state)
    [row] = [r for r in list_cases(ctx, "morgan") if r["reference"] == reference]
    assert row["owner"], f"{reference} in {facts.state} shows no owner in the case list"


def walk(
    ctx: AppContext,
    seen: States,
    steps: list[tuple[str, str, dict[str, str]]],
    *,
    note: str | None = "Noted.",
    reference: str | None = None,
) -> str:
    ref = reference or log_concern(ctx)
    assert_owned(ctx, ref, seen)
    for event, actor, values in steps:
        act(ctx, ref, event, actor, note, **values)
        assert_owned(ctx, ref, seen)
    return ref


NOT_MET = {"meets_criteria": "no", "reason": "time_limit_passed"}
MET = {"meets_criteria": "yes", "reason": "within_time_limit"}

Walk = Callable[[AppContext, States], object]


def triage_then_review(ctx: AppContext, seen: States) -> object:
    return walk(
        ctx,
        seen,
        [
            ("acknowledge", "alex", {}),
            ("record_legal_triage", "lee", {"proceedings": "none"}),
            ("record_complaints_triage", "priya", NOT_MET),
            ("assign_reviewer", "morgan", {"reviewer": "sam"}),
            ("request_information", "alex", {"wording": "Which school?"}),
            ("information_received", "erin", {}),
            ("start_review", "alex", {}),
            ("raise_escalation", "sam", {"severity": "safeguarding", "to": "morgan"}),
            ("resolve_escalation", "morgan", {}),
            ("submit_outcome", "sam", {"summary": "Read.", "wording": "We are sorry.",
                        "finding.record_keeping": "Notes were missing."}),
            ("return_for_changes", "dana", {}),
            ("submit_outcome", "sam", {"summary": "Read again.", "wording": "We are sorry.",
                        "finding.record_keeping": "Notes were missing."}),
            ("authorise", "dana", {}),
            ("prepare_letter", "erin", {}),
            ("return_letter", "dana", {}),
            ("prepare_letter", "erin", {}),
            ("sign", "dana", {}),
            ("send", "erin", {"method": "post"}),
            ("record_dissatisfaction", "alex", {}),
            ("offer_meeting", "dana", {}),
            ("record_meeting", "dana", {"result": "further_action"}),
            ("close_outside_framework", "morgan", {"reason": "withdrawn"}),
        ],
    )


def complaints_route(ctx: AppContext, seen: States) -> object:
    return walk(
        ctx,
        seen,
        [
            ("acknowledge", "alex", {}),
            ("record_complaints_triage", "priya", MET),
            ("record_legal_triage", "lee", {"proceedings": "in_progress"}),
            ("offer_complaints_route", "alex", {}),
            ("assign_reviewer", "morgan", {"reviewer": "alex"}),
            ("decline_complaints_route", "erin", {}),
        ],
    )


def reviewer_first_then_triage(ctx: AppContext, seen: States) -> object:
    # The reviewer is chosen before triage ends: the officer then owns the next step.
    return walk(
        ctx,
        seen,
        [
            ("acknowledge", "alex", {}),
            ("assign_reviewer", "morgan", {"reviewer": "sam"}),
            ("record_complaints_triage", "priya", NOT_MET),
            ("record_legal_triage", "lee", {"proceedings": "recently_closed"}),
            ("start_review", "alex", {}),
        ],
    )


def reopened_without_a_reviewer(ctx: AppContext, seen: States) -> object:
    # Closed from "logged" and reopened: in review, nobody reviews it, so the manager owns it.
    return walk(
        ctx,
        seen,
        [
            ("close_outside_framework", "morgan", {"reason": "duplicate"}),
            ("reopen", "morgan", {}),
            ("assign_reviewer", "morgan", {"reviewer": "alex"}),
        ],
    )


def information_asked_during_triage(ctx: AppContext, seen: States) -> object:
    return walk(
        ctx,
        seen,
        [
            ("request_information", "alex", {"wording": "Please tell us the dates."}),
            ("information_received", "alex", {}),
            ("acknowledge", "alex", {}),
            ("record_complaints_triage", "priya", NOT_MET),
            ("record_legal_triage", "lee", {"proceedings": "none"}),
            ("request_information", "alex", {"wording": "Which team?"}),
            ("information_received", "alex", {}),
        ],
    )


WALKS = [
    triage_then_review,
    complaints_route,
    reviewer_first_then_triage,
    reopened_without_a_reviewer,
    information_asked_during_triage,
]


def test_every_open_state_has_an_owner_and_a_running_clock(ctx: AppContext) -> None:
    create_staff(ctx)
    seen: States = set()
    for each in WALKS:
        each(ctx, seen)
    # A meeting resolved closes; a case past sign-off walked once more to reach every state.
    ref = log_concern(ctx)
    walk_to_signoff(ctx, ref, "sam")
    walk(
        ctx,
        seen,
        [
            ("authorise", "dana", {}),
            ("prepare_letter", "erin", {}),
            ("sign", "dana", {}),
            ("send", "erin", {"method": "email"}),
            ("record_dissatisfaction", "erin", {}),
            ("offer_meeting", "erin", {}),
            ("record_meeting", "dana", {"result": "resolved"}),
        ],
        reference=ref,
    )
    assert seen == set(OPEN_STATES)


def test_triage_complete_without_a_reviewer_is_on_the_managers_list(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = walk(
        ctx,
        set(),
        [
            ("acknowledge", "alex", {}),
            ("record_complaints_triage", "priya", NOT_MET),
            ("record_legal_triage", "lee", {"proceedings": "none"}),
        ],
    )
    [row] = [r for r in list_cases(ctx, "morgan") if r["reference"] == ref]
    assert row["owner"] == "iat_manager"
    from concerns.workflows.queries import queue

    assert ref in [r["reference"] for r in queue(ctx, "morgan", "mine")]
    act(ctx, ref, "assign_reviewer", "morgan", reviewer="sam")
    assert ref not in [r["reference"] for r in queue(ctx, "morgan", "mine")]
    assert ref in [r["reference"] for r in queue(ctx, "alex", "mine")]


@pytest.mark.parametrize("each", WALKS, ids=lambda w: w.__name__)
def test_each_walk_on_its_own_keeps_an_owner(ctx: AppContext, each: Walk) -> None:
    create_staff(ctx)
    each(ctx, set())


def test_a_returned_outcome_is_marked_on_the_reviewers_list_with_the_note(ctx: AppContext) -> None:
    from concerns.workflows.queries import queue, show_case

    create_staff(ctx)
    ref = walk(ctx, set(), [
        ("acknowledge", "alex", {}),
        ("record_complaints_triage", "priya", NOT_MET),
        ("record_legal_triage", "lee", {"proceedings": "none"}),
        ("assign_reviewer", "morgan", {"reviewer": "sam"}),
        ("start_review", "alex", {}),
        ("submit_outcome", "sam", {"summary": "Read.", "wording": "We are sorry.",
                                   "finding.record_keeping": "Notes were missing."}),
    ])
    act(ctx, ref, "return_for_changes", "dana", "Say sorry for the delay too.")
    [row] = [r for r in queue(ctx, "sam", "mine") if r["reference"] == ref]
    assert row["returned"]["note"] == "Say sorry for the delay too."
    assert row["returned"]["by"] == "Dana Whitfield"
    assert show_case(ctx, "sam", ref)["returned"]["what"] == "outcome"
    act(ctx, ref, "submit_outcome", "sam", None)
    assert show_case(ctx, "sam", ref)["returned"] is None
