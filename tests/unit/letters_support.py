"""Shared makings for the letters unit tests: a letterhead, letters of every kind, text readers."""

from __future__ import annotations

import io
from datetime import date

import docx
import pypdf

from concerns.letters import KINDS, LetterContent, Letterhead, Recipient

LETTERHEAD = Letterhead(
    council_name="Herefordshire Council",
    department="Children and Families Directorate",
    team="Independent Assurance Team",
    address=("Plough Lane", "Hereford", "HR4 0LE"),
    email="concernsaboutcare@example.gov.uk",
    phone="01432 260000",
    director_name="Dana Whitfield",
    director_title="Director of Children's Services",
)

RECIPIENT = Recipient(
    name="Morgan Ellery",
    address=("14 Orchard Row", "Leominster"),
    postcode="HR6 8AB",
    email="morgan@example.org",
)

# The words each kind must carry into every format: what this person, on this case, is told.
WORDING = {
    "acknowledgement": "My grandson was moved without anyone telling me.",
    "information_request": "Please send the dates your grandson lived with you.",
    "information_chase": "Please send the dates your grandson lived with you.",
    "answer": "The social worker's visit notes for March are on your file.",
    "complaints_offer": "Your concern is about events in the last twelve months.",
    "outcome": "We found that the move was not explained to you, and we are sorry.",
    "meeting_offer": "The meeting can be at Plough Lane or at your home.",
}


def letter(kind: str, **changes: object) -> LetterContent:
    """A complete letter of KIND for the test person; changes override any field."""
    values: dict[str, object] = {
        "kind": kind,
        "reference": "CAC-2026-0042",
        "letter_date": date(2026, 11, 23),
        "recipient": RECIPIENT,
        "delivery": "post",
        "received_on": date(2026, 11, 2),
        "children": ("Riley Ellery",),
        "requested_on": date(2026, 11, 9),
        "reply_by": date(2026, 12, 21),
        "meeting_date": date(2026, 12, 3),
    }
    if kind == "acknowledgement":
        values["concern"] = WORDING[kind]
    else:
        values["wording"] = WORDING.get(kind, "Some wording.")
    values.update(changes)
    return LetterContent(**values)  # type: ignore[arg-type]


def pdf_text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_flat_text(pdf: bytes) -> str:
    """PDF text with line wrapping undone, for phrases that may break across lines."""
    return " ".join(pdf_text(pdf).split())


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in document.paragraphs)


__all__ = ["KINDS", "LETTERHEAD", "RECIPIENT", "WORDING", "docx_text", "letter", "pdf_text"]
