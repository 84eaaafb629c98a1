"""Re-queuing a failed notification once its address is corrected, against a real SMTP server.

Runs on a real SQLite file and on the real PostgreSQL; aiosmtpd refuses `nobody@` addresses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time
from sqlalchemy import select, update

from concerns.db.models import Event, Notification, Respondent, User
from concerns.workflows.audit import verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed, NotFound
from concerns.workflows.intake.submissions import ingest_form
from concerns.workflows.outbox import deliver, retry_notification
from concerns.workflows.reminders import sweep
from tests.factories import act, create_staff
from tests.integration.reminder_support import seed_deadlines
from tests.integration.test_outbox import SmtpServer, free_port

MONDAY = datetime(2026, 6, 8, 9, 30, tzinfo=UTC)
SUNDAY_EVENING = datetime(2026, 6, 7, 20, 0, tzinfo=UTC)
# 09:00 in London (BST) on the Monday after.
MONDAY_OPENING = datetime(2026, 6, 8, 8, 0, tzinfo=UTC)


@pytest.fixture
def mail(ctx: AppContext) -> Iterator[tuple[AppContext, SmtpServer]]:
    server = SmtpServer(free_port())
    ctx.settings = replace(
        ctx.settings, smtp=replace(ctx.settings.smtp, host="127.0.0.1", port=server.port)
    )
    create_staff(ctx)
    server.start()
    yield ctx, server
    server.stop()


def rows(ctx: AppContext) -> list[Notification]:
    with ctx.uow() as uow:
        found = list(uow.session.scalars(select(Notification).order_by(Notification.id)))
        uow.session.expunge_all()
    return found


def set_user_email(ctx: AppContext, username: str, email: str) -> None:
    # What an admin correcting the staff account does.
    with ctx.uow() as uow:
        uow.session.execute(update(User).where(User.username == username).values(email=email))
        uow.commit()


def failed_escalation(ctx: AppContext) -> Notification:
    """The overdue escalation to the IAT manager, refused because her address was wrong."""
    set_user_email(ctx, "morgan", "nobody@example.gov.uk")
    seed_deadlines(ctx, 1, clock="review", due=date(2026, 6, 3), started=date(2026, 5, 1),
                   owner_role="iat_officer", owner="alex")
    sweep(ctx, MONDAY)
    deliver(ctx, MONDAY)
    [escalation] = [r for r in rows(ctx) if r.kind == "reminder"]
    assert escalation.status == "failed"
    return escalation


def retried_events(ctx: AppContext) -> list[Event]:
    with ctx.uow() as uow:
        found = list(uow.session.scalars(
            select(Event).where(Event.event == "notification_retried").order_by(Event.id)
        ))
        uow.session.expunge_all()
    return found


def test_a_failed_reminder_goes_again_to_the_corrected_address(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    failed = failed_escalation(ctx)
    set_user_email(ctx, "morgan", "morgan.reid@example.gov.uk")
    with freeze_time(MONDAY):
        result = retry_notification(ctx, "morgan", failed.id)
    assert result["status"] == "pending" and result["address_changed"] is True
    [again] = [r for r in rows(ctx) if r.id == failed.id]
    assert (again.status, again.attempts, again.last_error, again.claimed_by) == (
        "pending", 0, None, None
    )
    assert again.to_address == "morgan.reid@example.gov.uk"
    assert again.send_after.replace(tzinfo=UTC) == MONDAY

    assert deliver(ctx, MONDAY).sent == 1
    delivered = [to for to, _ in server.inbox.received]
    assert ["morgan.reid@example.gov.uk"] in delivered
    assert [r.status for r in rows(ctx) if r.id == failed.id] == ["sent"]

    [event] = retried_events(ctx)
    assert event.actor == "morgan"
    assert event.data["notification_id"] == failed.id
    assert event.data["previous_attempts"] == 1
    assert event.data["previous_error"] == "the mail server refused the recipient"
    # The audit trail says that the address changed, never what it is.
    assert "example.gov.uk" not in json.dumps(event.data)
    with ctx.uow() as uow:
        assert verify_chain(uow.session).broken_at is None


def test_only_a_failed_notification_may_be_retried(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, _server = mail
    failed = failed_escalation(ctx)
    [digest] = [r for r in rows(ctx) if r.kind != "reminder"]
    assert digest.status == "sent"
    with pytest.raises(NotAllowed, match="is sent: only a failed notification is retried"):
        retry_notification(ctx, "admin", digest.id)
    set_user_email(ctx, "morgan", "morgan@example.gov.uk")
    retry_notification(ctx, "admin", failed.id)
    with pytest.raises(NotAllowed, match="is pending"):
        retry_notification(ctx, "admin", failed.id)
    with pytest.raises(NotFound):
        retry_notification(ctx, "admin", 999_999)
    assert len(retried_events(ctx)) == 1


def test_only_an_admin_or_an_iat_manager_may_retry(mail: tuple[AppContext, SmtpServer]) -> None:
    ctx, _server = mail
    failed = failed_escalation(ctx)
    for user in ("alex", "erin", "dana", "audrey"):
        with pytest.raises(NotAllowed, match="only an admin or an IAT manager"):
            retry_notification(ctx, user, failed.id)
    assert [r.status for r in rows(ctx) if r.id == failed.id] == ["failed"]
    assert retried_events(ctx) == []


def test_a_staff_email_retried_out_of_hours_waits_for_working_hours(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, _server = mail
    failed = failed_escalation(ctx)
    set_user_email(ctx, "morgan", "morgan@example.gov.uk")
    with freeze_time(SUNDAY_EVENING):
        result = retry_notification(ctx, "admin", failed.id)
    assert result["send_after"] == MONDAY_OPENING.isoformat()
    assert deliver(ctx, SUNDAY_EVENING).claimed == 0


def test_a_staff_recipient_without_an_address_is_refused_until_corrected(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, _server = mail
    failed = failed_escalation(ctx)
    set_user_email(ctx, "morgan", "")
    with pytest.raises(NotAllowed, match="no email address or is inactive"):
        retry_notification(ctx, "admin", failed.id)
    assert [r.status for r in rows(ctx) if r.id == failed.id] == ["failed"]


def log_with_email(ctx: AppContext, email: str) -> str:
    form = {
        "submitted_at": "2026-06-01T10:15:00+01:00",
        "channel": "web",
        "respondent": {"name": "Noor Baines", "email": email, "relationship": "parent"},
        "concern": "Nobody told us the review meeting had moved.",
    }
    result = ingest_form(ctx, json.dumps(form).encode(), "retry-test.json", "ian")
    assert result.reference is not None
    return result.reference


def test_a_letter_email_goes_again_to_the_persons_corrected_address(
    mail: tuple[AppContext, SmtpServer],
) -> None:
    ctx, server = mail
    ref = log_with_email(ctx, "nobody@example.org")
    act(ctx, ref, "acknowledge", "alex")
    deliver(ctx, ctx.now())
    [letter_email] = [r for r in rows(ctx) if r.kind == "letter"]
    assert letter_email.status == "failed"

    with ctx.uow() as uow:
        uow.session.execute(update(Respondent).values(email=None))
        uow.commit()
    with pytest.raises(NotAllowed, match="the person now has no email address"):
        retry_notification(ctx, "morgan", letter_email.id)

    with ctx.uow() as uow:
        uow.session.execute(update(Respondent).values(email="noor.baines@example.org"))
        uow.commit()
    with freeze_time(SUNDAY_EVENING):
        result = retry_notification(ctx, "morgan", letter_email.id)
    # A letter to the public is not held back for office hours.
    assert result["send_after"] == SUNDAY_EVENING.isoformat()
    assert result["letter_id"] == letter_email.letter_id
    assert deliver(ctx, SUNDAY_EVENING).sent == 1
    [(to, message)] = server.inbox.received
    assert to == ["noor.baines@example.org"]
    assert ref in str(message["Subject"])
    [event] = retried_events(ctx)
    with ctx.uow() as uow:
        case_ids = set(uow.session.scalars(select(Event.case_id).where(Event.id == event.id)))
    assert case_ids == {letter_email.case_id}
