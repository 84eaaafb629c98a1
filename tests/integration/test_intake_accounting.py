"""Nothing sent to the council is lost or filed on someone else's case, on SQLite and PostgreSQL:
every distinct message's bytes are stored, control characters never reach a stored text, and a
submission whose logging failed waits in the quarantine until the next poll takes it."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from concerns.db.models import Case, Child, Contact, RawSubmission, Respondent, User
from concerns.workflows.context import AppContext
from concerns.workflows.intake.mailbox import poll_mailbox
from concerns.workflows.intake.submissions import ingest_email, ingest_form, list_quarantine
from concerns.workflows.settings import MailboxSettings
from tests.factories import create_staff, form_bytes


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def raw_statuses(ctx: AppContext) -> dict[str, int]:
    with ctx.uow() as uow:
        rows = uow.session.execute(
            select(RawSubmission.status, func.count()).group_by(RawSubmission.status)
        ).all()
    return {status: int(n) for status, n in rows}


SENDERS = ("Jane Smith <jane@example.com>", "Omar Farouk <omar@example.net>",
           "Mei Chen <mei@example.org>")
BODIES = ("My son was let down.", "Nobody called me back.", "The review was never sent.")


def mail(sender: str, body: str, message_id: str, relay: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["Subject"] = "Concern"
    msg["Date"] = "Tue, 20 Apr 2021 10:15:00 +0100"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    # A relay's own Received line: the same message delivered twice has other bytes.
    prefix = f"Received: from mx{relay}.example.gov.uk\r\n".encode() if relay else b""
    return prefix + msg.as_bytes()


messages = st.lists(
    st.tuples(st.sampled_from(SENDERS), st.sampled_from(BODIES),
              st.sampled_from(("<a@x>", "<b@x>", "<c@x>")), st.integers(0, 2)),
    min_size=1, max_size=8,
)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(batch=messages)
def test_every_distinct_message_is_stored_and_accounted_for_when_message_ids_are_reused(
    ctx: AppContext, batch: list[tuple[str, str, str, int]]
) -> None:
    with ctx.uow() as uow:
        # Hypothesis runs every example on the one database of this test.
        first_example = uow.session.scalar(select(User.id).limit(1)) is None
    if first_example:
        create_staff(ctx)
    with ctx.uow() as uow:
        # Message-IDs are reused within an example, not across: start each one afresh.
        uow.session.execute(text("UPDATE raw_submissions SET message_id = NULL"))
        uow.commit()
    before = raw_statuses(ctx)
    with ctx.uow() as uow:
        stored_before = set(uow.session.scalars(select(RawSubmission.content)).all())
    seen: set[bytes] = set()
    for sender, body, message_id, relay in batch:
        raw = mail(sender, body, message_id, relay)
        result = ingest_email(ctx, raw, "gen.eml", "ian")
        seen.add(raw)
        assert result.status in ("new_case", "added_to_case", "duplicate")
        if result.reference is not None:
            # Never reported as received on a case that is not its sender's.
            with ctx.uow() as uow:
                email = uow.session.scalar(
                    select(Respondent.email).join(Case, Case.respondent_id == Respondent.id)
                    .where(Case.reference == result.reference))
            assert email == sender.split("<")[1].rstrip(">")
    after = raw_statuses(ctx)
    added = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    assert added.get("new", 0) == 0
    # Every distinct message's bytes: stored + quarantined + set aside + duplicates.
    assert sum(added.values()) == len(seen - stored_before)
    with ctx.uow() as uow:
        stored = set(uow.session.scalars(select(RawSubmission.content)).all())
    assert seen <= stored


def test_nul_and_control_characters_never_reach_a_stored_text_but_stay_in_the_raw_bytes(
    staffed: AppContext,
) -> None:
    raw = form_bytes(
        name="Jane\x00 Smith\x07", email="jane@example.com", address="1 Example\x00 Street",
        concern="My son\x00 was let down.\x1b\r\nTwice.",
        children=[{"name": "Sam\x00 Smith", "date_of_birth": "2012-03-27"}],
        staff_named=["Pat\x00 Jones"],
    )
    result = ingest_form(staffed, raw, "nul.json", "ian")
    assert result.status == "new_case"
    with staffed.uow() as uow:
        s = uow.session
        contact = s.scalars(select(Contact)).one()
        person = s.scalars(select(Respondent)).one()
        case = s.scalars(select(Case)).one()
        child = s.scalars(select(Child)).one()
        assert contact.concern == "My son was let down.\nTwice."
        assert (person.name, person.address) == ("Jane Smith", "1 Example Street")
        assert child.name == "Sam Smith"
        assert case.staff_named == ["Pat Jones"]
        assert s.scalars(select(RawSubmission.content)).one() == raw
        assert b"\\u0000" in raw


def test_a_nul_in_an_email_is_dropped_from_the_text(staffed: AppContext) -> None:
    raw = mail(SENDERS[0], "Line\x00 one.", "<nul@x>", 0)
    assert ingest_email(staffed, raw, "nul.eml", "ian").status == "new_case"
    with staffed.uow() as uow:
        assert uow.session.scalars(select(Contact.concern)).one() == "Line one."


def _make_logging_fail(ctx: AppContext, fail: bool) -> None:
    """A real database refusal while the contact is written (a trigger), not a stand-in."""
    with ctx.engine.begin() as conn:
        if ctx.engine.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER IF EXISTS refuse_contacts"))
            if fail:
                conn.execute(text(
                    "CREATE TRIGGER refuse_contacts BEFORE INSERT ON contacts "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS refuse_contacts ON contacts"))
            if fail:
                conn.execute(text(
                    "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql"))
                conn.execute(text(
                    "CREATE TRIGGER refuse_contacts BEFORE INSERT ON contacts "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"))


def test_a_submission_whose_logging_failed_waits_in_the_quarantine_and_the_next_poll_logs_it(
    staffed: AppContext, tmp_path: Path,
) -> None:
    box = tmp_path / "mailbox"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True)
    ctx = replace(staffed, settings=replace(
        staffed.settings, mailbox=MailboxSettings(kind="maildir", path=str(box))))
    _make_logging_fail(ctx, True)
    try:
        held = ingest_form(ctx, form_bytes(email="jane@example.com"), "a.json", "ian")
        assert held.status == "quarantined" and held.reason
        assert "tried again" in held.reason
        assert raw_statuses(ctx) == {"new": 1}
        listed = list_quarantine(ctx, "ian")
        assert [(row["status"], row["source"]) for row in listed] == [("not_logged", "a.json")]
    finally:
        _make_logging_fail(ctx, False)
    (box / "new" / "1.eml").write_bytes(mail(SENDERS[1], BODIES[1], "<p@x>", 0))
    results = poll_mailbox(ctx, "ian")
    assert sorted(r.status for r in results) == ["new_case", "new_case"]
    assert raw_statuses(ctx) == {"contact": 2}
    assert list_quarantine(ctx, "ian") == []


def test_a_register_row_with_control_characters_is_stored_clean(
    staffed: AppContext,
) -> None:
    from concerns.workflows.intake.register_import import import_register
    from tests.integration.test_intake_import import register_csv

    # (A NUL byte makes the register reader refuse a CSV file as not text: see sheets.py.)
    row = ["06/04/2021", "Helen\x08 Morgan", "helen@example.com", "Ellie\x07 Morgan",
           "11/02/2009", "First\x0b concern.\x1b", "Logged", "", "No"]
    results = import_register(staffed, register_csv([row]), "register.csv", "morgan")
    assert [r.status for r in results] == ["new_case"]
    with staffed.uow() as uow:
        s = uow.session
        assert s.scalars(select(Contact.concern)).one() == "First concern."
        assert s.scalars(select(Respondent.name)).one() == "Helen Morgan"
        assert s.scalars(select(Child.name)).one() == "Ellie Morgan"
