"""The lifecycle table on its own: no database."""

from __future__ import annotations

import re

import pytest

from concerns.workflows.machine import (
    EVENTS,
    MACHINE,
    OPEN_STATES,
    STATES,
    STEPS,
    Actor,
    CaseFacts,
    available_events,
    choose_step,
    diagram_mermaid,
    fields_of,
    fire,
    next_state,
    parse_values,
    refusal,
    steps_for,
    task_for,
    value_problem,
)

OFFICER = Actor("alex", frozenset({"iat_officer"}))
MANAGER = Actor("morgan", frozenset({"iat_manager"}))
DIRECTOR = Actor("dana", frozenset({"director"}))
ASSISTANT = Actor("erin", frozenset({"executive_assistant"}))
INFO = Actor("priya", frozenset({"information_officer"}))


def test_every_step_names_known_states_and_roles() -> None:
    for step in STEPS:
        assert set(step.sources) <= set(STATES), step.event
        assert step.dest is None or step.dest in STATES, step.event


def test_the_machine_has_no_automatic_jumps_to_states() -> None:
    assert not any(name.startswith("to_") for name in MACHINE.events)
    assert set(MACHINE.events) == set(EVENTS)


def test_an_officer_may_acknowledge_a_logged_concern_and_it_moves_to_triage() -> None:
    assert next_state("acknowledge", CaseFacts(state="logged"), OFFICER, {}) == "triage"


def test_an_internal_event_leaves_the_state_as_it_is() -> None:
    facts = CaseFacts(state="triage")
    values = {"meets_criteria": "no", "reason": "time_limit_passed"}
    assert next_state("record_complaints_triage", facts, INFO, values) == "triage"


def test_the_wrong_role_is_refused_with_the_roles_needed() -> None:
    reason = refusal("acknowledge", CaseFacts(state="logged"), DIRECTOR)
    assert reason is not None and "IAT manager" in reason and "IAT officer" in reason
    assert "_" not in reason


def test_an_event_from_the_wrong_state_is_refused_naming_the_state() -> None:
    reason = refusal("authorise", CaseFacts(state="logged"), DIRECTOR)
    assert reason == "Authorise the outcome: not possible while the case is logged"


def test_whoever_submitted_an_outcome_cannot_authorise_it() -> None:
    both = Actor("dana", frozenset({"director", "iat_officer"}))
    facts = CaseFacts(state="awaiting_signoff", submitted_by="dana")
    with pytest.raises(PermissionError, match="separation of duties"):
        next_state("authorise", facts, both, {})


def test_the_complaints_route_is_offered_only_when_the_criteria_are_met() -> None:
    not_met = CaseFacts(state="triage", complaints_meets_criteria=False)
    met = CaseFacts(state="triage", complaints_meets_criteria=True)
    assert refusal("offer_complaints_route", not_met, OFFICER) is not None
    assert refusal("offer_complaints_route", met, OFFICER) is None


def test_a_review_starts_only_with_both_triage_decisions_and_a_reviewer() -> None:
    facts = CaseFacts(state="triage", complaints_meets_criteria=False)
    reason = refusal("start_review", facts, OFFICER)
    assert reason is not None and "legal triage" in reason and "no reviewer" in reason
    ready = CaseFacts(
        state="triage", complaints_meets_criteria=False, legal_proceedings="none", reviewer="alex"
    )
    assert next_state("start_review", ready, OFFICER, {}) == "in_review"


def test_only_the_assigned_reviewer_may_submit_the_outcome() -> None:
    facts = CaseFacts(state="in_review", reviewer="alex", has_outcome=True)
    other = Actor("sam", frozenset({"iat_officer"}))
    assert refusal("submit_outcome", facts, OFFICER, {}) is None
    assert refusal("submit_outcome", facts, other, {}) is not None


def test_an_open_safeguarding_escalation_blocks_the_outcome() -> None:
    facts = CaseFacts(
        state="in_review",
        reviewer="alex",
        has_outcome=True,
        open_safeguarding_escalations=1,
        open_escalations=1,
    )
    reason = refusal("submit_outcome", facts, OFFICER, {})
    assert reason is not None and "safeguarding" in reason


def test_information_received_returns_to_the_state_it_came_from() -> None:
    for origin in ("logged", "triage", "in_review"):
        facts = CaseFacts(state="awaiting_information", return_state=origin)
        assert next_state("information_received", facts, OFFICER, {}) == origin


def test_the_meeting_result_decides_between_closing_and_further_review() -> None:
    facts = CaseFacts(state="meeting_offered", reviewer="alex")
    assert next_state("record_meeting", facts, DIRECTOR, {"result": "resolved"}) == "closed"
    assert next_state("record_meeting", facts, DIRECTOR, {"result": "declined"}) == "closed"
    assert (
        next_state("record_meeting", facts, DIRECTOR, {"result": "further_action"}) == "in_review"
    )


