"""A register file → the mapping it is read with (proposed, or the team's) and its rows.

Pure: no database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from concerns.triage.register.mapping import (
    CHANNEL_WORDS,
    HEADING_SEARCH_ROWS,
    OUTCOME_WORDS,
    STAGE_WORDS,
    SURE,
    Mapping,
    SheetChoice,
    find_heading_row,
    score_value,
    tidy,
    unique_headings,
)
from concerns.triage.register.rows import RegisterRow
from concerns.triage.register.sheets import Sheet, SheetRow, read_sheets
from concerns.triage.register.values import DAY_FIRST_ONLY
from concerns.triage.submission import SubmissionError

# Fill colours named by what people usually mean by them (green: done), for the proposal only.
_COLOUR_WORDS = {"C6EFCE": "closed:responded", "00B050": "closed:responded",
                 "92D050": "closed:responded"}


@dataclass(frozen=True)
class Register:
    mapping: Mapping
    rows: list[RegisterRow]

    @property
    def several_sheets(self) -> bool:
        return len(self.mapping.sheets) > 1


def read_register(data: bytes, filename: str, mapping: Mapping | None = None) -> Register:
    """The rows of a CSV or XLSX register, each carrying what MAPPING (by default the
    proposal) says about it. Raises SubmissionError when the file or the mapping cannot be
    used."""
    sheets = read_sheets(data, filename)
    if mapping is None:
        mapping = propose(sheets)
    plain = _rows(mapping, sheets)
    day_first = _day_first_columns(mapping, plain)
    rows = []
    for row in plain:
        read_as = mapping.for_row(row.cells, row.fill)
        if day_first:
            read_as["day_first"] = day_first
        rows.append(RegisterRow(row.row, row.cells, row.sheet, row.fill, row.comments,
                                row.hidden, read_as))
    return Register(mapping, rows)


_DATE_FIELDS = ("received", "closed", "children_dob")


def _day_first_columns(mapping: Mapping, rows: list[RegisterRow]) -> list[str]:
    """Date columns where some date can only be day first (13/04/2021): their 05/04/2021 is
    5 April beyond doubt, so it is not flagged as ambiguous."""
    headings = [h for h, f in mapping.fields().items() if f in _DATE_FIELDS]
    return sorted(h for h in headings
                  if any(DAY_FIRST_ONLY.search(row.cells.get(h, "")) for row in rows))


def propose(sheets: list[Sheet]) -> Mapping:
    """The mapping the importer proposes: the first sheet with a heading row and every other
    sheet with the same headings; values of the stage, outcome and channel columns; fills."""
    found = [(sheet, find_heading_row(sheet)) for sheet in sheets]
    usable = [(s, f) for s, f in found if f is not None]
    if not usable:
        raise SubmissionError(
            "(headings)", "no row names the person and the concern in the first "
            f"{HEADING_SEARCH_ROWS} rows of any sheet (e.g. 'Name', 'Concern')")
    first_sheet, (first_row, columns) = usable[0]
    layout = [c.heading for c in columns]
    chosen = [SheetChoice(first_sheet.name, first_row)]
    for sheet, (row, cols) in usable[1:]:
        if [c.heading for c in cols] == layout:
            chosen.append(SheetChoice(sheet.name, row))
    mapping = Mapping(sheets=chosen, columns=columns, proposed=True)
    heading_row = next(r for r in first_sheet.rows if r.number == first_row)
    headings = unique_headings(heading_row.values)
    mapping.hidden = {headings[i] for i in first_sheet.hidden_columns
                      if i < len(headings) and headings[i]}
    _propose_values(mapping, sheets)
    return mapping


def _propose_values(mapping: Mapping, sheets: list[Sheet]) -> None:
    seen: dict[str, Counter[str]] = {"stage": Counter(), "outcome": Counter(),
                                     "channel": Counter()}
    colour_stages: dict[str, Counter[str]] = {}
    fields = mapping.fields()
    for row in _rows(mapping, sheets):
        by_field = {f: tidy(row.cells.get(h, "")) for h, f in fields.items()}
        for name, counter in seen.items():
            if by_field.get(name):
                counter[by_field[name]] += 1
        if row.fill:
            stage = by_field.get("stage", "")
            placed, score = score_value(stage, STAGE_WORDS) if stage else ("", 0)
            counter = colour_stages.setdefault(row.fill, Counter())
            if placed and score >= SURE:
                counter[placed] += 1
    for name, words, table in (("stage", STAGE_WORDS, mapping.stages),
                               ("outcome", OUTCOME_WORDS, mapping.outcomes),
                               ("channel", CHANNEL_WORDS, mapping.channels)):
        for value in sorted(seen[name]):
            placed, score = score_value(value, words)
            table[value] = placed if score >= SURE else ""
            if placed and score < SURE:
                mapping.guesses[f"{name}:{value}"] = placed
    for colour in sorted(colour_stages):
        common = colour_stages[colour].most_common(1)
        mapping.colours[colour] = common[0][0] if common else _COLOUR_WORDS.get(colour, "")


def _rows(mapping: Mapping, sheets: list[Sheet]) -> list[RegisterRow]:
    """Every non-blank row below the heading row of each chosen sheet, in order, without the
    mapping attached."""
    by_name = {s.name: s for s in sheets}
    fields = mapping.fields()
    out: list[RegisterRow] = []
    for choice in mapping.sheets:
        sheet = by_name.get(choice.name)
        if sheet is None:
            if len(sheets) == 1 and not choice.name:
                sheet = sheets[0]
            else:
                raise SubmissionError("mapping: [[sheet]]", f"no sheet called {choice.name!r}")
        heading_row = next((r for r in sheet.rows if r.number == choice.heading_row), None)
        if heading_row is None:
            raise SubmissionError("mapping: [[sheet]] heading_row",
                                  f"sheet {choice.name!r} has no row {choice.heading_row}")
        headings = unique_headings(heading_row.values)
        stage_columns = {i for i, h in enumerate(headings) if fields.get(h) == "stage"}
        for row in sheet.rows:
            if row.number <= choice.heading_row or row.blank():
                continue
            cells = {h: (row.values[i] if i < len(row.values) else "")
                     for i, h in enumerate(headings) if h}
            comments = {h: row.comments[i] for i, h in enumerate(headings)
                        if h and i < len(row.comments) and row.comments[i]}
            out.append(RegisterRow(row.number, cells, sheet.name, _row_fill(row, stage_columns),
                                   comments, row.hidden))
    return out


def _row_fill(row: SheetRow, stage_columns: set[int]) -> str:
    """The colour of the stage cell if it has one, else the first coloured cell of the row."""
    for i in sorted(stage_columns):
        if i < len(row.fills) and row.fills[i]:
            return row.fills[i]
    return next((f for f in row.fills if f), "")
