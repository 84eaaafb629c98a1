"""The legacy register as councils keep it (tests/data/register/build.py: title rows, several
sheets, merged cells, hidden rows and columns, totals and notes rows, colours as status, comments,
every value shape): written out as a mapping, imported with it, every record in at its stage,
matched as any other channel; the mapping round trip; importing twice adds nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from concerns.db.models import (
    Case,
    CaseChild,
    Child,
    Contact,
    Event,
    RawSubmission,
    Respondent,
)
from concerns.triage.register import read_register
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput
from concerns.workflows.intake.register_import import (
    import_register,
    load_mapping,
    propose_mapping,
    rows_to_check,
)
from concerns.workflows.intake.submissions import IntakeResult
from tests.data.register.build import (
    FIRST_SHEET,
    GREEN,
    ROWS,
    STATUSES,
    Row,
    csv_bytes,
    xlsx_bytes,
)
from tests.factories import create_staff

LONDON = ZoneInfo("Europe/London")
FILES = {"register.xlsx": xlsx_bytes, "register.csv": csv_bytes}


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def counts(ctx: AppContext) -> dict[str, int]:
    with ctx.uow() as uow:
        s = uow.session
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for m in (RawSubmission, Case, Contact, Respondent, Child)}


def expected_state(row: Row, filename: str) -> tuple[str, str | None]:
    if filename.endswith(".csv") and row.fill and not row.status:
        return "logged", None  # a CSV keeps no colours: no stage to read
    return row.state, row.outcome_expected


def import_with_written_mapping(
    ctx: AppContext, filename: str, tmp_path: Path, edit: Callable[[str], str] | None = None,
) -> list[IntakeResult]:
    data = FILES[filename]()
    written = propose_mapping(ctx, data, filename, "morgan")
    path = tmp_path / "map.toml"
    path.write_text(edit(written) if edit else written, encoding="utf-8")
    mapping = load_mapping(path.read_text(encoding="utf-8"))
    return import_register(ctx, data, filename, "morgan", mapping=mapping)



def test_the_proposed_mapping_names_sheets_headings_values_and_colours(
    staffed: AppContext,
) -> None:
    text = propose_mapping(staffed, xlsx_bytes(), "register.xlsx", "morgan")
    # Both year sheets, not the lookups or the summary; headings below the title rows.
    assert '[[sheet]]\nname = "2021"\nheading_row = 3' in text
    assert '[[sheet]]\nname = "2022"\nheading_row = 3' in text
    assert '"Lookups"' not in text and '"Summary"' not in text
    assert '"Name of person raising concern" = { field = "name", score = ' in text
    assert '"Summary of concern" = { field = "concern", score = ' in text
    assert ('"Internal ID" = { field = "", score = 0 }  # not read (hidden in the workbook)'
            in text)
    assert '"With DCS for sign off" = "awaiting_signoff"' in text
    assert '"Closed \u2013 dealt with outside framework" = "closed:outside_framework"' in text
    assert '"Learning review complete" = "awaiting_signoff"' in text
    assert '"Pending?" = ""  # not placed' in text
    assert '"Walk-in" = ""  # not placed' in text
    assert '"Query answered" = "answered"' in text
    # Green is proposed from the green rows whose status says closed; yellow nobody explains.
    assert f'"{GREEN}" = "closed:responded"' in text
    assert '"FFFF00" = ""  # not placed' in text


@pytest.mark.parametrize("filename", FILES)
def test_every_record_comes_in_at_its_stage_with_the_written_mapping_unchanged(
    staffed: AppContext, filename: str, tmp_path: Path
) -> None:
    results = import_with_written_mapping(staffed, filename, tmp_path)
    several = filename.endswith(".xlsx")
    statuses = Counter(r.status for r in results)
    # Every record in; the totals and notes rows of each sheet set aside, never stored.
    assert statuses["new_case"] + statuses["added_to_case"] == len(ROWS)
    assert statuses["quarantined"] == 0
    assert statuses["set_aside"] == (4 if several else 2)
    assert {r.reason for r in results if r.status == "set_aside"} == {
        "not a record (a totals or notes row)"}
    records = [r for r in results if r.status != "set_aside"]
    assert len(records) == len(ROWS)
    with staffed.uow() as uow:
        s = uow.session
        assert s.scalar(select(func.count()).select_from(Contact)) == len(ROWS)
        assert s.scalar(select(func.count()).select_from(RawSubmission)) == len(ROWS)
        for index, (row, result) in enumerate(zip(ROWS, records, strict=True)):
            where = f"{filename} row {index}"
            if several:
                sheet = "2021" if index < FIRST_SHEET else "2022"
                assert result.source.startswith(f"{filename}:{sheet}:row "), where
            case = s.scalars(select(Case).where(Case.reference == result.reference)).one()
            contact = s.scalars(select(Contact).join(RawSubmission).where(
                RawSubmission.source == result.source)).one()
            if result.status == "new_case":
                assert (case.state, case.outcome) == expected_state(row, filename), where
            else:
                assert row.same_person_as is not None, where
            logged = s.scalars(select(Event.data).where(
                Event.case_id == case.id, Event.data["contact_id"].as_integer() == contact.id
            )).one()
            assert logged["register_reference"] == f"IAT/{index + 1:03d}", where
            if row.received_expected is not None:
                assert contact.received_at.astimezone(LONDON).date() == (
                    row.received_expected), where
            assert (contact.involvement_from_year, contact.involvement_to_year) == (
                row.years_expected), where
            children = s.scalars(select(Child.name).join(CaseChild).where(
                CaseChild.case_id == case.id)).all()
            assert set(row.children_expected) <= set(children), where
            for words in row.checks:
                if filename.endswith(".csv") and words in ("colour", "hidden"):
                    continue
                assert any(words in f for f in contact.flags), (where, contact.flags)
                assert result.reason is not None and words in result.reason
            expected_stage = STATUSES.get(row.status, "x")
            if row.status and not expected_stage:
                assert any(f"'{row.status}' is not a stage in the mapping" in f
                           for f in contact.flags), where


@pytest.mark.parametrize("filename", FILES)
def test_people_and_children_are_matched_as_for_any_other_channel(
    staffed: AppContext, filename: str, tmp_path: Path
) -> None:
    results = import_with_written_mapping(staffed, filename, tmp_path)
    records = [r for r in results if r.status != "set_aside"]
    with staffed.uow() as uow:
        s = uow.session

        def person(i: int) -> int:
            return s.scalars(select(Case.respondent_id).where(
                Case.reference == records[i].reference)).one()

        for i, row in enumerate(ROWS):
            if row.same_person_as is not None:
                assert person(i) == person(row.same_person_as), row.name
        tom, tom_again, harris_tom = len(ROWS) - 6, len(ROWS) - 5, len(ROWS) - 4
        # "Tom Harris" twice about Ben, on an open review: one case; "harris, tom" closed: own.
        assert records[tom_again].status == "added_to_case"
        assert records[tom_again].reference == records[tom].reference
        assert records[harris_tom].reference != records[tom].reference
        # "Mrs J. Bloggs" and "Jane Bloggs" (same email) are one person; Joe Bloggs is not,
        # but "Sam and Amy Bloggs" and "Sam Bloggs; Amy Bloggs" are the same two children.
        mrs_j, joe, jane = len(ROWS) - 3, len(ROWS) - 2, len(ROWS) - 1
        assert person(jane) == person(mrs_j) != person(joe)
        sams = s.scalars(select(Child).where(Child.name == "Sam Bloggs")).all()
        assert [c.date_of_birth for c in sams] == [date(2010, 2, 21)]
        cases_of_sam = s.scalars(select(CaseChild.case_id).where(
            CaseChild.child_id == sams[0].id)).all()
        assert len(cases_of_sam) == 2
        # Phones in any UK format are stored in one format.
        phones = s.scalars(select(Respondent.phone).where(Respondent.phone.is_not(None))).all()
        assert all(p.startswith(("01432 ", "07700 ")) for p in phones), phones


def test_editing_one_stage_value_in_the_mapping_moves_its_rows(
    staffed: AppContext, tmp_path: Path
) -> None:
    def edit(text: str) -> str:
        assert '"Pending?" = ""  # not placed' in text
        return text.replace('"Pending?" = ""  # not placed', '"Pending?" = "in_review"')

    results = import_with_written_mapping(staffed, "register.csv", tmp_path, edit)
    records = [r for r in results if r.status != "set_aside"]
    pending = [i for i, row in enumerate(ROWS) if row.status == "Pending?"]
    assert len(pending) >= 3
    with staffed.uow() as uow:
        for i in pending:
            case = uow.session.scalars(select(Case).where(
                Case.reference == records[i].reference)).one()
            assert case.state == "in_review"
            assert records[i].reason is None or "Pending?" not in records[i].reason


@pytest.mark.parametrize("filename", FILES)
def test_importing_the_same_file_twice_adds_nothing(
    staffed: AppContext, filename: str, tmp_path: Path
) -> None:
    import_with_written_mapping(staffed, filename, tmp_path)
    before = counts(staffed)
    again = import_register(staffed, FILES[filename](), filename, "morgan")
    assert {r.status for r in again} == {"duplicate", "set_aside"}
    # Nor does the same file read with an edited mapping: a row is its cells.
    edited = import_with_written_mapping(
        staffed, filename, tmp_path,
        lambda t: t.replace('"Pending?" = ""', '"Pending?" = "triage"'))
    assert {r.status for r in edited} == {"duplicate", "set_aside"}
    assert counts(staffed) == before


def test_the_rows_to_check_list_every_flagged_row_once_with_row_column_and_value(
    staffed: AppContext, tmp_path: Path
) -> None:
    results = import_with_written_mapping(staffed, "register.csv", tmp_path)
    flagged = {r.source for r in results if r.reason and r.reason.startswith("to check")}
    listed = rows_to_check(staffed, "morgan")
    assert {r["source"] for r in listed} == flagged
    sources = [r["source"] for r in listed]
    assert len(sources) == len(set(sources))
    pending = next(r for r in listed if any("'Pending?'" in f for f in r["flags"]))
    assert pending["state"] == "logged"
    flag = next(f for f in pending["flags"] if "'Pending?'" in f)
    assert flag.startswith("row ") and "column 'Status'" in flag
    for entry in listed:
        assert len(entry["flags"]) == len(set(entry["flags"]))


def test_a_mapping_naming_a_stage_the_lifecycle_lacks_is_refused() -> None:
    text = propose_text()
    with pytest.raises(BadInput) as err:
        load_mapping(text.replace('"Pending?" = ""', '"Pending?" = "sort_of_done"'))
    assert err.value.field == "mapping: [stages] 'Pending?'"
    with pytest.raises(BadInput) as err:
        load_mapping(text.replace('field = "name"', 'field = "nombre"'))
    assert "[columns]" in err.value.field
    with pytest.raises(BadInput):
        load_mapping("this is = not [toml")


def propose_text() -> str:
    from concerns.triage.register import to_toml
    from concerns.workflows.intake.register_import import OUTCOMES
    from concerns.workflows.machine import STATES

    register = read_register(csv_bytes(), "register.csv")
    return to_toml(register.mapping, "register.csv", STATES, OUTCOMES)


def test_a_mapping_naming_a_sheet_the_file_lacks_is_refused_and_nothing_stored(
    staffed: AppContext,
) -> None:
    mapping = load_mapping(propose_text().replace('name = ""', 'name = "2023"'))
    with pytest.raises(BadInput) as err:
        import_register(staffed, csv_bytes(), "register.csv", "morgan", mapping=mapping)
    assert err.value.field == "mapping: [[sheet]]"
    assert counts(staffed)["raw_submissions"] == 0


def test_one_sheet_is_chosen_by_leaving_the_others_out_of_the_mapping(
    staffed: AppContext, tmp_path: Path
) -> None:
    def only_2021(text: str) -> str:
        block = '[[sheet]]\nname = "2022"\nheading_row = 3\n\n'
        assert block in text
        return text.replace(block, "")

    results = import_with_written_mapping(staffed, "register.xlsx", tmp_path, only_2021)
    records = [r for r in results if r.status != "set_aside"]
    assert len(records) == FIRST_SHEET
    # One sheet read: sources name the row only, as for a CSV.
    assert all(r.source.startswith("register.xlsx:row ") for r in results)
