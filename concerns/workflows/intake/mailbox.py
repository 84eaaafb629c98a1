"""Email from files, folders, maildirs and the configured mailbox (maildir or IMAP).

Each message's bytes are handed to the intake service exactly as they are on disk or on the
server. A message is marked as handled (moved to the maildir's cur/, flagged \\Seen on IMAP) only
after its raw bytes are committed, so a crash never loses one; fetching it again is harmless
because the same bytes are recognised as a duplicate.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput
from concerns.workflows.intake.quarantine import retry_held
from concerns.workflows.intake.submissions import IntakeResult, check_actor, ingest_email_as

# Bigger than any real email with the largest attachment we keep; refused unread.
MAX_EMAIL_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class EmailSource:
    source: str
    path: Path | None = None
    problem: str | None = None


def is_maildir(folder: Path) -> bool:
    return all((folder / sub).is_dir() for sub in ("cur", "new", "tmp"))


def email_sources(paths: Iterable[Path]) -> Iterator[EmailSource]:
    """Each .eml file, each message of a maildir (new/ and cur/), each .eml in a folder tree."""
    for path in paths:
        if path.is_file():
            yield EmailSource(str(path), path)
        elif path.is_dir():
            if is_maildir(path):
                for sub in ("new", "cur"):
                    yield from _files(path / sub, lambda p: not p.name.startswith("."))
            else:
                yield from _files(path, lambda p: p.suffix.lower() == ".eml", recursive=True)
        else:
            yield EmailSource(str(path), None, "(file): no such file or folder")


def _files(
    folder: Path, wanted: Callable[[Path], bool], recursive: bool = False
) -> Iterator[EmailSource]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    for p in sorted(found):
        if p.is_file() and wanted(p):
            yield EmailSource(str(p), p)


def ingest_email_files(
    ctx: AppContext, sources: Iterable[EmailSource], actor_name: str | None
) -> Iterator[IntakeResult]:
    """One result per message, as each is handled (for a progress bar)."""
    actor = check_actor(ctx, actor_name)
    for item in sources:
        if item.path is None:
            yield IntakeResult(item.source, "quarantined", reason=item.problem, field="(file)")
            continue
        if item.path.stat().st_size > MAX_EMAIL_BYTES:
            yield IntakeResult(item.source, "quarantined", field="(file)",
                               reason=f"(file): larger than {MAX_EMAIL_BYTES} bytes, not read")
            continue
        yield ingest_email_as(ctx, item.path.read_bytes(), item.source, actor)


def poll_mailbox(ctx: AppContext, actor_name: str | None) -> list[IntakeResult]:
    """Read the configured mailbox once: new maildir messages, or unseen IMAP messages; first,
    any submission stored earlier but never logged (a failure part-way) is taken again."""
    actor = check_actor(ctx, actor_name)
    box = ctx.settings.mailbox
    if box.kind not in ("maildir", "imap"):
        raise BadInput("mailbox.kind", "expected maildir or imap")
    held = retry_held(ctx, actor)
    if box.kind == "maildir":
        return held + _poll_maildir(ctx, actor)
    return held + _poll_imap(ctx, actor)


def _poll_maildir(ctx: AppContext, actor: str) -> list[IntakeResult]:
    folder = Path(ctx.settings.mailbox.path)
    if not folder.is_absolute():
        folder = ctx.settings.base_dir / folder
    if not is_maildir(folder):
        raise BadInput("mailbox.path", "not a maildir (needs cur/, new/ and tmp/)")
    results: list[IntakeResult] = []
    for path in sorted((folder / "new").iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        source = f"maildir:{path.name}"
        if path.stat().st_size > MAX_EMAIL_BYTES:
            results.append(IntakeResult(source, "quarantined", field="(file)",
                                        reason=f"(file): larger than {MAX_EMAIL_BYTES} bytes"))
            continue
        results.append(ingest_email_as(ctx, path.read_bytes(), source, actor))
        # Maildir's own convention for "seen": move to cur/ with the S flag.
        os.replace(path, folder / "cur" / f"{path.name.split(':')[0]}:2,S")
    return results


def _poll_imap(ctx: AppContext, actor: str) -> list[IntakeResult]:
    from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted, MailMessageFlags

    box = ctx.settings.mailbox
    if not box.host:
        raise BadInput("mailbox.host", "empty: set the IMAP server in config")
    client: MailBox | MailBoxStartTls | MailBoxUnencrypted
    if box.port == 993:
        client = MailBox(box.host, box.port)
    elif _loopback(box.host):
        # A server on this machine (tests, a local relay) needs no transport encryption.
        client = MailBoxUnencrypted(box.host, box.port)
    else:
        client = MailBoxStartTls(box.host, box.port)
    results: list[IntakeResult] = []
    with client.login(box.username, box.password, initial_folder=box.folder) as mb:
        for uid in mb.uids(AND(seen=False)):
            raw = _fetch_raw(mb.client, uid)
            if raw is None:
                continue
            results.append(ingest_email_as(ctx, raw, f"imap:{box.folder}/{uid}", actor))
            mb.flag(uid, MailMessageFlags.SEEN, True)
    return results


def _fetch_raw(client: object, uid: str) -> bytes | None:
    """The message's bytes exactly as the server holds them (BODY.PEEK leaves it unseen)."""
    typ, data = client.uid("FETCH", uid, "(BODY.PEEK[])")  # type: ignore[attr-defined]
    if typ != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
