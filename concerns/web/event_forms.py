"""Event forms built from the lifecycle table (workflows/machine.py): one form per event, with an
input per --set key, labelled and hinted in the table's words. Posted values go to `fire_event`
as the same strings the CLI's --set takes, so the page and the command parse and refuse alike.

Pure: no database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from concerns.web import date_input
from concerns.workflows.machine import (
    ACTION_PARTS,
    CONFIRM_EVENTS,
    FAMILY_KINDS,
    choice_label,
    clock_label,
    event_label,
    field_words,
    fields_of,
    steps_for,
)

# Text fields that hold more than a line.
LONG_TEXT = frozenset({"summary", "wording", "comment", "reason"})
# Fields whose form is pre-filled from the case (the director edits the suggested wording).
PREFILL = {
    ("authorise", "wording"): "outcome_wording",
    ("submit_outcome", "summary"): "outcome_summary",
    ("submit_outcome", "wording"): "outcome_wording",
}
# Fields whose choices come from the case (staff, the clocks running on it), not the table.
CASE_CHOICES = frozenset({"reviewer", "to", "clock"})

Choice = tuple[str, str]  # (value, words)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class InputSpec:
    name: str
    input_id: str
    label: str
    hint: str
    kind: str  # text | longtext | choice | date | user | findings | actions
    choices: tuple[Choice, ...]
    required: bool
    value: str
    # findings and actions: the themes (key, words) and what was typed, by --set key.
    themes: tuple[tuple[str, str], ...] = ()
    typed: Mapping[str, str] | None = None
    rows: tuple[str, ...] = ()


@dataclass(frozen=True)
class EventForm:
    event: str
    title: str
    description: str
    button: str
    inputs: tuple[InputSpec, ...]
    note: str  # "required" | "optional"
    note_id: str
    note_label: str
    note_hint: str
    note_value: str
    confirm: bool  # closes the case or changes what the person is told: asks first


# Blank action rows on the outcome form (more can be given from the command line).
ACTION_ROWS = ("1", "2")


def input_id(event: str, name: str) -> str:
    return f"{event}-{name}".replace("_", "-").replace(".", "-")


def build(
    events: Sequence[str],
    case: Mapping[str, Any] | None = None,
    choices: Mapping[str, Sequence[Choice]] | None = None,
    posted: Mapping[str, Mapping[str, str]] | None = None,
    themes: Sequence[tuple[str, str]] = (),
) -> list[EventForm]:
    """Forms for EVENTS, pre-filled from CASE (show_case's dict) or from a refused POST (so
    everything typed stays). CHOICES gives the case's own choices: reviewer, to, clock;
    THEMES are the learning themes (key, words) the outcome's findings are tagged with."""
    forms = []
    for event in events:
        steps = steps_for(event)
        if not steps:
            continue
        again = (posted or {}).get(event, {})
        inputs = []
        for field in fields_of(event).values():
            kind = "longtext" if field.kind == "text" and field.name in LONG_TEXT else field.kind
            if field.kind in FAMILY_KINDS:
                typed = {k: v for k, v in again.items() if k.startswith(field.name + ".")}
                if field.kind == "findings" and not again:
                    typed = {f"{field.name}.{f['theme']}": f["finding"]
                             for f in (case or {}).get("learning", {}).get("findings", [])}
                inputs.append(InputSpec(
                    name=field.name, input_id=input_id(event, field.name),
                    label="Learning themes" if field.kind == "findings" else "Actions arising",
                    hint="", kind=field.kind, choices=(), required=False, value="",
                    themes=tuple(themes), typed=typed,
                    rows=ACTION_ROWS if field.kind == "actions" else (),
                ))
                continue
            value = again.get(field.name)
            if value is None:
                source = PREFILL.get((event, field.name))
                value = str((case or {}).get(source) or "") if source else ""
            boxes: Mapping[str, str] | None = None
            if field.kind == "date":
                # The three boxes as typed (a refused form), else the date given.
                boxes = ({k: v for k, v in again.items() if k.startswith(field.name + "-")}
                         or {f"{field.name}-{p}": v for p, v in date_input.split(value).items()})
            options: tuple[Choice, ...]
            if field.name in CASE_CHOICES and choices is not None and field.name in choices:
                options = tuple(choices[field.name])
                kind = "choice"
            elif field.name == "clock":
                options = tuple((c, clock_label(c)) for c in field.choices)
            else:
                options = tuple((c, choice_label(c)) for c in field.choices)
            label, hint, _ = field_words(event, field.name)
            # Pre-filled from the case and needed there: not optional, whatever the table says.
            kept = (event, field.name) in PREFILL and event != "authorise"
            inputs.append(
                InputSpec(
                    name=field.name,
                    input_id=input_id(event, field.name),
                    label=label + ("" if field.required or kept or field.conditional
                                   else " (optional)"),
                    hint=hint,
                    kind=kind,
                    choices=options,
                    required=field.required,
                    value=value,
                    typed=boxes,
                )
            )
        note_required = any(s.note_required for s in steps)
        note_label, note_hint, _ = field_words(event, "note")
        forms.append(
            EventForm(
                event=event,
                title=event_label(event),
                description=steps[0].description,
                button=event_label(event),
                inputs=tuple(inputs),
                note="required" if note_required else "optional",
                note_id=input_id(event, "note"),
                note_label=note_label + ("" if note_required else " (optional)"),
                note_hint=note_hint,
                note_value=again.get("note", ""),
                confirm=event in CONFIRM_EVENTS,
            )
        )
    return forms


