"""Outbox delivery against a real SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from concerns.db.models import Case, Deadline, Letter, Notification
from concerns.workflows.context import AppContext
from concerns.workflows.outbox import deliver, retry_delay
from concerns.workflows.reminders import sweep
from concerns.workflows.scheduler import run_cycle
from tests.factories import create_staff
from tests.integration.reminder_support import notifications, seed_deadlines

MONDAY = datetime(2026, 6, 8, 9, 30, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Inbox:
    """An aiosmtpd handler keeping what it receives; refuses addresses starting `nobody@`."""

    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def mail(ctx: AppContext) -> Iterator[tuple[AppContext, SmtpServer]]:
    """A staffed context whose SMTP settings point at a port the test controls."""
    server = SmtpServer(free_port())
    ctx.settings = replace(ctx.settings, smtp=replace(ctx.settings.smtp, host="127.0.0.1",
                                                      port=server.port))
    create_staff(ctx)
    yield ctx, server
    server.stop()


def overdue_review(ctx: AppContext, count: int = 1) -> list[str]:
    return seed_deadlines(ctx, count, clock="review", due=date(2026, 6, 3),
                          started=date(2026, 5, 1), owner_role="iat_officer", owner="alex")


def outbox_rows(ctx: AppContext) -> list[Notification]:
    """The outbox rows, detached with their values loaded."""
    with ctx.uow() as uow:
        rows = list(uow.session.scalars(select(Notification).order_by(Notification.id)))
        uow.session.expunge_all()
    return rows


def test_a_reminder_arrives_with_the_right_recipient_and_subject(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    server.start()
    [ref] = overdue_review(ctx)
    result = run_cycle(ctx, MONDAY)
    # The escalation to the manager and the reviewer's digest.
    assert result.delivery.sent == 2
    by_recipient = {tuple(to): message for to, message in server.inbox.received}
    escalation = by_recipient[("morgan@example.gov.uk",)]
    assert escalation["Subject"] == (
        f"Overdue: {ref} – learning review was due Wednesday 03 June 2026"
    )
    assert escalation["From"] == ctx.settings.smtp.sender
    assert escalation["To"] == "morgan@example.gov.uk"
    assert by_recipient[("alex@example.gov.uk",)]["Subject"] == (
        "Overdue today: 1 deadline you own"
    )
    rows = outbox_rows(ctx)
    assert [(r.status, r.attempts, r.last_error, r.claimed_by) for r in rows] == [
        ("sent", 1, None, None)
    ] * 2


def test_with_the_mail_server_down_the_outbox_keeps_it_and_a_later_sweep_sends_it(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    overdue_review(ctx)
    first = run_cycle(ctx, MONDAY)
    assert (first.sweep.created, first.delivery.sent, first.delivery.retrying) == (1, 0, 2)
    waiting = outbox_rows(ctx)
    assert {r.status for r in waiting} == {"pending"}
    assert {r.attempts for r in waiting} == {1}
    assert all(r.last_error and "Connection refused" in r.last_error for r in waiting)
    base = ctx.settings.smtp.retry_base_seconds
    assert {r.send_after for r in waiting} == {MONDAY + timedelta(seconds=base)}

    server.start()
    # Before the back-off has passed nothing is tried; after it, everything goes.
    assert run_cycle(ctx, MONDAY + timedelta(seconds=base - 1)).delivery.sent == 0
    later = run_cycle(ctx, MONDAY + timedelta(seconds=base + 1))
    assert later.sweep.created == 0
    assert later.delivery.sent == 2
    assert len(server.inbox.received) == 2
    assert [(r.status, r.attempts, r.last_error) for r in outbox_rows(ctx)] == [
        ("sent", 2, None)
    ] * 2


def test_retries_back_off_exponentially_and_give_up_after_the_last_attempt(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, _server = mail
    assert [retry_delay(n, 60).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert retry_delay(30, 60) == timedelta(hours=6)
    ctx.settings = replace(ctx.settings, smtp=replace(ctx.settings.smtp, max_attempts=3))
    overdue_review(ctx)
    sweep(ctx, MONDAY)
    moment = MONDAY
    for _ in range(3):
        deliver(ctx, moment)
        moment += timedelta(days=1)
    rows = [r for r in outbox_rows(ctx) if r.kind == "reminder"]
    assert [(r.status, r.attempts) for r in rows] == [("failed", 3)]
    assert rows[0].last_error is not None
    # Nothing more is tried once it has failed; the row stays for staff to see.
    assert deliver(ctx, moment + timedelta(days=1)).claimed == 0


def test_a_refused_recipient_fails_at_once_without_the_address_in_the_error(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    server.start()
    overdue_review(ctx)
    sweep(ctx, MONDAY)
    with ctx.uow() as uow:
        uow.session.execute(update(Notification).values(to_address="nobody@example.gov.uk"))
        uow.commit()
    result = deliver(ctx, MONDAY)
    assert (result.sent, result.failed) == (0, 2)
    for row in outbox_rows(ctx):
        assert row.status == "failed"
        assert row.last_error == "the mail server refused the recipient"
        assert "nobody" not in (row.last_error or "")


def test_a_letter_email_carries_the_signed_pdf_exactly_as_stored(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    server.start()
    [ref] = overdue_review(ctx)
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\r\n%%EOF\n"
    with ctx.uow() as uow:
        case_id = uow.session.scalar(select(Case.id).where(Case.reference == ref))
        assert case_id is not None
        letter = Letter(case_id=case_id, kind="outcome", recipient_name="Bulk Person 1",
                        html="<p>Dear</p>", pdf=pdf, sha256=hashlib.sha256(pdf).hexdigest(),
                        signed_sha256=hashlib.sha256(pdf).hexdigest())
        uow.session.add(letter)
        uow.session.flush()
        uow.session.add(Notification(
            key=f"letter:{letter.id}", kind="letter", case_id=case_id, letter_id=letter.id,
            to_address="person@example.com", subject=f"Your concern {ref}",
            body="Please find our letter attached.", send_after=MONDAY))
        uow.commit()
    assert deliver(ctx, MONDAY).sent == 1
    [(to, message)] = server.inbox.received
    assert to == ["person@example.com"]
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{ref}-outcome.pdf"
    sent = attachment.get_payload(decode=True)
    assert sent == pdf
    assert hashlib.sha256(sent).hexdigest() == hashlib.sha256(pdf).hexdigest()


def test_a_reminder_made_out_of_hours_is_dropped_if_the_clock_is_met_before_it_goes(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    server.start()
    seed_deadlines(ctx, 1, clock="review", due=date(2026, 12, 8), started=date(2026, 11, 2),
                   owner_role="iat_officer", owner="alex")
    sunday = datetime(2026, 12, 6, 15, tzinfo=UTC)
    assert sweep(ctx, sunday).created == 1
    assert deliver(ctx, sunday).claimed == 0  # waits for Monday 09:00
    with ctx.uow() as uow:
        uow.session.execute(update(Deadline).values(status="met"))
        uow.commit()
    result = deliver(ctx, datetime(2026, 12, 7, 9, 5, tzinfo=UTC))
    assert (result.sent, result.cancelled) == (0, 1)
    assert server.inbox.received == []
    assert [n["status"] for n in notifications(ctx)] == ["cancelled"]


def test_two_delivery_runs_at_once_send_each_message_exactly_once(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    server.start()
    overdue_review(ctx, 40)
    assert sweep(ctx, MONDAY).created == 40
    results = []

    def run() -> None:
        results.append(deliver(ctx, MONDAY, batch=5))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    # 40 escalations and the reviewer's digest, each sent once between the three runs.
    assert sum(r.sent for r in results) == 41
    assert len(server.inbox.received) == 41
    subjects = [m["Subject"] for _, m in server.inbox.received]
    assert len(set(subjects)) == 41
