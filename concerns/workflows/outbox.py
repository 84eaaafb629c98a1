"""The outbox: deliver pending Notification rows by SMTP, safely from several processes.

A delivery run claims a batch (claimed_by / claimed_until, taken with FOR UPDATE SKIP LOCKED on
PostgreSQL and under SQLite's write lock), sends it over one SMTP connection, and records each
outcome. A row whose sending failed stays `pending` with its error and a later `send_after`
(exponential back-off); after `smtp.max_attempts` it becomes `failed`. A process that dies
mid-run leaves its claim to expire, and another process picks the rows up. Nothing is deleted.
"""

from __future__ import annotations

import logging
import os
import smtplib
import socket
import time as timer
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker, undefer

from concerns.db.models import Case, Deadline, Letter, Notification, Respondent, User
from concerns.db.uow import UnitOfWork
from concerns.workflows.access.readers import load_actor
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.reminder_rules import ReminderPolicy, next_sending_moment
from concerns.workflows.reminders import REMINDER, reminder_key_due_date
from concerns.workflows.settings import SmtpSettings

log = logging.getLogger("concerns.outbox")

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
# Longest wait between two attempts, however many there were.
MAX_RETRY_DELAY = timedelta(hours=6)
SMTP_TIMEOUT_SECONDS = 30
# Rows claimed at a time; a claim lasts long enough for every one of them to time out once, so
# a slow mail server never lets a second process take over rows still being sent.
BATCH = 20


def retry_delay(attempts: int, base_seconds: int) -> timedelta:
    """Back-off after ATTEMPTS failed tries: base, 2×base, 4×base, … capped at six hours."""
    delay = timedelta(seconds=base_seconds * 2 ** max(0, attempts - 1))
    return min(delay, MAX_RETRY_DELAY)


