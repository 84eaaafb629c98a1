"""Ways a member of staff's name is written in a concern, and what the conflict-of-interest
check must make of each, for the demo's staff (alex is Alex Morgan, morgan is Morgan Reid, sam is
Sam Patel, jo is Jo Bloggs). Shared by the pure test and the register test (SQLite, PostgreSQL).
"""

from __future__ import annotations

from typing import NamedTuple

PLAIN = "Nobody explained why the decision about my child was made."


class Written(NamedTuple):
    why: str
    staff_named: list[str]
    concern: str
    # username -> "excluded" | "flagged"; every other member of staff is unaffected.
    expected: dict[str, str]


NAME_TABLE: tuple[Written, ...] = (
    Written("full name", ["Alex Morgan"], PLAIN, {"alex": "excluded"}),
    Written("lower case", ["alex morgan"], PLAIN, {"alex": "excluded"}),
    Written("capitals and extra spaces", ["  ALEX   MORGAN "], PLAIN, {"alex": "excluded"}),
    Written("surname first with a comma", ["Morgan, Alex"], PLAIN, {"alex": "excluded"}),
    Written("with a title", ["Mr Alex Morgan"], PLAIN, {"alex": "excluded"}),
    Written("role in brackets", ["Alex Morgan (IAT officer)"], PLAIN, {"alex": "excluded"}),
    Written("role after a dash", ["Alex Morgan - social worker"], PLAIN, {"alex": "excluded"}),
    Written("a list with 'and'", ["Alex Morgan and Sam Patel"], PLAIN,
            {"alex": "excluded", "sam": "excluded"}),
    Written("a list with commas", ["Alex Morgan, Sam Patel, Jo Bloggs"], PLAIN,
            {"alex": "excluded", "sam": "excluded", "jo": "excluded"}),
    Written("a list with '&' and brackets", ["Jo Bloggs (manager) & Alex Morgan"], PLAIN,
            {"alex": "excluded", "jo": "excluded"}),
    Written("the full form of a short name", ["Alexander Morgan"], PLAIN, {"alex": "excluded"}),
    Written("an accent", ["Àlex Morgan"], PLAIN, {"alex": "excluded"}),
    Written("an initial", ["A. Morgan"], PLAIN, {"alex": "flagged"}),
    Written("an initial and a title", ["Dr A Morgan"], PLAIN, {"alex": "flagged"}),
    Written("a title and the surname", ["Mr Morgan"], PLAIN, {"alex": "flagged"}),
    Written("the forename alone", ["Alex"], PLAIN, {"alex": "flagged"}),
    Written("the forename alone in lower case", ["alex"], PLAIN, {"alex": "flagged"}),
    Written("a spelling slip", ["Alex Morgen"], PLAIN, {"alex": "flagged"}),
    Written("part of a double surname", ["Alex Morgan-Jones"], PLAIN, {"alex": "flagged"}),
    Written("a related short form", ["Sandy Morgan"], PLAIN, {"alex": "flagged"}),
    Written("surname first without a comma", ["Morgan Alex"], PLAIN, {"alex": "flagged"}),
    Written("surname first with an initial", ["Morgan A."], PLAIN, {"alex": "flagged"}),
    Written("the forename and the surname's initial", ["Alex M."], PLAIN, {"alex": "flagged"}),
    Written("a short form the lists do not know", ["Joseph Bloggs"], PLAIN, {"jo": "flagged"}),
    Written("a possessive and a role", ["Alex Morgan's manager"], PLAIN, {"alex": "excluded"}),
    Written("a list with 'with'", ["Alex Morgan with Sam Patel"], PLAIN,
            {"alex": "excluded", "sam": "excluded"}),
    Written("an email address", ["alex.morgan@council.example"], PLAIN, {"alex": "excluded"}),
    Written("a role before the name", ["Social worker Alex Morgan"], PLAIN, {"alex": "excluded"}),
    Written("another forename with the same surname", ["Chris Morgan"], PLAIN, {}),
    Written("the surname as someone's forename", ["Morgan Reid"], PLAIN, {"morgan": "excluded"}),
    Written("only in the concern's text", [],
            "I complained to Alex Morgan twice and heard nothing.", {"alex": "excluded"}),
    Written("in the text in lower case", [],
            "then alex morgan rang me and said it was closed", {"alex": "excluded"}),
    Written("in the text with a possessive", [], "Sam Patel's report got my son's age wrong.",
            {"sam": "excluded"}),
    Written("in the text with the surname's initial", [], "I spoke with Alex M. at the office.",
            {"alex": "flagged"}),
    Written("in the text with a middle initial", [], "Samuel J. Patel was rude to me.",
            {"sam": "excluded"}),
    Written("in the text as an email address", [],
            "I wrote to jo.bloggs@council.example twice.", {"jo": "excluded"}),
    Written("in the text with a title", [], "Mr Morgan never returned my calls.",
            {"alex": "flagged"}),
    Written("in the text with an initial", [], "A letter signed by A. Morgan arrived.",
            {"alex": "flagged"}),
    Written("in the text as a surname alone", [], "It was closed. Morgan said no more.",
            {"alex": "flagged"}),
    Written("in the text as someone else's forename", [], "I spoke to Morgan Reid in May.",
            {"morgan": "excluded"}),
    Written("a lower-case word that is a surname", [],
            "The social worker would not morgan anything, and the bloggs were wrong.", {}),
    Written("in the text and the list", ["Sam Patel"], "Jo Bloggs was also at the meeting.",
            {"sam": "excluded", "jo": "excluded"}),
    Written("nobody named", [], PLAIN, {}),
)
