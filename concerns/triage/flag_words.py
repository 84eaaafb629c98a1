"""What a flag on a contact says, in words for the staff who read it.

Intake flags start with the place they are about, as a path into the submission
("respondent.phone: too few digits…", "children[1].date_of_birth: in the future"); the JSON API
keeps that form, which is exact and searchable. The case page shows the place in words instead,
so an officer reads "Phone number: …", never a field's code. Pure: no database, no web.
"""

from __future__ import annotations

import re

_PLACES = {
    "respondent": "The person's details",
    "respondent.name": "Name",
    "respondent.email": "Email address",
    "respondent.phone": "Phone number",
    "respondent.address": "Address",
    "respondent.postcode": "Postcode",
    "respondent.relationship": "Relationship to the children",
    "children": "Children",
    "involvement": "Years involved",
    "involvement.from_year": "First year involved",
    "involvement.to_year": "Last year involved",
    "staff_named": "Staff named",
    "concern": "The concern",
    "consent_to_contact": "Consent to contact",
    "submitted_at": "Date sent",
    "channel": "How it arrived",
    "date": "The email's date",
    "email": "The email",
    "body": "The email's text",
    "forwarded.date": "The forwarded message's date",
    "(file)": "The file",
}
_CHILD_PARTS = {"": "", ".name": "'s name", ".date_of_birth": "'s date of birth"}
_INDEXED = re.compile(r"^(children|staff_named)\[(\d+)\](\.[a-z_]+)?$")

# The published schema's rules, as the person who reads the flag would put them.
_SCHEMA_RULES = {
    "type": "not the kind of value the form takes",
    "maxLength": "too long",
    "minLength": "empty",
    "pattern": "not in the form expected",
    "enum": "not one of the choices the form offers",
    "format": "not a real date",
    "required": "missing",
    "anyOf": "needs an email address, a phone number or an address",
}
_SCHEMA = re.compile(r"does not fit the form schema \((\w+)\)$")


def place_in_words(place: str) -> str | None:
    """'children[0].date_of_birth' → "Child 1's date of birth"; None for a place not known."""
    if place in _PLACES:
        return _PLACES[place]
    indexed = _INDEXED.match(place)
    if indexed:
        what, number, part = indexed.group(1), int(indexed.group(2)) + 1, indexed.group(3) or ""
        if what == "staff_named" and not part:
            return f"Member of staff {number}"
        if what == "children" and part in _CHILD_PARTS:
            return f"Child {number}{_CHILD_PARTS[part]}"
    return None


def flag_in_words(flag: str) -> str:
    """The flag with its place (and a schema rule's name) in words; unknown places stay as they
    are, so nothing a flag says is ever dropped."""
    place, sep, said = flag.partition(": ")
    words = place_in_words(place) if sep else None
    if words is None:
        return flag
    rule = _SCHEMA.search(said)
    if rule:
        said = _SCHEMA_RULES.get(rule.group(1), "not as the form expects")
    return f"{words}: {said}"
