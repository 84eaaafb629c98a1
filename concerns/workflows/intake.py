"""Intake: every submission stored raw first, then read, matched and logged on the register.

Two transactions on purpose: the raw bytes are committed before any parsing, so a submission that
cannot be read (or a failure while logging it) never loses what the person sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from concerns.db.models import Case, CaseChild, Child, Contact, RawSubmission, Respondent
from concerns.triage.forms import parse_form
from concerns.triage.names import normalise_name
from concerns.triage.submission import Submission, SubmissionError
from concerns.workflows import clocks
from concerns.workflows.audit import append_event
from concerns.workflows.cases import next_reference
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.users import load_actor

INTAKE_ROLES = frozenset({"intake", "iat_officer", "iat_manager"})
PUBLIC_ACTOR = "public"


@dataclass(frozen=True)
class IntakeResult:
    source: str
    status: str  # new_case | added_to_case | duplicate | quarantined
    reference: str | None = None
    reason: str | None = None
    field: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"source": self.source, "status": self.status, "reference": self.reference,
                "reason": self.reason}


def _check_actor(ctx: AppContext, actor_name: str | None) -> str:
    """The public form logs as 'public'; everything else needs a staff member who may log."""
    if actor_name == PUBLIC_ACTOR:
        return PUBLIC_ACTOR
    with ctx.uow() as uow:
        _, actor = load_actor(uow.session, actor_name)
        if not actor.roles & INTAKE_ROLES:
            raise NotAllowed("logging concerns needs the role intake, iat_officer or iat_manager")
        return actor.username


def store_raw(
    ctx: AppContext, raw: bytes, *, channel: str, source: str, message_id: str | None = None
) -> tuple[int, bool]:
    """Commit the raw bytes. Returns (raw id, already_seen) — the same bytes twice are one."""
    digest = hashlib.sha256(raw).hexdigest()
    with ctx.uow() as uow:
        s = uow.session
        existing = s.scalars(
            select(RawSubmission.id).where(
                RawSubmission.channel == channel, RawSubmission.sha256 == digest
            )
        ).first()
        if existing is None and message_id:
            existing = s.scalars(
                select(RawSubmission.id).where(
                    RawSubmission.channel == channel, RawSubmission.message_id == message_id
                )
            ).first()
        if existing is not None:
            return existing, True
        row = RawSubmission(channel=channel, source=source[:500], sha256=digest,
                            message_id=message_id, content=raw, size=len(raw),
                            received_at=ctx.now())
        s.add(row)
        try:
            uow.commit()
        except IntegrityError:
            # Another process stored the same bytes a moment ago.
            uow.rollback()
            found = s.scalars(
                select(RawSubmission.id).where(
                    RawSubmission.channel == channel, RawSubmission.sha256 == digest
                )
            ).first()
            if found is None:
                raise
            return found, True
        return row.id, False


def quarantine(ctx: AppContext, raw_id: int, reason: str) -> None:
    with ctx.uow() as uow:
        row = uow.session.get(RawSubmission, raw_id)
        if row is not None:
            row.status = "quarantined"
            row.reason = reason
            uow.commit()


def ingest_form(
    ctx: AppContext, raw: bytes, source: str, actor_name: str | None
) -> IntakeResult:
    """One web-form submission (DESIGN §6): stored raw, then validated and logged."""
    actor = _check_actor(ctx, actor_name)
    raw_id, seen = store_raw(ctx, raw, channel="web", source=source)
    if seen:
        return _duplicate(ctx, raw_id, source)
    try:
        submission = parse_form(
            raw, received_at=ctx.now(), max_concern=ctx.settings.intake.max_concern_characters
        )
    except SubmissionError as exc:
        quarantine(ctx, raw_id, str(exc))
        return IntakeResult(source, "quarantined", reason=str(exc), field=exc.field)
    return log_submission(ctx, submission, raw_id=raw_id, source=source, actor=actor)


def _duplicate(ctx: AppContext, raw_id: int, source: str) -> IntakeResult:
    with ctx.uow() as uow:
        reference = uow.session.scalar(
            select(Case.reference)
            .join(Contact, Contact.case_id == Case.id)
            .where(Contact.raw_submission_id == raw_id)
        )
    return IntakeResult(source, "duplicate", reference=reference,
                        reason="already received (same content)")


def log_submission(
    ctx: AppContext, submission: Submission, *, raw_id: int | None, source: str, actor: str
) -> IntakeResult:
    """Match the person and children, then add the contact to their open case or open a new one."""
    with ctx.uow() as uow:
        s = uow.session
        at = ctx.now()
        respondent = _match_respondent(s, submission) or _new_respondent(s, submission, ctx)
        children = [_match_or_add_child(s, c.name, c.date_of_birth) for c in submission.children]
        s.flush()
        case = _open_case_for(s, respondent, children)
        status = "added_to_case"
        if case is None:
            status = "new_case"
            case = _new_case(s, ctx, submission, respondent, at)
        for child in children:
            if s.get(CaseChild, (case.id, child.id)) is None:
                s.add(CaseChild(case_id=case.id, child_id=child.id))
        contact = Contact(
            case_id=case.id,
            respondent_id=respondent.id,
            raw_submission_id=raw_id,
            received_at=submission.submitted_at,
            channel=submission.channel,
            route=submission.route,
            subject=submission.subject,
            concern=submission.concern,
            involvement_from_year=submission.involvement_from_year,
            involvement_to_year=submission.involvement_to_year,
            consent_to_contact=submission.consent_to_contact,
            flags=list(submission.flags),
            created_at=at,
        )
        s.add(contact)
        if status == "added_to_case":
            _merge_case_details(case, submission)
            case.updated_at = at
        s.flush()
        if raw_id is not None:
            raw_row = s.get(RawSubmission, raw_id)
            if raw_row is not None:
                raw_row.status = "contact"
        append_event(
            s, case_id=case.id, event="concern_logged" if status == "new_case" else "contact_added",
            actor=actor, at=at, from_state=None if status == "new_case" else case.state,
            to_state=case.state,
            data={"contact_id": contact.id, "channel": submission.channel,
                  "flags": len(submission.flags)},
        )
        reference = case.reference
        uow.commit()
    return IntakeResult(source, status, reference=reference)


def phone_key(phone: str | None, region: str = "GB") -> str | None:
    if not phone:
        return None
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in phone if ch.isdigit())
        return digits or None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def postcode_key(postcode: str | None) -> str | None:
    if not postcode:
        return None
    key = "".join(postcode.split()).upper()
    return key or None


def _match_respondent(s: Session, submission: Submission) -> Respondent | None:
    person = submission.respondent
    name_key = normalise_name(person.name)
    email_key = person.email.lower() if person.email else None
    phone = phone_key(person.phone)
    for column, key in ((Respondent.email_key, email_key), (Respondent.phone_key, phone)):
        if key is None:
            continue
        match = s.scalars(
            select(Respondent).where(column == key, Respondent.name_key == name_key,
                                     Respondent.merged_into_id.is_(None))
        ).first()
        if match is not None:
            return match
    return None


def _new_respondent(s: Session, submission: Submission, ctx: AppContext) -> Respondent:
    person = submission.respondent
    name_key = normalise_name(person.name)
    respondent = Respondent(
        name=person.name,
        email=person.email,
        phone=person.phone,
        address=person.address,
        postcode=person.postcode,
        relationship_to_child=person.relationship,
        name_key=name_key,
        name_block=name_key.split(" ")[-1] if name_key else "",
        email_key=person.email.lower() if person.email else None,
        phone_key=phone_key(person.phone, ctx.settings.intake.default_phone_region),
        postcode_key=postcode_key(person.postcode),
        created_at=ctx.now(),
    )
    s.add(respondent)
    s.flush()
    return respondent


def _match_or_add_child(s: Session, name: str, dob: object) -> Child:
    key = normalise_name(name)
    match = s.scalars(
        select(Child).where(Child.name_key == key, Child.date_of_birth == dob)
    ).first() if dob is not None else None
    if match is not None:
        return match
    child = Child(name=name, date_of_birth=dob, name_key=key)
    s.add(child)
    return child


def _open_case_for(s: Session, respondent: Respondent, children: list[Child]) -> Case | None:
    """The person's open case about the same child (or, with no child named, their open case)."""
    open_cases = s.scalars(
        select(Case)
        .where(Case.respondent_id == respondent.id, Case.state != "closed")
        .order_by(Case.received_at)
    ).all()
    if not children:
        return open_cases[0] if open_cases else None
    wanted = {c.id for c in children}
    for case in open_cases:
        if not case.children or wanted & {c.id for c in case.children}:
            return case
    return None