def worker_name() -> str:
    """Names this process's claims (host, pid and a random part, no personal data)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "retrying": self.retrying,
            "failed": self.failed,
            "cancelled": self.cancelled,
        }


@dataclass(frozen=True)
class _Outgoing:
    id: int
    attempts: int
    message: EmailMessage | None
    # Why it cannot be sent at all (a permanent failure or a reminder no longer needed).
    refusal: tuple[str, str] | None = None


class _PermanentError(Exception):
    pass


def claim(
    factory: sessionmaker[Session],
    worker: str,
    now: datetime,
    *,
    batch: int = BATCH,
    lease: timedelta | None = None,
) -> list[int]:
    """Claim up to BATCH deliverable rows for WORKER until NOW + LEASE; their ids."""
    if lease is None:
        lease = timedelta(seconds=batch * SMTP_TIMEOUT_SECONDS + 60)
    with UnitOfWork(factory) as uow:
        ids = list(
            uow.session.execute(
                select(Notification.id)
                .where(
                    Notification.status == PENDING,
                    Notification.send_after <= now,
                    or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
                )
                .order_by(Notification.send_after, Notification.id)
                .limit(batch)
                # PostgreSQL: other processes skip these rows instead of waiting; SQLite has
                # one writer at a time (BEGIN IMMEDIATE), which is as safe.
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if ids:
            uow.session.execute(
                update(Notification)
                .where(Notification.id.in_(ids))
                .values(claimed_by=worker, claimed_until=now + lease)
            )
        uow.commit()
    return ids


def deliver(
    ctx: AppContext,
    now: datetime | None = None,
    *,
    worker: str | None = None,
    batch: int = BATCH,
) -> DeliveryResult:
    """Send what is due in the outbox, batch after batch, until nothing is left to claim."""
    started = timer.perf_counter()
    now = now or ctx.now()
    factory, settings = ctx.sessions, ctx.settings
    worker = worker or worker_name()
    result = DeliveryResult()
    while True:
        ids = claim(factory, worker, now, batch=batch)
        if not ids:
            break
        result.claimed += len(ids)
        outgoing = _prepare(factory, settings.smtp, ids, worker)
        _send_batch(factory, settings.smtp, outgoing, worker, now, result)
        if len(ids) < batch:
            break
    result.seconds = timer.perf_counter() - started
    if result.claimed:
        log.info(
            "outbox: claimed=%d sent=%d retrying=%d failed=%d cancelled=%d duration_ms=%.1f",
            result.claimed,
            result.sent,
            result.retrying,
            result.failed,
            result.cancelled,
            result.seconds * 1000,
        )
    return result


def _prepare(
    factory: sessionmaker[Session], smtp: SmtpSettings, ids: list[int], worker: str
) -> list[_Outgoing]:
    out: list[_Outgoing] = []
    with UnitOfWork(factory) as uow:
        session = uow.session
        rows = session.scalars(
            select(Notification)
            .where(Notification.id.in_(ids), Notification.claimed_by == worker)
            .order_by(Notification.id)
        ).all()
        for row in rows:
            refusal = _refusal(session, row)
            if refusal is not None:
                out.append(_Outgoing(row.id, row.attempts, None, refusal))
                continue
            try:
                message = _message(session, smtp, row)
            except _PermanentError as exc:
                out.append(_Outgoing(row.id, row.attempts, None, (FAILED, str(exc))))
                continue
            out.append(_Outgoing(row.id, row.attempts, message))
    return out


def _refusal(session: Session, row: Notification) -> tuple[str, str] | None:
    if not row.to_address:
        return (FAILED, "recipient has no email address")
    if row.kind == REMINDER and row.deadline_id is not None:
        # A reminder made ahead (out of hours) is dropped if the clock was met, paused or
        # moved before it could go.
        deadline = session.get(Deadline, row.deadline_id)
        if (
            deadline is None
            or deadline.status != "running"
            or deadline.due_date != reminder_key_due_date(row.key)
        ):
            return (CANCELLED, "deadline met, paused or moved before sending")
    return None


def _message(session: Session, smtp: SmtpSettings, row: Notification) -> EmailMessage:
    message = EmailMessage()
    try:
        message["From"] = smtp.sender
        message["To"] = row.to_address
        message["Subject"] = row.subject
    except ValueError:
        raise _PermanentError("address or subject cannot be put in an email header") from None
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or None)
    message.set_content(row.body)
    if row.letter_id is not None:
        letter = session.scalars(
            select(Letter).options(undefer(Letter.pdf)).where(Letter.id == row.letter_id)
        ).one_or_none()
        if letter is None or not letter.pdf:
            raise _PermanentError("the letter has no PDF to attach")
        reference = session.scalar(select(Case.reference).where(Case.id == letter.case_id))
        # The signed bytes go out exactly as stored, so the recipient's copy matches the
        # SHA-256 recorded at signing.
        message.add_attachment(
            bytes(letter.pdf),
            maintype="application",
            subtype="pdf",
            filename=f"{reference or 'letter'}-{letter.kind}.pdf",
        )
    return message


def _send_batch(
    factory: sessionmaker[Session],
    smtp: SmtpSettings,
    outgoing: list[_Outgoing],
    worker: str,
    now: datetime,
    result: DeliveryResult,
) -> None:
    outcomes: dict[int, tuple[str, str | None]] = {}
    sendable = [o for o in outgoing if o.message is not None]
    for o in outgoing:
        if o.refusal is not None:
            outcomes[o.id] = o.refusal
    if sendable:
        try:
            with _connect(smtp) as connection:
                for o in sendable:
                    assert o.message is not None
                    outcomes[o.id] = _send_one(connection, smtp, o.message)
        except (OSError, smtplib.SMTPException) as exc:
            # The server is down or dropped us: whatever was not sent waits for a retry.
            reason = _describe(exc)
            for o in sendable:
                outcomes.setdefault(o.id, ("retry", reason))
    _record(factory, smtp, outgoing, outcomes, worker, now, result)


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    connection = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT_SECONDS)
    try:
        if smtp.starttls:
            connection.starttls()
        if smtp.username:
            connection.login(smtp.username, smtp.password)
    except BaseException:
        connection.close()
        raise
    return connection


def _send_one(
    connection: smtplib.SMTP, smtp: SmtpSettings, message: EmailMessage
) -> tuple[str, str | None]:
    try:
        connection.send_message(message, from_addr=smtp.sender)
    except smtplib.SMTPRecipientsRefused:
        return (FAILED, "the mail server refused the recipient")
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            return (FAILED, f"the mail server refused the message ({exc.smtp_code})")
        return ("retry", f"the mail server deferred the message ({exc.smtp_code})")
    return (SENT, None)


def _describe(exc: BaseException) -> str:
    # Class and code only: server replies can echo addresses, which must not be stored as errors.
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{type(exc).__name__} ({exc.smtp_code})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def _record(
    factory: sessionmaker[Session],
    smtp: SmtpSettings,
    outgoing: list[_Outgoing],
    outcomes: dict[int, tuple[str, str | None]],
    worker: str,
    now: datetime,
    result: DeliveryResult,
) -> None:
    with UnitOfWork(factory) as uow:
        for o in outgoing:
            outcome, error = outcomes.get(o.id, ("retry", "not attempted"))
            values: dict[str, object] = {"claimed_by": None, "claimed_until": None}
            if outcome == SENT:
                values.update(status=SENT, sent_at=now, attempts=o.attempts + 1, last_error=None)
                result.sent += 1
            elif outcome == CANCELLED:
                values.update(status=CANCELLED, last_error=error)
                result.cancelled += 1
            elif outcome == FAILED:
                values.update(status=FAILED, attempts=o.attempts + 1, last_error=error)
                result.failed += 1
            else:
                attempts = o.attempts + 1
                if attempts >= smtp.max_attempts:
                    values.update(status=FAILED, attempts=attempts, last_error=error)
                    result.failed += 1
                else:
                    values.update(
                        attempts=attempts,
                        last_error=error,
                        send_after=now + retry_delay(attempts, smtp.retry_base_seconds),
                    )
                    result.retrying += 1
            # Only while we still hold the claim: an expired claim belongs to someone else.
            uow.session.execute(
                update(Notification)
                .where(Notification.id == o.id, Notification.claimed_by == worker)
                .values(**values)
            )
        uow.commit()


OUTBOX_READERS = frozenset({"admin", "iat_manager"})
STATUSES = (PENDING, SENT, FAILED, CANCELLED)


def outbox_status(
    ctx: AppContext, actor_name: str | None, status: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """Counts by status and the latest rows (no addresses, no message text): failures visible."""
    if status is not None and status not in STATUSES:
        raise BadInput("status", f"one of {', '.join(STATUSES)}")
    with ctx.read() as read:
        session = read.session
        _, actor = load_actor(session, actor_name)
        if not actor.roles & OUTBOX_READERS:
            raise NotAllowed("only an admin or an IAT manager may see the outbox")
        counts = dict.fromkeys(STATUSES, 0)
        for name, count in session.execute(
            select(Notification.status, func.count()).group_by(Notification.status)
        ):
            counts[name] = count
        query = (
            select(
                Notification.id,
                Notification.kind,
                Notification.level,
                Notification.status,
                Notification.attempts,
                Notification.last_error,
                Notification.send_after,
                Notification.sent_at,
                Case.reference,
                User.username,
            )
            .outerjoin(Case, Case.id == Notification.case_id)
            .outerjoin(User, User.id == Notification.recipient_user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(Notification.status == status)
        rows = [
            {
                "id": r.id,
                "kind": r.kind,
                "level": r.level,
                "reference": r.reference,
                "to": r.username,
                "status": r.status,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "send_after": r.send_after.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in session.execute(query)
        ]
    return {"counts": counts, "notifications": rows}


def retry_notification(
    ctx: AppContext, actor_name: str | None, notification_id: int
) -> dict[str, Any]:
    """Put a failed notification back in the outbox, to its recipient's address as it is now.

    The address is read again (the staff member's account, or the person's email for a letter)
    because a failure is usually fixed by correcting it. Attempts start afresh; staff emails
    wait for working hours as reminders do, letters to the public go at once.
    """
    with ctx.uow() as uow:
        s = uow.session
        _, actor = load_actor(s, actor_name)
        if not actor.roles & OUTBOX_READERS:
            raise NotAllowed("only an admin or an IAT manager may retry a notification")
        row = s.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"no notification {notification_id}")
        if row.status != FAILED:
            raise NotAllowed(
                f"notification {row.id} is {row.status}: only a failed notification is retried"
            )
        now = ctx.now()
        address = _current_address(s, row)
        send_after = _retry_moment(ctx, s, row, now)
        previous = {"previous_attempts": row.attempts, "previous_error": row.last_error}
        # Only while still failed: of two people retrying it at once, the second is refused.
        done = s.execute(
            update(Notification)
            .where(Notification.id == row.id, Notification.status == FAILED)
            .values(
                status=PENDING,
                attempts=0,
                last_error=None,
                send_after=send_after,
                claimed_by=None,
                claimed_until=None,
                to_address=address,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) != 1:
            raise NotAllowed(f"notification {row.id} was retried by someone else just now")
        data = {
            "notification_id": row.id,
            "kind": row.kind,
            "level": row.level,
            "letter_id": row.letter_id,
            # Whether the address changed, never the address itself.
            "address_changed": address != row.to_address,
            "send_after": send_after.isoformat(),
            **previous,
        }
        append_event(
            s, event="notification_retried", actor=actor.username, at=now, case_id=row.case_id,
            data=data,
        )
        uow.commit()
    return {"id": notification_id, "status": PENDING, **data}


def _current_address(session: Session, row: Notification) -> str:
    """Where the notification goes now: the account's or the person's email as it is today."""
    if row.recipient_user_id is not None:
        user = session.get(User, row.recipient_user_id)
        if user is None or not user.active or not user.email:
            raise NotAllowed(
                f"notification {row.id}: its staff recipient has no email address or is "
                "inactive; correct the account first"
            )
        return user.email
    if row.letter_id is not None:
        email = session.scalar(
            select(Respondent.email)
            .join(Case, Case.respondent_id == Respondent.id)
            .join(Letter, Letter.case_id == Case.id)
            .where(Letter.id == row.letter_id)
        )
        if not email:
            raise NotAllowed(
                f"notification {row.id}: the person now has no email address; "
                "add the corrected one to their details first"
            )
        return email
    return row.to_address


def _retry_moment(ctx: AppContext, session: Session, row: Notification, now: datetime) -> datetime:
    if row.recipient_user_id is None:
        return now
    policy = ReminderPolicy.from_settings(ctx.settings)
    if row.deadline_id is not None:
        clock = session.scalar(select(Deadline.clock).where(Deadline.id == row.deadline_id))
        if clock in policy.immediate_clocks:
            return now
    return next_sending_moment(ctx.calendar, policy, now)
