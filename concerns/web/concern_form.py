"""The public concern form: HTML form fields → the web-form submission of docs/form-schema.json.

Validation is `concerns.triage.forms.form_from_mapping`, the very function `intake form` uses, so
the page and the command accept and refuse the same things. The parser stops at the first hard
error; to list every problem at once (as the GOV.UK error summary does) we re-run it with each
failing field given a stand-in value, collecting one error per field. Flags (present but
malformed optional fields) are shown too: the person is here to correct them.

Pure: no database, no HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from concerns.triage.forms import form_from_mapping
from concerns.triage.submission import RELATIONSHIPS, Submission, SubmissionError
from concerns.web import date_input

MAX_CHILDREN = 10
# The staff page for logging a call or letter shows this many child blocks at once.
LOGGED_CHILD_BLOCKS = 3

# HTML field names of the form, in the order they appear on the page.
TEXT_FIELDS = ("name", "email", "phone", "address", "postcode", "relationship")
RELATIONSHIP_LABELS = {
    "parent": "Parent",
    "grandparent": "Grandparent",
    "carer": "Carer or foster carer",
    "young_person": "I am the young person",
    "professional": "A professional",
    "other": "Other",
}
assert set(RELATIONSHIP_LABELS) == set(RELATIONSHIPS)

# Submission field path → (input id on the page, what the person is asked for).
_FIELD_INPUTS: dict[str, tuple[str, str]] = {
    "respondent": ("email", "an email address, phone number or postal address so we can reply"),
    "respondent.name": ("name", "your full name"),
    "respondent.email": ("email", "your email address"),
    "respondent.phone": ("phone", "your phone number"),
    "respondent.address": ("address", "your postal address"),
    "respondent.postcode": ("postcode", "your postcode"),
    "respondent.relationship": ("relationship", "how you are connected to the child"),
    "concern": ("concern", "your concern"),
    "involvement": ("from-year", "the years social care was involved"),
    "involvement.from_year": ("from-year", "the year social care became involved"),
    "involvement.to_year": ("to-year", "the year social care involvement ended"),
    "staff_named": ("staff-named", "the names of staff, one on each line"),
    "consent_to_contact": ("consent", "whether we may contact you"),
    "children": ("child-0-name", "the child's name"),
}

# Friendlier wording for the parser's problems, keyed by (field, problem).
_MESSAGES: dict[tuple[str, str], str] = {
    ("respondent.name", "missing"): "Enter your full name",
    ("respondent.name", "empty"): "Enter your full name",
    ("respondent", "needs at least one way to reply: email, phone or address"): (
        "Enter an email address, phone number or postal address so we can reply"
    ),
    ("concern", "missing"): "Enter your concern",
    ("concern", "empty"): "Enter your concern",
    ("respondent.email", "not an email address"): (
        "Enter an email address in the correct format, like name@example.com"
    ),
    ("involvement", "from_year is after to_year"): (
        "The year social care became involved must be before the year it ended"
    ),
    ("respondent.phone", "too few digits for a phone number"): (
        "Enter a phone number, like 01632 960 001 or 07700 900 982"
    ),
}

# A value the parser accepts for a field, used to look past one error to the next.
_STAND_INS: dict[str, tuple[tuple[str, ...], Any]] = {
    "respondent.name": (("respondent", "name"), "A"),
    # A stand-in address (never flagged) keeps the flags of a malformed email or phone.
    "respondent": (("respondent", "address"), "-"),
    "concern": (("concern",), "-"),
}


@dataclass(frozen=True)
class FieldError:
    field: str  # the submission's dotted path, e.g. respondent.email
    input_id: str  # the id of the input on the page the error summary links to
    message: str


@dataclass(frozen=True)
class CheckedForm:
    submission: Submission | None
    errors: tuple[FieldError, ...]
    mapping: dict[str, Any]


def to_mapping(form: Mapping[str, str], submitted_at: datetime) -> dict[str, Any]:
    """The JSON object `intake form` would read, built from the posted HTML fields."""

    def text(key: str) -> str | None:
        value = form.get(key, "")
        return value if value.strip() else None

    respondent = {k: text(k) for k in TEXT_FIELDS}
    children: list[dict[str, Any]] = [
        {"name": text(f"child-{i}-name"), "date_of_birth": _date_of_birth(form, i)}
        for i in child_slots(form)
    ]
    involvement = {"from_year": _year(form.get("from-year")), "to_year": _year(form.get("to-year"))}
    staff = [line.strip() for line in form.get("staff-named", "").splitlines() if line.strip()]
    consent_raw = form.get("consent")
    consent = {"yes": True, "no": False}.get(consent_raw or "")
    mapping: dict[str, Any] = {
        "submitted_at": submitted_at.isoformat(),
        "channel": "web",
        "respondent": {k: v for k, v in respondent.items() if v is not None},
        "concern": form.get("concern", ""),
    }
    if children:
        mapping["children"] = children
    if any(v is not None for v in involvement.values()):
        mapping["involvement"] = {k: v for k, v in involvement.items() if v is not None}
    if staff:
        mapping["staff_named"] = staff
    if consent is not None:
        mapping["consent_to_contact"] = consent
    elif consent_raw:
        mapping["consent_to_contact"] = consent_raw  # flagged by the parser
    return mapping


def child_slots(form: Mapping[str, str]) -> list[int]:
    """The child blocks on the page that were filled in: the submission's children[i] is the
    page's child block child_slots(form)[i]."""
    return [
        i for i in range(MAX_CHILDREN)
        if form.get(f"child-{i}-name", "").strip() or _date_of_birth(form, i) is not None
    ]


