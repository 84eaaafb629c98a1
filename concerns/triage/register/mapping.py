"""Which sheet, which row holds the headings, which heading is which field, and what each stage,
outcome, channel and fill colour means: proposed from the file, written as TOML for the team to
read and correct, and read back.

Pure: no database. Headings and values are compared by `heading_key` (lower case, punctuation as
spaces) and scored with rapidfuzz's token-set ratio, the best and then the longest alias winning
("Name of person raising concern" is the respondent's name, not the concern).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from concerns.triage.register.sheets import Sheet
from concerns.triage.submission import CHANNELS, SubmissionError

# A heading or value scoring at least this against one of our aliases is proposed.
SURE = 90
# Below SURE but at least this: written in the mapping as a guess, not used until confirmed.
GUESS = 70
# How far down a sheet the heading row is looked for (title rows, blank rows above it).
HEADING_SEARCH_ROWS = 30

# Our fields → headings as councils write them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "ref", "case reference", "case ref", "register ref", "id",
                  "ref no", "case number"),
    "received": ("date received", "received", "date", "date of contact", "contact date",
                 "received on", "date logged", "date concern received"),
    "name": ("name", "respondent", "respondent name", "person raising concern", "raised by",
             "contact name", "full name", "name of person raising concern",
             "name of person raising the concern", "complainant"),
    "email": ("email", "e mail", "email address", "e mail address"),
    "phone": ("phone", "telephone", "tel", "phone number", "telephone number", "mobile",
              "contact number", "tel no"),
    "address": ("address", "postal address", "home address"),
    "postcode": ("postcode", "post code"),
    "relationship": ("relationship", "relationship to child", "relation"),
    "children": ("child", "children", "child name", "child s name", "childs name",
                 "child names", "young person", "name of child", "names of children"),
    "children_dob": ("child dob", "dob", "date of birth", "child date of birth",
                     "child s date of birth", "children s dates of birth", "dates of birth"),
    "involvement": ("involvement", "years involved", "involvement years", "years",
                    "period of involvement", "years of involvement", "dates of involvement"),
    "involvement_from": ("involvement from", "from year", "involved from"),
    "involvement_to": ("involvement to", "to year", "involved to", "involved until"),
    "staff_named": ("staff named", "staff", "staff involved", "staff members named"),
    "concern": ("concern", "summary", "details", "nature of concern", "concern summary",
                "description", "summary of concern", "details of concern"),
    "notes": ("notes", "comments", "iat notes", "action taken", "actions", "remarks"),
    "channel": ("channel", "how received", "received via", "source", "method of contact"),
    "route": ("forwarded by", "route", "via"),
    "stage": ("stage", "status", "current stage", "current status", "progress"),
    "outcome": ("outcome", "result"),
    "learning_review": ("learning review", "learning review completed", "review completed"),
    "closed": ("date closed", "closed", "closed on", "closure date"),
}
FIELDS = tuple(COLUMNS)
_ALIASES = [(alias, name) for name, aliases in COLUMNS.items() for alias in aliases]

# What a register says about a row's stage → "state" or "closed:outcome".
STAGE_WORDS: dict[str, str] = {
    **dict.fromkeys(("logged", "new", "received", "open", "not started"), "logged"),
    **dict.fromkeys(("acknowledged", "triage", "in triage", "triaged", "being triaged"),
                    "triage"),
    **dict.fromkeys(
        ("awaiting information", "information requested", "info requested",
         "further information requested", "waiting for information"),
        "awaiting_information",
    ),
    **dict.fromkeys(("complaint offered", "complaints route offered"), "complaint_offered"),
    **dict.fromkeys(("in review", "learning review", "under review", "review",
                     "learning review in progress"), "in_review"),
    **dict.fromkeys(("awaiting signoff", "awaiting sign off", "with dcs", "awaiting dcs",
                     "with dcs for sign off", "learning review complete"), "awaiting_signoff"),
    **dict.fromkeys(("authorised", "signed off by dcs"), "authorised"),
    **dict.fromkeys(("letter ready", "letter prepared", "letter drafted"), "letter_ready"),
    **dict.fromkeys(("signed", "letter signed"), "signed"),
    **dict.fromkeys(("responded", "response sent", "letter sent"), "responded"),
    **dict.fromkeys(("dissatisfied", "not happy", "unhappy with response"), "dissatisfied"),
    "meeting offered": "meeting_offered",
    **dict.fromkeys(("closed", "closed responded", "completed"), "closed:responded"),
    **dict.fromkeys(("answered", "query answered", "closed answered"), "closed:answered"),
    **dict.fromkeys(
        ("referred to complaints", "formal complaint", "complaints route accepted",
         "closed referred to complaints"),
        "closed:referred_to_complaints",
    ),
    **dict.fromkeys(
        ("outside framework", "closed outside framework", "dealt with outside framework",
         "closed dealt with outside framework"),
        "closed:outside_framework",
    ),
}
OUTCOME_WORDS: dict[str, str] = {
    **dict.fromkeys(("responded", "response sent", "letter sent"), "responded"),
    **dict.fromkeys(("answered", "query answered"), "answered"),
    **dict.fromkeys(("referred to complaints", "formal complaint"), "referred_to_complaints"),
    **dict.fromkeys(("outside framework", "dealt with outside framework"), "outside_framework"),
}
CHANNEL_WORDS: dict[str, str] = {
    "email": "email", "e mail": "email", "web": "web", "web form": "web", "online": "web",
    "online form": "web", "form": "web", "phone": "phone", "telephone": "phone",
    "phone call": "phone", "call": "phone", "letter": "letter", "post": "letter",
    "in person": "in_person", "visit": "in_person", "face to face": "in_person",
}
def heading_key(text: str) -> str:
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text.lower()).split())


def tidy(text: str) -> str:
    """A heading or value as written, on one line."""
    return " ".join(text.split())


def score_heading(heading: str) -> tuple[str, int]:
    """The field a heading most likely is, and the score (0-100); ("", 0) for none."""
    return _best(heading_key(heading), _ALIASES)


def _best(key: str, pairs: list[tuple[str, str]]) -> tuple[str, int]:
    if not key:
        return "", 0
    best: tuple[int, int, str] = (0, 0, "")
    for alias, target in pairs:
        if key == alias:
            return target, 100
        score = round(fuzz.token_set_ratio(key, alias))
        if score >= GUESS and (score, len(alias)) > best[:2]:
            best = (score, len(alias), target)
    return best[2], best[0]


def score_value(value: str, words: dict[str, str]) -> tuple[str, int]:
    return _best(heading_key(value), list(words.items()))


@dataclass
class SheetChoice:
    name: str
    heading_row: int


@dataclass
class ColumnChoice:
    heading: str
    field: str  # "" = not read
    score: int


@dataclass
class Mapping:
    sheets: list[SheetChoice] = field(default_factory=list)
    columns: list[ColumnChoice] = field(default_factory=list)
    # value as written → "state" / "closed:outcome" / outcome / channel / ""; colour → stage.
    stages: dict[str, str] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    colours: dict[str, str] = field(default_factory=dict)
    # "stage:value" → a placing not sure enough to use, for the file's comments (not read back).
    guesses: dict[str, str] = field(default_factory=dict)
    # The importer's own proposal: only what it is sure of is used. A mapping file is used as
    # written (keeping a guess in it confirms it).
    proposed: bool = False
    hidden: set[str] = field(default_factory=set)  # headings of hidden columns (for comments)

    def fields(self) -> dict[str, str]:
        """Heading → field, for the headings that are read."""
        return {c.heading: c.field for c in self.columns
                if c.field and (c.score >= SURE or not self.proposed)}

    def for_row(self, cells: dict[str, str], fill: str) -> dict[str, object]:
        """What this mapping says about one row: stored with the row, so it reads the same
        whenever it is read again."""
        by_field = {f: cells.get(h, "") for h, f in self.fields().items()}
        out: dict[str, object] = {"fields": self.fields()}
        for name, table in (("stage", self.stages), ("outcome", self.outcomes),
                            ("channel", self.channels)):
            value = tidy(by_field.get(name, ""))
            if value and value in table:
                out[name] = {value: table[value]}
        if fill and fill in self.colours:
            out["colour"] = {fill: self.colours[fill]}
        return out


def lookup(table: dict[str, str], value: str) -> str | None:
    """The mapped meaning of VALUE (as written, or by its heading_key); None if not listed."""
    if value in table:
        return table[value]
    key = heading_key(value)
    for written, meaning in table.items():
        if heading_key(written) == key:
            return meaning
    return None


# --- proposing ---------------------------------------------------------------------------


def find_heading_row(sheet: Sheet) -> tuple[int, list[ColumnChoice]] | None:
    """The row within the first rows that names most fields (needing name or concern)."""
    best: tuple[int, int, list[ColumnChoice]] | None = None
    for row in sheet.rows[:HEADING_SEARCH_ROWS]:
        if row.blank():
            continue
        columns = assign_columns(row.values)
        named = {c.field for c in columns if c.field}
        if not ({"name", "concern"} & named) or len(named) < 2:
            continue
        # Ranked by the headings it is sure of, then by all it names.
        rank = sum(1 for c in columns if c.field and c.score >= SURE) * 100 + len(named)
        if best is None or rank > best[1]:
            best = (row.number, rank, columns)
    return None if best is None else (best[0], best[2])


def unique_headings(headings: list[str]) -> list[str]:
    """Headings on one line; a repeated heading gets its column number ("Notes (9)")."""
    out: list[str] = []
    for i, heading in enumerate(tidy(h) for h in headings):
        if heading and heading in out:
            heading = f"{heading} ({i + 1})"
        out.append(heading)
    return out


def assign_columns(headings: list[str]) -> list[ColumnChoice]:
    """Each heading to at most one field, each field to at most one heading (best first)."""
    scored = [(h, *score_heading(h)) for h in unique_headings(headings)]
    order = sorted(range(len(scored)), key=lambda i: (-scored[i][2], i))
    taken: set[str] = set()
    fields = [""] * len(scored)
    for i in order:
        _, name, score = scored[i]
        if name and score >= GUESS and name not in taken:
            fields[i] = name
            taken.add(name)
    return [
        ColumnChoice(h, f, s if f else 0) for (h, _, s), f in zip(scored, fields, strict=True)
        if h
    ]


# --- the TOML file -----------------------------------------------------------------------


def _q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, but for characters beyond U+FFFF)."""
    out = []
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def to_toml(mapping: Mapping, filename: str, states: tuple[str, ...],
            outcomes: tuple[str, ...]) -> str:
    lines = [
        f"# How {filename} is read: proposed by `concerns intake import --write-mapping`.",
        "# Correct anything wrong, then import with `--mapping` and this file.",
        '# A value mapped to "" was not placed: such rows come in as logged, flagged to check.',
        "# Stages: " + ", ".join(states) + '; closed rows as "closed:OUTCOME".',
        "# Outcomes: " + ", ".join(outcomes) + ".",
        "# Channels: " + ", ".join(CHANNELS) + ".",
        "# Fields: " + ", ".join(FIELDS) + ".",
        "",
    ]
    for choice in mapping.sheets:
        lines += ["[[sheet]]", f"name = {_q(choice.name)}",
                  f"heading_row = {choice.heading_row}", ""]
    lines += ["# heading = { field = FIELD, score = how sure (100 = an exact alias) }",
              "[columns]"]
    for c in mapping.columns:
        note = "" if c.field else "  # not read"
        if c.field and c.score < SURE:
            note = "  # a guess: check it"
        if c.heading in mapping.hidden:
            note = (note or "  #") + " (hidden in the workbook)"
        lines.append(f"{_q(c.heading)} = {{ field = {_q(c.field)}, score = {c.score} }}{note}")
    for title, name, table in (("stages", "stage", mapping.stages),
                               ("outcomes", "outcome", mapping.outcomes),
                               ("channels", "channel", mapping.channels),
                               ("colours", "colour", mapping.colours)):
        lines += ["", f"[{title}]"]
        for value, meaning in table.items():
            note = ""
            if not meaning:
                guess = mapping.guesses.get(f"{name}:{value}")
                note = "  # not placed" + (f" (perhaps {guess})" if guess else "")
            lines.append(f"{_q(value)} = {_q(meaning)}{note}")
    return "\n".join(lines) + "\n"


