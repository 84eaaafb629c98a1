"""One register row → a `RegisterEntry`: the submission and the stage the register recorded.

Pure: no database. Every row holding a person or a concern comes in: what cannot be read is
left out of the record and flagged ("row 12, column 'Stage': 'Pending?' is not a stage in the
mapping; logged"), never a reason to lose the row. Only a row with neither (a totals or notes
row, a row of dashes) raises `NotARecord`.

Flags quote the value for the register's own columns (stage, dates, years, channel); for the
person's details (name, email, phone, children) they name the column only: personal data stays
out of messages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from concerns.triage.forms import EMAIL_RE, MAX_CONCERN, MAX_FIELD
from concerns.triage.register.mapping import (
    CHANNEL_WORDS,
    COLUMNS,
    OUTCOME_WORDS,
    STAGE_WORDS,
    SURE,
    assign_columns,
    lookup,
    score_value,
    tidy,
)
from concerns.triage.register.values import (
    LONDON,
    read_date,
    read_phone,
    read_years,
    split_children,
    split_dates,
)
from concerns.triage.submission import (
    CHANNELS,
    RELATIONSHIPS,
    ChildDetails,
    RespondentDetails,
    Submission,
    SubmissionError,
    clean_text,
)

__all__ = ["LONDON", "NotARecord", "RegisterEntry", "RegisterRow", "parse_row"]

_YES = {"yes", "y", "true", "1", "done", "completed", "complete", "x", "\u2713"}
_NO = {"no", "n", "false", "0", "", "not done", "n a", "na"}
# The first words of a row that is about the register, not a record in it.
_NOT_A_RECORD = re.compile(
    r"^\s*((grand\s+)?totals?\b|count\b|sum\b|(notes?|key)\s*[:\-\u2013=]|(notes?|key)\s*$"
    r"|=\s*(sum|counta?|subtotal)\()",
    re.IGNORECASE,
)
_PERSONAL = {"name", "email", "phone", "address", "postcode", "children", "children_dob",
             "staff_named", "concern", "notes"}
class NotARecord(SubmissionError):
    """A row with no person and no concern: a totals row, a note, a row of dashes."""


@dataclass(frozen=True)
class RegisterRow:
    """One row as it stands in the file, and what the mapping says about it."""

    row: int
    cells: dict[str, str]
    sheet: str = ""
    fill: str = ""  # the row's fill colour (RRGGBB), "" for none
    comments: dict[str, str] = field(default_factory=dict)  # heading → the cell's comment
    hidden: bool = False
    mapping: dict[str, object] | None = None  # MappingForRow; None: proposed from headings

    def identity(self) -> bytes:
        """What makes the row this row: stable JSON of its cells (and its colour, comments and
        hiding). The same row imported again (even after rows were added above it, or with
        an edited mapping) has the same SHA-256."""
        data: dict[str, object] = {"cells": self.cells}
        if self.fill:
            data["fill"] = self.fill
        if self.comments:
            data["comments"] = self.comments
        if self.hidden:
            data["hidden"] = True
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def raw(self) -> bytes:
        """The row as stored: its identity plus the mapping it was read with."""
        data = json.loads(self.identity())
        data["row"] = self.row
        data["headings"] = list(self.cells)  # the file's order (the JSON keys are sorted)
        if self.sheet:
            data["sheet"] = self.sheet
        if self.mapping is not None:
            data["mapping"] = self.mapping
        return json.dumps(data, ensure_ascii=False, sort_keys=True).encode("utf-8")

    @classmethod
    def from_raw(cls, raw: bytes, row: int = 0) -> RegisterRow:
        try:
            data = json.loads(raw.decode("utf-8"))
            stored = {str(k): str(v) for k, v in data["cells"].items()}
            order = [str(h) for h in data.get("headings", []) if str(h) in stored]
            cells = {h: stored[h] for h in order} | stored
            comments = {str(k): str(v) for k, v in data.get("comments", {}).items()}
            mapping = data.get("mapping")
            if mapping is not None and not isinstance(mapping, dict):
                raise TypeError
            return cls(row or int(data.get("row", 0)), cells, str(data.get("sheet", "")),
                       str(data.get("fill", "")), comments, bool(data.get("hidden")), mapping)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            raise SubmissionError("(row)", "not a stored register row") from None


@dataclass(frozen=True)
class RegisterEntry:
    row: int
    submission: Submission
    stage: str
    outcome: str | None = None
    legacy_reference: str | None = None
    learning_review_completed: bool = False
    closed_at: datetime | None = None


def _mapping_of(row: RegisterRow) -> dict[str, object]:
    """The row's stored mapping, or (rows stored before mappings) the sure part of the
    proposal from its headings."""
    if row.mapping is not None:
        return row.mapping
    columns = assign_columns(list(row.cells))
    return {"fields": {c.heading: c.field for c in columns if c.field and c.score >= SURE}}


class _Row:
    def __init__(self, row: RegisterRow) -> None:
        self.number = row.row
        self.mapping = _mapping_of(row)
        fields = self.mapping.get("fields", {})
        self.values: dict[str, tuple[str, str]] = {}
        if isinstance(fields, dict):
            for heading, text in row.cells.items():
                name = fields.get(heading)
                if isinstance(name, str) and name in COLUMNS and name not in self.values:
                    self.values[name] = (heading, clean_text(text).strip())
        self.flags: list[str] = []

    def get(self, name: str) -> str:
        return self.values.get(name, ("", ""))[1]

    def table(self, name: str) -> dict[str, str]:
        table = self.mapping.get(name)
        return {str(k): str(v) for k, v in table.items()} if isinstance(table, dict) else {}

    def day_first(self, name: str) -> bool:
        """Whether the file shows this column's dates are day first (some day above 12)."""
        confirmed = self.mapping.get("day_first")
        return isinstance(confirmed, list) and self.values.get(name, ("", ""))[0] in confirmed

    def where(self, name: str) -> str:
        heading = self.values.get(name, (COLUMNS[name][0].capitalize(), ""))[0]
        return f"row {self.number}, column '{heading}'"

    def flag(self, name: str, problem: str, *, quote: bool = True) -> None:
        value = self.get(name)
        shown = f"'{tidy(value)[:80]}' " if quote and value and name not in _PERSONAL else ""
        self.flags.append(f"{self.where(name)}: {shown}{problem}")