def test_a_manager_may_close_outside_the_framework_from_every_open_state() -> None:
    for state in OPEN_STATES:
        assert refusal("close_outside_framework", CaseFacts(state=state), MANAGER) is None
    assert refusal("close_outside_framework", CaseFacts(state="closed"), MANAGER) is not None


def test_available_events_list_what_the_user_may_do_now() -> None:
    assert available_events(CaseFacts(state="logged"), OFFICER) == [
        "acknowledge",
        "request_information",
        "answer_query",
    ]
    assert available_events(CaseFacts(state="signed"), ASSISTANT) == ["send"]
    assert available_events(CaseFacts(state="signed"), OFFICER) == []


def test_values_are_checked_against_the_event_fields() -> None:
    assert parse_values("send", {"method": "post"}) == {"method": "post"}
    with pytest.raises(ValueError, match=r"method: How is it sent\? – choose one of: By email; By"):
        parse_values("send", {"method": "pigeon"})
    with pytest.raises(ValueError, match="method: Select how it is sent"):
        parse_values("send", {})
    with pytest.raises(ValueError, match="colour: not a value send takes"):
        parse_values("send", {"method": "post", "colour": "blue"})
    with pytest.raises(ValueError, match="due: New due date – not a real date"):
        parse_values("extend_deadline", {"clock": "review", "due": "2026-02-30", "reason": "x"})


def test_the_diagram_is_generated_from_every_state_changing_event() -> None:
    diagram = diagram_mermaid()
    for step in STEPS:
        if step.dest is not None:
            assert f": {step.event}" in diagram


def test_the_documented_diagram_is_the_one_the_table_generates() -> None:
    from pathlib import Path

    from concerns.workflows.machine import diagram_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "lifecycle.md"
    assert doc.read_text(encoding="utf-8") == diagram_markdown(), "run `make diagram`"


# --- owners, clocks and words: from the table ------------------------------------------------

FACT_SHAPES = [
    CaseFacts(
        state="x",
        complaints_meets_criteria=meets,
        legal_proceedings=legal,
        reviewer=reviewer,
        open_safeguarding_escalations=esc,
    )
    for meets in (None, True, False)
    for legal in (None, "none", "in_progress")
    for reviewer in (None, "alex")
    for esc in (0, 1)
]


def test_every_open_state_has_an_owner_and_a_clock_whatever_the_facts() -> None:
    from dataclasses import replace

    from concerns.workflows.machine import CLOCKS, ROLE_LABELS, duties

    for state in OPEN_STATES:
        for shape in FACT_SHAPES:
            found = duties(replace(shape, state=state))
            assert found, (state, shape)
            for duty in found:
                assert duty.clock in CLOCKS and duty.owner in ROLE_LABELS
                assert set(duty.events) <= set(EVENTS), duty
    assert duties(CaseFacts(state="closed")) == []


def test_triage_complete_without_a_reviewer_belongs_to_the_iat_manager_on_its_own_clock() -> None:
    from concerns.workflows.machine import duties

    facts = CaseFacts(state="triage", complaints_meets_criteria=False, legal_proceedings="none")
    [duty] = duties(facts)
    assert (duty.owner, duty.clock, duty.events[0]) == (
        "iat_manager",
        "allocation",
        "assign_reviewer",
    )
    assigned = CaseFacts(
        state="triage", complaints_meets_criteria=False, legal_proceedings="none", reviewer="alex"
    )
    [then] = duties(assigned)
    assert (then.owner, then.clock, then.events[0]) == ("iat_officer", "route", "start_review")


def test_every_state_event_field_choice_and_clock_has_words() -> None:
    from concerns.workflows.machine import (
        CHOICE_LABELS,
        CLOCK_LABELS,
        CLOCKS,
        EVENT_LABELS,
        FIELD_LABELS,
        STATE_LABELS,
    )

    assert set(STATES) == set(STATE_LABELS)
    assert set(EVENTS) <= set(EVENT_LABELS)
    assert set(CLOCKS) == set(CLOCK_LABELS)
    for step in STEPS:
        for field in step.fields:
            assert field.name in FIELD_LABELS or f"{step.event}.{field.name}" in FIELD_LABELS
            assert set(field.choices) <= set(CHOICE_LABELS) | set(CLOCKS), field
    for words in (*STATE_LABELS.values(), *CLOCK_LABELS.values(), *FIELD_LABELS.values()):
        assert all("_" not in w for w in words), words


