"""Polling the configured mailbox: a maildir on disk and a real IMAP server (dovecot)."""

from __future__ import annotations

from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted

from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput
from concerns.workflows.intake.mailbox import email_sources, ingest_email_files, poll_mailbox
from tests.factories import create_staff
from tests.integration.imap_server import dovecot


def message(n: int, *, subject: str = "Concern", sender: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender or f"Person {n} <person{n}@example.com>"
    msg["To"] = "concernsaboutcare@example.gov.uk"
    msg["Subject"] = subject
    msg["Date"] = "Tue, 20 Apr 2021 10:15:00 +0100"
    msg["Message-ID"] = f"<poll-{n}@example.com>"
    if subject.startswith("Automatic reply"):
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(f"Concern number {n}.")
    return msg.as_bytes()


def make_maildir(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    return root


@pytest.fixture
def staffed(sqlite_ctx: AppContext) -> AppContext:
    create_staff(sqlite_ctx)
    return sqlite_ctx


def test_polling_a_maildir_logs_new_messages_and_moves_them_to_cur(
    staffed: AppContext, tmp_path: Path
) -> None:
    box = make_maildir(tmp_path / "mailbox")
    (box / "new" / "1.host").write_bytes(message(1))
    (box / "new" / "2.host").write_bytes(message(2, subject="Automatic reply: Concern"))
    staffed.settings = replace(staffed.settings, mailbox=replace(
        staffed.settings.mailbox, kind="maildir", path=str(box)))
    results = poll_mailbox(staffed, "ian")
    assert [(r.source, r.status) for r in results] == [
        ("maildir:1.host", "new_case"), ("maildir:2.host", "set_aside")]
    assert sorted(p.name for p in (box / "cur").iterdir()) == ["1.host:2,S", "2.host:2,S"]
    assert list((box / "new").iterdir()) == []
    assert poll_mailbox(staffed, "ian") == []


def test_a_mailbox_path_that_is_not_a_maildir_is_bad_input(
    staffed: AppContext, tmp_path: Path
) -> None:
    staffed.settings = replace(staffed.settings, mailbox=replace(
        staffed.settings.mailbox, kind="maildir", path=str(tmp_path)))
    with pytest.raises(BadInput, match=r"mailbox\.path"):
        poll_mailbox(staffed, "ian")


def test_folders_of_eml_files_and_maildirs_are_read_message_by_message(
    staffed: AppContext, tmp_path: Path
) -> None:
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "a.eml").write_bytes(message(1))
    (tmp_path / "loose" / "notes.txt").write_text("not mail")
    box = make_maildir(tmp_path / "box")
    (box / "cur" / "9.host:2,S").write_bytes(message(9))
    sources = list(email_sources([tmp_path / "loose", box, tmp_path / "missing.eml"]))
    results = list(ingest_email_files(staffed, sources, "ian"))
    assert [r.status for r in results] == ["new_case", "new_case", "quarantined"]
    assert results[2].reason == "(file): no such file or folder"


def test_polling_a_real_imap_server_logs_unseen_mail_once(staffed: AppContext) -> None:
    with dovecot() as server:
        with MailBoxUnencrypted(server.host, server.port).login(
            server.username, server.password
        ) as mb:
            mb.append(message(1), "INBOX")
            mb.append(message(2, subject="Automatic reply: Concern"), "INBOX")
        staffed.settings = replace(staffed.settings, mailbox=replace(
            staffed.settings.mailbox, kind="imap", host=server.host, port=server.port,
            username=server.username, password=server.password, folder="INBOX"))
        results = poll_mailbox(staffed, "ian")
        assert [r.status for r in results] == ["new_case", "set_aside"]
        assert all(r.source.startswith("imap:INBOX/") for r in results)
        # Read once: flagged \Seen on the server, so the next poll finds nothing.
        assert poll_mailbox(staffed, "ian") == []
        with MailBoxUnencrypted(server.host, server.port).login(
            server.username, server.password
        ) as mb:
            assert mb.uids(AND(seen=False)) == []
            # The same message delivered again is recognised by its Message-ID.
            mb.append(b"X-Redelivered: yes\r\n" + message(1), "INBOX")
        again = poll_mailbox(staffed, "ian")
        assert [(r.status, r.reference) for r in again] == [("duplicate", results[0].reference)]


def test_a_wrong_imap_password_is_an_error_without_the_password_in_it(
    staffed: AppContext,
) -> None:
    with dovecot() as server:
        staffed.settings = replace(staffed.settings, mailbox=replace(
            staffed.settings.mailbox, kind="imap", host=server.host, port=server.port,
            username=server.username, password="wrong-password-123"))
        with pytest.raises(Exception) as err:
            poll_mailbox(staffed, "ian")
        assert "wrong-password-123" not in str(err.value)
