"""The lifecycle table (drawn in docs/lifecycle.md): the single source of truth for states,
events, roles, guards, the values each event takes and what it does to the clocks.

Pure: no database. The CLI, the web pages and the generated diagram all read `STEPS`. One shared
`transitions` machine is built from the table (never one per case; `auto_transitions=False` so
nothing can jump to a state); callbacks do no I/O: the service layer stores after the trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from transitions import Machine, MachineError

from concerns.workflows.errors import parse_day

STATES = (
    "logged",
    "triage",
    "awaiting_information",
    "complaint_offered",
    "in_review",
    "awaiting_signoff",
    "authorised",
    "letter_ready",
    "signed",
    "responded",
    "dissatisfied",
    "meeting_offered",
    "closed",
)
OPEN_STATES = tuple(s for s in STATES if s != "closed")

ROLES = (
    "intake",
    "iat_officer",
    "iat_manager",
    "information_officer",
    "legal",
    "director",
    "executive_assistant",
    "auditor",
    "admin",
)
IAT = frozenset({"iat_officer", "iat_manager"})
# Pseudo-role: the reviewer assigned to the case.
REVIEWER = "reviewer"
# Roles that may read case content at all (auditor and admin see aggregates and users only).
CASE_READERS = frozenset(
    {
        "iat_officer",
        "iat_manager",
        "information_officer",
        "legal",
        "director",
        "executive_assistant",
    }
)
# Records management (retention, anonymisation, subject access, restriction): the Access to
# Information Team's information officer, and the IAT manager. Also the only roles that may see
# a person whose record is restricted.
RECORDS_OFFICERS = frozenset({"information_officer", "iat_manager"})

# --- need to know: which parts of a case each role may read, per state ----------------------
# Every reader sees the case's reference, state, dates, clocks and the person's name (lists and
# queues need them); the parts below are shown only to the roles and states declared here. The
# services (queries.show_case, letters, contact corrections) enforce it, so the CLI, the pages,
# the JSON API and the exports agree.
PARTS = (
    "concern",  # what the person wrote: the contacts' text, staff named, years involved
    "contact_details",  # email, phone, address, postcode, relationship
    "children",  # children's names and dates of birth
    "triage_summary",  # the complaints and legal triage decisions
    "review_notes",  # the learning review's notes (interviews, records examined)
    "escalations",  # escalations raised in the review (safeguarding)
    "outcome",  # the outcome summary and wording
    "letters",  # the letters and their PDFs
    "history",  # the case's events (review notes and escalations only with those parts)
)
ALL_PARTS = frozenset(PARTS)
_SIGNOFF_ON = ("awaiting_signoff", "authorised", "letter_ready", "signed", "responded",
               "dissatisfied", "meeting_offered", "closed")
_TRIAGE_OPEN = ("triage", "awaiting_information")
_LEGAL_OPEN = ("triage", "awaiting_information", "in_review")
_TRIAGE_WORK = frozenset({"concern", "children", "triage_summary", "history"})


@dataclass(frozen=True)
class Reading:
    """One row of the need-to-know table: ROLE may read PARTS while the case is in STATES."""

    role: str
    states: tuple[str, ...]
    parts: frozenset[str]


def _others(states: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s for s in STATES if s not in states)


READS: tuple[Reading, ...] = (
    Reading("iat_officer", STATES, ALL_PARTS),
    Reading("iat_manager", STATES, ALL_PARTS),
    # Triage needs the concern and the children while it is open; afterwards the summary only.
    Reading("information_officer", _TRIAGE_OPEN, _TRIAGE_WORK),
    Reading("information_officer", _others(_TRIAGE_OPEN), frozenset({"triage_summary"})),
    Reading("legal", _LEGAL_OPEN, _TRIAGE_WORK),
    Reading("legal", _others(_LEGAL_OPEN), frozenset({"triage_summary"})),
    # Letters, names and addresses; never the review's notes or escalations.
    Reading("executive_assistant", STATES,
            frozenset({"contact_details", "outcome", "letters", "history"})),
    # Everything she signs off, from sign-off on; before that, the triage summary.
    Reading("director", _SIGNOFF_ON, ALL_PARTS),
    Reading("director", _others(_SIGNOFF_ON), frozenset({"triage_summary"})),
)
_READS_BY_ROLE_STATE: dict[tuple[str, str], frozenset[str]] = {}
for _reading in READS:
    for _state in _reading.states:
        _key = (_reading.role, _state)
        _READS_BY_ROLE_STATE[_key] = _READS_BY_ROLE_STATE.get(_key, frozenset()) | _reading.parts


def readable_parts(roles: frozenset[str], state: str) -> frozenset[str]:
    """The parts of a case in STATE that someone holding ROLES may read."""
    out: frozenset[str] = frozenset()
    for role in roles:
        out |= _READS_BY_ROLE_STATE.get((role, state), frozenset())
    return out


COMPLAINTS_REASONS = (
    "within_time_limit",
    "time_limit_passed",
    "all_stages_exhausted",
    "not_a_complaint",
    "other",
)
PROCEEDINGS = ("none", "in_progress", "recently_closed")
REVIEW_NOTE_KINDS = (
    "records_examined",
    "interview_staff",
    "interview_respondent",
    "legal_comment",
    "other",
)
SEVERITIES = ("safeguarding", "practice")
MEETING_RESULTS = ("resolved", "declined", "further_action")
OUTSIDE_FRAMEWORK_REASONS = (
    "resolved_by_discussion",
    "formal_complaint",
    "duplicate",
    "withdrawn",
    "not_a_care_concern",
    "other",
)


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str]
    name_key: str = ""


@dataclass(frozen=True)
class CaseFacts:
    """What the guards need to know about a case, read by the service before firing."""

    state: str
    reviewer: str | None = None
    complaints_meets_criteria: bool | None = None
    legal_proceedings: str | None = None
    has_outcome: bool = False
    submitted_by: str | None = None
    open_safeguarding_escalations: int = 0
    open_escalations: int = 0
    return_state: str | None = None
    staff_named_keys: frozenset[str] = frozenset()


# A learning review's findings and actions arising, given with submit_outcome as a family of
# keys: `finding.THEME=one line` (one per theme found) and `action.N.PART=…` (N = 1, 2, …).
FINDING_MAX = 300
ACTION_PARTS = ("what", "owner", "due", "theme")
FAMILY_KINDS = ("findings", "actions")


@dataclass(frozen=True)
class Field:
    """A --set key an event takes (a family of keys `NAME.…` for findings and actions)."""

    name: str
    kind: str = "text"  # text | choice | date | user | findings | actions
    choices: tuple[str, ...] = ()
    required: bool = True

    def parse(self, raw: str) -> Any:
        value = raw.strip()
        if not value:
            raise ValueError("empty")
        if self.kind == "findings":
            if "\n" in value or len(value) > FINDING_MAX:
                raise ValueError(f"a finding is one line of at most {FINDING_MAX} characters")
            return value
        if self.kind == "actions" and len(value) > 500:
            raise ValueError("longer than 500 characters")
        if self.kind == "choice" and value not in self.choices:
            raise ValueError("expected one of " + ", ".join(self.choices))
        if self.kind == "date":
            return parse_day(value)
        if self.kind == "text" and len(value) > 20_000:
            raise ValueError("longer than 20000 characters")
        return value


Guard = Callable[[CaseFacts, Actor], str | None]


def _both_triaged(facts: CaseFacts, actor: Actor) -> str | None:
    missing = [
        name
        for name, value in (
            ("complaints triage", facts.complaints_meets_criteria),
            ("legal triage", facts.legal_proceedings),
        )
        if value is None
    ]
    return f"not yet recorded: {' and '.join(missing)}" if missing else None


def _meets_criteria(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.complaints_meets_criteria is None:
        return "the complaints triage decision is not yet recorded"
    if not facts.complaints_meets_criteria:
        return "the complaints triage says it does not meet the complaints criteria"
    return None


def _criteria_not_met(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.complaints_meets_criteria:
        return "the complaints triage says it meets the criteria: offer the complaints route"
    return None


def _reviewer_assigned(facts: CaseFacts, actor: Actor) -> str | None:
    return None if facts.reviewer else "no reviewer is assigned (assign_reviewer first)"


def _outcome_present(facts: CaseFacts, actor: Actor) -> str | None:
    return None if facts.has_outcome else "outcome summary and suggested wording are missing"


def _no_open_safeguarding(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.open_safeguarding_escalations:
        return "a safeguarding escalation is still open (resolve_escalation first)"
    return None


def _not_the_submitter(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.submitted_by == actor.username:
        return "separation of duties: whoever submitted the outcome cannot authorise it"
    return None


def _has_open_escalation(facts: CaseFacts, actor: Actor) -> str | None:
    return None if facts.open_escalations else "there is no open escalation"


@dataclass(frozen=True)
class Step:
    """One row of the lifecycle table."""

    event: str
    sources: tuple[str, ...]
    dest: str | None  # None: internal event, the state stays as it is
    roles: frozenset[str]
    description: str
    guards: tuple[Guard, ...] = ()
    # Guards that depend on the values given with the event: skipped when only asking
    # "could this user fire it now".
    value_guards: tuple[Guard, ...] = ()
    fields: tuple[Field, ...] = ()
    note_required: bool = False
    # Condition on the values choosing between rows of one event (record_meeting,
    # information_received).
    when: Callable[[Mapping[str, Any], CaseFacts], bool] | None = None
    starts: tuple[str, ...] = ()  # clocks started
    stops: tuple[str, ...] = ()  # clocks met ("*": every running clock)
    pauses: bool = False  # pauses the running clocks (request_information)
    resumes: bool = False  # resumes the paused clocks (information_received)
    letter: str | None = None  # letter kind produced
    outcome: str | None = None  # case outcome set when it closes


def _came_from(state: str) -> Callable[[Mapping[str, Any], CaseFacts], bool]:
    return lambda _values, facts: facts.return_state == state


def _result_in(*results: str) -> Callable[[Mapping[str, Any], CaseFacts], bool]:
    return lambda values, _facts: values.get("result") in results


_IAT = IAT
_IAT_EA = IAT | {"executive_assistant"}
_DIRECTOR_EA = frozenset({"director", "executive_assistant"})
_MANAGER = frozenset({"iat_manager"})
_REVIEWER_MANAGER = frozenset({REVIEWER, "iat_manager"})

STEPS: tuple[Step, ...] = (
    Step(
        "acknowledge",
        ("logged",),
        "triage",
        _IAT,
        "Acknowledge the concern and advise of next steps; triage requests go out.",
        stops=("acknowledge",),
        starts=("complaints_triage", "legal_triage"),
        letter="acknowledgement",
    ),
    Step(
        "request_information",
        ("logged", "triage", "in_review"),
        "awaiting_information",
        _IAT,
        "Ask the person for further information (the note is the request); clocks pause.",
        note_required=True,
        pauses=True,
        starts=("information_wait",),
        letter="information_request",
    ),
    *(
        Step(
            "information_received",
            ("awaiting_information",),
            origin,
            _IAT_EA,
            "Record the person's reply; paused clocks resume with the days they had left.",
            when=_came_from(origin),
            stops=("information_wait",),
            resumes=True,
        )
        for origin in ("logged", "triage", "in_review")
    ),
    Step(
        "answer_query",
        ("logged",),
        "closed",
        _IAT,
        "Answer the query directly (the note is the answer); closes outside the framework.",
        note_required=True,
        stops=("*",),
        letter="answer",
        outcome="answered",
    ),
    Step(
        "record_complaints_triage",
        ("triage",),
        None,
        frozenset({"information_officer"}),
        "Record whether it meets the formal complaints criteria, and why.",
        fields=(
            Field("meets_criteria", "choice", ("yes", "no")),
            Field("reason", "choice", COMPLAINTS_REASONS),
        ),
        stops=("complaints_triage",),
    ),
    Step(
        "record_legal_triage",
        ("triage", "in_review"),
        None,
        frozenset({"legal"}),
        "Record whether legal proceedings are in progress or recently closed.",
        fields=(
            Field("proceedings", "choice", PROCEEDINGS),
            Field("comment", "text", required=False),
        ),
        stops=("legal_triage",),
    ),
    Step(
        "offer_complaints_route",
        ("triage",),
        "complaint_offered",
        _IAT,
        "Offer the formal complaints route.",
        guards=(_meets_criteria,),
        stops=("complaints_triage", "legal_triage"),
        starts=("offer_reply",),
        letter="complaints_offer",
    ),
    Step(
        "accept_complaints_route",
        ("complaint_offered",),
        "closed",
        _IAT_EA,
        "The person takes the formal complaints route; the case closes here.",
        stops=("*",),
        outcome="referred_to_complaints",
    ),
    Step(
        "decline_complaints_route",
        ("complaint_offered",),
        "in_review",
        _IAT_EA,
        "The person declines the complaints route; a learning review follows.",
        guards=(_reviewer_assigned,),
        stops=("offer_reply",),
        starts=("review",),
    ),
    Step(
        "assign_reviewer",
        ("triage", "in_review", "complaint_offered"),
        None,
        _MANAGER,
        "Assign an IAT reviewer independent of the case.",
        fields=(Field("reviewer", "user"),),
    ),
    Step(
        "start_review",
        ("triage",),
        "in_review",
        _IAT,
        "Start the learning review.",
        guards=(_both_triaged, _criteria_not_met, _reviewer_assigned),
        stops=("complaints_triage", "legal_triage"),
        starts=("review",),
    ),
    Step(
        "add_review_note",
        ("in_review",),
        None,
        _REVIEWER_MANAGER,
        "Add a learning review note: records examined, interviews, legal comments.",
        fields=(Field("kind", "choice", REVIEW_NOTE_KINDS),),
        note_required=True,
    ),
    Step(
        "raise_escalation",
        ("in_review",),
        None,
        _REVIEWER_MANAGER,
        "Escalate a concern arising from the review.",
        fields=(Field("severity", "choice", SEVERITIES), Field("to", "text")),
    ),
    Step(
        "resolve_escalation",
        ("in_review",),
        None,
        _MANAGER,
        "Resolve the open escalations.",
        guards=(_has_open_escalation,),
    ),
    Step(
        "extend_deadline",
        OPEN_STATES,
        None,
        _MANAGER,
        "Extend a running clock, with a reason, up to the stage's maximum.",
        fields=(Field("clock", "text"), Field("due", "date"), Field("reason", "text")),
    ),
    Step(
        "submit_outcome",
        ("in_review",),
        "awaiting_signoff",
        frozenset({REVIEWER}),
        "Send the review's outcome and suggested wording to the director.",
        fields=(
            Field("summary", "text", required=False),
            Field("wording", "text", required=False),
            Field("finding", "findings", required=False),
            Field("action", "actions", required=False),
        ),
        guards=(_no_open_safeguarding,),
        value_guards=(_outcome_present,),
        stops=("review",),
        starts=("signoff",),
    ),
    Step(
        "return_for_changes",
        ("awaiting_signoff",),
        "in_review",
        frozenset({"director"}),
        "Return the outcome to the reviewer with a note.",
        note_required=True,
        stops=("signoff",),
        starts=("review",),
    ),
    Step(
        "authorise",
        ("awaiting_signoff",),
        "authorised",
        frozenset({"director"}),
        "Authorise the outcome and its wording (which may be edited).",
        fields=(Field("wording", "text", required=False),),
        guards=(_not_the_submitter,),
        stops=("signoff",),
        starts=("letter",),
    ),
    Step(
        "prepare_letter",
        ("authorised",),
        "letter_ready",
        frozenset({"executive_assistant"}),
        "Put the authorised response on letterhead.",
        stops=("letter",),
        starts=("signature",),
        letter="outcome",
    ),
    Step(
        "sign",
        ("letter_ready",),
        "signed",
        frozenset({"director"}),
        "Sign the outcome letter.",
        stops=("signature",),
        starts=("dispatch",),
    ),
    Step(
        "send",
        ("signed",),
        "responded",
        frozenset({"executive_assistant"}),
        "Send the signed letter by email or post.",
        fields=(Field("method", "choice", ("email", "post")),),
        stops=("dispatch",),
        starts=("reply_window",),
    ),
    Step(
        "record_dissatisfaction",
        ("responded",),
        "dissatisfied",
        _IAT_EA,
        "The person is not happy with the outcome.",
        stops=("reply_window",),
        starts=("meeting_offer",),
    ),
    Step(
        "offer_meeting",
        ("dissatisfied",),
        "meeting_offered",
        _DIRECTOR_EA,
        "The director offers to meet the person.",
        fields=(Field("date", "date", required=False),),
        stops=("meeting_offer",),
        letter="meeting_offer",
    ),
    Step(
        "record_meeting",
        ("meeting_offered",),
        "closed",
        _DIRECTOR_EA,
        "Record the meeting: resolved or declined closes the case.",
        fields=(Field("result", "choice", MEETING_RESULTS),),
        when=_result_in("resolved", "declined"),
        stops=("*",),
        outcome="responded",
    ),
    Step(
        "record_meeting",
        ("meeting_offered",),
        "in_review",
        _DIRECTOR_EA,
        "Record the meeting: further action returns the case to review.",
        fields=(Field("result", "choice", MEETING_RESULTS),),
        when=_result_in("further_action"),
        starts=("review",),
    ),
    Step(
        "close",
        ("responded",),
        "closed",
        _IAT,
        "Close the case after the reply window.",
        stops=("*",),
        outcome="responded",
    ),
    Step(
        "close_outside_framework",
        OPEN_STATES,
        "closed",
        _MANAGER,
        "Close the case outside the framework, with a reason.",
        fields=(Field("reason", "choice", OUTSIDE_FRAMEWORK_REASONS),),
        stops=("*",),
        outcome="outside_framework",
    ),
    Step(
        "reopen",
        ("closed",),
        "in_review",
        _MANAGER,
        "Reopen a closed case for review; the review clock starts afresh.",
        note_required=True,
        starts=("review",),
    ),
)

EVENTS: tuple[str, ...] = tuple(dict.fromkeys(s.event for s in STEPS))
# Events that are not in the table but are recorded in the audit trail.
INTERNAL_RECORDS = (
    "concern_logged", "contact_added", "case_viewed", "user_added",
    "action_completed", "action_extended",
)
# Who closes an action arising with its evidence, or extends it: the IAT.
ACTION_ROLES = IAT


def _index() -> tuple[dict[str, tuple[Step, ...]], dict[str, dict[str, Field]]]:
    # Queues and pages ask these for every case and event: look them up, never scan the table.
    by_event: dict[str, list[Step]] = {}
    for step in STEPS:
        by_event.setdefault(step.event, []).append(step)
    fields: dict[str, dict[str, Field]] = {}
    for event, steps in by_event.items():
        out: dict[str, Field] = {}
        for step in steps:
            for f in step.fields:
                out.setdefault(f.name, f)
        fields[event] = out
    return {e: tuple(steps) for e, steps in by_event.items()}, fields


_STEPS_BY_EVENT, _FIELDS_BY_EVENT = _index()


def steps_for(event: str) -> tuple[Step, ...]:
    return _STEPS_BY_EVENT.get(event, ())


def fields_of(event: str) -> dict[str, Field]:
    return dict(_FIELDS_BY_EVENT.get(event, {}))


def has_role(step: Step, facts: CaseFacts, actor: Actor) -> bool:
    if step.roles & actor.roles:
        return True
    return REVIEWER in step.roles and facts.reviewer == actor.username and bool(actor.roles & IAT)


def refusal(
    event: str, facts: CaseFacts, actor: Actor, values: Mapping[str, Any] | None = None
) -> str | None:
    """Why ACTOR may not fire EVENT on a case with FACTS now, or None if they may.

    With `values` None, value-dependent choices (`when`) are not considered: the question is
    then "could this user fire it now with suitable values".
    """
    steps = steps_for(event)
    if not steps:
        return f"no such event: {event}"
    in_state = [s for s in steps if facts.state in s.sources]
    if not in_state:
        return f"{event} is not possible while the case is {facts.state}"
    with_role = [s for s in in_state if has_role(s, facts, actor)]
    if not with_role:
        who = ", ".join(sorted(steps[0].roles)).replace(REVIEWER, "the assigned reviewer")
        return f"{event} needs the role {who}"
    chosen = with_role
    if values is not None:
        chosen = [s for s in with_role if s.when is None or s.when(values, facts)]
        if not chosen:
            return f"{event}: the values given do not fit the case"
    problems: list[str] = []
    for step in chosen:
        guards = step.guards + (step.value_guards if values is not None else ())
        reasons = [r for g in guards if (r := g(facts, actor))]
        if not reasons:
            return None
        problems.extend(reasons)
    return f"{event} refused: " + "; ".join(dict.fromkeys(problems))


def fits(step: Step, facts: CaseFacts, actor: Actor, values: Mapping[str, Any]) -> bool:
    """Whether this row may fire for ACTOR with VALUES (the state is the machine's to check)."""
    return (
        has_role(step, facts, actor)
        and (step.when is None or step.when(values, facts))
        and not any(g(facts, actor) for g in step.guards + step.value_guards)
    )


def choose_step(event: str, facts: CaseFacts, actor: Actor, values: Mapping[str, Any]) -> Step:
    """The row that fires; call only after `refusal` returned None."""
    for step in steps_for(event):
        if facts.state in step.sources and fits(step, facts, actor, values):
            return step
    raise LookupError(event)


# State → the events some row may fire from it, in table order: queues ask only these.
_EVENTS_FROM: dict[str, tuple[str, ...]] = {
    state: tuple(dict.fromkeys(s.event for s in STEPS if state in s.sources)) for state in STATES
}


def available_events(facts: CaseFacts, actor: Actor) -> list[str]:
    """The events ACTOR may fire now (the transitions idiom `may_<event>`)."""
    return [e for e in _EVENTS_FROM.get(facts.state, ()) if refusal(e, facts, actor) is None]


def parse_values(event: str, raw: Mapping[str, str]) -> dict[str, Any]:
    """Check --set KEY=VALUE pairs against the event's fields; ValueError("key: problem")."""
    fields = fields_of(event)
    values: dict[str, Any] = {}
    for key, text in raw.items():
        base, _, sub = key.partition(".")
        spec = fields.get(base)
        if spec is None or (spec.kind in FAMILY_KINDS) != bool(sub):
            known = ", ".join(
                f"{f.name}.THEME" if f.kind == "findings"
                else f"{f.name}.N.{'|'.join(ACTION_PARTS)}" if f.kind == "actions" else f.name
                for f in fields.values()
            ) or "none"
            raise ValueError(f"{key}: not a value {event} takes (it takes: {known})")
        try:
            parsed = spec.parse(text)
        except ValueError as exc:
            raise ValueError(f"{key}: {exc}") from None
        if spec.kind == "findings":
            values.setdefault(base, {})[sub] = parsed
        elif spec.kind == "actions":
            number, _, part = sub.partition(".")
            if not number.isdigit() or part not in ACTION_PARTS:
                raise ValueError(
                    f"{key}: expected {base}.N.PART with PART one of {', '.join(ACTION_PARTS)}"
                )
            values.setdefault(base, {}).setdefault(number, {})[part] = parsed
        else:
            values[key] = parsed
    for spec in fields.values():
        if spec.required and spec.name not in values:
            raise ValueError(f"{spec.name}: required for {event}")
    return values


# --- the shared transitions machine -------------------------------------------------------


class _Subject:
    """What the shared machine moves: a state plus the facts and actor the guards read."""

    def __init__(self, facts: CaseFacts) -> None:
        self.state = facts.state


def _condition(step: Step) -> Callable[..., bool]:
    def check(event_data: Any) -> bool:
        kwargs = event_data.kwargs
        return fits(step, kwargs["facts"], kwargs["actor"], kwargs["values"])

    return check


def _build_machine() -> Machine:
    machine = Machine(
        model=None,
        states=list(STATES),
        initial="logged",
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for step in STEPS:
        machine.add_transition(
            step.event, list(step.sources), step.dest, conditions=[_condition(step)]
        )
    return machine


MACHINE = _build_machine()


def next_state(event: str, facts: CaseFacts, actor: Actor, values: Mapping[str, Any]) -> str:
    """Fire EVENT through the shared machine; returns the new state (the same for internal
    events). Raises PermissionError with the reason if it may not fire."""
    reason = refusal(event, facts, actor, values)
    if reason:
        raise PermissionError(reason)
    subject = _Subject(facts)
    try:
        fired = MACHINE.events[event].trigger(subject, facts=facts, actor=actor, values=values)
    except MachineError as exc:
        raise PermissionError(str(exc)) from None
    if not fired:
        raise PermissionError(f"{event} refused")
    return str(subject.state)


def diagram_mermaid() -> str:
    """The state diagram in Mermaid, generated from the table (docs/lifecycle.md)."""
    lines = ["stateDiagram-v2", "    [*] --> logged: intake"]
    seen: set[tuple[str, str, str]] = set()
    for step in STEPS:
        for source in step.sources:
            if step.dest is None:
                continue
            if len(step.sources) == len(OPEN_STATES) and source != "logged":
                # "any open state" rows are drawn once, from a note, to keep the picture legible.
                continue
            label = step.event
            if len(step.sources) == len(OPEN_STATES):
                label += " (from any open state)"
            key = (source, step.dest, label)
            if key not in seen:
                seen.add(key)
                lines.append(f"    {source} --> {step.dest}: {label}")
    lines.append("    closed --> [*]")
    return "\n".join(lines) + "\n"


def diagram_markdown() -> str:
    """docs/lifecycle.md: the diagram with the table's roles, kept in step by a test."""
    rows = [
        "| event | from | to | who |",
        "|---|---|---|---|",
    ]
    for step in STEPS:
        sources = "any open state" if step.sources == OPEN_STATES else ", ".join(step.sources)
        who = ", ".join(sorted(step.roles)).replace(REVIEWER, "assigned reviewer")
        rows.append(f"| `{step.event}` | {sources} | {step.dest or '(internal)'} | {who} |")
    return (
        "# The lifecycle\n\n"
        "Generated from `concerns/workflows/machine.py` by `make diagram`; do not edit by hand.\n\n"
        "```mermaid\n" + diagram_mermaid() + "```\n\n" + "\n".join(rows) + "\n"
    )