def children_shown(form: Mapping[str, str], add_another: bool = False) -> int:
    """How many child blocks the public form shows: one, or as many as are filled in, and one
    more when the person asked to add another ("add another" pattern, no script needed)."""
    filled = child_slots(form)
    shown = (max(filled) + 1 if filled else 1) + (1 if add_another and filled else 0)
    return min(shown, MAX_CHILDREN)


def answers(form: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """(question, answer, input id to change it) for the check-your-answers page, as typed."""
    def value(key: str) -> str:
        return form.get(key, "").strip()

    rows = [("Full name", value("name"), "name"), ("Email address", value("email"), "email"),
            ("Phone number", value("phone"), "phone"),
            ("Postal address", value("address"), "address"),
            ("Postcode", value("postcode"), "postcode"),
            ("How you are connected to the child",
             RELATIONSHIP_LABELS.get(value("relationship"), value("relationship")),
             "relationship")]
    for n, i in enumerate(child_slots(form), start=1):
        born = "/".join(value(f"child-{i}-dob-{p}") for p in ("day", "month", "year")).strip("/")
        rows.append((f"Child {n}", value(f"child-{i}-name") + (f", born {born}" if born else ""),
                     f"child-{i}-name"))
    years = " to ".join(y for y in (value("from-year"), value("to-year")) if y)
    rows += [("Years social care was involved", years, "from-year"),
             ("Staff involved", value("staff-named"), "staff-named"),
             ("Your concern", form.get("concern", "").strip(), "concern"),
             ("May we contact you", {"yes": "Yes", "no": "No"}.get(value("consent"), ""),
              "consent")]
    return [(q, a or "Not given", target) for q, a, target in rows]


def check(
    form: Mapping[str, str], submitted_at: datetime, *, max_concern: int
) -> CheckedForm:
    """Validate the posted form exactly as `intake form` would, listing every problem."""
    mapping = to_mapping(form, submitted_at)
    slots = child_slots(form)
    probe: dict[str, Any] = {**mapping, "respondent": dict(mapping["respondent"])}
    errors: list[FieldError] = []
    submission: Submission | None = None
    for _ in range(len(_STAND_INS) + 1):
        try:
            submission = form_from_mapping(probe, received_at=submitted_at, max_concern=max_concern)
            break
        except SubmissionError as exc:
            errors.append(_error(exc.field, exc.problem, slots))
            stand_in = _STAND_INS.get(exc.field)
            if stand_in is None:
                break
            path, value = stand_in
            target = probe
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
    if submission is not None:
        for flag in submission.flags:
            field, _, problem = flag.partition(": ")
            errors.append(_error(field, problem, slots, form))
    # One message per input; a specific flag (e.g. the email's format) wins over the general
    # "no way to reply" it caused.
    unique = {e.input_id: e for e in errors}
    ordered = sorted(unique.values(), key=lambda e: _order(e.input_id))
    return CheckedForm(
        submission=submission if not ordered else None, errors=tuple(ordered), mapping=mapping
    )


def _error(
    field: str, problem: str, slots: list[int], form: Mapping[str, str] | None = None
) -> FieldError:
    input_id, asked = _input_for(field, slots)
    message = _MESSAGES.get((field, problem))
    if message is None and field.startswith("children[") and field.endswith(".name"):
        message = f"Enter {asked}, or leave their date of birth blank"
    if message is None and field.endswith("date_of_birth"):
        asked = f"{asked[:1].upper()}{asked[1:]}"
        if problem == "in the future":
            return FieldError(field, input_id, f"{asked} must be today or in the past")
        prefix = input_id.removesuffix("-day")
        wrong = date_input.wrong_parts(form or {}, prefix)
        if wrong and len(wrong) < 3:
            # GOV.UK: highlight and name only the part that is wrong; the summary links to it.
            return FieldError(field, f"{prefix}-{wrong[0]}",
                              f"{asked} must include a real {' and '.join(wrong)}")
        message = f"{asked} must be a real date, like 27 3 2012"
    if message is None and field.startswith("involvement.") and "year" in problem:
        message = f"Enter {asked} as a year between 1900 and now, like 2015"
    if message is None:
        message = f"Check {asked}: {problem}"
    return FieldError(field=field, input_id=input_id, message=message)


def _input_for(field: str, slots: list[int]) -> tuple[str, str]:
    if field in _FIELD_INPUTS:
        return _FIELD_INPUTS[field]
    child = re.fullmatch(r"children\[(\d+)\]\.(name|date_of_birth)", field)
    if child:
        index, part = child.groups()
        i = slots[int(index)] if int(index) < len(slots) else int(index)
        if part == "name":
            return f"child-{i}-name", f"child {int(i) + 1}'s name"
        return f"child-{i}-dob-day", f"child {int(i) + 1}'s date of birth"
    if field.startswith("staff_named"):
        return _FIELD_INPUTS["staff_named"]
    if field.startswith("children"):
        return _FIELD_INPUTS["children"]
    return "concern", "the form"


def _order(input_id: str) -> int:
    page = [
        "name", "email", "phone", "address", "postcode", "relationship",
        *[f"child-{i}-{p}" for i in range(MAX_CHILDREN)
          for p in ("name", "dob-day", "dob-month", "dob-year")],
        "from-year", "to-year", "staff-named", "concern", "consent",
    ]
    return page.index(input_id) if input_id in page else len(page)


def _year(raw: str | None) -> int | str | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    # A year the parser cannot read stays text so that it is flagged, not silently dropped.
    return int(value) if value.isdigit() and len(value) <= 4 else value


def _date_of_birth(form: Mapping[str, str], i: int) -> str | None:
    parts = [form.get(f"child-{i}-dob-{p}", "").strip() for p in ("year", "month", "day")]
    if not any(parts):
        return None
    year, month, day = parts
    if year.isdigit() and month.isdigit() and day.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return "-".join(parts)  # flagged by the parser as not YYYY-MM-DD


def received_at(form: Mapping[str, str], timezone: str, now: datetime) -> datetime | str:
    """The date a phone call, letter or visit was received (received-day/-month/-year), as noon
    London time; or the message naming what is wrong with it."""
    from datetime import time
    from zoneinfo import ZoneInfo

    if not any(date_input.typed(form, "received")):
        return "Enter the date the concern was received"
    wrong = date_input.problem(form, "received", "The date received")
    day = date_input.real(form, "received")
    if wrong is not None or day is None:
        return wrong or "The date received must be a real date, like 27 3 2026"
    zone = ZoneInfo(timezone)
    if day > now.astimezone(zone).date():
        return "The date received must be today or in the past"
    if day.year < 1900:
        return "The date received must be after 1900"
    if day == now.astimezone(zone).date():
        return now
    return datetime.combine(day, time(12, 0), tzinfo=zone)


class FormValues(dict[str, str]):
    """Posted values for re-showing a form: a missing field is blank, never "None"."""

    def get(self, key: str, default: str = "") -> str:  # type: ignore[override]
        return super().get(key, default)
