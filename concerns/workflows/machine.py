"""The lifecycle table (drawn in docs/lifecycle.md): the single source of truth for states,
events, roles, guards, the values each event takes and what it does to the clocks.

Pure: no database. The CLI, the web pages and the generated diagram all read `STEPS`. One shared
`transitions` machine is built from the table (never one per case; `auto_transitions=False` so
nothing can jump to a state); callbacks do no I/O: the service layer stores after the trigger.
"""

from __future__ import annotations

import functools
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
# Every reader who may open a case sees its reference, state, dates and clocks; the parts below
# are shown only to the roles and states declared here. The services (queries.show_case and the
# lists, letters, contact corrections) enforce it, so the CLI, the pages, the JSON API, search
# and the exports agree.
PARTS = (
    "listing",  # the person's name, and the case in lists, queues and search (by name or reference)
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
_TRIAGE_WORK = frozenset({"listing", "concern", "children", "triage_summary", "history"})


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
    # Triage needs the concern and the children while it is open; afterwards the summary only,
    # by reference: the case leaves their lists and search.
    Reading("information_officer", _TRIAGE_OPEN, _TRIAGE_WORK),
    Reading("information_officer", _others(_TRIAGE_OPEN), frozenset({"triage_summary"})),
    Reading("legal", _LEGAL_OPEN, _TRIAGE_WORK),
    Reading("legal", _others(_LEGAL_OPEN), frozenset({"triage_summary"})),
    # Letters, names and addresses; never the review's notes or escalations.
    Reading("executive_assistant", STATES,
            frozenset({"listing", "contact_details", "outcome", "letters", "history"})),
    # Everything she signs off, from sign-off on; before that, the triage summary (by reference:
    # the case is in none of her lists until it reaches her).
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


def states_readable(roles: frozenset[str], part: str) -> tuple[str, ...]:
    """The states in which someone holding ROLES may read PART (for "listing": the states of the
    cases their lists and search show)."""
    return tuple(s for s in STATES if part in readable_parts(roles, s))


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
# Whom an escalation goes to besides staff (the page offers these and the staff by name; the
# command line takes any recipient as written).
ESCALATION_RECIPIENTS = (
    "LADO (Local Authority Designated Officer)",
    "MASH (Multi-Agency Safeguarding Hub)",
    "Children's services front door",
)
# Every clock a case can run, in the order a case meets them (their targets are in config.toml).
CLOCKS = (
    "acknowledge",
    "complaints_triage",
    "legal_triage",
    "route",
    "allocation",
    "offer_reply",
    "information_wait",
    "review",
    "escalation",
    "signoff",
    "letter",
    "signature",
    "dispatch",
    "reply_window",
    "meeting_offer",
    "meeting",
)
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
    # The 20-working-day window for the person to reply to the outcome is still running.
    reply_window_open: bool = False


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
    # Needed only in some cases, which a value check of its row refuses without it (the hint
    # says when): never labelled optional.
    conditional: bool = False

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
# A guard on the values given with the event that only the case can judge: (the field, what to
# do) when they will not do, refused as bad input naming that field (beside it on a page).
ValueCheck = Callable[[CaseFacts, Actor, Mapping[str, Any]], tuple[str, str] | None]


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
    return None if facts.reviewer else "no reviewer is assigned (the IAT manager assigns one)"


def _outcome_present(facts: CaseFacts, actor: Actor) -> str | None:
    return None if facts.has_outcome else "outcome summary and suggested wording are missing"


def _no_open_safeguarding(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.open_safeguarding_escalations:
        return "a safeguarding escalation is still open (the IAT manager resolves it first)"
    return None


def _not_the_submitter(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.submitted_by == actor.username:
        return "separation of duties: whoever submitted the outcome cannot authorise it"
    return None


def _has_open_escalation(facts: CaseFacts, actor: Actor) -> str | None:
    return None if facts.open_escalations else "there is no open escalation"


def _reply_window_over(facts: CaseFacts, actor: Actor) -> str | None:
    if facts.reply_window_open and "iat_manager" not in actor.roles:
        return (
            "the person's reply window is still running (only the IAT manager may close "
            "earlier, with a reason)"
        )
    return None


def _reason_while_the_window_runs(
    facts: CaseFacts, actor: Actor, values: Mapping[str, Any]
) -> tuple[str, str] | None:
    """Closing while the person's reply window still runs (the IAT manager only) needs a reason."""
    if facts.reply_window_open and "reason" not in values:
        return "reason", field_words("close", "reason")[2] + " (it is still running)"
    return None


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
    # Checks of the values against the case, refused as bad input naming the field.
    value_checks: tuple[ValueCheck, ...] = ()
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
        # Optional words of the officer's own (a question to the person, say), checked on the
        # letter before it goes like every other letter's wording.
        fields=(Field("wording", "text", required=False),),
        stops=("acknowledge",),
        starts=("complaints_triage", "legal_triage"),
        letter="acknowledgement",
    ),
    Step(
        "request_information",
        ("logged", "triage", "in_review"),
        "awaiting_information",
        _IAT,
        "Ask the person for further information in a letter; the other deadlines pause.",
        fields=(Field("wording", "text"),),
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
        "Answer the query directly in a letter; the case closes outside the framework.",
        fields=(Field("wording", "text"),),
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
        "Offer the formal complaints route in a letter.",
        fields=(Field("wording", "text", required=False),),
        guards=(_meets_criteria,),
        stops=("complaints_triage", "legal_triage", "route"),
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
        stops=("complaints_triage", "legal_triage", "route"),
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
        fields=(
            Field("clock", "choice", CLOCKS),
            Field("due", "date"),
            Field("reason", "text"),
        ),
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
        "return_letter",
        ("letter_ready",),
        "authorised",
        frozenset({"director"}),
        "Send the letter back to the assistant unsigned, with a note of what to change.",
        note_required=True,
        stops=("signature",),
        starts=("letter",),
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
        "The director offers to meet the person, in a letter.",
        fields=(Field("date", "date", required=False), Field("wording", "text", required=False)),
        stops=("meeting_offer",),
        starts=("meeting",),
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
        stops=("meeting",),
        starts=("review",),
    ),
    Step(
        "close",
        ("responded",),
        "closed",
        _IAT,
        "Close the case once the person's reply window has ended.",
        fields=(Field("reason", "text", required=False, conditional=True),),
        guards=(_reply_window_over,),
        value_checks=(_reason_while_the_window_runs,),
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


# --- who must act, and the words for everything ----------------------------------------------


@dataclass(frozen=True)
class Duty:
    """Who must act on an open case, what they must do, and the running clock that dates it.

    Every open state has at least one duty whatever the case's facts (a test walks them all), so
    no case is ever without an owner and a date. `owner` is a role or REVIEWER; `events` do the
    work, the first the user may fire being the case page's primary button.
    """

    state: str
    owner: str
    clock: str
    task: str
    events: tuple[str, ...]
    when: Callable[[CaseFacts], bool] | None = None

    def applies(self, facts: CaseFacts) -> bool:
        return facts.state == self.state and (self.when is None or self.when(facts))


def _triaged(facts: CaseFacts) -> bool:
    return facts.complaints_meets_criteria is not None and facts.legal_proceedings is not None


DUTIES: tuple[Duty, ...] = (
    Duty("logged", "iat_officer", "acknowledge", "Acknowledge the concern",
         ("acknowledge", "answer_query")),
    Duty("triage", "information_officer", "complaints_triage",
         "Record the complaints triage decision", ("record_complaints_triage",),
         when=lambda f: f.complaints_meets_criteria is None),
    Duty("triage", "legal", "legal_triage", "Record the legal triage decision",
         ("record_legal_triage",), when=lambda f: f.legal_proceedings is None),
    Duty("triage", "iat_officer", "route", "Offer the formal complaints route",
         ("offer_complaints_route",),
         when=lambda f: _triaged(f) and bool(f.complaints_meets_criteria)),
    # Triage complete, no reviewer: the IAT manager's, on a clock of its own.
    Duty("triage", "iat_manager", "allocation", "Assign a reviewer", ("assign_reviewer",),
         when=lambda f: _triaged(f) and not f.complaints_meets_criteria and not f.reviewer),
    Duty("triage", "iat_officer", "route", "Start the learning review", ("start_review",),
         when=lambda f: _triaged(f) and not f.complaints_meets_criteria and bool(f.reviewer)),
    Duty("awaiting_information", "iat_officer", "information_wait",
         "Record the person's reply when it comes", ("information_received",)),
    Duty("complaint_offered", "iat_officer", "offer_reply",
         "Record the person's answer to the complaints-route offer",
         ("accept_complaints_route", "decline_complaints_route")),
    Duty("in_review", "iat_manager", "allocation", "Assign a reviewer", ("assign_reviewer",),
         when=lambda f: not f.reviewer),
    Duty("in_review", "iat_manager", "escalation", "Resolve the safeguarding escalation",
         ("resolve_escalation",), when=lambda f: f.open_safeguarding_escalations > 0),
    Duty("in_review", REVIEWER, "review",
         "Carry out the learning review and send the outcome to the director",
         ("submit_outcome", "add_review_note"), when=lambda f: bool(f.reviewer)),
    Duty("awaiting_signoff", "director", "signoff", "Authorise the outcome or return it",
         ("authorise", "return_for_changes")),
    Duty("authorised", "executive_assistant", "letter", "Prepare the outcome letter",
         ("prepare_letter",)),
    Duty("letter_ready", "director", "signature", "Sign the outcome letter",
         ("sign", "return_letter")),
    Duty("signed", "executive_assistant", "dispatch", "Send the signed letter", ("send",)),
    Duty("responded", "iat_officer", "reply_window",
         "Close the case when the reply window ends, unless the person is not satisfied",
         ("close", "record_dissatisfaction")),
    Duty("dissatisfied", "director", "meeting_offer", "Offer the person a meeting",
         ("offer_meeting",)),
    Duty("meeting_offered", "director", "meeting", "Record how the meeting went",
         ("record_meeting",)),
)
# Clocks that run while their duty applies rather than from one event to another: the service
# starts and stops them after every event (triage complete; a case in review with no reviewer).
SITUATION_CLOCKS = ("route", "allocation")


# DUTIES by state, in the table's order: every event asks for its case's (a dictionary, not a scan).
_DUTIES_BY_STATE: dict[str, tuple[Duty, ...]] = {
    state: tuple(d for d in DUTIES if d.state == state) for state in {d.state for d in DUTIES}
}


def duties(facts: CaseFacts) -> list[Duty]:
    """What must happen next on a case with FACTS (nothing once it is closed)."""
    return [d for d in _DUTIES_BY_STATE.get(facts.state, ()) if d.applies(facts)]


def duty_clocks(facts: CaseFacts) -> set[str]:
    return {d.clock for d in duties(facts)}


def task_for(state: str, owner: str) -> str | None:
    """What OWNER (a role) must do with a case in STATE, in the table's words (the first such
    duty), or None when nothing in that state is theirs: the words of a queue's link."""
    return next((d.task for d in _DUTIES_BY_STATE.get(state, ()) if d.owner == owner), None)


STATE_LABELS: dict[str, tuple[str, str]] = {
    "logged": ("Logged", "Received and logged; to be acknowledged"),
    "triage": ("Triage", "With the complaints team and Legal Services for their decisions"),
    "awaiting_information": (
        "Waiting for information",
        "We asked the person for more information; the other deadlines are paused",
    ),
    "complaint_offered": (
        "Complaints route offered",
        "We offered the formal complaints route and wait for the person's answer",
    ),
    "in_review": ("Learning review", "The reviewer examines records and talks to people"),
    "awaiting_signoff": ("Waiting for sign-off", "The outcome is with the director"),
    "authorised": ("Authorised", "The director authorised the outcome; the letter is next"),
    "letter_ready": ("Letter ready to sign", "The outcome letter waits for the signature"),
    "signed": ("Signed", "The signed letter waits to be sent"),
    "responded": ("Response sent", "The person has the outcome and may reply within the window"),
    "dissatisfied": ("Person not satisfied", "The director offers the person a meeting"),
    "meeting_offered": ("Meeting offered", "The director meets the person"),
    "closed": ("Closed", "Nothing more to do"),
}
EVENT_LABELS: dict[str, str] = {
    "acknowledge": "Acknowledge the concern",
    "request_information": "Ask the person for more information",
    "information_received": "Record the person's reply",
    "answer_query": "Answer the query and close the case",
    "record_complaints_triage": "Record the complaints triage decision",
    "record_legal_triage": "Record the legal triage decision",
    "offer_complaints_route": "Offer the formal complaints route",
    "accept_complaints_route": "The person takes the complaints route",
    "decline_complaints_route": "The person declines the complaints route",
    "assign_reviewer": "Assign a reviewer",
    "start_review": "Start the learning review",
    "add_review_note": "Add a review note",
    "raise_escalation": "Raise an escalation",
    "resolve_escalation": "Resolve the escalations",
    "extend_deadline": "Extend a deadline",
    "submit_outcome": "Send the outcome to the director",
    "return_for_changes": "Return the outcome for changes",
    "authorise": "Authorise the outcome",
    "prepare_letter": "Prepare the letter",
    "return_letter": "Return the letter",
    "sign": "Sign the letter",
    "send": "Send the signed letter",
    "record_dissatisfaction": "The person is not satisfied",
    "offer_meeting": "Offer a meeting",
    "record_meeting": "Record the meeting",
    "close": "Close the case",
    "close_outside_framework": "Close outside the framework",
    "reopen": "Reopen the case",
    # Recorded in the audit trail, not fired from the table.
    "concern_logged": "Concern logged",
    "contact_added": "Contact added",
    "case_viewed": "Case viewed",
    "case_view_refused": "Case view refused",
    "user_added": "Staff account added",
    "letter_previewed": "Letter checked before sending",
    "letter_rendered": "Letter viewed or downloaded",
    "letter_posted": "Letter posted",
    "respondent_details_corrected": "Contact details corrected",
    "notification_retried": "Email tried again",
    "case_anonymised": "Case anonymised",
    "people_merged": "People merged",
    "people_split": "People split",
    "people_kept_apart": "People kept apart",
}
# Events that close the case or change what the person is told: the page asks to confirm.
CONFIRM_EVENTS = frozenset(
    {
        "answer_query",
        "accept_complaints_route",
        "record_dissatisfaction",
        "close",
        "close_outside_framework",
        "record_meeting",  # resolved or declined closes the case
        "send",
    }
)
# (event, field) or field → (label, hint, what to say when it is missing); the note is every
# event's internal note.
FIELD_LABELS: dict[str, tuple[str, str, str]] = {
    "meets_criteria": (
        "Does it meet the formal complaints criteria?",
        "",
        "Select whether it meets the formal complaints criteria",
    ),
    "record_complaints_triage.reason": ("Why?", "", "Select why"),
    "extend_deadline.reason": (
        "Reason for the extension",
        "",
        "Enter the reason for the extension",
    ),
    "close_outside_framework.reason": ("Reason for closing", "", "Select the reason for closing"),
    "close.reason": (
        "Reason for closing before the reply window ends",
        "Only needed while the person's reply window is still running",
        "Enter the reason for closing before the reply window ends",
    ),
    "proceedings": ("Are there legal proceedings?", "", "Select whether there are proceedings"),
    "comment": (
        "Comment from Legal Services",
        "Internal: never printed in a letter",
        "Enter a comment",
    ),
    "reviewer": ("Reviewer", "Staff named in the concern are left out", "Select a reviewer"),
    "kind": ("What kind of note is it?", "", "Select what kind of note it is"),
    "severity": ("How serious is it?", "", "Select how serious it is"),
    "to": ("Who is it escalated to?", "", "Select who it is escalated to"),
    "clock": ("Which deadline?", "", "Select the deadline to extend"),
    "due": ("New due date", "It must be a working day", "Enter the new due date"),
    "summary": (
        "Outcome summary",
        "For the director: what the review found",
        "Enter the outcome summary",
    ),
    "wording": (
        "Wording in the letter",
        "Printed in the letter to the person, exactly as written",
        "Enter the wording in the letter",
    ),
    "submit_outcome.wording": (
        "Wording in the letter",
        "The paragraphs that go between the letter's opening and its closing, shown around it",
        "Enter the wording in the letter",
    ),
    "authorise.wording": (
        "Wording in the letter",
        "Edit it if it needs changing; the letter prints it exactly as written",
        "Enter the wording in the letter",
    ),
    "finding": (
        "Learning themes",
        "What the review found, under each theme that applies",
        "Enter what was found",
    ),
    "action": ("Actions arising", "Who does what, by when", "Enter the action"),
    "method": ("How is it sent?", "", "Select how it is sent"),
    "date": ("Meeting date", "A working day after today", "Enter the meeting date"),
    "result": ("How did the meeting go?", "", "Select how the meeting went"),
    "note": (
        "Internal note",
        "Kept on the case file; never printed in a letter",
        "Enter an internal note",
    ),
}
CHOICE_LABELS: dict[str, str] = {
    "yes": "Yes",
    "no": "No",
    "within_time_limit": "Within the time limit",
    "time_limit_passed": "The time limit has passed",
    "all_stages_exhausted": "All complaint stages are exhausted",
    "not_a_complaint": "Not a complaint",
    "other": "Other",
    "none": "No proceedings",
    "in_progress": "Proceedings in progress",
    "recently_closed": "Proceedings recently closed",
    "records_examined": "Records examined",
    "interview_staff": "Interview with staff",
    "interview_respondent": "Interview with the person",
    "legal_comment": "Legal comment",
    "safeguarding": "Safeguarding",
    "practice": "Practice",
    "resolved": "Resolved",
    "declined": "The person declined",
    "further_action": "Further action is needed",
    "resolved_by_discussion": "Resolved by discussion",
    "formal_complaint": "Taken as a formal complaint",
    "duplicate": "Duplicate of another case",
    "withdrawn": "Withdrawn by the person",
    "not_a_care_concern": "Not a concern about care",
    "email": "By email",
    "post": "By post",
    # Outcomes of closed cases.
    "answered": "Answered directly",
    "referred_to_complaints": "Referred to the complaints procedure",
    "outside_framework": "Closed outside the framework",
    "responded": "Responded",
}
CLOCK_LABELS: dict[str, tuple[str, str]] = {
    "acknowledge": ("Acknowledgement", "Acknowledge the concern"),
    "complaints_triage": ("Complaints triage decision", "The information officer decides"),
    "legal_triage": ("Legal triage decision", "Legal Services decide"),
    "route": ("Next step after triage", "Start the review or offer the complaints route"),
    "allocation": ("Assigning a reviewer", "The IAT manager assigns a reviewer"),
    "offer_reply": ("Reply to the complaints-route offer", "The person answers the offer"),
    "information_wait": ("Information from the person", "The person replies to our request"),
    "review": ("Learning review", "The reviewer sends the outcome to the director"),
    "escalation": ("Safeguarding escalation", "Resolved within a calendar day"),
    "signoff": ("Director's sign-off", "The director authorises or returns the outcome"),
    "letter": ("Outcome letter", "The assistant prepares the letter"),
    "signature": ("Director's signature", "The director signs the letter"),
    "dispatch": ("Sending the signed letter", "The assistant sends it"),
    "reply_window": ("Reply window", "The person may tell us they are not satisfied"),
    "meeting_offer": ("Meeting offer", "The director offers to meet the person"),
    "meeting": ("Holding the meeting", "The director meets the person and records how it went"),
}
ROLE_LABELS: dict[str, str] = {
    "intake": "Intake",
    "iat_officer": "IAT officer",
    "iat_manager": "IAT manager",
    "information_officer": "Information officer",
    "legal": "Legal Services",
    "director": "Director",
    "executive_assistant": "Executive assistant",
    "auditor": "Auditor",
    "admin": "Administrator",
    REVIEWER: "Assigned reviewer",
}


def state_label(state: str) -> str:
    return STATE_LABELS[state][0] if state in STATE_LABELS else _words(state)


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event) or _words(event)


def clock_label(clock: str) -> str:
    return CLOCK_LABELS[clock][0] if clock in CLOCK_LABELS else _words(clock)


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role) or _words(role)


def choice_label(choice: str) -> str:
    return CHOICE_LABELS.get(choice) or _words(choice)


def field_words(event: str, name: str) -> tuple[str, str, str]:
    """The (label, hint, message when missing) of EVENT's field NAME (the note included)."""
    found = FIELD_LABELS.get(f"{event}.{name}") or FIELD_LABELS.get(name)
    return found or (_words(name), "", f"Enter {_words(name).lower()}")


def label(code: str) -> str:
    """Any identifier of the table in words: a state, event, clock, role or choice."""
    for table in (STATE_LABELS, CLOCK_LABELS):
        if code in table:
            return table[code][0]
    for plain in (EVENT_LABELS, ROLE_LABELS, CHOICE_LABELS):
        if code in plain:
            return plain[code]
    return _words(code)


def _words(name: str) -> str:
    text = str(name or "").replace("_", " ")
    return (text[:1].upper() + text[1:]).replace("Iat ", "IAT ").replace(" iat ", " IAT ")


def who(roles: frozenset[str] | tuple[str, ...]) -> str:
    """Roles in words: "an IAT officer or IAT manager"."""
    names = [role_label(r) for r in sorted(roles)]
    return " or ".join(names)


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
    """Why ACTOR may not fire EVENT on a case with FACTS now, in words, or None if they may.

    With `values` None, value-dependent choices (`when`) are not considered: the question is
    then "could this user fire it now with suitable values".
    """
    decided = _decide(event, facts, actor, values)
    return decided if isinstance(decided, str) else None


def _decide(
    event: str, facts: CaseFacts, actor: Actor, values: Mapping[str, Any] | None
) -> str | Step:
    """Why ACTOR may not fire EVENT (in words), or the row that fires: the first, in table
    order, whose state, role, choice and guards hold, as `choose_step` and the machine pick."""
    steps = steps_for(event)
    if not steps:
        return f"no such step: {event}"
    what = event_label(event)
    in_state = [s for s in steps if facts.state in s.sources]
    if not in_state:
        return f"{what}: not possible while the case is {state_label(facts.state).lower()}"
    with_role = [s for s in in_state if has_role(s, facts, actor)]
    if not with_role:
        roles = who(steps[0].roles).replace("Assigned", "the assigned")
        return f"{what}: needs the role {roles}"
    chosen = with_role
    if values is not None:
        chosen = [s for s in with_role if s.when is None or s.when(values, facts)]
        if not chosen:
            return f"{what}: the answers given do not fit the case"
    problems: list[str] = []
    for step in chosen:
        guards = step.guards + (step.value_guards if values is not None else ())
        reasons = [r for g in guards if (r := g(facts, actor))]
        if not reasons:
            return step
        problems.extend(reasons)
    return f"{what}: refused: " + "; ".join(dict.fromkeys(problems))


def fits(step: Step, facts: CaseFacts, actor: Actor, values: Mapping[str, Any]) -> bool:
    """Whether this row may fire for ACTOR with VALUES (the state is the machine's to check)."""
    return (
        has_role(step, facts, actor)
        and (step.when is None or step.when(values, facts))
        and not any(g(facts, actor) for g in step.guards + step.value_guards)
    )


def value_problem(
    step: Step, facts: CaseFacts, actor: Actor, values: Mapping[str, Any]
) -> tuple[str, str] | None:
    """The first of STEP's value checks that fails, as (field, what to do), or None."""
    for check in step.value_checks:
        problem = check(facts, actor, values)
        if problem:
            return problem
    return None


def closes_with(event: str, values: Mapping[str, Any]) -> bool:
    """Whether EVENT given VALUES closes the case: a row of it leads to closed and its choice
    on the values (the meeting's result) holds."""
    return any(
        step.dest == "closed"
        and (step.when is None or step.when(values, CaseFacts(state=step.sources[0])))
        for step in steps_for(event)
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
    return list(_available(facts, actor))


@functools.lru_cache(maxsize=4096)
def _available(facts: CaseFacts, actor: Actor) -> tuple[str, ...]:
    # The guards read nothing but the facts and the actor (both frozen): a queue of many cases
    # in the same situation asks the table once.
    return tuple(e for e in _EVENTS_FROM.get(facts.state, ()) if refusal(e, facts, actor) is None)


def parse_values(event: str, raw: Mapping[str, str]) -> dict[str, Any]:
    """Check --set KEY=VALUE pairs against the event's fields; ValueError("key: problem"), the
    problem in words naming the field by its label."""
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
            )
            takes = f"it takes: {known}" if known else "it takes none"
            raise ValueError(f"{key}: not a value {event} takes ({takes})")
        name = field_words(event, base)[0]
        try:
            parsed = spec.parse(text)
        except ValueError as exc:
            if str(exc) == "empty":
                raise ValueError(f"{key}: {field_words(event, base)[2]}") from None
            problem = str(exc)
            if spec.kind == "choice":
                problem = "choose one of: " + "; ".join(choice_label(c) for c in spec.choices)
            raise ValueError(f"{key}: {name} – {problem}") from None
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
            raise ValueError(f"{spec.name}: {field_words(event, spec.name)[2]}")
    rule = VALUE_RULES.get(event)
    conflict = rule(values) if rule else None
    if conflict:
        raise ValueError(f"{conflict[0]}: {conflict[1]}")
    return values


def _triage_agrees(values: Mapping[str, Any]) -> tuple[str, str] | None:
    """A complaints triage whose answer and reason contradict each other is refused."""
    meets, reason = values.get("meets_criteria"), values.get("reason")
    if meets == "yes" and reason in COMPLAINTS_REASONS_NOT_MET:
        return (
            "reason",
            f"“{choice_label(reason)}” means it does not meet the criteria: answer No, "
            "or choose another reason",
        )
    if meets == "no" and reason in COMPLAINTS_REASONS_MET:
        return (
            "reason",
            f"“{choice_label(reason)}” means it meets the criteria: answer Yes, "
            "or choose another reason",
        )
    return None


COMPLAINTS_REASONS_MET = frozenset({"within_time_limit"})
COMPLAINTS_REASONS_NOT_MET = frozenset(
    {"time_limit_passed", "all_stages_exhausted", "not_a_complaint"}
)
# Checks across an event's values (the table's fields check one value each).
VALUE_RULES: dict[str, Callable[[Mapping[str, Any]], tuple[str, str] | None]] = {
    "record_complaints_triage": _triage_agrees,
}


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


def fire(
    event: str, facts: CaseFacts, actor: Actor, values: Mapping[str, Any]
) -> tuple[Step, str]:
    """`next_state` and `choose_step` at once, each guard asked once (an event asked them three
    times: the refusal, the machine's conditions and the choice of row): the row that fires and
    the state it leads to. The machine fires the same row (its transitions are the table's rows
    in the same order, with the same conditions; a unit test holds the two together). Raises
    PermissionError with the reason if it may not fire."""
    decided = _decide(event, facts, actor, values)
    if isinstance(decided, str):
        raise PermissionError(decided)
    return decided, decided.dest or facts.state


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
    owners = [
        "| state | who must act | what | clock |",
        "|---|---|---|---|",
    ]
    for duty in DUTIES:
        owners.append(
            f"| {state_label(duty.state)} (`{duty.state}`) | {role_label(duty.owner)} "
            f"| {duty.task} | {clock_label(duty.clock)} (`{duty.clock}`) |"
        )
    return (
        "# The lifecycle\n\n"
        "Generated from `concerns/workflows/machine.py` by `make diagram`; do not edit by hand.\n\n"
        "```mermaid\n" + diagram_mermaid() + "```\n\n" + "\n".join(rows) + "\n\n"
        "## Who must act\n\n"
        "Every open case has an owner and a running clock; a state with several rows has "
        "each whose condition holds (see `DUTIES`).\n\n" + "\n".join(owners) + "\n"
    )
