"""The legacy register brought in row by row at its recorded stages, with a dry run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from concerns.db.models import Case, Contact, Deadline, RawSubmission
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.intake.register_import import import_register
from concerns.workflows.queries import show_case
from tests.factories import create_staff

HEADINGS = ["Date received", "Name", "Email", "Child", "Child DOB", "Concern", "Stage",
            "Outcome", "Learning review"]
ROWS = [
    ["06/04/2021", "Helen Morgan", "helen@example.com", "Ellie Morgan", "11/02/2009",
     "First concern.", "Closed", "Responded", "Yes"],
    ["07/04/2021", "Gareth Davies", "gareth@example.com", "", "", "A query.", "Answered", "",
     "No"],
    ["08/04/2021", "Rhian Davies", "rhian@example.com", "Jack Davies", "30/07/2005",
     "In review.", "Learning review", "", "No"],
    ["09/04/2021", "rhian  davies", "RHIAN@example.com", "Jack Davies", "30/07/2005",
     "More for the review.", "Learning review", "", "No"],
    ["not a date", "Unknown", "u@example.com", "", "", "Phone note.", "Logged", "", "No"],
    ["13/04/2021", "Owen Evans", "owen@example.com", "", "", "Stage unknown.", "Pending?", "",
     "No"],
]


def register_csv(rows: list[list[str]] = ROWS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADINGS)
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def counts(ctx: AppContext) -> tuple[int, int, int]:
    with ctx.uow() as uow:
        s = uow.session
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                     for m in (RawSubmission, Case, Contact))


def test_a_dry_run_reports_what_each_row_would_become_and_stores_nothing(
    staffed: AppContext,
) -> None:
    results = import_register(staffed, register_csv(), "register.csv", "morgan", dry_run=True)
    assert [(r.source, r.status) for r in results] == [
        ("register.csv:row 2", "new_case"),
        ("register.csv:row 3", "new_case"),
        ("register.csv:row 4", "new_case"),
        ("register.csv:row 5", "added_to_case"),
        ("register.csv:row 6", "new_case"),
        ("register.csv:row 7", "new_case"),
    ]
    assert counts(staffed) == (0, 0, 0)
    # No reference is shown for a case the dry run only imagined.
    assert {r.reference for r in results} == {None}
    # The real import gives the same answers.
    real = import_register(staffed, register_csv(), "register.csv", "morgan")
    assert [r.status for r in real] == [r.status for r in results]
    assert real[3].reference == real[2].reference is not None


def test_rows_come_in_at_their_recorded_stage_and_problems_name_row_column_and_value(
    staffed: AppContext,
) -> None:
    results = import_register(staffed, register_csv(), "register.csv", "morgan")
    refs = [r.reference or "" for r in results]
    assert results[4].reason == (
        "to check: row 6, column 'Date received': 'not a date' not a date; the import time "
        "is used")
    assert results[5].reason == (
        "to check: row 7, column 'Stage': 'Pending?' is not a stage in the mapping; logged "
        "as new")
    with staffed.uow() as uow:
        s = uow.session
        cases = {c.reference: c for c in s.scalars(select(Case))}
        closed, answered, review = cases[refs[0]], cases[refs[1]], cases[refs[2]]
        assert (closed.state, closed.outcome, closed.learning_review_completed) == (
            "closed", "responded", True)
        assert (answered.state, answered.outcome) == ("closed", "answered")
        assert review.state == "in_review"
        clocks = s.scalars(select(Deadline.clock).where(Deadline.case_id == review.id)).all()
        assert clocks == ["review"]
        assert s.scalar(select(func.count(Deadline.id)).where(
            Deadline.case_id == closed.id)) == 0
    assert refs[3] == refs[2]
    detail = show_case(staffed, "alex", refs[2] or "")
    assert len(detail["contacts"]) == 2
    assert detail["history"][0]["data"]["imported_stage"] == "in_review"
    with staffed.uow() as uow:
        unplaced = uow.session.scalars(select(Case).where(Case.reference == refs[5])).one()
        assert unplaced.state == "logged"


def test_importing_the_register_again_gives_duplicates_only(staffed: AppContext) -> None:
    import_register(staffed, register_csv(), "register.csv", "morgan")
    before = counts(staffed)
    again = import_register(staffed, register_csv(), "copy.csv", "morgan")
    assert {r.status for r in again} == {"duplicate"}
    assert counts(staffed) == before


def test_a_file_that_is_no_register_is_kept_and_quarantined(staffed: AppContext) -> None:
    data = b"PK\x03\x04 broken zip"
    results = import_register(staffed, data, "register.xlsx", "morgan")
    assert [(r.source, r.status, r.reason) for r in results] == [
        ("register.xlsx", "quarantined", "(file): not a readable .xlsx workbook")]
    with staffed.uow() as uow:
        raw = uow.session.scalars(select(RawSubmission)).one()
        assert raw.content == data and raw.status == "quarantined"


def test_an_xlsx_register_with_formula_cells_keeps_them_as_text(
    staffed: AppContext, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADINGS)
    sheet.append(["2021-04-06", "=1+1", "f@example.com", "", "", '=HYPERLINK("x","y")',
                  "Logged", "", "No"])
    out = io.BytesIO()
    book.save(out)
    results = import_register(staffed, out.getvalue(), "register.xlsx", "morgan")
    assert results[0].status == "new_case"
    detail = show_case(staffed, "alex", results[0].reference or "")
    assert detail["respondent"]["name"] == "=1+1"
    assert detail["contacts"][0]["concern"] == '=HYPERLINK("x","y")'
    assert detail["state"] == "logged"


def test_a_dry_run_names_the_existing_case_a_row_would_be_added_to(
    staffed: AppContext,
) -> None:
    first = import_register(staffed, register_csv(ROWS[2:3]), "a.csv", "morgan")
    dry = import_register(staffed, register_csv(ROWS[3:4]), "b.csv", "morgan", dry_run=True)
    assert [(r.status, r.reference) for r in dry] == [("added_to_case", first[0].reference)]


def test_progress_is_reported_up_to_the_total(staffed: AppContext) -> None:
    seen: list[tuple[int, int]] = []
    import_register(staffed, register_csv(), "r.csv", "morgan",
                    progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (12, 12)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_only_the_iat_imports_the_register(staffed: AppContext) -> None:
    with pytest.raises(NotAllowed):
        import_register(staffed, register_csv(), "r.csv", "ian")
    assert counts(staffed) == (0, 0, 0)