def parse_row(
    row: RegisterRow, *, received_fallback: datetime, max_concern: int = MAX_CONCERN
) -> RegisterEntry:
    """Read one register row; raises NotARecord for a row with no person and no concern."""
    r = _Row(row)
    name = " ".join(r.get("name").split())
    concern = r.get("concern")
    first = next((tidy(v) for v in row.cells.values() if v.strip()), "")
    if _NOT_A_RECORD.match(first) and not (name and concern):
        raise NotARecord(f"row {row.row}", "not a record (a totals or notes row)")
    if not name and not concern:
        raise NotARecord(f"row {row.row}", "no person and no concern: not a record")
    if row.hidden:
        r.flags.append(f"row {row.row}: hidden in the register")
    if not name:
        r.flag("name", "empty: no one is named; the person is 'Name not recorded'")
        name = f"Name not recorded (register row {row.row})"
    elif len(name) > MAX_FIELD:
        r.flag("name", f"longer than {MAX_FIELD} characters; cut short")
        name = name[:MAX_FIELD]
    if not concern:
        r.flag("concern", "empty: no concern is written")
    elif len(concern) > max_concern:
        r.flag("concern", f"longer than {max_concern} characters; the rest is left out")
        concern = concern[:max_concern]
    notes = [r.get("notes")] if r.get("notes") else []
    notes += [f"comment on '{heading}': {clean_text(text)}"
              for heading, text in row.comments.items() if text]
    if notes:
        concern = (concern + "\n\n" if concern else "") + "Notes in the register: " + (
            "; ".join(notes))

    received = _when(r, "received")
    if received is None:
        if r.get("received"):
            r.flag("received", "not a date; the import time is used")
        else:
            r.flag("received", "missing; the import time is used")
        received = received_fallback

    email = r.get("email") or None
    if email and (len(email) > 320 or not EMAIL_RE.match(email)):
        r.flag("email", "not an email address; left out")
        email = None
    phone: str | None = None
    if r.get("phone"):
        phone = read_phone(r.get("phone"))
        if phone is None:
            r.flag("phone", "not a phone number; left out")
    address = r.get("address") or None
    postcode = r.get("postcode") or None
    if postcode and len(postcode) > 20:
        r.flag("postcode", "longer than a postcode; left out")
        postcode = None
    if not (email or phone or address):
        r.flags.append(f"row {row.row}: no email, phone or address to reply to")
    relationship = r.get("relationship").lower().replace(" ", "_").replace("-", "_") or None
    if relationship and relationship not in RELATIONSHIPS:
        r.flag("relationship", "expected one of " + ", ".join(RELATIONSHIPS) + "; other")
        relationship = "other"

    stage, outcome = _stage(r, row.fill)
    from_year, to_year = _involvement(r, received)
    channel = _channel(r)
    closed_at = _when(r, "closed")
    review = " ".join(re.sub(r"[^\w\u2713]", " ", r.get("learning_review").lower()).split())
    if review not in _YES and review not in _NO:
        r.flag("learning_review", "expected yes or no; read as no")

    submission = Submission(
        channel=channel,
        submitted_at=received,
        respondent=RespondentDetails(
            name=name, email=email, phone=phone, address=address,
            postcode=postcode, relationship=relationship,
        ),
        concern=concern,
        children=tuple(_children(r)),
        involvement_from_year=from_year,
        involvement_to_year=to_year,
        staff_named=tuple(
            " ".join(s.split()) for s in re.split(r"[;\n]", r.get("staff_named")) if s.strip()
        ),
        route=r.get("route")[:320] or None,
        flags=tuple(dict.fromkeys(r.flags)),
    )
    return RegisterEntry(
        row=row.row,
        submission=submission,
        stage=stage,
        outcome=outcome,
        legacy_reference=r.get("reference")[:100] or None,
        learning_review_completed=review in _YES,
        closed_at=closed_at if stage == "closed" else None,
    )


