"""Web-form submissions (docs/form-schema.json): JSON bytes → `Submission`, or `SubmissionError`.

Required: respondent.name, one way to reply (email, phone or address), concern. Everything else
may be missing or malformed in real submissions: what is valid is kept, the rest is flagged.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from typing import Any

from concerns.triage.form_schema import schema_problems
from concerns.triage.submission import (
    CHANNELS,
    RELATIONSHIPS,
    ChildDetails,
    RespondentDetails,
    Submission,
    SubmissionError,
    clean_text,
)

MAX_FIELD = 1000
MAX_CONCERN = 100_000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_form(
    raw: bytes, *, received_at: datetime | None = None, max_concern: int = MAX_CONCERN
) -> Submission:
    """Read one web-form submission. Raises SubmissionError naming the field at fault."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(
            "(file)", f"not UTF-8 text (bad byte at position {exc.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            "(file)", f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return form_from_mapping(data, received_at=received_at, max_concern=max_concern)


def form_from_mapping(
    data: Any, *, received_at: datetime | None = None, max_concern: int = MAX_CONCERN
) -> Submission:
    if not isinstance(data, dict):
        raise SubmissionError("(file)", "expected a JSON object")
    # NUL and other control characters are dropped from every text before it is checked; the
    # raw bytes keep them.
    data = _cleaned(data)
    flags: list[str] = []

    respondent = data.get("respondent")
    if not isinstance(respondent, dict):
        raise SubmissionError("respondent", "missing or not an object")
    name = _required_text(respondent, "name", "respondent.name")
    email = _optional_text(respondent, "email", "respondent.email", flags)
    if email is not None and not EMAIL_RE.match(email):
        flags.append("respondent.email: not an email address")
        email = None
    phone = _optional_text(respondent, "phone", "respondent.phone", flags)
    if phone is not None and sum(ch.isdigit() for ch in phone) < 6:
        flags.append("respondent.phone: too few digits for a phone number")
        phone = None
    address = _optional_text(respondent, "address", "respondent.address", flags)
    postcode = _optional_text(respondent, "postcode", "respondent.postcode", flags)
    relationship = _optional_text(respondent, "relationship", "respondent.relationship", flags)
    if relationship is not None and relationship not in RELATIONSHIPS:
        flags.append("respondent.relationship: expected one of " + ", ".join(RELATIONSHIPS))
        relationship = "other"
    if not (email or phone or address):
        raise SubmissionError(
            "respondent", "needs at least one way to reply: email, phone or address"
        )

    concern = data.get("concern")
    if concern is None:
        raise SubmissionError("concern", "missing")
    if not isinstance(concern, str):
        raise SubmissionError("concern", f"expected text, got {_json_type(concern)}")
    if not concern.strip():
        raise SubmissionError("concern", "empty")
    if len(concern) > max_concern:
        raise SubmissionError("concern", f"longer than {max_concern} characters")

    submitted_at = _submitted_at(data.get("submitted_at"), received_at, flags)
    channel = data.get("channel", "web")
    if not isinstance(channel, str) or channel not in CHANNELS:
        flags.append("channel: expected one of " + ", ".join(CHANNELS))
        channel = "web"

    children = _children(data.get("children"), flags, submitted_at.date())
    from_year, to_year = _involvement(data.get("involvement"), submitted_at, flags)

    staff: list[str] = []
    raw_staff = data.get("staff_named")
    if raw_staff is not None:
        if not isinstance(raw_staff, list):
            flags.append("staff_named: expected a list of names")
        else:
            for i, item in enumerate(raw_staff):
                if isinstance(item, str) and item.strip() and len(item) <= MAX_FIELD:
                    staff.append(" ".join(item.split()))
                else:
                    flags.append(f"staff_named[{i}]: expected a name")

    consent = data.get("consent_to_contact")
    if consent is not None and not isinstance(consent, bool):
        flags.append("consent_to_contact: expected true or false")
        consent = None

    # The published schema (docs/form-schema.json) is checked too: what it finds that the rules
    # above did not already flag is flagged, so the two cannot silently disagree.
    flagged = {flag.split(":", 1)[0] for flag in flags}
    for problem in schema_problems(data):
        path = problem.split(":", 1)[0]
        if not any(path == f or path.startswith((f + ".", f + "[")) for f in flagged):
            flags.append(problem)
            flagged.add(path)

    return Submission(
        channel=channel,
        submitted_at=submitted_at,
        respondent=RespondentDetails(
            name=name,
            email=email,
            phone=phone,
            address=address,
            postcode=postcode,
            relationship=relationship,
        ),
        concern=concern,
        children=tuple(children),
        involvement_from_year=from_year,
        involvement_to_year=to_year,
        staff_named=tuple(staff),
        consent_to_contact=consent,
        flags=tuple(flags),
    )


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: _cleaned(v) for k, v in value.items()}
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _required_text(obj: dict[str, Any], key: str, path: str) -> str:
    value = obj.get(key)
    if value is None:
        raise SubmissionError(path, "missing")
    if not isinstance(value, str):
        raise SubmissionError(path, f"expected text, got {_json_type(value)}")
    value = " ".join(value.split())
    if not value:
        raise SubmissionError(path, "empty")
    if len(value) > MAX_FIELD:
        raise SubmissionError(path, f"longer than {MAX_FIELD} characters")
    return value