def values_from(event: str, posted: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """The --set values and the note of a posted event form (blank optional fields left out)."""
    values: dict[str, str] = {}
    fields = fields_of(event)
    for name, field in fields.items():
        if field.kind in FAMILY_KINDS:
            # finding.THEME and action.N.PART inputs: blank ones (and blank action rows) left out;
            # an action's due date comes in three boxes.
            values |= {k: v for k, v in posted.items()
                       if k.startswith(name + ".") and v.strip() and not _date_box(k)}
            if field.kind == "actions":
                for number in ACTION_ROWS:
                    due = date_input.joined(posted, f"{name}.{number}.due")
                    if due:
                        values[f"{name}.{number}.due"] = due
            continue
        raw = date_input.joined(posted, name) if field.kind == "date" else None
        raw = raw or posted.get(name)
        if raw is not None and raw.strip():
            values[name] = raw
    note = posted.get("note")
    return values, (note if note and note.strip() else None)


def _date_box(key: str) -> bool:
    return key.rpartition("-")[2] in date_input.PARTS and "-" in key


def date_problems(event: str, posted: Mapping[str, str]) -> list[tuple[str, str]]:
    """Dates on the event's form that cannot be read, as (box to link to, what is wrong in
    words naming the field): refused here, before any service sees them."""
    found = []
    for name, field in fields_of(event).items():
        if field.kind == "date":
            words = field_words(event, name)[0]
            boxes = [(input_id(event, name), name, words)]
        elif field.kind == "actions":
            boxes = [(input_id(event, f"{name}.{n}.due"), f"{name}.{n}.due",
                      f"The due date of action {n}") for n in ACTION_ROWS]
        else:
            continue
        for box, box_name, words in boxes:
            wrong = date_input.problem(posted, box_name, words)
            if wrong is not None:
                found.append((date_input.target(box, posted, box_name), wrong))
    return found


def error_words(event: str, field: str, problem: str) -> str:
    """A service's refusal of one of the form's fields, naming the field in words where the
    service's message does not (an action's part: "must be after today")."""
    base, _, rest = field.partition(".")
    fields = fields_of(event)
    if base in fields and fields[base].kind == "actions" and problem[:1].islower():
        number, _, part = rest.partition(".")
        words = {"due": "due date", "what": "what must change", "owner": "owner service",
                 "theme": "theme"}.get(part)
        if words and number in ACTION_ROWS:
            return f"The {words} of action {number} {problem}"
    if field in fields and fields[field].kind not in FAMILY_KINDS and problem[:1].islower():
        return f"{field_words(event, field)[0]} {problem}"
    return problem


def error_target(event: str, field: str, posted: Mapping[str, str] | None = None) -> str:
    """The input a BadInput's field belongs to on the event's form (for a date, the box to
    link to: the first one marked)."""
    base = field.partition(".")[0]
    fields = fields_of(event)
    if field in fields and fields[field].kind == "date":
        return date_input.target(input_id(event, field), posted or {}, field)
    if field in fields or field == "note":
        return input_id(event, field)
    if base in fields and fields[base].kind == "findings":
        return input_id(event, field) if "." in field else input_id(event, base)
    if base in fields and fields[base].kind == "actions":
        number, _, part = field.partition(".")[2].partition(".")
        if number in ACTION_ROWS and part == "due":
            return date_input.target(input_id(event, field), posted or {}, field)
        if number in ACTION_ROWS and part in ACTION_PARTS:
            return input_id(event, field)
        return input_id(event, base)
    return f"event-{event}".replace("_", "-")


def answers(form: EventForm, posted: Mapping[str, str]) -> list[tuple[str, str]]:
    """What was typed or chosen, in words, for the check-and-confirm page."""
    out = []
    for spec in form.inputs:
        raw = (date_input.joined(posted, spec.name) if spec.kind == "date" else "") or posted.get(
            spec.name, "").strip()
        if not raw:
            continue
        day = date_input.real(posted, spec.name) if spec.kind == "date" else None
        words = f"{day.day} {MONTHS[day.month - 1]} {day.year}" if day else dict(
            spec.choices).get(raw, raw)
        out.append((spec.label.removesuffix(" (optional)"), words))
    note = posted.get("note", "").strip()
    if note:
        out.append((form.note_label.removesuffix(" (optional)"), note))
    return out
