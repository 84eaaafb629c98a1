"""What goes into a letter: the letterhead, the recipient and the words, as plain values.

Pure data and checks: no database, no settings import (arrows point workflows → letters). The
service layer builds these from a case and the council's settings.
"""

from __future__ import annotations

import base64
import mimetypes
from dataclasses import dataclass, fields
from datetime import date
from pathlib import Path
from typing import Protocol

KINDS = (
    "acknowledgement",
    "information_request",
    "information_chase",
    "answer",
    "complaints_offer",
    "outcome",
    "meeting_offer",
)

DELIVERY_METHODS = ("post", "email")

# The subject line each kind carries under the recipient block.
SUBJECTS = {
    "acknowledgement": "We have received your concern",
    "information_request": "We need some more information",
    "information_chase": "Reminder: we still need some more information",
    "answer": "Our reply to your concern",
    "complaints_offer": "You can make a formal complaint",
    "outcome": "The outcome of our review",
    "meeting_offer": "An offer to meet",
}

# Fields of LetterContent a kind cannot do without. Checked before anything is rendered.
REQUIRED: dict[str, tuple[str, ...]] = {
    "acknowledgement": ("received_on",),
    "information_request": ("wording",),
    "information_chase": ("wording", "requested_on"),
    "answer": ("wording",),
    "complaints_offer": (),
    "outcome": ("wording",),
    "meeting_offer": (),
}

# Letters the director signs; the others go out in the team's name.
DIRECTOR_SIGNS = frozenset({"outcome", "meeting_offer"})


class LetterError(ValueError):
    """A letter that cannot be made. Names the field and the problem, never its value."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class TemplateProblem(LetterError):
    """An edited template that is broken: which file, which line, what is wrong."""

    def __init__(self, template: str, line: int | None, problem: str) -> None:
        where = f"{template}, line {line}" if line else template
        super().__init__(f"template {where}", problem)
        self.template = template
        self.line = line


class CouncilDetails(Protocol):
    """The shape of `settings.council`; letters reads it without importing workflows."""

    @property
    def name(self) -> str: ...
    @property
    def department(self) -> str: ...
    @property
    def team(self) -> str: ...
    @property
    def address(self) -> tuple[str, ...]: ...
    @property
    def email(self) -> str: ...
    @property
    def phone(self) -> str: ...
    @property
    def logo(self) -> str: ...
    @property
    def director_name(self) -> str: ...
    @property
    def director_title(self) -> str: ...
    @property
    def director_signature(self) -> str: ...


@dataclass(frozen=True)
class Logo:
    """An image carried inside the letter itself, so a stored letter never depends on a file."""

    media_type: str
    data: bytes

    @property
    def data_uri(self) -> str:
        return f"data:{self.media_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    @classmethod
    def from_file(cls, path: Path, setting: str = "council.logo") -> Logo:
        media_type = mimetypes.guess_type(path.name)[0]
        if media_type not in ("image/png", "image/jpeg", "image/svg+xml"):
            raise LetterError(setting, "must be a PNG, JPEG or SVG file")
        try:
            return cls(media_type, path.read_bytes())
        except OSError:
            raise LetterError(setting, "the file cannot be read") from None

    @classmethod
    def from_setting(cls, value: str, base_dir: Path | None, setting: str) -> Logo | None:
        """The image a setting names (relative to base_dir), or None when it names none."""
        if not value:
            return None
        path = Path(value)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return cls.from_file(path, setting)


@dataclass(frozen=True)
class Letterhead:
    council_name: str
    department: str = ""
    team: str = ""
    address: tuple[str, ...] = ()
    email: str = ""
    phone: str = ""
    logo: Logo | None = None
    director_name: str = ""
    director_title: str = ""
    # Printed in the signature block of a letter the director has signed, and only then.
    director_signature: Logo | None = None

    @classmethod
    def from_council(cls, council: CouncilDetails, base_dir: Path | None = None) -> Letterhead:
        """The letterhead from `settings.council`; relative image paths are under base_dir."""
        return cls(
            council_name=council.name,
            department=council.department,
            team=council.team,
            address=tuple(council.address),
            email=council.email,
            phone=council.phone,
            logo=Logo.from_setting(council.logo, base_dir, "council.logo"),
            director_name=council.director_name,
            director_title=council.director_title,
            director_signature=Logo.from_setting(
                council.director_signature, base_dir, "council.director_signature"),
        )


@dataclass(frozen=True)
class Recipient:
    name: str
    address: tuple[str, ...] = ()
    postcode: str = ""
    email: str = ""

    @property
    def postal_lines(self) -> tuple[str, ...]:
        """The address as printed, with the postcode last unless it is already there."""
        lines = self.address
        postcode = self.postcode.strip()
        if postcode and not any(postcode.upper() in line.upper() for line in lines):
            lines = (*lines, postcode)
        return lines

    @staticmethod
    def address_lines(text: str | None) -> tuple[str, ...]:
        """Split an address typed on one line (commas) or several (newlines) into lines."""
        if not text:
            return ()
        parts = text.replace("\r", "\n").replace(",", "\n").split("\n")
        return tuple(p.strip() for p in parts if p.strip())


@dataclass(frozen=True)
class LetterContent:
    """Everything one letter says. Free text (wording, concern) is printed literally, never run."""

    kind: str
    reference: str
    letter_date: date
    recipient: Recipient
    delivery: str = "post"
    received_on: date | None = None
    # The person's own words, quoted back in the acknowledgement so they can check them.
    concern: str = ""
    children: tuple[str, ...] = ()
    # The body: what we need (requests), our answer, or the outcome the director authorised.
    wording: str = ""
    requested_on: date | None = None
    reply_by: date | None = None
    meeting_date: date | None = None

    def check(self) -> None:
        """Refuse, naming the field, anything this kind of letter cannot be made without."""
        if self.kind not in KINDS:
            raise LetterError("kind", f"must be one of {', '.join(KINDS)}")
        if self.delivery not in DELIVERY_METHODS:
            raise LetterError("delivery", "must be post or email")
        if not self.reference.strip():
            raise LetterError("reference", "is missing")
        if not self.recipient.name.strip():
            raise LetterError("recipient.name", "is missing")
        if self.delivery == "post" and not self.recipient.address:
            raise LetterError("recipient.address", "a posted letter needs an address")
        if self.delivery == "email" and not self.recipient.email.strip():
            raise LetterError("recipient.email", "an emailed letter needs an email address")
        for name in REQUIRED[self.kind]:
            value = getattr(self, name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise LetterError(name, f"the {self.kind.replace('_', ' ')} letter needs it")

    def template_values(self, letterhead: Letterhead) -> dict[str, object]:
        """The names a template may use. Every field is present (None when empty)."""
        values: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        values["subject"] = SUBJECTS[self.kind]
        values["letterhead"] = letterhead
        values["logo_uri"] = letterhead.logo.data_uri if letterhead.logo else None
        if self.kind in DIRECTOR_SIGNS:
            values["signatory_name"] = letterhead.director_name
            values["signatory_title"] = letterhead.director_title
        else:
            values["signatory_name"] = letterhead.team
            values["signatory_title"] = letterhead.department
        return values
