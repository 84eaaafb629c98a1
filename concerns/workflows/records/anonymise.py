"""Anonymising a closed case: every personal detail erased, the figures and the chain kept.

What stays is what the scrutiny report counts (workflows/reports/scrutiny.py reads rows, not
people): the case, contact, child and person rows themselves with their ids, dates, channels,
involvement years, outcome and flags such as "forwarded" or "learning review completed". What goes
is everything that says who they are or what they wrote: names, contact details, children's
names and birth dates, the concern text, the raw submission bytes, attachments, letters (HTML and
PDF), notes, staff named, outcome wording, personal emails in the outbox, and the personal payload
of every audit row of the case (the chain keeps their salted hashes: workflows/audit.py).

A child also named on another case that is not anonymised keeps their name (that case still
needs it); so does a person with another case that is not anonymised. Both are erased when their
last case is.

After the transaction the database's free space is cleaned (SQLite: VACUUM and a truncating WAL
checkpoint, with secure_delete on every connection; PostgreSQL: VACUUM FULL of the tables
touched), maildir copies of the person's emails are overwritten and removed, and the case goes on
the erased-people list beside the database, which a restore consults (records/backup.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from concerns.db.models import (
    Attachment,
    Case,
    CaseChild,
    CaseConflict,
    Contact,
    Deadline,
    Erasure,
    Escalation,
    Event,
    Letter,
    Notification,
    RawSubmission,
    Respondent,
    SubjectAccessRequest,
)
from concerns.workflows import clocks, letter_previews
from concerns.workflows.audit import append_event, erase_payload
from concerns.workflows.cases import get_case
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.records.common import checked_reason, records_officer
from concerns.workflows.settings import Settings

log = logging.getLogger(__name__)

ANONYMISED = "anonymised"
REMOVED = "[removed]"
# Tables whose rows anonymisation rewrites: PostgreSQL's VACUUM FULL rewrites just these.
TOUCHED_TABLES = (
    "cases", "contacts", "attachments", "raw_submissions", "letters", "notifications",
    "escalations", "deadlines", "events", "children", "respondents",
)


@dataclass
class Erased:
    """What one anonymisation did (counts only: no personal data)."""

    reference: str
    contacts: int = 0
    attachments: int = 0
    raw_submissions: int = 0
    letters: int = 0
    notifications: int = 0
    audit_rows: int = 0
    children_erased: int = 0
    children_kept: int = 0  # still named on another case
    person_erased: bool = False
    files_removed: int = 0
    maildir_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out.pop("maildir_files")
        return out


def _opaque_sha256() -> str:
    # Keeps raw_submissions' (channel, sha256) unique without keeping a hash of the person's bytes.
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def erase_case(session: Session, case: Case, at: datetime, actor: str) -> Erased:
    """Erase CASE's personal data in the caller's transaction (no audit row, no commit)."""
    done = Erased(case.reference)
    contacts = list(session.scalars(select(Contact).where(Contact.case_id == case.id)))
    raw_ids = {c.raw_submission_id for c in contacts if c.raw_submission_id is not None}
    # A resent message's own bytes (intake status `duplicate`) belong to the first one's contact.
    raw_ids |= set(session.scalars(
        select(RawSubmission.id).where(RawSubmission.duplicate_of_id.in_(raw_ids))))
    for contact in contacts:
        contact.subject = None
        contact.concern = ""
        # Scrutiny counts forwarded contacts; who forwarded it is not kept.
        contact.route = REMOVED if contact.route is not None else None
        contact.flags = []
        for attachment in session.scalars(
            select(Attachment).where(Attachment.contact_id == contact.id)
        ):
            attachment.filename = REMOVED
            attachment.content = b""
            attachment.sha256 = ""
            done.attachments += 1
    done.contacts = len(contacts)
    for raw in session.scalars(select(RawSubmission).where(RawSubmission.id.in_(raw_ids))):
        if raw.source.startswith("maildir:"):
            done.maildir_files.append(raw.source.removeprefix("maildir:"))
        raw.content = b""
        raw.source = REMOVED
        raw.message_id = None
        raw.reason = None
        raw.sha256 = _opaque_sha256()
        done.raw_submissions += 1
    # A signed letter never changes through the ORM (letters_service's guard); erasure is the
    # one lawful exception, so it goes round the guard with a bulk UPDATE. Its hashes stay.
    result = session.execute(
        update(Letter).where(Letter.case_id == case.id)
        .values(recipient_name=REMOVED, html="", pdf=None)
        .execution_options(synchronize_session=False)
    )
    done.letters = int(getattr(result, "rowcount", 0))
    # Emails to the person (letters); staff reminders carry only the reference.
    for note in session.scalars(
        select(Notification).where(
            Notification.case_id == case.id, Notification.recipient_user_id.is_(None)
        )
    ):
        note.to_address = REMOVED
        note.subject = REMOVED
        note.body = ""
        note.last_error = None
        done.notifications += 1
    for escalation in session.scalars(select(Escalation).where(Escalation.case_id == case.id)):
        escalation.to = REMOVED
        escalation.note = None
    for deadline in session.scalars(select(Deadline).where(Deadline.case_id == case.id)):
        _erase_extension_reasons(deadline)
    # Words of the concern that named (or seemed to name) staff, and the manager's reasons.
    for conflict in session.scalars(select(CaseConflict).where(CaseConflict.case_id == case.id)):
        conflict.mention = REMOVED
        conflict.reason = None
    for row in session.scalars(
        select(Event).where(Event.case_id == case.id, Event.erased_at.is_(None))
    ):
        erase_payload(row, at)
        done.audit_rows += 1
    clocks.stop_clocks(session, case, ("*",), at)
    letter_previews.forget_case(session, case.id)
    case.staff_named = []
    case.staff_named_keys = []
    case.legal_comment = None
    case.outcome_summary = None
    case.outcome_wording = None
    case.retention_state = ANONYMISED
    case.retention_reason = None
    case.retention_review_on = None
    case.anonymised_at = at
    session.flush()
    _erase_children(session, case, done)
    _erase_person(session, case.respondent_id, at, done)
    session.add(Erasure(case_id=case.id, reference=case.reference,
                        respondent_id=case.respondent_id, actor=actor, at=at))
    return done


def _erase_extension_reasons(deadline: Deadline) -> None:
    if not deadline.extended_reason and not deadline.explanation.get("extensions"):
        return
    explanation = dict(deadline.explanation)
    reasons = [e.get("reason", "") for e in explanation.get("extensions", [])]
    explanation["extensions"] = [
        dict(e, reason=REMOVED) for e in explanation.get("extensions", [])
    ]
    text_ = str(explanation.get("text", ""))
    for reason in reasons:
        if reason:
            text_ = text_.replace(f"({reason})", f"({REMOVED})")
    explanation["text"] = text_
    deadline.explanation = explanation
    deadline.extended_reason = REMOVED if deadline.extended_reason else None


def _live_cases_of_child(session: Session, child_id: int) -> int:
    return len(
        session.scalars(
            select(Case.id)
            .join(CaseChild, CaseChild.case_id == Case.id)
            .where(CaseChild.child_id == child_id, Case.anonymised_at.is_(None))
        ).all()
    )


def _erase_children(session: Session, case: Case, done: Erased) -> None:
    for child in case.children:
        if _live_cases_of_child(session, child.id):
            done.children_kept += 1
            continue
        child.name = ""
        child.name_key = ""
        child.date_of_birth = None
        done.children_erased += 1


def _erase_person(session: Session, respondent_id: int, at: datetime, done: Erased) -> None:
    live = session.scalars(
        select(Case.id).where(Case.respondent_id == respondent_id, Case.anonymised_at.is_(None))
    ).first()
    if live is not None:
        return
    # The person, and any record merged into them (it holds their earlier details).
    people = session.scalars(
        select(Respondent).where(
            (Respondent.id == respondent_id) | (Respondent.merged_into_id == respondent_id)
        )
    ).all()
    for person in people:
        person.name = ""
        person.email = None
        person.phone = None
        person.address = None
        person.postcode = None
        person.name_key = ""
        person.name_block = ""
        person.email_key = None
        person.phone_key = None
        person.postcode_key = None
        person.anonymised_at = at
    # Words an officer typed while reviewing a subject access bundle for them.
    for request in session.scalars(
        select(SubjectAccessRequest).where(
            SubjectAccessRequest.respondent_id.in_([p.id for p in people]))
    ):
        request.redactions = [dict(r, text=None) if r.get("kind") == "officer" else r
                              for r in request.redactions]
    # The people-merge audit rows without a case name both records in their note.
    for row in session.scalars(
        select(Event).where(
            Event.case_id.is_(None), Event.event.like("people_%"), Event.erased_at.is_(None)
        )
    ):
        data = row.data or {}
        ids = {data.get(k) for k in ("kept", "absorbed", "from", "restored", "new")}
        ids |= set(data.get("people") or [])
        if ids & {p.id for p in people}:
            erase_payload(row, at)
            done.audit_rows += 1
    done.person_erased = True


# --- the use case ---------------------------------------------------------------------------


def anonymise_case(
    ctx: AppContext, actor_name: str | None, reference: str, reason: str
) -> dict[str, Any]:
    """Anonymise one closed case now (an erasure request, or a case the schedule destroys)."""
    reason = checked_reason(reason, "why this case is anonymised now")
    with ctx.uow() as uow:
        s = uow.session
        actor = records_officer(s, actor_name, "anonymising a case")
        case = get_case(s, reference)
        _check_may_anonymise(case)
        at = ctx.now()
        done = erase_case(s, case, at, actor)
        append_event(
            s, case_id=case.id, event="case_anonymised", actor=actor, at=at,
            from_state=case.state, to_state=case.state, data=done.to_dict(), note=reason,
        )
        ref, case_id, respondent_id = case.reference, case.id, case.respondent_id
        uow.commit()
    record_erasure(ctx.settings, case_id, ref, respondent_id, at)
    done.files_removed = remove_maildir_files(ctx.settings, done.maildir_files)
    clean_free_space(ctx.engine)
    return done.to_dict()


def _check_may_anonymise(case: Case) -> None:
    if case.anonymised_at is not None:
        raise NotAllowed(f"case {case.reference}: already anonymised")
    if case.state != "closed":
        raise NotAllowed(f"case {case.reference}: only a closed case may be anonymised")
    if case.retention_state == "retain":
        until = case.retention_review_on.isoformat() if case.retention_review_on else "-"
        raise NotAllowed(
            f"case {case.reference}: on retain until {until}; decide 'review' first to lift it"
        )


# --- outside the transaction: the list, the files, the free space -------------------------------


def erasure_log_path(settings: Settings) -> Path:
    path = Path(settings.records.erasure_log)
    return path if path.is_absolute() else settings.base_dir / path


def record_erasure(
    settings: Settings, case_id: int, reference: str, respondent_id: int, at: datetime
) -> None:
    """Append to the erased-people list (ids and references only: nothing about the person)."""
    path = erasure_log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"case_id": case_id, "reference": reference,
                       "respondent_id": respondent_id, "at": at.isoformat()})
    with path.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_erasure_log(settings: Settings) -> list[dict[str, Any]]:
    path = erasure_log_path(settings)
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def _maildir(settings: Settings) -> Path:
    folder = Path(settings.mailbox.path)
    return folder if folder.is_absolute() else settings.base_dir / folder


def remove_maildir_files(settings: Settings, names: list[str]) -> int:
    """Overwrite and unlink the maildir's copies of the person's emails (new/ or cur/)."""
    if not names or settings.mailbox.kind != "maildir":
        return 0
    folder = _maildir(settings)
    removed = 0
    for name in names:
        stem = name.split(":")[0]
        if not stem or "/" in stem or stem.startswith("."):
            continue
        for sub in ("new", "cur"):
            for path in (folder / sub).glob(f"{stem}*"):
                if path.is_file() and path.name.split(":")[0] == stem:
                    _overwrite_and_unlink(path)
                    removed += 1
    return removed


def _overwrite_and_unlink(path: Path) -> None:
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.write(b"\0" * size)
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def clean_free_space(engine: Engine) -> None:
    """Make erased bytes unreadable in the database files, not just unreferenced."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            # Outside any transaction: VACUUM rebuilds the file from live rows only; the
            # truncating checkpoint then drops the write-ahead log that held the old pages.
            raw.driver_connection.execute("PRAGMA secure_delete=ON")  # type: ignore[union-attr]
            raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
            busy = raw.driver_connection.execute(  # type: ignore[union-attr]
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).fetchone()[0]
            if busy:
                # A reader (the web app) held the log open: the old pages stay in it until the
                # next checkpoint, which SQLite runs on its own as writes go on.
                log.warning("free-space clean-up: the write-ahead log was busy; it is cleared "
                            "at the next checkpoint")
        finally:
            raw.close()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TOUCHED_TABLES:
            conn.execute(text(f'VACUUM FULL "{table}"'))