def _optional_text(obj: dict[str, Any], key: str, path: str, flags: list[str]) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        flags.append(f"{path}: expected text, got {_json_type(value)}")
        return None
    value = value.strip()
    if len(value) > MAX_FIELD:
        flags.append(f"{path}: longer than {MAX_FIELD} characters")
        return None
    return value or None


def _submitted_at(value: Any, received_at: datetime | None, flags: list[str]) -> datetime:
    fallback = received_at or datetime.now(UTC)
    if value is None:
        return fallback
    if not isinstance(value, str):
        flags.append("submitted_at: expected an ISO 8601 date and time")
        return fallback
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        flags.append("submitted_at: not an ISO 8601 date and time")
        return fallback
    if parsed.tzinfo is None:
        # A form without an offset was filled in in England.
        from zoneinfo import ZoneInfo

        parsed = parsed.replace(tzinfo=ZoneInfo("Europe/London"))
    return parsed


def _children(value: Any, flags: list[str], today: date | None = None) -> list[ChildDetails]:
    if value is None:
        return []
    if not isinstance(value, list):
        flags.append("children: expected a list")
        return []
    out: list[ChildDetails] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            flags.append(f"children[{i}]: expected an object")
            continue
        # The name and the date of birth are checked apart, so every problem is named at once.
        name = item.get("name")
        named = isinstance(name, str) and bool(name.strip()) and len(name) <= MAX_FIELD
        if not named:
            flags.append(f"children[{i}].name: missing or not text")
        dob: date | None = None
        raw_dob = item.get("date_of_birth")
        if raw_dob is not None:
            try:
                dob = date.fromisoformat(str(raw_dob)) if isinstance(raw_dob, str) else None
                if dob is None:
                    raise ValueError
            except ValueError:
                flags.append(f"children[{i}].date_of_birth: expected YYYY-MM-DD")
            else:
                if today is not None and dob > today:
                    flags.append(f"children[{i}].date_of_birth: in the future")
                    dob = None
                elif dob.year < 1900:
                    flags.append(f"children[{i}].date_of_birth: before 1900")
                    dob = None
        if named and isinstance(name, str):
            out.append(ChildDetails(name=" ".join(name.split()), date_of_birth=dob))
    return out


def _involvement(
    value: Any, submitted_at: datetime, flags: list[str]
) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict):
        flags.append("involvement: expected an object with from_year and to_year")
        return None, None
    years: list[int | None] = []
    for key in ("from_year", "to_year"):
        year = value.get(key)
        if year is None:
            years.append(None)
        elif (
            isinstance(year, int)
            and not isinstance(year, bool)
            and (1900 <= year <= submitted_at.year + 1)
        ):
            years.append(year)
        else:
            flags.append(f"involvement.{key}: expected a year between 1900 and now")
            years.append(None)
    start, end = years
    if start is not None and end is not None and start > end:
        flags.append("involvement: from_year is after to_year")
        start, end = end, start
    return start, end
