"""Reading a stored raw submission with the parser of its channel.

Used when a submission first arrives and again whenever the IAT needs what it said (splitting a
person re-reads who wrote it). Channels of `raw_submissions`: web (form JSON), email (.eml
bytes), import (one register row as JSON).
"""

from __future__ import annotations

from datetime import datetime

from concerns.triage.email_intake import SetAside, parse_email
from concerns.triage.forms import parse_form
from concerns.triage.register import RegisterEntry, RegisterRow, parse_row
from concerns.triage.submission import Submission
from concerns.workflows.settings import Settings


def staff_addresses(settings: Settings) -> tuple[str, ...]:
    """The council's own mail domain and any other staff addresses or domains in
    `intake.staff_forwarders`: forwards from them are unwrapped to the original sender."""
    email = settings.council.email
    own = (email.rsplit("@", 1)[1].lower(),) if "@" in email else ()
    extra = tuple(a.strip().lower() for a in settings.intake.staff_forwarders if a.strip())
    return own + extra


def read_email(settings: Settings, raw: bytes, received_at: datetime) -> Submission | SetAside:
    return parse_email(
        raw,
        received_at=received_at,
        max_concern=settings.intake.max_concern_characters,
        max_attachment_bytes=settings.intake.max_attachment_bytes,
        staff=staff_addresses(settings),
    )


def read_register_row(
    raw: bytes, received_at: datetime, settings: Settings, row: int = 0
) -> RegisterEntry:
    """One stored register row, read with the mapping stored with it; ROW (its number in the
    file, when the stored row does not say) is for the messages."""
    return parse_row(
        RegisterRow.from_raw(raw, row),
        received_fallback=received_at,
        max_concern=settings.intake.max_concern_characters,
    )


def read_raw(
    settings: Settings, channel: str, raw: bytes, received_at: datetime
) -> Submission | SetAside:
    """What a stored submission says. Raises SubmissionError naming the field at fault."""
    if channel == "email":
        return read_email(settings, raw, received_at)
    if channel == "import":
        return read_register_row(raw, received_at, settings).submission
    return parse_form(
        raw, received_at=received_at, max_concern=settings.intake.max_concern_characters
    )