@pytest.mark.parametrize(
    ("meets", "reason"),
    [
        ("yes", "time_limit_passed"),
        ("yes", "all_stages_exhausted"),
        ("yes", "not_a_complaint"),
        ("no", "within_time_limit"),
    ],
)
def test_a_complaints_triage_that_contradicts_itself_is_refused(meets: str, reason: str) -> None:
    with pytest.raises(ValueError, match=r"reason: .*means it"):
        parse_values("record_complaints_triage", {"meets_criteria": meets, "reason": reason})


def test_a_complaints_triage_that_agrees_with_itself_is_taken() -> None:
    for meets, reason in (
        ("yes", "within_time_limit"),
        ("no", "time_limit_passed"),
        ("yes", "other"),
        ("no", "other"),
    ):
        values = {"meets_criteria": meets, "reason": reason}
        assert parse_values("record_complaints_triage", values) == values


def test_only_the_manager_may_close_while_the_reply_window_runs() -> None:
    running = CaseFacts(state="responded", reply_window_open=True)
    ended = CaseFacts(state="responded", reply_window_open=False)
    reason = refusal("close", running, OFFICER)
    assert reason is not None and "reply window" in reason
    assert refusal("close", running, MANAGER) is None
    assert refusal("close", ended, OFFICER) is None


def test_closing_early_needs_a_reason_and_the_table_says_so() -> None:
    (close,) = steps_for("close")
    running = CaseFacts(state="responded", reply_window_open=True)
    ended = CaseFacts(state="responded", reply_window_open=False)
    field, problem = value_problem(close, running, MANAGER, {}) or ("", "")
    assert field == "reason" and problem.startswith("Enter the reason for closing before")
    assert value_problem(close, running, MANAGER, {"reason": "The person phoned."}) is None
    assert value_problem(close, ended, OFFICER, {}) is None


def test_the_service_names_no_event_to_guard_it() -> None:
    """Guards live in the lifecycle table: the service that fires events compares no event
    name with a literal (KEPT_ON_THE_CASE and the effects are data keyed by event, not guards)."""
    from pathlib import Path

    import concerns.workflows.lifecycle as service

    source = Path(service.__file__).read_text(encoding="utf-8")
    assert 'event == "' not in source and "event in (" not in source


def test_every_event_that_can_close_a_case_or_write_to_the_person_asks_first() -> None:
    """A closing event asks "are you sure"; a letter's event shows the letter (the web's check
    page), so nothing that ends a case or reaches the person goes in one click."""
    from concerns.workflows.machine import CONFIRM_EVENTS

    for step in STEPS:
        if step.dest == "closed":
            assert step.event in CONFIRM_EVENTS or step.letter, step.event


def test_firing_asks_each_guard_once_and_agrees_with_the_machine_on_every_row() -> None:
    # `fire` picks the row itself; the shared machine must fire the same row to the same state.
    facts_variants = [
        CaseFacts(state=state, reviewer=reviewer, has_outcome=outcome, submitted_by=submitter,
                  complaints_meets_criteria=meets, legal_proceedings=legal,
                  open_safeguarding_escalations=safeguarding, open_escalations=safeguarding,
                  return_state=back, reply_window_open=window)
        for state in STATES
        for reviewer, submitter, outcome in ((None, None, False), ("alex", None, True),
                                             ("alex", "alex", True))
        for meets, legal in ((None, None), (False, "none"), (True, "active"))
        for back, window, safeguarding in ((None, False, 0), ("in_review", True, 1))
    ]
    actors = [OFFICER, MANAGER, DIRECTOR, ASSISTANT, INFO]
    for event in EVENTS:
        fields = fields_of(event).values()
        values_variants: list[dict[str, object]] = [{}] + [
            {f.name: choice} for f in fields for choice in f.choices
        ]
        for facts in facts_variants:
            for actor in actors:
                for values in values_variants:
                    try:
                        expected = next_state(event, facts, actor, values)
                    except PermissionError as exc:
                        with pytest.raises(PermissionError, match=re.escape(str(exc))):
                            fire(event, facts, actor, values)
                        continue
                    step, state = fire(event, facts, actor, values)
                    assert state == expected, (event, facts, actor, values)
                    assert step == choose_step(event, facts, actor, values)


def test_a_roles_task_in_a_state_is_its_duty_in_the_table_and_none_where_it_has_none() -> None:
    assert task_for("awaiting_signoff", "director") == "Authorise the outcome or return it"
    assert task_for("letter_ready", "director") == "Sign the outcome letter"
    assert task_for("signed", "executive_assistant") == "Send the signed letter"
    assert task_for("logged", "director") is None
    assert task_for("closed", "iat_officer") is None
