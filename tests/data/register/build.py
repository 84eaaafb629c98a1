"""A legacy register laid out as councils keep theirs, as an .xlsx and a .csv (run to rewrite
the files in this folder; the tests build the same bytes in memory).

    .venv/bin/python tests/data/register/build.py

The workbook: sheets "2021" and "2022" with the same layout (a merged title row, a blank row,
then headings that are not our aliases), a "Lookups" sheet and a "Summary" sheet that are not
registers; merged cells (one person over two rows), a hidden column and hidden rows, a totals
row and a notes row, fill colours standing for a status, comments in cells. The .csv holds the
"2021" sheet as Excel saves it (title rows too; no colours or comments).

Every value shape of issue 17, several of each: dates (03/03/2021, 3.3.21, 4 March 2021,
4th March 2021, Excel serials, real date cells, ambiguous day/month, not a date), several children
in one cell with their dates of birth in order, years (2012-2019, 1998 - 2003, since 2015,
2012-19, 1990s, 2010 to 2014), names (harris, tom / Mrs J. Bloggs), phones in UK formats, and
free-text stages, outcomes and channels (some that cannot be placed).

`ROWS` says, for each record, what it must become with the proposed mapping unchanged.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill
from openpyxl.worksheet.worksheet import Worksheet

HERE = Path(__file__).resolve().parent

TITLE = "CONFIDENTIAL \u2013 Concerns about Care register"
HEADINGS = [
    "Ref No", "Date concern received", "Name of person raising concern", "Contact number",
    "Email address", "Postcode", "Relationship to child", "Name of child / children",
    "Child's date of birth", "Period of involvement", "Summary of concern", "How received",
    "Internal ID", "Status", "Outcome", "Learning review completed?", "Date closed",
    "IAT notes",
]
HIDDEN_COLUMN = "M"  # "Internal ID"
GREEN, YELLOW, RED = "C6EFCE", "FFEB9C", "FFC7CE"

# The stage each written status lands at with the proposal unchanged ("" = not placed: logged).
STATUSES = {
    "Learning review complete": "awaiting_signoff",
    "With DCS for sign off": "awaiting_signoff",
    "Closed \u2013 dealt with outside framework": "closed:outside_framework",
    "Closed": "closed:responded",
    "Answered": "closed:answered",
    "Logged": "logged",
    "In triage": "triage",
    "Information requested": "awaiting_information",
    "Learning review": "in_review",
    "Letter sent": "responded",
    "Complaint offered": "complaint_offered",
    "Meeting offered": "meeting_offered",
    "Pending?": "",
    "Sent to Bob": "",
}


@dataclass
class Row:
    received: object  # text, or a date/datetime/int cell in the workbook
    name: str
    phone: str
    email: str
    children: str = ""
    dobs: str = ""
    years: str = ""
    status: str = "Logged"
    outcome: str = ""
    channel: str = "Email"
    concern: str = "Concern about how the family was treated."
    review: str = "No"
    closed: str = ""
    notes: str = ""
    postcode: str = ""
    relationship: str = "Parent"
    fill: str = ""
    comment: tuple[str, str] | None = None  # (heading, comment)
    hidden: bool = False
    merge_with_next: bool = False  # name and phone cells merged down into the next row
    # What it must become (with the proposed mapping unchanged):
    state: str = ""  # expected case state ("" = as STATUSES says)
    outcome_expected: str | None = None
    checks: tuple[str, ...] = ()  # words one of its flags must contain
    same_person_as: int | None = None  # index into ROWS of the row of the same person
    children_expected: tuple[str, ...] = ()
    years_expected: tuple[int | None, int | None] = (None, None)
    received_expected: date | None = None
    csv_received: str | None = None  # how the CSV shows a real date cell
    extra: dict[str, str] = field(default_factory=dict)


FORENAMES = ["Alice", "Bethan", "Carys", "Dafydd", "Eleri", "Ffion", "Gwen", "Huw", "Iwan",
             "Jac", "Kian", "Lowri", "Mared", "Nia", "Osian", "Pryderi", "Rhodri", "Seren",
             "Tegan", "Wyn"]
SURNAMES = ["Ashby", "Brook", "Clark", "Dunn", "Ellis", "Frost", "Grant", "Hale", "Irwin",
            "Jones", "Kerr", "Lamb", "Marsh", "Nash", "Owens", "Pike", "Quinn", "Reed"]

# Dates as typed: (cell or text, the date it is, how the CSV shows it, flagged as ambiguous)
DATE_SHAPES: list[tuple[object, date, str | None, bool]] = [
    ("03/03/2021", date(2021, 3, 3), None, False),
    ("3.3.21", date(2021, 3, 3), None, False),
    ("4 March 2021", date(2021, 3, 4), None, False),
    ("4th March 2021", date(2021, 3, 4), None, False),
    (44265, date(2021, 3, 10), "44265", False),  # an Excel serial number
    (datetime(2021, 3, 15), date(2021, 3, 15), "15/03/2021", False),  # a real date cell
    # 5 April or 4 May? The column's 17/05/2021 shows it is day first: not flagged.
    ("05/04/2021", date(2021, 4, 5), None, False),
    ("17/05/2021", date(2021, 5, 17), None, False),
    ("21.6.2021", date(2021, 6, 21), None, False),
    ("1 July 2021", date(2021, 7, 1), None, False),
]
YEAR_SHAPES = [("2012-2019", (2012, 2019)), ("1998 - 2003", (1998, 2003)),
               ("since 2015", (2015, 2021)), ("2012-19", (2012, 2019)),
               ("1990s", (1990, 1999)), ("2010 to 2014", (2010, 2014)), ("", (None, None))]
PHONE_SHAPES = ["07700 9{:05d}", "+44 7700 9{:05d}", "(01432) 5{:05d}", "01432-5{:05d}",
                "0044 7700 9{:05d}", "77009{:05d}", "07700 9{:05d} (mobile)",
                "tel: 01432 5{:05d}"]
STATUS_CYCLE = list(STATUSES)
CHANNELS = ["Email", "Phone call", "Letter", "Web form", "Walk-in", ""]
OUTCOME_FOR = {"Closed": "Responded", "Answered": "Query answered"}


def _name(i: int) -> str:
    forename, surname = FORENAMES[i % len(FORENAMES)], SURNAMES[i % len(SURNAMES)]
    shape = i % 4
    if shape == 1:
        return f"{surname.lower()}, {forename.lower()}"
    if shape == 2:
        return f"Mrs {forename[0]}. {surname}"
    if shape == 3:
        return f"Dr {forename} {surname}"
    return f"{forename} {surname}"


def _rows() -> list[Row]:
    rows: list[Row] = []
    for i in range(58):
        received, when, csv_text, ambiguous = DATE_SHAPES[i % len(DATE_SHAPES)]
        years, span = YEAR_SHAPES[i % len(YEAR_SHAPES)]
        status = STATUS_CYCLE[i % len(STATUS_CYCLE)]
        surname = SURNAMES[i % len(SURNAMES)]
        children, dobs, expected_children = "", "", ()
        if i % 3 == 0:
            children, dobs = f"Sam {surname}-{i}; Amy {surname}-{i}", "21/02/2010; 13/06/2012"
            expected_children = (f"Sam {surname}-{i}", f"Amy {surname}-{i}")
        elif i % 3 == 1:
            children, dobs = f"Sam and Amy {surname}{i}", "14/02/2010, 13/06/2012"
            expected_children = (f"Sam {surname}{i}", f"Amy {surname}{i}")
        elif i % 5 == 2:
            children, dobs = f"Jo, Kit and Lee {surname}x{i}", "14/01/2008; 14/02/2009; 2011-03-14"
            expected_children = tuple(f"{n} {surname}x{i}" for n in ("Jo", "Kit", "Lee"))
        meaning = STATUSES[status]
        state, _, outcome = meaning.partition(":")
        checks: list[str] = []
        if ambiguous or state == "closed":
            checks.append("could be")
        if not STATUSES[status]:
            checks.append("not a stage in the mapping")
        channel = CHANNELS[i % len(CHANNELS)]
        if channel == "Walk-in":
            checks.append("not a channel we know")
        row = Row(
            received=received,
            name=_name(i),
            phone=PHONE_SHAPES[i % len(PHONE_SHAPES)].format(i + 100),
            email=f"person{i}@example.com" if i % 4 else "",
            children=children,
            dobs=dobs,
            years=years,
            status=status,
            outcome=OUTCOME_FOR.get(status, ""),
            channel=channel,
            concern=f"Concern {i}: how the family was treated.",
            review="Yes" if status == "Learning review complete" else "No",
            # 3 July or 7 March: nothing in the column says which, so flagged.
            closed="03/07/2021" if state == "closed" else "",
            postcode=f"HR{i % 9 + 1} {i % 9 + 1}AA",
            state=state or "logged",
            outcome_expected=(outcome or None) if state == "closed" else None,
            checks=tuple(checks),
            children_expected=expected_children,
            years_expected=span,
            received_expected=when,
            csv_received=csv_text,
        )
        rows.append(row)
    # Fill colours as a status: green rows with no status are closed (proposed from the green
    # rows whose status says closed), and a red row's colour does not override its status.
    for i in (3, 17, 31):
        rows[i].fill = GREEN  # these say Closed: the colour green is proposed as closed
    for i in (8, 22):
        rows[i].status, rows[i].fill = "", GREEN
        rows[i].state, rows[i].outcome_expected = "closed", "responded"
        rows[i].closed = ""
        rows[i].checks = ("colour",)
    rows[1].fill = RED  # "With DCS for sign off" in red
    rows[12].status, rows[12].fill = "", "FFFF00"  # a colour no status explains: logged
    rows[12].state, rows[12].outcome_expected, rows[12].checks = "logged", None, ("colour",)
    # Comments in cells kept as notes; an IAT notes column too.
    rows[5].comment = ("Status", "Chased DCS office 2 July")
    rows[6].notes = "Called back twice"
    rows[9].comment = ("Summary of concern", "See also the paper file")
    # Hidden rows are records too (flagged so someone looks at why they were hidden).
    rows[10].hidden = True
    rows[10].checks = (*rows[10].checks, "hidden")
    rows[11].hidden = True
    # A received date nobody can read: the import time, flagged with the value.
    rows[13].received, rows[13].received_expected = "sometime in spring", None
    rows[13].checks = (*rows[13].checks, "'sometime in spring' not a date")
    # A concern with no one named; a person with no concern written.
    rows[14].name = ""
    rows[14].checks = (*rows[14].checks, "no one is named")
    rows[15].concern = ""
    rows[15].checks = (*rows[15].checks, "no concern is written")
    # Dates of birth that do not match the children: flagged, children still in.
    rows[16].children, rows[16].dobs = "Pat Lamb; Chris Lamb", "01/01/2010"
    rows[16].children_expected = ("Pat Lamb", "Chris Lamb")
    rows[16].checks = (*rows[16].checks, "1 dates of birth for 2 children")
    # A phone that is not a phone.
    rows[18].phone = "n/a"
    rows[18].checks = (*rows[18].checks, "not a phone number")
    # The same people again, written differently: matched as for any other channel.
    rows.append(Row(received="20/07/2021", name="Tom Harris", phone="07700 900901",
                    email="tom.harris@example.com", children="Ben Harris", dobs="02/03/2011",
                    years="2014-2016", status="Learning review", state="in_review",
                    children_expected=("Ben Harris",), years_expected=(2014, 2016),
                    received_expected=date(2021, 7, 20), merge_with_next=True))
    rows.append(Row(received="22/07/2021", name="Tom Harris", phone="07700 900901",
                    email="", children="Ben Harris", dobs="02/03/2011",
                    concern="More about the review.", status="Learning review",
                    state="in_review", same_person_as=len(rows) - 1,
                    children_expected=("Ben Harris",), received_expected=date(2021, 7, 22)))
    rows.append(Row(received="23/07/2021", name="harris, tom", phone="+44 7700 900901",
                    email="", status="Closed", outcome="Responded", closed="07/08/2021",
                    concern="A separate, older matter.", state="closed",
                    outcome_expected="responded", same_person_as=len(rows) - 2,
                    received_expected=date(2021, 7, 23)))
    rows.append(Row(received="24/07/2021", name="Mrs J. Bloggs", phone="01432 555999",
                    email="jane.bloggs@example.com", children="Sam and Amy Bloggs",
                    dobs="21/02/2010; 13/06/2012", status="In triage", state="triage",
                    children_expected=("Sam Bloggs", "Amy Bloggs"),
                    received_expected=date(2021, 7, 24)))
    rows.append(Row(received="26/07/2021", name="Joe Bloggs", phone="07700 900777",
                    email="joe.bloggs@example.com", children="Sam Bloggs; Amy Bloggs",
                    dobs="21/02/2010; 13/06/2012", status="Logged", state="logged",
                    children_expected=("Sam Bloggs", "Amy Bloggs"),
                    received_expected=date(2021, 7, 26)))
    rows.append(Row(received="27/07/2021", name="Jane Bloggs", phone="",
                    email="Jane.Bloggs@example.com", status="Closed", outcome="Responded",
                    state="closed", outcome_expected="responded", same_person_as=len(rows) - 2,
                    received_expected=date(2021, 7, 27)))
    return rows


ROWS = _rows()
# Rows on the first sheet; the rest are on "2022".
FIRST_SHEET = 40


def _cells(row: Row, csv_file: bool) -> list[object]:
    received = row.received
    if csv_file and row.csv_received is not None:
        received = row.csv_received
    return [
        "", received, row.name, row.phone, row.email, row.postcode, row.relationship,
        row.children, row.dobs, row.years, row.concern, row.channel, "", row.status,
        row.outcome, row.review, row.closed, row.notes,
    ]


def _write_sheet(ws: Worksheet, name: str, rows: list[tuple[int, Row]]) -> None:
    ws.title = name
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADINGS))
    ws.append([])
    ws.append(HEADINGS)
    ws.column_dimensions[HIDDEN_COLUMN].hidden = True
    skip_name = False
    for index, row in rows:
        cells = _cells(row, csv_file=False)
        cells[0] = f"IAT/{index + 1:03d}"
        cells[12] = f"X{index:04d}"
        if skip_name:
            # Merged from the row above: only the top cell holds the value.
            cells[2] = cells[3] = None
        ws.append(cells)
        r = ws.max_row
        skip_name = False
        if row.merge_with_next:
            ws.merge_cells(start_row=r, start_column=3, end_row=r + 1, end_column=3)
            ws.merge_cells(start_row=r, start_column=4, end_row=r + 1, end_column=4)
            skip_name = True
        if row.fill:
            for col in range(1, len(HEADINGS) + 1):
                ws.cell(r, col).fill = PatternFill("solid", fgColor="FF" + row.fill)
        if row.comment:
            col = HEADINGS.index(row.comment[0]) + 1
            ws.cell(r, col).comment = Comment(row.comment[1], "IAT")
        if row.hidden:
            ws.row_dimensions[r].hidden = True
        if isinstance(row.received, datetime):
            ws.cell(r, 2).number_format = "dd/mm/yyyy"
    first, last = 4, ws.max_row
    ws.append([])
    ws.append(["Total", None, f"=COUNTA(C{first}:C{last})"])
    ws.append(["Notes: green = closed, red = with the DCS. Keep this sheet confidential."])


def xlsx_bytes() -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    indexed = list(enumerate(ROWS))
    _write_sheet(first, "2021", indexed[:FIRST_SHEET])
    _write_sheet(book.create_sheet(), "2022", indexed[FIRST_SHEET:])
    lookups = book.create_sheet("Lookups")
    lookups.append(["Status values"])
    for status in STATUSES:
        lookups.append([status])
    summary = book.create_sheet("Summary")
    summary.append(["Year", "Concerns"])
    summary.append(["2021", "=COUNTA('2021'!C4:C43)"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes() -> bytes:
    """The "2021" sheet and then the "2022" rows, as one CSV saved by Excel (title rows too)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([TITLE])
    writer.writerow([])
    writer.writerow(HEADINGS)
    above: Row | None = None
    for index, row in enumerate(ROWS):
        cells = _cells(row, csv_file=True)
        cells[0] = f"IAT/{index + 1:03d}"
        cells[12] = f"X{index:04d}"
        if above is not None and above.merge_with_next:
            cells[2], cells[3] = above.name, above.phone  # CSV has no merged cells
        writer.writerow(["" if c is None else c for c in cells])
        above = row
    writer.writerow([])
    writer.writerow(["Total", "", str(len(ROWS))])
    writer.writerow(["Notes: green = closed, red = with the DCS."])
    return out.getvalue().encode("utf-8")


if __name__ == "__main__":
    (HERE / "register.xlsx").write_bytes(xlsx_bytes())
    (HERE / "register.csv").write_bytes(csv_bytes())
