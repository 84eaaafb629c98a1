"""A register file (CSV or XLSX) as the sheets people keep: every row's cell text, and for a
workbook what Excel adds around the text (fill colours, comments, hidden rows, merged cells).

Pure: no database, no mapping. Cells are data, never formulas: a cell starting with "=" is kept
as the text it shows in the file (openpyxl is asked for the cell's content, not for a calculated
value), and nothing is evaluated.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from openpyxl import load_workbook

from concerns.triage.submission import SubmissionError

MAX_ROWS = 100_000
# Fills Excel writes for "no colour": not a status.
_NO_COLOUR = {"000000", "FFFFFF"}
# More NULs than this (or than 1% of the text) and the file is binary, not a register.
_STRAY_NULS = 16


@dataclass(frozen=True)
class SheetRow:
    """One row of a sheet: its number (1-based, as Excel shows it) and each column's text."""

    number: int
    values: list[str]
    fills: list[str] = field(default_factory=list)  # per column: RRGGBB or "" (no fill)
    comments: list[str] = field(default_factory=list)  # per column: the cell's comment or ""
    hidden: bool = False

    def blank(self) -> bool:
        return not any(v.strip() for v in self.values)


@dataclass(frozen=True)
class Sheet:
    name: str
    rows: list[SheetRow]
    hidden_columns: frozenset[int] = frozenset()  # 0-based column numbers


def read_sheets(data: bytes, filename: str) -> list[Sheet]:
    """Every sheet of the file (a CSV is one sheet named after nothing: "")."""
    name = filename.lower()
    if name.endswith((".xlsx", ".xlsm")) or data[:4] == b"PK\x03\x04":
        return _xlsx_sheets(data)
    if name.endswith((".csv", ".txt")):
        return [Sheet("", _limit(_csv_rows(data)))]
    raise SubmissionError("(file)", "expected a .csv or .xlsx register")


def _limit(rows: Iterator[SheetRow]) -> list[SheetRow]:
    out: list[SheetRow] = []
    for row in rows:
        if len(out) >= MAX_ROWS:
            raise SubmissionError("(file)", f"more than {MAX_ROWS} rows; split the register")
        out.append(row)
    return out


def _csv_text(data: bytes) -> str:
    """The CSV's text. Excel's "Unicode text" is UTF-16 with a byte-order mark; a stray NUL in a
    text register is dropped (the stored raw bytes keep it), but a file that is mostly NULs is
    not a text register at all."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SubmissionError("(file)", "not a readable UTF-16 CSV file") from None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes all but five bytes
        text = data.decode("utf-8", "replace")
    if text.count("\x00") > max(_STRAY_NULS, len(text) // 100):
        raise SubmissionError("(file)", "not a text CSV file (it is mostly NUL bytes)")
    return text.replace("\x00", "")


def _csv_rows(data: bytes) -> Iterator[SheetRow]:
    text = _csv_text(data)
    try:
        # Only the delimiter is sniffed: the sniffer's guesses at quoting are unreliable, and
        # registers saved by Excel quote as Excel does.
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        for number, values in enumerate(reader, start=1):
            yield SheetRow(number, [v.strip() for v in values])
    except csv.Error as exc:
        raise SubmissionError("(file)", f"not a readable CSV file ({exc})") from None


def _xlsx_sheets(data: bytes) -> list[Sheet]:
    try:
        # data_only=False: a formula is read as the text it is, never as a value to trust.
        # Not read_only: merged cells, comments and hidden rows are only there in full mode.
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=False)
    except Exception:  # openpyxl raises many kinds on damaged workbooks
        raise SubmissionError("(file)", "not a readable .xlsx workbook") from None
    try:
        return [_sheet(ws) for ws in book.worksheets]
    except SubmissionError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError):
        raise SubmissionError("(file)", "the workbook is damaged") from None
    finally:
        book.close()


def _sheet(ws: Any) -> Sheet:
    width = ws.max_column or 0
    texts: dict[tuple[int, int], str] = {}
    # A merged range shows its value in every cell it covers. Down a column (one person over
    # several rows) the value belongs to each row; across a row (a title, a note) it belongs to
    # the first cell only, or it would be read as a name, a concern and a stage at once.
    for merged in list(ws.merged_cells.ranges):
        if merged.min_col == merged.max_col:
            top = _cell_text(ws.cell(merged.min_row, merged.min_col).value)
            for r in range(merged.min_row, merged.max_row + 1):
                texts[(r, merged.min_col)] = top
    hidden_columns = frozenset(
        i for i in range(width) if _column_hidden(ws, i + 1)
    )
    rows: list[SheetRow] = []
    for number, cells in enumerate(ws.iter_rows(max_col=width), start=1):
        if len(rows) >= MAX_ROWS:
            raise SubmissionError("(file)", f"more than {MAX_ROWS} rows; split the register")
        values: list[str] = []
        fills: list[str] = []
        comments: list[str] = []
        for col, cell in enumerate(cells, start=1):
            text = texts.get((number, col))
            values.append(text if text is not None else _cell_text(cell.value))
            fills.append(_fill(cell))
            comment = getattr(cell, "comment", None)
            comments.append(" ".join(str(comment.text).split()) if comment is not None else "")
        dim = ws.row_dimensions.get(number) if hasattr(ws.row_dimensions, "get") else None
        rows.append(SheetRow(number, values, fills, comments, bool(dim and dim.hidden)))
    return Sheet(ws.title, rows, hidden_columns)


def _column_hidden(ws: Any, col: int) -> bool:
    from openpyxl.utils import get_column_letter

    for dim in ws.column_dimensions.values():
        if dim.hidden and (dim.min or 0) <= col <= (dim.max or 0):
            return True
    letter = get_column_letter(col)
    return bool(letter in ws.column_dimensions and ws.column_dimensions[letter].hidden)


def _fill(cell: Any) -> str:
    fill = getattr(cell, "fill", None)
    if fill is None or fill.fill_type != "solid":
        return ""
    colour = fill.fgColor
    if colour is None:
        return ""
    if colour.type == "rgb" and isinstance(colour.rgb, str):
        rgb = colour.rgb[-6:].upper()
        return "" if rgb in _NO_COLOUR else rgb
    if colour.type == "theme":
        return f"theme{colour.theme}"
    if colour.type == "indexed":
        return f"indexed{colour.indexed}"
    return ""


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
