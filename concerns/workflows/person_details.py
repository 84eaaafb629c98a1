"""Correcting the contact details of the person who raised a concern (email, phone, address,
postcode), for instance after a letter's email bounced.

Values are checked with the same normalisers intake's matching uses, the matching keys on the
person's row are recomputed from the corrected values, and the audit trail records which fields
changed and why, never the old or new values (personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from concerns.db.models import Case, Respondent
from concerns.triage.forms import MAX_FIELD
from concerns.triage.matching import normalise_email, normalise_phone, normalise_postcode
from concerns.workflows.access.need_to_know import may_read
from concerns.workflows.access.readers import ensure_may_read, load_actor
from concerns.workflows.audit import append_event
from concerns.workflows.cases import get_case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed

CORRECTORS = frozenset({"iat_officer", "iat_manager", "executive_assistant"})
FIELDS = ("email", "phone", "address", "postcode")
CORRECTED = "respondent_details_corrected"
# The longest value each column holds (respondents table); an address is free text.
LONGEST = {"email": 320, "phone": 60, "address": MAX_FIELD, "postcode": 20}
MAX_REASON = 2000


@dataclass(frozen=True)
class Correction:
    reference: str
    respondent_id: int
    changed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "respondent_id": self.respondent_id,
            "changed": list(self.changed),
        }


def _clean(field: str, value: str, region: str) -> str | None:
    """The value to store (None: the detail is removed), or BadInput naming the field."""
    text = value.strip()
    if not text:
        return None
    if len(text) > LONGEST[field]:
        raise BadInput(field, f"longer than {LONGEST[field]} characters")
    if "\x00" in text:
        raise BadInput(field, "contains a NUL character")
    if field == "email" and normalise_email(text) is None:
        raise BadInput(field, "not an email address, like name@example.com")
    if field == "phone" and normalise_phone(text, region) is None:
        raise BadInput(field, "not a phone number, like 01632 960 001 or 07700 900 982")
    if field == "postcode" and normalise_postcode(text) is None:
        raise BadInput(field, "not a postcode, like HR4 0LE")
    return text


def check_changes(changes: dict[str, str], reason: str, region: str) -> dict[str, str | None]:
    """The changes as they would be stored, checked without touching the database."""
    for field in changes:
        if field not in FIELDS:
            raise BadInput(
                field[:40] or "field",
                f"not a detail that can be corrected (one of {', '.join(FIELDS)})",
            )
    if not changes:
        raise BadInput("set", f"give at least one detail to correct ({', '.join(FIELDS)})")
    if not reason.strip():
        raise BadInput("note", "give the reason for the correction")
    if len(reason) > MAX_REASON:
        raise BadInput("note", f"longer than {MAX_REASON} characters")
    return {field: _clean(field, changes[field], region) for field in FIELDS if field in changes}


def correct_respondent_details(
    ctx: AppContext,
    actor_name: str | None,
    reference: str,
    changes: dict[str, str],
    reason: str,
) -> Correction:
    """Correct the email, phone, address or postcode of the person who raised case REFERENCE.

    An empty value removes the detail, but the person must keep one way to reply, as at intake.
    Only details that differ from those stored count as changes (and are checked), so a form
    sent back with every field filled in changes just what was edited.
    """
    region = ctx.settings.intake.default_phone_region
    wanted = check_changes(changes, reason, region)
    with ctx.uow() as uow:
        s = uow.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & CORRECTORS:
            raise NotAllowed(
                "correcting a person's details needs the role "
                + " or ".join(sorted(CORRECTORS))
            )
        case = get_case(s, reference)
        ensure_may_read(s, actor, case)
        may_read(actor, case.state, "contact_details", case.reference)
        # Locked on PostgreSQL, so two corrections at once apply one after the other.
        person = s.get_one(Respondent, case.respondent_id, with_for_update=True)
        changed = tuple(f for f, v in wanted.items() if v != (getattr(person, f) or None))
        if not changed:
            raise BadInput("set", "these are already the person's details: nothing to correct")
        after = {f: wanted[f] if f in changed else getattr(person, f) for f in FIELDS}
        if not (after["email"] or after["phone"] or after["address"]):
            raise BadInput(
                changed[0], "the person needs at least one way to reply: email, phone or address"
            )
        for field in changed:
            setattr(person, field, wanted[field])
        # The keys repeat contacts are matched by follow the corrected details.
        person.email_key = normalise_email(person.email)
        person.phone_key = normalise_phone(person.phone, region)
        person.postcode_key = normalise_postcode(person.postcode)
        others = list(
            s.scalars(
                select(Case.reference)
                .where(Case.respondent_id == person.id, Case.id != case.id)
                .order_by(Case.reference)
            )
        )
        append_event(
            s,
            case_id=case.id,
            event=CORRECTED,
            actor=actor.username,
            at=ctx.now(),
            from_state=case.state,
            to_state=case.state,
            # Which details, never their values; the person's other cases use them too.
            data={"respondent_id": person.id, "fields": list(changed), "other_cases": others},
            note=reason.strip(),
        )
        result = Correction(case.reference, person.id, changed)
        uow.commit()
    return result