def from_toml(text: str) -> Mapping:
    """Read a mapping file. Raises SubmissionError naming the entry at fault."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SubmissionError("mapping", f"not valid TOML ({exc})") from None
    mapping = Mapping()
    sheets = data.get("sheet", [])
    if not isinstance(sheets, list) or not sheets:
        raise SubmissionError("mapping: [[sheet]]", "at least one sheet with name and "
                                                    "heading_row")
    for i, sheet in enumerate(sheets, start=1):
        name, row = (sheet.get("name"), sheet.get("heading_row")) if isinstance(
            sheet, dict) else (None, None)
        if not isinstance(name, str) or not isinstance(row, int) or row < 1:
            raise SubmissionError(f"mapping: [[sheet]] {i}",
                                  "needs name (text) and heading_row (a row number)")
        mapping.sheets.append(SheetChoice(name, row))
    columns = data.get("columns", {})
    if not isinstance(columns, dict):
        raise SubmissionError("mapping: [columns]", "expected heading = { field = ... }")
    used: dict[str, str] = {}
    for heading, spec in columns.items():
        fld = spec.get("field") if isinstance(spec, dict) else spec
        score = spec.get("score", 100) if isinstance(spec, dict) else 100
        if not isinstance(fld, str) or (fld and fld not in COLUMNS):
            raise SubmissionError(f"mapping: [columns] {heading!r}",
                                  "field must be one of " + ", ".join(FIELDS) + ' or ""')
        if fld and fld in used:
            raise SubmissionError(f"mapping: [columns] {heading!r}",
                                  f"{fld} is already the column {used[fld]!r}")
        if fld:
            used[fld] = heading
        mapping.columns.append(ColumnChoice(heading, fld, int(score) if isinstance(
            score, (int, float)) else 0))
    if not ({"name", "concern"} & set(used)):
        raise SubmissionError("mapping: [columns]", "no column is the name or the concern")
    for title, table in (("stages", mapping.stages), ("outcomes", mapping.outcomes),
                         ("channels", mapping.channels), ("colours", mapping.colours)):
        section = data.get(title, {})
        if not isinstance(section, dict) or not all(
            isinstance(v, str) for v in section.values()
        ):
            raise SubmissionError(f"mapping: [{title}]", 'expected "value" = "meaning"')
        table.update(section)
    return mapping
