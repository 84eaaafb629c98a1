"""The legacy register: CSV and XLSX rows read into submissions at their recorded stage."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from concerns.triage.register import (
    NotARecord,
    RegisterEntry,
    RegisterRow,
    parse_row,
    read_register,
)
from concerns.triage.register.values import read_date
from concerns.triage.submission import SubmissionError

LONDON = ZoneInfo("Europe/London")
HEADINGS = [
    "Ref", "Date received", "Name", "E-mail", "Telephone", "Postcode", "Relationship",
    "Child's name", "Child DOB", "Years involved", "Staff named", "Concern", "How received",
    "Forwarded by", "Stage", "Outcome", "Learning review", "Date closed",
]
ROW = [
    "IAT/001", "20/04/2021", "Mrs Jane O'Brien", "jane@example.com", "07700 900123", "HR4 0LE",
    "Parent", "Tom O'Brien; Amy O'Brien", "24/03/2010; 2012-07-01", "2005-2019",
    "A Social Worker", "My children were moved without notice.", "Email",
    "comms@council.gov.uk", "Closed", "Responded", "Yes", "21/09/2021",
]


def csv_bytes(*rows: list[str], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADINGS)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def xlsx_bytes(*rows: list[object]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADINGS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def one(data: bytes, filename: str = "register.csv") -> RegisterRow:
    rows = read_register(data, filename).rows
    assert len(rows) == 1
    return rows[0]


FALLBACK = datetime(2026, 1, 5, 12, 0, tzinfo=LONDON)


def parse(row: RegisterRow) -> RegisterEntry:
    return parse_row(row, received_fallback=FALLBACK)


def test_a_csv_row_becomes_a_submission_at_its_recorded_stage() -> None:
    entry = parse(one(csv_bytes(ROW)))
    sub = entry.submission
    assert entry.row == 2
    assert (entry.stage, entry.outcome) == ("closed", "responded")
    assert entry.legacy_reference == "IAT/001"
    assert entry.learning_review_completed is True
    assert entry.closed_at == datetime(2021, 9, 21, tzinfo=LONDON)
    assert sub.channel == "email"
    assert sub.submitted_at == datetime(2021, 4, 20, tzinfo=LONDON)
    assert sub.respondent.name == "Mrs Jane O'Brien"
    assert sub.respondent.email == "jane@example.com"
    assert sub.respondent.phone == "07700 900123"
    assert sub.respondent.postcode == "HR4 0LE"
    assert sub.respondent.relationship == "parent"
    assert [(c.name, c.date_of_birth) for c in sub.children] == [
        ("Tom O'Brien", date(2010, 3, 24)), ("Amy O'Brien", date(2012, 7, 1)),
    ]
    assert (sub.involvement_from_year, sub.involvement_to_year) == (2005, 2019)
    assert sub.staff_named == ("A Social Worker",)
    assert sub.route == "comms@council.gov.uk"
    assert sub.concern == "My children were moved without notice."
    assert sub.flags == ()


def test_an_xlsx_row_with_real_date_cells_reads_the_same_as_the_csv() -> None:
    row: list[object] = list(ROW)
    row[1] = datetime(2021, 4, 20)
    row[17] = date(2021, 9, 21)
    from_xlsx = parse(one(xlsx_bytes(row), "register.xlsx"))
    from_csv = parse(one(csv_bytes(ROW)))
    assert from_xlsx == from_csv


def test_cells_starting_with_equals_are_kept_as_text_and_never_calculated() -> None:
    row: list[object] = list(ROW)
    row[2] = '=HYPERLINK("http://evil.example","Jane")'
    row[11] = "=1+1"
    entry = parse(one(xlsx_bytes(row), "register.xlsx"))
    assert entry.submission.respondent.name == '=HYPERLINK("http://evil.example","Jane")'
    assert entry.submission.concern == "=1+1"
    csv_entry = parse(one(csv_bytes([*ROW[:11], "=cmd|' /C calc'!A0", *ROW[12:]])))
    assert csv_entry.submission.concern == "=cmd|' /C calc'!A0"


def test_a_windows_1252_csv_with_semicolons_is_read() -> None:
    row = list(ROW)
    row[11] = "Café – “moved” without notice"
    entry = parse(one(csv_bytes(row, encoding="cp1252", delimiter=";")))
    assert entry.submission.concern == "Café – “moved” without notice"


@pytest.mark.parametrize(
    "stage, outcome, expected",
    [
        ("Logged", "", ("logged", None)),
        ("Acknowledged", "", ("triage", None)),
        ("Awaiting information", "", ("awaiting_information", None)),
        ("Learning review", "", ("in_review", None)),
        ("With DCS", "", ("awaiting_signoff", None)),
        ("Response sent", "", ("responded", None)),
        ("Closed", "", ("closed", "responded")),
        ("Closed", "Query answered", ("closed", "answered")),
        ("Referred to complaints", "", ("closed", "referred_to_complaints")),
        ("Closed", "Dealt with outside framework", ("closed", "outside_framework")),
    ],
)
def test_the_registers_words_for_stages_map_to_the_lifecycle(
    stage: str, outcome: str, expected: tuple[str, str | None]
) -> None:
    row = list(ROW)
    row[14], row[15] = stage, outcome
    entry = parse(one(csv_bytes(row)))
    assert (entry.stage, entry.outcome) == expected


def test_an_unknown_stage_comes_in_as_logged_flagged_with_the_row_column_and_value() -> None:
    row = list(ROW)
    row[14] = "Sort of done"
    entry = parse(one(csv_bytes(row)))
    assert (entry.stage, entry.outcome) == ("logged", None)
    assert entry.submission.flags == (
        "row 2, column 'Stage': 'Sort of done' is not a stage in the mapping; logged as new",)


def test_a_date_that_is_not_a_date_is_flagged_and_the_import_time_used() -> None:
    rows = read_register(csv_bytes(ROW, [*ROW[:1], "last Tuesday", *ROW[2:]]), "r.csv").rows
    assert parse(rows[0]).submission.flags == ()
    entry = parse(rows[1])
    assert entry.submission.submitted_at == FALLBACK
    assert entry.submission.flags == (
        "row 3, column 'Date received': 'last Tuesday' not a date; the import time is used",)


def test_a_row_with_a_person_or_a_concern_comes_in_and_one_with_neither_does_not() -> None:
    no_name, no_concern, neither = list(ROW), list(ROW), list(ROW)
    no_name[2] = no_concern[11] = neither[2] = neither[11] = "  "
    entry = parse(one(csv_bytes(no_name)))
    assert entry.submission.respondent.name == "Name not recorded (register row 2)"
    assert entry.submission.flags == ("row 2, column 'Name': empty: no one is named; the person "
                                      "is 'Name not recorded'",)
    entry = parse(one(csv_bytes(no_concern)))
    assert entry.submission.concern == ""
    assert entry.submission.flags == ("row 2, column 'Concern': empty: no concern is written",)
    with pytest.raises(NotARecord):
        parse(one(csv_bytes(neither)))


@pytest.mark.parametrize("first", ["Total", "TOTALS", "Grand total", "Notes: red = closed",
                                   "Key:", "=SUM(A2:A9)"])
def test_totals_and_notes_rows_are_not_records(first: str) -> None:
    row = [first] + [""] * (len(ROW) - 1)
    row[11] = "62"  # a count under the concern column is still not a concern
    with pytest.raises(NotARecord) as err:
        parse(one(csv_bytes(row)))
    assert err.value.problem == "not a record (a totals or notes row)"


def test_malformed_optional_cells_are_flagged_and_the_rest_kept() -> None:
    row = list(ROW)
    row[3], row[4], row[6], row[8] = "not-an-email", "12", "Neighbour", "04/03/2010"
    entry = parse(one(csv_bytes(row)))
    sub = entry.submission
    assert sub.respondent.email is None and sub.respondent.phone is None
    assert sub.respondent.relationship == "other"
    assert all(c.date_of_birth is None for c in sub.children)
    assert "row 2, column 'E-mail': not an email address; left out" in sub.flags
    assert "row 2, column 'Telephone': not a phone number; left out" in sub.flags
    assert ("row 2, column 'Child DOB': 1 dates of birth for 2 children; dates left out"
            in sub.flags)


def test_values_too_long_for_their_column_are_flagged_and_left_out() -> None:
    row = list(ROW)
    row[3], row[5] = "a" * 320 + "@example.com", "HR4 0LE and the rest of the address"
    sub = parse(one(csv_bytes(row))).submission
    assert (sub.respondent.email, sub.respondent.postcode) == (None, None)
    assert "row 2, column 'Postcode': longer than a postcode; left out" in sub.flags


def test_a_missing_date_received_uses_the_import_time() -> None:
    row = list(ROW)
    row[1] = ""
    entry = parse(one(csv_bytes(row)))
    assert entry.submission.submitted_at == FALLBACK
    assert "row 2, column 'Date received': missing; the import time is used" in (
        entry.submission.flags
    )


def test_blank_rows_are_skipped_and_row_numbers_stay_those_of_the_file() -> None:
    rows = read_register(csv_bytes(ROW, [""] * len(ROW), ROW), "r.csv").rows
    assert [r.row for r in rows] == [2, 4]


def test_a_register_with_no_name_and_no_concern_column_is_refused_naming_the_headings() -> None:
    data = b"Date,Colour\n20/04/2021,Red\n"
    with pytest.raises(SubmissionError) as err:
        read_register(data, "r.csv")
    assert err.value.field == "(headings)"


def test_files_that_are_not_registers_are_refused() -> None:
    with pytest.raises(SubmissionError):
        read_register(b"PK\x03\x04 not really a zip", "r.xlsx")
    with pytest.raises(SubmissionError):
        read_register(b"whatever", "r.pdf")
    with pytest.raises(SubmissionError):
        read_register(b"", "r.csv")


def test_the_raw_form_of_a_row_is_stable_json_and_its_identity_only_its_cells() -> None:
    row = one(csv_bytes(ROW))
    assert row.raw() == one(csv_bytes(ROW)).raw()
    assert json.loads(row.raw())["cells"]["Name"] == "Mrs Jane O'Brien"
    assert json.loads(row.raw())["mapping"]["fields"]["Name"] == "name"
    assert json.loads(row.identity()) == {"cells": row.cells}
    assert RegisterRow.from_raw(row.raw()) == row


@pytest.mark.parametrize(
    "text, expected",
    [
        ("20/04/2021", datetime(2021, 4, 20, tzinfo=LONDON)),
        ("2021-04-20", datetime(2021, 4, 20, tzinfo=LONDON)),
        ("20/04/2021 10:15", datetime(2021, 4, 20, 10, 15, tzinfo=LONDON)),
        ("20 April 2021", datetime(2021, 4, 20, tzinfo=LONDON)),
        ("44306", datetime(2021, 4, 20, tzinfo=LONDON)),
        ("20.04.2021", datetime(2021, 4, 20, tzinfo=LONDON)),
    ],
)
def test_register_dates_are_read_day_first_in_london(text: str, expected: datetime) -> None:
    read = read_date(text)
    assert read is not None and read.value == expected


cell = st.text(max_size=30).filter(lambda s: "\x00" not in s)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cell, min_size=len(HEADINGS), max_size=len(HEADINGS)), max_size=5))
def test_any_cells_end_as_an_entry_or_an_error_naming_a_row(rows: list[list[str]]) -> None:
    try:
        read = read_register(csv_bytes(*rows), "r.csv").rows
    except SubmissionError:
        return
    for row in read:
        try:
            entry = parse(row)
        except NotARecord as exc:
            assert exc.field == f"row {row.row}"
            continue
        assert entry.submission.respondent.name or entry.submission.concern
        assert all(f.startswith(f"row {row.row}") for f in entry.submission.flags)
