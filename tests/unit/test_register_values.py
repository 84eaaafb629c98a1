"""Values as people type them in a register, and headings as councils write them."""

from __future__ import annotations

from datetime import date

import pytest

from concerns.triage.register.mapping import (
    ColumnChoice,
    Mapping,
    SheetChoice,
    assign_columns,
    from_toml,
    score_heading,
    to_toml,
)
from concerns.triage.register.values import (
    read_date,
    read_phone,
    read_years,
    split_children,
    split_dates,
)


@pytest.mark.parametrize(
    "text, expected, other",
    [
        ("03/03/2021", date(2021, 3, 3), None),
        ("3.3.21", date(2021, 3, 3), None),
        ("3-3-2021", date(2021, 3, 3), None),
        ("4 March 2021", date(2021, 3, 4), None),
        ("4th March 2021", date(2021, 3, 4), None),
        ("March 4, 2021", date(2021, 3, 4), None),
        ("2021-03-04", date(2021, 3, 4), None),
        ("44258", date(2021, 3, 3), None),
        ("17/05/2021", date(2021, 5, 17), None),
        ("05/04/2021", date(2021, 4, 5), date(2021, 5, 4)),
        ("1.2.98", date(1998, 2, 1), date(1998, 1, 2)),
    ],
)
def test_dates_are_read_day_first_and_a_swappable_one_says_so(
    text: str, expected: date, other: date | None
) -> None:
    read = read_date(text)
    assert read is not None
    assert (read.value.date(), read.other_reading) == (expected, other)


@pytest.mark.parametrize("text", ["sometime in spring", "31/02/2021", "13/13/2021", "", "n/a"])
def test_what_is_not_a_date_is_none(text: str) -> None:
    assert read_date(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2012-2019", (2012, 2019)), ("1998 - 2003", (1998, 2003)), ("since 2015", (2015, 2021)),
        ("from 2015", (2015, 2021)), ("2012-19", (2012, 2019)), ("1990s", (1990, 1999)),
        ("2010 to 2014", (2010, 2014)), ("2016", (2016, 2016)), ("2003\u20132007", (2003, 2007)),
        ("unknown", None),
    ],
)
def test_years_of_involvement(text: str, expected: tuple[int, int] | None) -> None:
    assert read_years(text, until=2021) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Sam Bloggs; Amy Bloggs", ["Sam Bloggs", "Amy Bloggs"]),
        ("Sam and Amy Bloggs", ["Sam Bloggs", "Amy Bloggs"]),
        ("Sam & Amy Bloggs", ["Sam Bloggs", "Amy Bloggs"]),
        ("Sam, Amy and Jo Bloggs", ["Sam Bloggs", "Amy Bloggs", "Jo Bloggs"]),
        ("Sam Bloggs and Amy Smith", ["Sam Bloggs", "Amy Smith"]),
        ("Sam Bloggs\nAmy Bloggs", ["Sam Bloggs", "Amy Bloggs"]),
        ("Bloggs, Sam", ["Bloggs, Sam"]),
        ("Ellie Morgan", ["Ellie Morgan"]),
        ("", []),
    ],
)
def test_several_children_in_one_cell(text: str, expected: list[str]) -> None:
    assert split_children(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("01/02/2010; 13/06/2012", ["01/02/2010", "13/06/2012"]),
        ("14/02/2010, 13/06/2012", ["14/02/2010", "13/06/2012"]),
        ("11/02/2009 30/07/2005", ["11/02/2009", "30/07/2005"]),
        ("4 March 2010 and 2012-07-01", ["4 March 2010", "2012-07-01"]),
    ],
)
def test_dates_of_birth_in_the_order_written(text: str, expected: list[str]) -> None:
    assert split_dates(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("07700 900123", "07700 900123"), ("+44 7700 900123", "07700 900123"),
        ("0044 7700 900123", "07700 900123"), ("07700900123", "07700 900123"),
        ("7700900123", "07700 900123"), ("(01432) 555101", "01432 555101"),
        ("01432-555-101", "01432 555101"), ("tel: 01432 555 101", "01432 555101"),
        ("07700 900123 (mobile)", "07700 900123"), ("n/a", None), ("12", None),
    ],
)
def test_uk_phone_numbers_in_any_format(text: str, expected: str | None) -> None:
    assert read_phone(text) == expected


@pytest.mark.parametrize(
    "heading, field",
    [
        ("Name of person raising concern", "name"), ("Summary of concern", "concern"),
        ("Date concern received", "received"), ("Child's date of birth", "children_dob"),
        ("Name of child / children", "children"), ("How received", "channel"),
        ("Current status", "stage"), ("Learning review completed?", "learning_review"),
        ("E-mail", "email"), ("Tel no.", "phone"), ("Colour", ""),
    ],
)
def test_headings_are_matched_fuzzily_to_fields(heading: str, field: str) -> None:
    assert score_heading(heading)[0] == field


def test_each_field_goes_to_one_heading_the_best() -> None:
    columns = assign_columns(["Name", "Contact name", "Concern", "Notes", "Notes"])
    assert [(c.heading, c.field) for c in columns] == [
        ("Name", "name"), ("Contact name", ""), ("Concern", "concern"), ("Notes", "notes"),
        ("Notes (5)", ""),
    ]


def test_a_mapping_survives_the_toml_round_trip_with_awkward_text() -> None:
    mapping = Mapping(
        sheets=[SheetChoice('Reg "2021"', 3), SheetChoice("2022\\old", 1)],
        columns=[ColumnChoice("Name", "name", 100), ColumnChoice("Tab\there", "", 0),
                 ColumnChoice("Status \U0001f600", "stage", 92)],
        stages={"With DCS for sign off": "awaiting_signoff", "Pending?": ""},
        outcomes={"Query answered": "answered"},
        channels={"Walk-in": ""},
        colours={"C6EFCE": "closed:responded"},
    )
    back = from_toml(to_toml(mapping, "r.xlsx", ("logged",), ("answered",)))
    assert back.sheets == mapping.sheets and back.columns == mapping.columns
    assert (back.stages, back.outcomes, back.channels, back.colours) == (
        mapping.stages, mapping.outcomes, mapping.channels, mapping.colours)


def test_a_guessed_heading_is_used_only_once_the_team_keeps_it_in_the_mapping() -> None:
    from concerns.triage.register import read_register

    data = b"Nme of person,Concern\nAnn Lee,Moved without notice\n"
    proposed = read_register(data, "r.csv").mapping
    guess = next(c for c in proposed.columns if c.heading == "Nme of person")
    assert guess.field == "name" and 70 <= guess.score < 90
    assert "Nme of person" not in proposed.fields()
    text = to_toml(proposed, "r.csv", ("logged",), ("answered",))
    assert '"Nme of person" = { field = "name", score = ' in text
    assert "# a guess: check it" in text
    assert from_toml(text).fields()["Nme of person"] == "name"
