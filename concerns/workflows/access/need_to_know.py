"""Need to know: a case as one reader may see it, by the lifecycle table's `READS`.

`show_case` builds the whole case and hands it here before anything leaves the service, so the
CLI, the pages and the JSON API show the same parts; the letter and contact-correction services
ask `may_read` for their one part. A part the reader may not see keeps its key with an empty value
(templates and clients need no special case), and `parts` lists what they may see.
"""

from __future__ import annotations

from typing import Any

from concerns.workflows.errors import NotAllowed
from concerns.workflows.machine import Actor, readable_parts, states_readable

# The case's keys (queries._detail) that make up each part; contact details and the person's
# name (with "listing") are inside "respondent".
PART_KEYS: dict[str, tuple[str, ...]] = {
    "concern": ("contacts", "staff_named", "involvement"),
    "children": ("children",),
    "triage_summary": ("triage",),
    # The director's note when she returned the outcome or its letter is about the outcome.
    "outcome": ("outcome_summary", "outcome_wording", "learning", "returned"),
    "escalations": ("escalations", "blocked"),
    "letters": ("letters",),
    "history": ("history",),
}
CONTACT_FIELDS = ("email", "phone", "address", "postcode", "relationship")
# Events in the history that belong to a part: without review notes or escalations they are
# left out altogether (that an escalation exists is itself sensitive); without the other parts
# their values and note are left out.
EVENTS_OF_HIDDEN_PARTS = {
    "add_review_note": "review_notes",
    "raise_escalation": "escalations",
    "resolve_escalation": "escalations",
    # Who the IAT manager found perhaps named in the concern.
    "conflict_cleared": "concern",
    "conflict_confirmed": "concern",
}
EVENT_VALUES_PART = {
    "submit_outcome": "outcome",
    "authorise": "outcome",
    "return_for_changes": "outcome",
    "record_complaints_triage": "triage_summary",
    "record_legal_triage": "triage_summary",
    "request_information": "concern",
    "information_received": "concern",
    "answer_query": "concern",
    "record_meeting": "outcome",
    "reopen": "outcome",
}

# Clocks that belong to a part: without it their deadlines and next steps are left out of the
# case and of every list row (that a safeguarding escalation is open is itself sensitive).
CLOCK_PARTS = {"escalation": "escalations"}


def clock_hidden(clock: str | None, parts: frozenset[str]) -> bool:
    part = CLOCK_PARTS.get(clock or "")
    return part is not None and part not in parts


def parts_for(actor: Actor, state: str) -> frozenset[str]:
    return readable_parts(actor.roles, state)


def listed_states(actor: Actor) -> tuple[str, ...]:
    """The states of the cases ACTOR's lists, queues and search may show (the "listing" part):
    a case in any other state is not in them at all, and cannot be found by name."""
    return states_readable(actor.roles, "listing")


def may_read(actor: Actor, state: str, part: str, reference: str) -> None:
    """NotAllowed unless ACTOR may read PART of a case in STATE."""
    if part not in parts_for(actor, state):
        raise NotAllowed(f"case {reference}: your role does not see this part of the case now")


def _empty(value: Any) -> Any:
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return None


def filter_case(detail: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """DETAIL with only the parts ACTOR may read in the case's state."""
    parts = parts_for(actor, str(detail["state"]))
    out = dict(detail)
    for part, keys in PART_KEYS.items():
        if part not in parts:
            for key in keys:
                if key in out:
                    out[key] = _empty(out[key])
    hidden = (CONTACT_FIELDS if "contact_details" not in parts else ()) + (
        ("name",) if "listing" not in parts else ())
    if hidden and isinstance(out.get("respondent"), dict):
        out["respondent"] = {k: (None if k in hidden else v)
                             for k, v in out["respondent"].items()}
    for key in ("next_steps", "deadlines"):
        if key in out:
            out[key] = [row for row in out[key] if not clock_hidden(row.get("clock"), parts)]
    if "history" in parts:
        out["history"] = [_event(e, parts) for e in out.get("history", [])
                          if EVENTS_OF_HIDDEN_PARTS.get(e.get("event", ""), "history") in parts]
    out["parts"] = sorted(parts)
    return out


def _event(event: dict[str, Any], parts: frozenset[str]) -> dict[str, Any]:
    needs = EVENT_VALUES_PART.get(event.get("event", ""))
    if needs is None or needs in parts:
        return event
    return {**event, "data": {}, "note": None}
