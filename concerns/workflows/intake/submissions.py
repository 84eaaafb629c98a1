"""Intake: every submission stored raw first, then read, matched and logged on the register.

Two transactions on purpose: the raw bytes are committed before any parsing, so a submission that
cannot be read (or a failure while logging it) never loses what the person sent. A raw
submission still marked `new` (stored, never logged: a crash or a failure in between) is listed
in the quarantine and read again when the same bytes arrive, at the next mailbox poll, or with
`intake quarantine --retry`.

Every distinct message is stored. Only identical bytes are the same submission; a message with
the Message-ID of a stored one is a resend (status `duplicate`, its own bytes kept and linked to
the first) only when its sender and its text are the same too. Ticketing tools and broken clients
reuse Message-IDs, so any other Message-ID match is a new contact, flagged for the officer.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.instrumentation import manager_of_class

from concerns.db.models import (
    Attachment,
    Case,
    CaseChild,
    Child,
    Contact,
    Deadline,
    Notification,
    RawSubmission,
)
from concerns.db.prebuilt import Prebuilt, PrebuiltWrite
from concerns.triage.email_intake import SetAside, message_id_of
from concerns.triage.matching import normalise_name
from concerns.triage.register import RegisterEntry
from concerns.triage.submission import Submission, SubmissionError, clean_submission, clean_text
from concerns.workflows import clocks
from concerns.workflows.access import public_form_limit
from concerns.workflows.access.conflicts import recheck_case
from concerns.workflows.access.readers import acting_user
from concerns.workflows.audit import CHAIN_HEAD, append_event, head_readable_early, remember_head
from concerns.workflows.cases import next_reference
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.event_writes import write_case_and_clocks
from concerns.workflows.intake.parsing import read_email, read_raw
from concerns.workflows.people import match_children, match_person

log = logging.getLogger("concerns.intake")

INTAKE_ROLES = frozenset({"intake", "iat_officer", "iat_manager"})
PUBLIC_ACTOR = "public"
# The clock a case imported at a stage is waiting on, started from the import.
STAGE_CLOCKS: dict[str, tuple[str, ...]] = {
    "logged": ("acknowledge",),
    "triage": ("complaints_triage", "legal_triage"),
    "awaiting_information": ("information_wait",),
    "complaint_offered": ("offer_reply",),
    "in_review": ("review",),
    "awaiting_signoff": ("signoff",),
    "authorised": ("letter",),
    "letter_ready": ("signature",),
    "signed": ("dispatch",),
    "responded": ("reply_window",),
    "dissatisfied": ("meeting_offer",),
}


@dataclass(frozen=True)
class IntakeResult:
    source: str
    status: str  # new_case | added_to_case | duplicate | quarantined | set_aside
    reference: str | None = None
    reason: str | None = None
    field: str | None = None
    flags: tuple[str, ...] = ()  # what the IAT should check on the logged contact
    # The public form's confirmation: the date we will reply by, and whether a receipt was
    # queued for the person's email address.
    reply_by: date | None = None
    receipt_emailed: bool = False

    def as_dict(self) -> dict[str, str | None]:
        return {"source": self.source, "status": self.status, "reference": self.reference,
                "reason": self.reason}


@dataclass(frozen=True)
class StoredRaw:
    id: int
    seen: bool  # the same bytes were stored before
    status: str  # the stored row's status: new, contact, quarantined, ignored, duplicate
    reason: str | None = None
    actor: str = ""  # who stored it, when store_raw was asked to check


def admit(
    s: Session, actor_name: str | None, roles: frozenset[str] = INTAKE_ROLES,
    *, allow_public: bool = False,
) -> str:
    """The public form logs as 'public'; everything else needs a staff member who may log."""
    if allow_public and actor_name == PUBLIC_ACTOR:
        return PUBLIC_ACTOR
    _, actor = acting_user(s, actor_name)
    if not actor.roles & roles:
        raise NotAllowed("this needs the role " + " or ".join(sorted(roles)))
    return actor.username


def check_actor(
    ctx: AppContext, actor_name: str | None, roles: frozenset[str] = INTAKE_ROLES,
    *, allow_public: bool = False,
) -> str:
    with ctx.read() as read:
        return admit(read.session, actor_name, roles, allow_public=allow_public)


def find_raw(s: Session, channel: str, digest: str) -> StoredRaw | None:
    """The stored submission with exactly these bytes; its content is not read.

    Never by Message-ID alone: that would drop a distinct message (see the module's doc).
    """
    # What the transaction holds unflushed (a status just set) is stored first, as the ORM's
    # autoflush did before the read.
    s.flush()
    rows = _FIND_RAW.rows(s.connection(), {"channel": channel, "digest": digest})
    return StoredRaw(rows[0][0], True, rows[0][1], rows[0][2]) if rows else None


# Compiled once, run on the driver's cursor: every submission asks it.
_FIND_RAW = Prebuilt(
    select(RawSubmission.id, RawSubmission.status, RawSubmission.reason)
    .where(RawSubmission.channel == bindparam("channel"),
           RawSubmission.sha256 == bindparam("digest"))
    .limit(1)
)


def stage_raw(
    s: Session, raw: bytes, *, channel: str, source: str, message_id: str | None, at: datetime,
    identity: bytes | None = None,
) -> tuple[StoredRaw, bool]:
    """Add the raw bytes to the session (no commit); (row, seen before). IDENTITY, when given,
    is what is hashed to recognise the same submission again (a register row: its cells, not
    the mapping it was read with)."""
    digest = hashlib.sha256(raw if identity is None else identity).hexdigest()
    existing = find_raw(s, channel, digest)
    if existing is not None:
        return existing, True
    # One INSERT on the transaction's connection, no ORM object: nothing reads the row back as
    # one, and the ORM's flush of it cost several times the statement.
    raw_id = s.connection().execute(_INSERT_RAW, {
        "channel": channel, "source": clean_text(source)[:500], "sha256": digest,
        "message_id": clean_text(message_id)[:998] if message_id else None,
        "content": raw, "size": len(raw), "received_at": at,
    }).scalar_one()
    return StoredRaw(raw_id, False, "new", None), False


_INSERT_RAW = insert(RawSubmission).returning(RawSubmission.id)


def store_raw(
    ctx: AppContext, raw: bytes, *, channel: str, source: str, message_id: str | None = None,
    check: bool = False, actor_name: str | None = None, allow_public: bool = False,
    sender: public_form_limit.Sender | None = None,
) -> StoredRaw:
    """Commit the raw bytes before anything else. The same bytes twice are stored once.

    With CHECK, ACTOR_NAME's right to log is checked first, in the same transaction; with
    SENDER (the public form), the send is counted against its address's hourly allowance in
    that transaction too (TooManySends, nothing stored, when it is used up).
    """
    with ctx.uow() as uow:
        s = uow.session
        actor = admit(s, actor_name, allow_public=allow_public) if check else ""
        if sender is not None:
            public_form_limit.count_send(s, sender, ctx.now())
        try:
            row, seen = stage_raw(s, raw, channel=channel, source=source,
                                  message_id=message_id, at=ctx.now())
            if not seen:
                uow.commit()
            return replace(row, actor=actor)
        except IntegrityError:
            # Another process stored the same bytes a moment ago.
            uow.rollback()
            found = find_raw(s, channel, hashlib.sha256(raw).hexdigest())
            if found is None:
                raise
            return replace(found, actor=actor)


def mark_raw(s: Session, raw_id: int, status: str, reason: str | None) -> None:
    row = s.get(RawSubmission, raw_id)
    if row is not None:
        row.status = status
        row.reason = reason


def quarantine(ctx: AppContext, raw_id: int, reason: str) -> None:
    with ctx.uow() as uow:
        mark_raw(uow.session, raw_id, "quarantined", reason)
        uow.commit()


def hold(ctx: AppContext, raw_id: int, source: str, exc: Exception) -> IntakeResult:
    """Logging failed after the raw bytes were stored: the row stays `new` with the reason, so
    the quarantine lists it and the next poll (or a retry) takes it again. Nothing is lost."""
    reason = f"not logged yet: {type(exc).__name__} while logging; it will be tried again"
    # The exception's type only: its message could quote what the person wrote.
    log.error("intake of stored submission %s failed: %s", raw_id, type(exc).__name__)
    with ctx.uow() as uow:
        row = uow.session.get(RawSubmission, raw_id)
        if row is not None and row.status == "new":
            row.reason = reason
        uow.commit()
    return IntakeResult(source, "quarantined", reason=reason)


def _case_of_raw(s: Session, raw_id: int) -> str | None:
    first = s.scalar(select(RawSubmission.duplicate_of_id).where(RawSubmission.id == raw_id))
    return s.scalar(
        select(Case.reference)
        .join(Contact, Contact.case_id == Case.id)
        .where(Contact.raw_submission_id == (first or raw_id))
    )


def duplicate(ctx: AppContext, stored: StoredRaw, source: str) -> IntakeResult:
    with ctx.read() as read:
        reference = _case_of_raw(read.session, stored.id)
    why = {"quarantined": "already received and quarantined",
           "ignored": "already received and set aside"}.get(stored.status, "already received")
    return IntakeResult(source, "duplicate", reference=reference, reason=why)


def _same_person_and_text(a: Submission, b: Submission) -> bool:
    def sender(x: Submission) -> tuple[str, str]:
        return ((x.respondent.email or "").strip().lower(),
                "" if x.respondent.email else normalise_name(x.respondent.name))

    def words(x: Submission) -> str:
        return " ".join(clean_text(x.concern).split())

    return sender(a) == sender(b) and words(a) == words(b)


def _message_id_twins(
    s: Session, ctx: AppContext, raw_id: int, channel: str, submission: Submission
) -> tuple[int | None, list[str]]:
    """(the stored message this one resends, or None; flags for Message-ID clashes).

    Earlier messages with the same Message-ID are read again with their channel's parser, so
    the comparison is of what each message says, not of what a person later corrected.
    """
    rows = s.execute(
        select(RawSubmission.id, RawSubmission.content, RawSubmission.received_at,
               RawSubmission.status)
        .where(RawSubmission.channel == channel,
               RawSubmission.message_id == submission.message_id,
               RawSubmission.id != raw_id,
               RawSubmission.status.in_(("contact", "duplicate")))
        .order_by(RawSubmission.id)
    ).all()
    flags: list[str] = []
    for other_id, content, received_at, status in rows:
        try:
            earlier = read_raw(ctx.settings, channel, content, received_at)
        except SubmissionError:
            continue
        if not isinstance(earlier, Submission):
            continue
        if _same_person_and_text(earlier, submission):
            return other_id, []
        if status == "contact":
            reference = _case_of_raw(s, other_id) or "no case"
            flags.append(
                f"message_id: shares a Message-ID with stored submission {other_id} ({reference})"
                " from another sender or with other text; logged as a contact of its own"
            )
    return None, flags


def ingest_form(
    ctx: AppContext, raw: bytes, source: str, actor_name: str | None, *, public: bool = False,
    sender: public_form_limit.Sender | None = None,
) -> IntakeResult:
    """One web-form submission (docs/form-schema.json): stored raw, then validated and logged.

    `public` is for the public concern form only: it logs as "public" with no staff account,
    and SENDER's send is counted against its hourly allowance in the transaction that stores
    the submission (TooManySends when it is used up: nothing stored).
    """
    from concerns.triage.forms import parse_form

    stored = store_raw(ctx, raw, channel="web", source=source, check=True,
                       actor_name=PUBLIC_ACTOR if public else actor_name, allow_public=public,
                       sender=sender)
    actor = stored.actor
    if stored.seen and stored.status != "new":
        return duplicate(ctx, stored, source)
    try:
        submission = parse_form(
            raw, received_at=ctx.now(), max_concern=ctx.settings.intake.max_concern_characters
        )
    except SubmissionError as exc:
        quarantine(ctx, stored.id, str(exc))
        return IntakeResult(source, "quarantined", reason=str(exc), field=exc.field)
    result = log_stored(ctx, submission, raw_id=stored.id, source=source, actor=actor)
    if public and result.status in ("new_case", "added_to_case"):
        return _receipt(ctx, result, submission.respondent.email, stored.id)
    return result


RECEIPT = "receipt"


def _receipt(
    ctx: AppContext, result: IntakeResult, email: str | None, raw_id: int
) -> IntakeResult:
    """The date the person will hear from us (the acknowledgement clock's due date, from the
    working-day calendar) and, when they gave an email address, a receipt through the outbox.
    Its own transaction: the concern is logged whatever happens here."""
    from concerns.letters.templating import long_date

    council = ctx.settings.council
    with ctx.uow() as uow:
        s = uow.session
        case = s.scalars(select(Case).where(Case.reference == result.reference)).one()
        reply_by = s.scalar(
            select(Deadline.due_date).where(Deadline.case_id == case.id,
                                            Deadline.clock == "acknowledge",
                                            Deadline.status == "running"))
        if not email:
            return replace(result, reply_by=reply_by)
        when = (f"We will reply by {long_date(reply_by)} to tell you what happens next."
                if reply_by else "We will add it to your concern and keep you informed.")
        s.add(Notification(
            key=f"receipt:{raw_id}", kind=RECEIPT, case_id=case.id, to_address=email,
            subject=f"We have received your concern (reference {case.reference})",
            body=(f"Thank you for telling us about your concern. Your reference number is "
                  f"{case.reference}: please quote it if you contact us about this concern.\n\n"
                  f"{when}\n\n{council.team}\n{council.name}\n"),
            status="pending", send_after=ctx.now(), created_at=ctx.now(),
        ))
        uow.commit()
    return replace(result, reply_by=reply_by, receipt_emailed=True)


def log_stored(
    ctx: AppContext, submission: Submission, *, raw_id: int, source: str, actor: str
) -> IntakeResult:
    """log_submission for a stored raw row: a failure leaves the row held, never lost."""
    try:
        return log_submission(ctx, submission, raw_id=raw_id, source=source, actor=actor)
    except Exception as exc:  # any failure: the raw bytes are safe and will be read again
        return hold(ctx, raw_id, source, exc)


def ingest_email(
    ctx: AppContext, raw: bytes, source: str, actor_name: str | None
) -> IntakeResult:
    """One email (.eml bytes): stored raw, then read (forwards unwrapped) and logged, or set
    aside (auto-replies, out-of-office, delivery failures), or quarantined with the reason."""
    stored = store_raw(ctx, raw, channel="email", source=source, message_id=message_id_of(raw),
                       check=True, actor_name=actor_name)
    return _read_stored_email(ctx, raw, source, stored)


def ingest_email_as(ctx: AppContext, raw: bytes, source: str, actor: str) -> IntakeResult:
    """For callers that checked the actor once for many messages (a folder, a mailbox)."""
    stored = store_raw(ctx, raw, channel="email", source=source, message_id=message_id_of(raw))
    return _read_stored_email(ctx, raw, source, replace(stored, actor=actor))


def _read_stored_email(
    ctx: AppContext, raw: bytes, source: str, stored: StoredRaw
) -> IntakeResult:
    actor = stored.actor
    if stored.seen and stored.status != "new":
        return duplicate(ctx, stored, source)
    try:
        read = read_email(ctx.settings, raw, ctx.now())
    except SubmissionError as exc:
        quarantine(ctx, stored.id, str(exc))
        return IntakeResult(source, "quarantined", reason=str(exc), field=exc.field)
    if isinstance(read, SetAside):
        with ctx.uow() as uow:
            mark_raw(uow.session, stored.id, "ignored", read.reason)
            uow.commit()
        return IntakeResult(source, "set_aside", reason=read.reason)
    return log_stored(ctx, read, raw_id=stored.id, source=source, actor=actor)


def log_submission(
    ctx: AppContext, submission: Submission, *, raw_id: int | None, source: str, actor: str,
    entry: RegisterEntry | None = None,
) -> IntakeResult:
    """Match the person and children, then add the contact to their open case or open a new
    one; one transaction."""
    with ctx.uow() as uow:
        result = log_in(uow.session, ctx, submission, raw_id=raw_id, source=source, actor=actor,
                        entry=entry)
        uow.commit()
    return result


def log_in(
    s: Session, ctx: AppContext, submission: Submission, *, raw_id: int | None, source: str,
    actor: str, entry: RegisterEntry | None = None,
) -> IntakeResult:
    """The work of log_submission inside the caller's transaction (an import's dry run rolls
    it all back)."""
    at = ctx.now()
    submission = clean_submission(submission)
    flags = list(submission.flags)
    conn = s.connection()
    if raw_id is not None:
        # Its status and channel, locked (on PostgreSQL), as plain columns: an ORM object of
        # the row (its bytes included) cost more than the rest of this check. On SQLite the
        # audit chain's head comes with them (see _RAW_TO_LOG_AND_HEAD).
        early = head_readable_early(conn)
        rows = (_RAW_TO_LOG_AND_HEAD if early else _RAW_TO_LOG).rows(conn, {"raw_id": raw_id})
        raw_row = rows[0] if rows else None
        if raw_row is not None and early:
            remember_head(s, raw_row[2])
        if raw_row is not None and raw_row[0] != "new":
            # Logged by another process between our store and now.
            return IntakeResult(source, "duplicate", reason="already received")
        if raw_row is not None and submission.message_id:
            first, clashes = _message_id_twins(s, ctx, raw_id, raw_row[1], submission)
            if first is not None:
                _SET_RAW.run(conn, [{
                    "raw_id": raw_id, "status": "duplicate", "duplicate_of_id": first,
                    "reason": f"resent: same Message-ID, sender and text as stored submission "
                              f"{first}",
                }])
                return IntakeResult(source, "duplicate", reference=_case_of_raw(s, first),
                                    reason="already received (resent)")
            flags.extend(clashes)
    region = ctx.settings.intake.default_phone_region
    person = match_person(s, submission.respondent, region, at)
    respondent_id = person.respondent_id
    children = match_children(s, respondent_id, submission.children)
    # A person first met now has no case yet: nothing to look for.
    case = None if (entry is not None and entry.stage == "closed") or not person.matched \
        else _open_case_for(s, respondent_id, children)
    status = "added_to_case"
    if case is None:
        status = "new_case"
        case = _new_case(s, ctx, submission, respondent_id, at, entry)
        if children:
            # A case just opened has no children yet (match_children gives each once).
            _INSERT_CASE_CHILD.run(
                conn, [{"case_id": case.id, "child_id": child.id} for child in children])
    else:
        if entry is not None and entry.stage != case.state:
            flags.append(
                f"stage: the register says {entry.stage}; the case stays at {case.state}")
        for child in children:
            if s.get(CaseChild, (case.id, child.id)) is None:
                s.add(CaseChild(case_id=case.id, child_id=child.id))
    # One INSERT on the transaction's connection, as the raw row: only its id is wanted here.
    contact_id = conn.execute(_INSERT_CONTACT, {
        "case_id": case.id,
        "respondent_id": respondent_id,
        "raw_submission_id": raw_id,
        "received_at": submission.submitted_at,
        "channel": submission.channel,
        "route": submission.route,
        "subject": submission.subject,
        "concern": submission.concern,
        "involvement_from_year": submission.involvement_from_year,
        "involvement_to_year": submission.involvement_to_year,
        "consent_to_contact": submission.consent_to_contact,
        "flags": flags,
        "created_at": at,
    }).scalar_one()
    for item in submission.attachments:
        s.add(Attachment(contact_id=contact_id, filename=item.filename[:500],
                         content_type=item.content_type[:200], size=len(item.content),
                         sha256=hashlib.sha256(item.content).hexdigest(), content=item.content))
    if status == "added_to_case":
        _merge_case_details(case, submission)
        # An earlier contact logged late (the register after the mailbox) dates the case.
        case.received_at = min(case.received_at, submission.submitted_at)
        case.updated_at = at
    s.flush()
    # A case just opened has one contact, this one: its text is in hand, not read back.
    recheck_case(s, case, at, texts=[submission.concern] if status == "new_case" else None)
    if raw_id is not None:
        _SET_RAW.run(conn, [{"raw_id": raw_id, "status": "contact", "reason": None}])
    data = {"contact_id": contact_id, "channel": submission.channel, "flags": len(flags),
            "person_recognised": person.matched, "match_flags_raised": person.flags,
            "children": len(children), "attachments": len(submission.attachments)}
    if entry is not None:
        data |= {"imported_row": entry.row, "imported_stage": entry.stage}
        if entry.legacy_reference:
            # The register's own reference (IAT/012), so the old case can be found by it.
            data["register_reference"] = entry.legacy_reference
    append_event(
        s, case_id=case.id, event="concern_logged" if status == "new_case" else "contact_added",
        actor=actor, at=at, from_state=None if status == "new_case" else case.state,
        to_state=case.state, data=data,
    )
    return IntakeResult(source, status, reference=case.reference, flags=tuple(flags))


_INSERT_CONTACT = insert(Contact).returning(Contact.id)
_INSERT_CASE_CHILD = PrebuiltWrite(insert(cast(Table, CaseChild.__table__)))
# The raw row being logged, locked until the transaction ends; and its new status (the SET
# clause is the parameters given besides raw_id). Both compiled once, run on the driver's cursor.
# Nothing holds the row as an ORM object: `stage_raw` stores it by a plain INSERT.
_RAW_TO_LOG = Prebuilt(
    select(RawSubmission.status, RawSubmission.channel)
    .where(RawSubmission.id == bindparam("raw_id"))
    .with_for_update()
)
# Where a write transaction may read the audit chain's head at once (SQLite: its BEGIN took the
# only write lock), the head comes with the raw row, and the event appended last chains to it
# without reading it again.
_RAW_TO_LOG_AND_HEAD = Prebuilt(
    select(RawSubmission.status, RawSubmission.channel, CHAIN_HEAD)
    .where(RawSubmission.id == bindparam("raw_id"))
)
_SET_RAW = PrebuiltWrite(update(RawSubmission).where(RawSubmission.id == bindparam("raw_id")))


def _open_case_for(s: Session, respondent_id: int, children: list[Child]) -> Case | None:
    """The person's open case about the same child (or, with no child named, their open case)."""
    open_cases = s.scalars(
        select(Case)
        .where(Case.respondent_id == respondent_id, Case.state != "closed")
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
    s: Session, ctx: AppContext, submission: Submission, respondent_id: int, at: datetime,
    entry: RegisterEntry | None,
) -> Case:
    """Open a case, and start its clocks. It is stored by one INSERT and its clocks by Core
    (`event_writes`), past the ORM's unit of work, whose flush of them cost more than the rest
    of the intake. The Case returned holds the values stored but is not in the session (the
    intake reads only them; a later query loads the case afresh)."""
    state = entry.stage if entry is not None else "logged"
    values: dict[str, Any] = {
        "reference": next_reference(
            s, ctx.settings.council.reference_prefix, submission.submitted_at),
        "state": state,
        "version": 1,
        "respondent_id": respondent_id,
        "received_at": submission.submitted_at,
        "channel": submission.channel,
        "involvement_from_year": submission.involvement_from_year,
        "involvement_to_year": submission.involvement_to_year,
        "staff_named": list(submission.staff_named),
        "staff_named_keys": sorted({normalise_name(n) for n in submission.staff_named}),
        "created_at": at,
        "updated_at": at,
    }
    if entry is not None:
        values["outcome"] = entry.outcome
        values["learning_review_completed"] = entry.learning_review_completed
        if state == "closed":
            values["closed_at"] = entry.closed_at or submission.submitted_at
    case_id = s.connection().execute(_INSERT_CASE, values).scalar_one()
    case: Case = _CASES.new_instance()
    case.__dict__.update(values, id=case_id)
    if state == "logged":
        # The acknowledgement clock runs from receipt, not from when we got round to logging it.
        clocks.start_clock(s, ctx.settings, ctx.calendar, case, "acknowledge",
                           submission.submitted_at, hold=True)
    else:
        for clock in STAGE_CLOCKS.get(state, ()):
            clocks.start_clock(s, ctx.settings, ctx.calendar, case, clock, at, hold=True)
    # The clocks, in the order started (the case itself has nothing left to write).
    write_case_and_clocks(s, case)
    return case


