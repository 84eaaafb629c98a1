"""The legacy register (the IAT's spreadsheet, CSV or XLSX) → one `RegisterEntry` per row.

Pure: no database. `read_register` turns the file into rows of cell text (what the intake service
stores raw, one row at a time); `parse_row` reads one row into a `Submission` plus the stage the
register recorded, or raises `SubmissionError` whose field names the row and the column.

Cells are data, never formulas: a cell starting with "=" is kept as the text it shows in the file
(openpyxl is asked for the cell's content, not for a calculated value), and nothing is evaluated.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel

from concerns.triage.forms import EMAIL_RE, MAX_CONCERN, MAX_FIELD
from concerns.triage.submission import (
    CHANNELS,
    RELATIONSHIPS,
    ChildDetails,
    RespondentDetails,
    Submission,
    SubmissionError,
)

LONDON = ZoneInfo("Europe/London")
MAX_ROWS = 100_000

# Column headings as councils write them → our field. Headings are compared lower-case with
# punctuation as spaces ("E-mail" → "e mail").
COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "ref", "case reference", "case ref", "register ref", "id"),
    "received": ("date received", "received", "date", "date of contact", "contact date",
                 "received on", "date logged"),
    "name": ("name", "respondent", "respondent name", "person raising concern", "raised by",
             "contact name", "full name"),
    "email": ("email", "e mail", "email address", "e mail address"),
    "phone": ("phone", "telephone", "tel", "phone number", "telephone number", "mobile"),
    "address": ("address",),
    "postcode": ("postcode", "post code"),
    "relationship": ("relationship", "relationship to child", "relation"),
    "children": ("child", "children", "child name", "child s name", "childs name",
                 "child names", "young person"),
    "children_dob": ("child dob", "dob", "date of birth", "child date of birth",
                     "child s date of birth"),
    "involvement": ("involvement", "years involved", "involvement years", "years"),
    "involvement_from": ("involvement from", "from year", "involved from"),
    "involvement_to": ("involvement to", "to year", "involved to", "involved until"),
    "staff_named": ("staff named", "staff", "staff involved"),
    "concern": ("concern", "summary", "details", "nature of concern", "concern summary",
                "description"),
    "channel": ("channel", "how received", "received via", "source"),
    "route": ("forwarded by", "route", "via"),
    "stage": ("stage", "status", "current stage"),
    "outcome": ("outcome",),
    "learning_review": ("learning review", "learning review completed", "review completed"),
    "closed": ("date closed", "closed", "closed on"),
}
_HEADING_TO_FIELD = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}

# What the register says about a row's stage → (lifecycle state, outcome when closed).
STAGES: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(("logged", "new", "received", "open"), ("logged", None)),
    **dict.fromkeys(("acknowledged", "triage", "in triage", "triaged"), ("triage", None)),
    **dict.fromkeys(
        ("awaiting information", "information requested", "info requested",
         "further information requested"),
        ("awaiting_information", None),
    ),
    **dict.fromkeys(("complaint offered", "complaints route offered"),
                    ("complaint_offered", None)),
    **dict.fromkeys(("in review", "learning review", "under review", "review"),
                    ("in_review", None)),
    **dict.fromkeys(("awaiting signoff", "awaiting sign off", "with dcs", "awaiting dcs"),
                    ("awaiting_signoff", None)),
    "authorised": ("authorised", None),
    **dict.fromkeys(("letter ready", "letter prepared"), ("letter_ready", None)),
    "signed": ("signed", None),
    **dict.fromkeys(("responded", "response sent", "letter sent"), ("responded", None)),
    **dict.fromkeys(("dissatisfied", "not happy"), ("dissatisfied", None)),
    "meeting offered": ("meeting_offered", None),
    **dict.fromkeys(("closed", "closed responded", "completed"), ("closed", "responded")),
    **dict.fromkeys(("answered", "query answered", "closed answered"), ("closed", "answered")),
    **dict.fromkeys(
        ("referred to complaints", "formal complaint", "complaints route accepted"),
        ("closed", "referred_to_complaints"),
    ),
    **dict.fromkeys(
        ("outside framework", "closed outside framework", "dealt with outside framework"),
        ("closed", "outside_framework"),
    ),
}
OUTCOMES: dict[str, str] = {
    "responded": "responded",
    "response sent": "responded",
    "answered": "answered",
    "query answered": "answered",
    "referred to complaints": "referred_to_complaints",
    "formal complaint": "referred_to_complaints",
    "outside framework": "outside_framework",
    "dealt with outside framework": "outside_framework",
}
_CHANNELS = {
    "email": "email", "e mail": "email", "web": "web", "web form": "web", "online": "web",
    "form": "web", "phone": "phone", "telephone": "phone", "call": "phone", "letter": "letter",
    "post": "letter", "in person": "in_person", "visit": "in_person",
}
_YES = {"yes", "y", "true", "1", "done", "completed", "complete"}
_NO = {"no", "n", "false", "0", "", "not done"}


@dataclass(frozen=True)
class RegisterRow:
    """One row as it stands in the file: its number and each heading's cell text."""

    row: int
    cells: dict[str, str]

    def raw(self) -> bytes:
        """The row as stored raw: stable JSON of its cells, so the same row imported again (even
        after rows were added above it) has the same SHA-256."""
        return json.dumps({"cells": self.cells}, ensure_ascii=False, sort_keys=True).encode(
            "utf-8"
        )


