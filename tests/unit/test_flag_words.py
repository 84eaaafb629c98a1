"""A contact's flags are shown to staff with their place in words, never a field's code."""

from __future__ import annotations

import pytest

from concerns.triage.flag_words import flag_in_words


@pytest.mark.parametrize(("flag", "shown"), [
    ("respondent.phone: too few digits for a phone number",
     "Phone number: too few digits for a phone number"),
    ("respondent.phone: does not fit the form schema (type)",
     "Phone number: not the kind of value the form takes"),
    ("respondent.email: not an email address", "Email address: not an email address"),
    ("respondent.relationship: expected one of parent, carer",
     "Relationship to the children: expected one of parent, carer"),
    ("children[0].date_of_birth: in the future", "Child 1's date of birth: in the future"),
    ("children[2].name: missing or not text", "Child 3's name: missing or not text"),
    ("children[1]: expected an object", "Child 2: expected an object"),
    ("staff_named[0]: expected a name", "Member of staff 1: expected a name"),
    ("involvement.to_year: expected a year between 1900 and now",
     "Last year involved: expected a year between 1900 and now"),
    ("involvement: from_year is after to_year", "Years involved: from_year is after to_year"),
    ("concern: does not fit the form schema (pattern)", "The concern: not in the form expected"),
    ("respondent: does not fit the form schema (anyOf)",
     "The person's details: needs an email address, a phone number or an address"),
    ("submitted_at: not an ISO 8601 date and time", "Date sent: not an ISO 8601 date and time"),
    ("date: missing or unreadable, the time received is used",
     "The email's date: missing or unreadable, the time received is used"),
    ("respondent.postcode: does not fit the form schema (someNewRule)",
     "Postcode: not as the form expects"),
])
def test_a_flag_names_its_place_in_words(flag: str, shown: str) -> None:
    assert flag_in_words(flag) == shown


@pytest.mark.parametrize("flag", [
    "part 2: some characters could not be read",
    "children[x].name: odd",
    "no place at all",
    "row 4: hidden in the register",
])
def test_a_flag_whose_place_is_not_known_is_shown_whole(flag: str) -> None:
    assert flag_in_words(flag) == flag