_INSERT_CASE = insert(Case).returning(Case.id)
_CASES = manager_of_class(Case)


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
        case.involvement_to_year is None
        or submission.involvement_to_year > case.involvement_to_year
    ):
        case.involvement_to_year = submission.involvement_to_year


# A raw row still `new` this long after it arrived was never logged (a crash between the two
# transactions); a failure while logging gives it a reason at once.
HELD_AFTER = timedelta(minutes=10)


def held_filter(now: datetime) -> ColumnElement[bool]:
    """Raw rows stored but never logged: kept `new`, with a failure's reason or left too long."""
    return and_(
        RawSubmission.status == "new",
        or_(RawSubmission.reason.is_not(None), RawSubmission.received_at < now - HELD_AFTER),
    )


def list_quarantine(
    ctx: AppContext, actor_name: str | None, *, include_set_aside: bool = False
) -> list[dict[str, object]]:
    """What could not be read or logged (and, if asked, what was set aside), with the reasons.

    Only the source, the channel and the reason are shown: the content stays in the database.
    """
    check_actor(ctx, actor_name)
    statuses = ("quarantined", "ignored") if include_set_aside else ("quarantined",)
    with ctx.read() as read:
        rows = read.session.execute(
            select(RawSubmission.id, RawSubmission.channel, RawSubmission.source,
                   RawSubmission.received_at, RawSubmission.size, RawSubmission.status,
                   RawSubmission.reason)
            .where(or_(RawSubmission.status.in_(statuses), held_filter(ctx.now())))
            .order_by(RawSubmission.received_at, RawSubmission.id)
        ).all()
    shown = {"quarantined": "quarantined", "ignored": "set_aside", "new": "not_logged"}
    return [
        {"id": r.id, "channel": r.channel, "source": r.source,
         "received_at": r.received_at.isoformat(), "size": r.size,
         "status": shown.get(r.status, r.status),
         "reason": r.reason or "stored but never logged (stopped part-way); will be tried again"}
        for r in rows
    ]