def _when(r: _Row, name: str) -> datetime | None:
    text = r.get(name)
    if not text:
        return None
    read = read_date(text)
    if read is None:
        if name != "received":
            r.flag(name, "not a date; left out")
        return None
    if read.other_reading is not None and not r.day_first(name):
        r.flag(name, f"read day first as {read.value:%-d %B %Y}; could be "
                     f"{read.other_reading:%-d %B %Y}")
    return read.value


def _placed(r: _Row, name: str, words: dict[str, str]) -> str | None:
    """What the mapping (stored with the row, else the sure proposal) says VALUE means."""
    value = tidy(r.get(name))
    found = lookup(r.table(name), value)
    if found is not None:
        return found or None
    placed, score = score_value(value, words)
    return placed if score >= SURE else None


def _stage(r: _Row, fill: str) -> tuple[str, str | None]:
    written = r.get("stage")
    meaning = _placed(r, "stage", STAGE_WORDS) if written else None
    if meaning is None and fill:
        meaning = lookup(r.table("colour"), fill) or None
        if meaning and not written:
            r.flags.append(f"row {r.number}: stage read from the row's colour ({fill})")
    if meaning is None:
        if written:
            r.flag("stage", "is not a stage in the mapping; logged as new")
        elif fill:
            r.flags.append(f"row {r.number}: no stage, and the colour {fill} is not in the "
                           "mapping; logged as new")
        else:
            r.flag("stage", "empty; logged as new")
        return "logged", None
    stage, _, outcome = meaning.partition(":")
    if r.get("outcome"):
        placed = _placed(r, "outcome", OUTCOME_WORDS)
        if placed is None:
            r.flag("outcome", "is not an outcome in the mapping; left out")
        elif stage == "closed":
            outcome = placed
    if stage != "closed":
        return stage, None
    return stage, outcome or "responded"


def _channel(r: _Row) -> str:
    if not r.get("channel"):
        return "import"
    placed = _placed(r, "channel", CHANNEL_WORDS)
    if placed is None or placed not in CHANNELS:
        r.flag("channel", "not a channel we know (" + ", ".join(CHANNELS) + ")")
        return "import"
    return placed


def _involvement(r: _Row, received: datetime) -> tuple[int | None, int | None]:
    years: list[int] = []
    for name in ("involvement", "involvement_from", "involvement_to"):
        text = r.get(name)
        if not text:
            continue
        found = read_years(text, received.year)
        if found is None:
            r.flag(name, "no year found")
            continue
        for year in found:
            if 1900 <= year <= received.year:
                years.append(year)
            else:
                r.flag(name, "a year after the contact or before 1900; left out")
    if not years:
        return None, None
    return min(years), max(years)


def _children(r: _Row) -> list[ChildDetails]:
    names = split_children(r.get("children"))
    dobs = split_dates(r.get("children_dob"))
    if dobs and len(dobs) != len(names):
        r.flag("children_dob", f"{len(dobs)} dates of birth for {len(names)} children; "
                               "dates left out")
        dobs = []
    out: list[ChildDetails] = []
    for i, name in enumerate(names):
        if len(name) > MAX_FIELD:
            r.flag("children", "a name longer than the limit was left out")
            continue
        dob: date | None = None
        if dobs:
            read = read_date(dobs[i])
            if read is None:
                r.flag("children_dob", f"date of birth {i + 1} is not a date; left out")
            else:
                dob = read.value.date()
                if read.other_reading is not None and not r.day_first("children_dob"):
                    r.flag("children_dob", f"date of birth {i + 1} read day first; the day "
                                           "and month could be swapped")
        out.append(ChildDetails(name=name, date_of_birth=dob))
    return out
