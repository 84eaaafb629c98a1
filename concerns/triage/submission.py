"""The one shape every channel (web form, email, spreadsheet, phone) is read into.

Pure data: no database, no I/O. Parsers in `triage/` turn raw bytes into a `Submission` or raise
`SubmissionError` naming the field and the problem; the intake service in `workflows/` stores the
raw bytes first, then calls a parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