@dataclass(frozen=True)
class RegisterEntry:
    row: int
    submission: Submission
    stage: str
    outcome: str | None = None
    legacy_reference: str | None = None
    learning_review_completed: bool = False
    closed_at: datetime | None = None


def heading_key(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def read_register(data: bytes, filename: str) -> list[RegisterRow]:
    """Rows of a CSV or XLSX register (first row: headings). Blank rows are skipped."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        table = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")):
        table = _csv_rows(data)
    else:
        raise SubmissionError("(file)", "expected a .csv or .xlsx register")
    headings: list[str] | None = None
    rows: list[RegisterRow] = []
    for number, values in table:
        if headings is None:
            if not any(v.strip() for v in values):
                continue
            headings = _headings(values)
            continue
        if not any(v.strip() for v in values):
            continue
        if len(rows) >= MAX_ROWS:
            raise SubmissionError("(file)", f"more than {MAX_ROWS} rows; split the register")
        cells = {
            heading: (values[i] if i < len(values) else "")
            for i, heading in enumerate(headings)
            if heading
        }
        rows.append(RegisterRow(number, cells))
    if headings is None:
        raise SubmissionError("(file)", "empty: no heading row")
    return rows


def _headings(values: list[str]) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(values):
        heading = " ".join(value.split())
        if not heading:
            out.append("")
            continue
        if heading in out:
            heading = f"{heading} ({i + 1})"
        out.append(heading)
    known = {_HEADING_TO_FIELD.get(heading_key(h)) for h in out}
    for required in ("name", "concern"):
        if required not in known:
            aliases = " / ".join(f"'{a}'" for a in COLUMNS[required][:3])
            raise SubmissionError("(headings)", f"no column for {required} ({aliases})")
    return out


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes all but five bytes
        text = data.decode("utf-8", "replace")
    if "\x00" in text:
        raise SubmissionError("(file)", "not a text CSV file (contains NUL bytes)")
    try:
        # Only the delimiter is sniffed: the sniffer's guesses at quoting are unreliable, and
        # registers saved by Excel quote as Excel does.
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            yield number, [v.strip() for v in values]
    except csv.Error as exc:
        raise SubmissionError("(file)", f"not a readable CSV file ({exc})") from None


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        # data_only=False: a formula is read as the text it is, never as a value to trust.
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError):
        raise SubmissionError("(file)", "not a readable .xlsx workbook") from None
    except Exception:  # openpyxl raises many kinds on damaged workbooks
        raise SubmissionError("(file)", "not a readable .xlsx workbook") from None
    try:
        sheet = book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        number = 0
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception:  # a damaged sheet fails part-way; say where
                raise SubmissionError(
                    "(file)", f"the workbook is damaged after row {number}"
                ) from None
            number += 1
            yield number, [_cell_text(v) for v in values]
    finally:
        book.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if value.time() != time(0) else (
            value.date().isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = getattr(value, "text", None)  # array formulas: their text, as data
    return str(text if isinstance(text, str) else value).strip()


# --- one row -------------------------------------------------------------------------------


class _Row:
    def __init__(self, row: RegisterRow) -> None:
        self.number = row.row
        self.values: dict[str, tuple[str, str]] = {}
        for heading, text in row.cells.items():
            field = _HEADING_TO_FIELD.get(heading_key(heading))
            if field and field not in self.values:
                self.values[field] = (heading, text.strip())
        self.flags: list[str] = []

    def get(self, field: str) -> str:
        return self.values.get(field, ("", ""))[1]

    def where(self, field: str) -> str:
        heading = self.values.get(field, (COLUMNS[field][0].capitalize(), ""))[0]
        return f"row {self.number}, column '{heading}'"

    def error(self, field: str, problem: str) -> SubmissionError:
        return SubmissionError(self.where(field), problem)

    def flag(self, field: str, problem: str) -> None:
        self.flags.append(f"{self.where(field)}: {problem}")


def parse_row(
    row: RegisterRow, *, received_fallback: datetime | None = None, max_concern: int = MAX_CONCERN
) -> RegisterEntry:
    """Read one register row. Raises SubmissionError whose field names the row and column."""
    r = _Row(row)
    name = " ".join(r.get("name").split())
    if not name:
        raise r.error("name", "empty")
    if len(name) > MAX_FIELD:
        raise r.error("name", f"longer than {MAX_FIELD} characters")
    concern = r.get("concern")
    if not concern:
        raise r.error("concern", "empty")
    if len(concern) > max_concern:
        raise r.error("concern", f"longer than {max_concern} characters")
    concern = concern.replace("\x00", "")

    received = _when(r, "received")
    if received is None:
        if received_fallback is None:
            raise r.error("received", "missing: every register row needs the date received")
        r.flag("received", "missing, the import time is used")
        received = received_fallback

    email = r.get("email") or None
    if email and not EMAIL_RE.match(email):
        r.flag("email", "not an email address")
        email = None
    phone = r.get("phone") or None
    if phone and sum(ch.isdigit() for ch in phone) < 6:
        r.flag("phone", "too few digits for a phone number")
        phone = None
    address = r.get("address") or None
    if not (email or phone or address):
        r.flag("email", "no email, phone or address to reply to")
    relationship = heading_key(r.get("relationship")).replace(" ", "_") or None
    if relationship and relationship not in RELATIONSHIPS:
        r.flag("relationship", "expected one of " + ", ".join(RELATIONSHIPS))
        relationship = "other"

    stage, outcome = _stage(r)
    from_year, to_year = _involvement(r, received)
    channel = _CHANNELS.get(heading_key(r.get("channel")), "import")
    if r.get("channel") and channel == "import":
        r.flag("channel", "not a channel we know: " + ", ".join(CHANNELS))
    closed_at = _when(r, "closed")
    review = heading_key(r.get("learning_review"))
    if review not in _YES and review not in _NO:
        r.flag("learning_review", "expected yes or no")

    submission = Submission(
        channel=channel,
        submitted_at=received,
        respondent=RespondentDetails(
            name=name, email=email, phone=phone, address=address,
            postcode=r.get("postcode") or None, relationship=relationship,
        ),
        concern=concern,
        children=tuple(_children(r)),
        involvement_from_year=from_year,
        involvement_to_year=to_year,
        staff_named=tuple(
            " ".join(s.split()) for s in re.split(r"[;\n]", r.get("staff_named")) if s.strip()
        ),
        route=r.get("route")[:320] or None,
        flags=tuple(r.flags),
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


_DATE_FORMATS = (
    "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %B %Y", "%d %b %Y", "%B %d %Y",
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M",
)


def _when(r: _Row, field: str) -> datetime | None:
    text = r.get(field)
    if not text:
        return None
    parsed = parse_register_date(text)
    if parsed is None:
        raise r.error(field, "not a date (expected DD/MM/YYYY or YYYY-MM-DD)")
    return parsed


def parse_register_date(text: str) -> datetime | None:
    """A date as registers write it, aware in Europe/London. Day first, as in England."""
    text = " ".join(text.replace(",", " ").split())
    try:
        parsed = datetime.fromisoformat(text)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON)
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=LONDON)
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        # An Excel serial number that lost its date format on the way to CSV.
        serial = from_excel(float(text))
        if isinstance(serial, datetime):
            return serial.replace(tzinfo=LONDON)
    return None


def _stage(r: _Row) -> tuple[str, str | None]:
    text = heading_key(r.get("stage"))
    if not text:
        r.flag("stage", "empty, logged as new")
        return "logged", None
    found = STAGES.get(text)
    if found is None:
        raise r.error("stage", "not a stage we know (e.g. logged, in review, responded, closed)")
    stage, outcome = found
    outcome_text = heading_key(r.get("outcome"))
    if stage == "closed" and outcome_text:
        if outcome_text not in OUTCOMES:
            raise r.error("outcome", "expected responded, answered, referred to complaints "
                                     "or outside framework")
        outcome = OUTCOMES[outcome_text]
    return stage, outcome


def _involvement(r: _Row, received: datetime) -> tuple[int | None, int | None]:
    years: list[int] = []
    for field in ("involvement", "involvement_from", "involvement_to"):
        text = r.get(field)
        if not text:
            continue
        found = [int(y) for y in re.findall(r"\b(1[89]\d\d|20\d\d)\b", text)]
        if not found:
            r.flag(field, "no year found")
            continue
        for year in found:
            if 1900 <= year <= received.year:
                years.append(year)
            else:
                r.flag(field, "a year after the contact or before 1900")
    if not years:
        return None, None
    return min(years), max(years)


def _children(r: _Row) -> list[ChildDetails]:
    names = [" ".join(n.split()) for n in re.split(r"[;\n]", r.get("children")) if n.strip()]
    dobs = [d.strip() for d in re.split(r"[;\n]", r.get("children_dob")) if d.strip()]
    if dobs and len(dobs) != len(names):
        r.flag("children_dob", "not one date of birth per child; dates left out")
        dobs = []
    out: list[ChildDetails] = []
    for i, name in enumerate(names):
        if len(name) > MAX_FIELD:
            r.flag("children", "a name longer than the limit was left out")
            continue
        dob: date | None = None
        if dobs:
            parsed = parse_register_date(dobs[i])
            if parsed is None:
                r.flag("children_dob", "not a date")
            else:
                dob = parsed.date()
        out.append(ChildDetails(name=name, date_of_birth=dob))
    return out