def _new_case(
    s: Session, ctx: AppContext, submission: Submission, respondent: Respondent, at: datetime
) -> Case:
    case = Case(
        reference=next_reference(s, ctx.settings.council.reference_prefix, submission.submitted_at),
        state="logged",
        respondent_id=respondent.id,
        received_at=submission.submitted_at,
        channel=submission.channel,
        involvement_from_year=submission.involvement_from_year,
        involvement_to_year=submission.involvement_to_year,
        staff_named=list(submission.staff_named),
        staff_named_keys=sorted({normalise_name(n) for n in submission.staff_named}),
        created_at=at,
        updated_at=at,
    )
    s.add(case)
    s.flush()
    # The acknowledgement clock runs from receipt, not from when we got round to logging it.
    clocks.start_clock(s, ctx.settings, ctx.calendar, case, "acknowledge", submission.submitted_at)
    return case


def _merge_case_details(case: Case, submission: Submission) -> None:
    names = list(case.staff_named or [])
    for name in submission.staff_named:
        if name not in names:
            names.append(name)
    case.staff_named = names
    case.staff_named_keys = sorted({normalise_name(n) for n in names})
    if submission.involvement_from_year is not None and (
        case.involvement_from_year is None
        or submission.involvement_from_year < case.involvement_from_year
    ):
        case.involvement_from_year = submission.involvement_from_year
    if submission.involvement_to_year is not None and (
        case.involvement_to_year is None or submission.involvement_to_year > case.involvement_to_year
    ):
        case.involvement_to_year = submission.involvement_to_year
