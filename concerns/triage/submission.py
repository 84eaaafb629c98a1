"""The one shape every channel (web form, email, spreadsheet, phone) is read into.

Pure data: no database, no I/O. Parsers in `triage/` turn raw bytes into a `Submission` or raise
`SubmissionError` naming the field and the problem; the intake service in `workflows/` stores the
raw bytes first, then calls a parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

RELATIONSHIPS = ("parent", "grandparent", "carer", "young_person", "professional", "other")
CHANNELS = ("web", "email", "phone", "letter", "in_person", "import")


class SubmissionError(ValueError):
    """A submission that cannot become a contact. `field` is a dotted path, e.g. respondent.name.

    The message names the field and the problem, never the submitted value (personal data).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class RespondentDetails:
    name: str
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    postcode: str | None = None
    relationship: str | None = None


@dataclass(frozen=True)
class ChildDetails:
    name: str
    date_of_birth: date | None = None


@dataclass(frozen=True)
class AttachmentData:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Submission:
    channel: str
    submitted_at: datetime  # timezone-aware
    respondent: RespondentDetails
    concern: str
    children: tuple[ChildDetails, ...] = ()
    involvement_from_year: int | None = None
    involvement_to_year: int | None = None
    staff_named: tuple[str, ...] = ()
    consent_to_contact: bool | None = None
    subject: str | None = None
    # Who forwarded it (communications team, executive assistant), for forwarded email.
    route: str | None = None
    message_id: str | None = None
    attachments: tuple[AttachmentData, ...] = ()
    # Fields present but malformed, kept as "field: problem" for the IAT to check.
    flags: tuple[str, ...] = field(default=())


# Control characters (C0 but tab and newline, DEL, C1), lone surrogates and the two
# noncharacters: PostgreSQL refuses NUL and surrogates, and none of them is text a person wrote.
# Format characters (zero-width joiners, direction marks) stay: Indic and Arabic names need them.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(value: str) -> str:
    """VALUE without control characters; line breaks made plain newlines."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def _clean_optional(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def clean_submission(submission: Submission) -> Submission:
    """Every text field of SUBMISSION cleaned (the raw bytes keep what was sent)."""
    r = submission.respondent
    respondent = replace(
        r, name=clean_text(r.name), email=_clean_optional(r.email),
        phone=_clean_optional(r.phone), address=_clean_optional(r.address),
        postcode=_clean_optional(r.postcode), relationship=_clean_optional(r.relationship),
    )
    return replace(
        submission,
        respondent=respondent,
        concern=clean_text(submission.concern),
        children=tuple(replace(c, name=clean_text(c.name)) for c in submission.children),
        staff_named=tuple(clean_text(n) for n in submission.staff_named),
        subject=_clean_optional(submission.subject),
        route=_clean_optional(submission.route),
        message_id=_clean_optional(submission.message_id),
        attachments=tuple(
            replace(a, filename=clean_text(a.filename), content_type=clean_text(a.content_type))
            for a in submission.attachments
        ),
        flags=tuple(clean_text(f) for f in submission.flags),
    )
