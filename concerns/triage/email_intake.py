"""Email (.eml bytes) → `Submission`, a `SetAside` (auto-reply, out-of-office, delivery failure),
or `SubmissionError` naming what could not be read.

Pure: no database, no network. Most concerns reach the IAT forwarded by the communications team
or the executive assistant, inline or as an attached message; the original sender, date and text
become the respondent and the received time, and the forwarders become the route. The raw bytes
are stored by the intake service before this runs, so what is cut or skipped here is never lost.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from concerns.triage.submission import (
    AttachmentData,
    RespondentDetails,
    Submission,
    SubmissionError,
    clean_text,
)

MAX_CONCERN = 100_000
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# Concerns forwarded through the communications team and then the executive assistant nest.
MAX_FORWARD_DEPTH = 5
LONDON = ZoneInfo("Europe/London")

_FORWARD_SUBJECT = re.compile(r"^\s*((fwd?|fw|forward(ed)?)\s*:\s*)+", re.IGNORECASE)
_REPLY_OR_FORWARD_PREFIX = re.compile(r"^\s*((re|fwd?|fw|aw|wg)\s*:\s*)+", re.IGNORECASE)
# Markers that only ever introduce a forward (replies use "Original Message" too, so that one
# counts only with a forward subject or a known forwarder).
_FORWARD_MARKER = re.compile(
    r"^[\s>*_-]*(-{2,}\s*forwarded message\s*-{2,}|begin forwarded message:?"
    r"|-{2,}\s*forwarded by .*?-{2,})[\s*_-]*$",
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(
    r"^[\s>*]*(from|sent|date|to|cc|subject)\s*:\s*(.*?)\s*\**\s*$", re.IGNORECASE
)
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+")
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|auto[- ]?response|out of (the )?office( reply)?"
    r"|autosvar|auto)\s*:",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliverable\s*:|undelivered mail returned to sender|delivery status notification"
    r"|mail delivery (failed|failure|subsystem)|returned mail\s*:|delivery has failed"
    r"|failure notice|message not delivered)",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon")
_C1 = re.compile("[\x80-\x9f]")


@dataclass(frozen=True)
class SetAside:
    """A message that is not a concern (auto-reply, out-of-office, delivery failure)."""

    reason: str
    message_id: str | None = None


@dataclass
class _Read:
    """What one message (outer, attached or inline-forwarded) says."""

    sender_name: str
    sender_email: str | None
    date: datetime | None
    subject: str | None
    text: str
    attachments: list[AttachmentData] = field(default_factory=list)
    attached_messages: list[Message] = field(default_factory=list)
    body: _Body | None = None
    # What the attached messages kept as files say, for the contact's text (searchable).
    attached_texts: list[str] = field(default_factory=list)
    kept: bool = False

    def keep_messages_as_files(self, limit: int, flags: list[str], skip: int = 0) -> None:
        """Attached messages that are not the forwarded original stay with the contact, as
        .eml files, and what each says is added to the contact's text."""
        if self.body is None or self.kept:
            return
        self.kept = True
        for i, inner in enumerate(self.attached_messages[skip:], start=skip + 1):
            try:
                content = inner.as_bytes(policy=policy.default)
            except Exception:
                content = b""
            self.body.add(f"message-{i}.eml", "message/rfc822", content)
            try:
                said = _read_message(inner, limit, flags, "attached")
            except Exception:  # a damaged attached message is still kept as a file
                continue
            who = " ".join(x for x in (said.sender_name, f"<{said.sender_email}>"
                                       if said.sender_email else "") if x)
            heading = f"--- Attached message {i}" + (f" from {who}" if who else "")
            if said.date is not None:
                heading += f", {said.date:%d %B %Y %H:%M}"
            heading += f": {said.subject}" if said.subject else ""
            text = said.full_text()
            if text.strip():
                self.attached_texts.append(f"{heading} ---\n{text}")

    def full_text(self) -> str:
        return "\n\n".join(t for t in (self.text, *self.attached_texts) if t.strip())


def message_id_of(raw: bytes) -> str | None:
    """The Message-ID, read from the headers alone (for spotting the same email twice)."""
    try:
        headers = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    except Exception:  # hostile headers can upset the stdlib parser in many ways
        return None
    return _message_id(headers)


def parse_email(
    raw: bytes,
    *,
    received_at: datetime | None = None,
    max_concern: int = MAX_CONCERN,
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES,
    staff: Collection[str] = (),
) -> Submission | SetAside:
    """Read one email. Raises SubmissionError naming the part at fault, never its content.

    `staff`: the council's own addresses ("ea@council.gov.uk") and domains ("council.gov.uk").
    Mail from them is read as a forward even without a "Fwd:" subject, and when they are given,
    only staff forwards are unwrapped: a member of the public forwarding someone else's email
    is the one raising the concern. With none given, every forward is unwrapped.
    """
    if not raw.strip():
        raise SubmissionError("(file)", "empty")
    flags: list[str] = []
    raw = _repair_headers(raw, flags)
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except Exception:  # the parser is lenient, but hostile input can still break it
        raise SubmissionError("(file)", "not a readable email message") from None
    if not any(_header(msg, name) for name in ("From", "Date", "Message-ID", "Subject",
                                               "Reply-To", "Sender")):
        raise SubmissionError("(file)", "not an email message (no From, Date or Subject header)")
    message_id = _message_id(msg)
    aside = _set_aside_reason(msg)
    if aside:
        return SetAside(aside, message_id)

    if msg.defects:
        flags.append("email: the message is damaged or incomplete (read what could be read)")
    head_end = re.search(rb"\r?\n\r?\n", raw)
    if any(b > 0x7F for b in raw[: head_end.start() if head_end else len(raw)]):
        flags.append("email: headers hold 8-bit text with no character set declared (read in "
                     "the message's own or a detected one)")
    known = {entry.lower().lstrip("@") for entry in staff if entry.strip()}
    current = _read_message(msg, max_attachment_bytes, flags, "email")
    levels = [current]
    route: list[str] = []
    outer_date = current.date
    first_domain = _domain(current.sender_email)
    for depth in range(MAX_FORWARD_DEPTH):
        is_staff = _is_staff(current.sender_email, known)
        if (known or depth > 0) and not (
            is_staff or (depth > 0 and _domain(current.sender_email) == first_domain)
        ):
            # Only staff forward concerns on; a member of the public forwarding someone
            # else's email is the one raising the concern.
            break
        original = _unwrap_forward(current, is_staff, max_attachment_bytes, flags)
        if original is None:
            break
        route.insert(0, current.sender_email or current.sender_name)
        if original.date is None:
            flags.append("forwarded.date: the original date could not be read")
            original.date = current.date
        current = original
        levels.append(current)
    # Messages attached by whoever wrote to us (a member of the public, or inside the original)
    # are kept as files and read; only a staff forward above was unwrapped to its sender.
    current.keep_messages_as_files(max_attachment_bytes, flags)
    attachments = [a for level in levels for a in level.attachments]

    if not current.sender_email and not current.sender_name:
        field_name = "forwarded.from" if route else "from"
        what = "no readable text either" if not current.full_text().strip() else "text is there"
        raise SubmissionError(
            field_name, f"no sender that could be read (From, Reply-To or Sender); {what}")
    name = current.sender_name
    if not name:
        name = _name_from_address(current.sender_email or "")
        flags.append("respondent.name: taken from the email address")

    arrived = _arrival(msg) or received_at or datetime.now(UTC)
    submitted_at = current.date or outer_date
    if submitted_at is None:
        flags.append("date: missing or unreadable, the time received is used")
        submitted_at = received_at or datetime.now(UTC)
    elif submitted_at > arrived:
        # The sender's clock, not ours: a date after the message reached us would move the
        # council's deadlines.
        flags.append("date: the Date header is later than the message reached us; the time it "
                     "arrived is used")
        submitted_at = arrived

    text = _clean_text(current.full_text())
    if len(text) > max_concern:
        flags.append(f"concern: longer than {max_concern} characters, cut (the email is kept)")
        text = text[:max_concern]
    if not text:
        if not attachments:
            raise SubmissionError("body", "no readable text and no attachments (the sender "
                                          "could be read)")
        text = "(no message text: see the attached files)"
        flags.append("body: no text, see attachments")

    plain_subject = _REPLY_OR_FORWARD_PREFIX.sub("", current.subject or "") or current.subject
    subject = _clean_text(plain_subject or "")[:1000] or None
    return Submission(
        channel="email",
        submitted_at=submitted_at,
        respondent=RespondentDetails(name=name[:300], email=current.sender_email),
        concern=text,
        subject=subject,
        route=" → ".join(route)[:320] if route else None,
        message_id=message_id,
        attachments=tuple(attachments),
        flags=tuple(dict.fromkeys(flags)),
    )


# --- headers -------------------------------------------------------------------------------


def _header(msg: Message, name: str) -> str:
    """The first NAME header, decoded as a mail client would show it ("" if none)."""
    values = _headers(msg, name)
    return values[0] if values else ""


def _headers(msg: Message, name: str) -> list[str]:
    """Every NAME header, decoded: encoded words with the usual charset substitutions, raw
    8-bit text in the message's own charsets or a detected one (never replacement marks)."""
    wanted = name.lower()
    try:
        items = [v for k, v in msg.raw_items() if k.lower() == wanted]
    except Exception:
        return []
    hints = _declared_charsets(msg)
    return [_decode_header_value(v if isinstance(v, str) else str(v), hints) for v in items]


def _declared_charsets(msg: Message) -> list[str]:
    found: list[str] = []
    try:
        for part in msg.walk():
            charset = part.get_content_charset()
            if charset and charset not in found:
                found.append(charset)
    except Exception:
        pass
    return found


def _decode_header_value(value: str, hints: list[str]) -> str:
    value = " ".join(value.split())
    raw = value.encode("utf-8", "surrogateescape")
    if any(b > 0x7F for b in raw):
        value = decode_bytes(raw, hints, [])[0]
    if "=?" in value:
        try:
            parts = decode_header(value)
        except Exception:  # a malformed encoded word is shown as written
            parts = [(value, None)]
        value = "".join(
            chunk if isinstance(chunk, str) else decode_bytes(chunk, [charset] if charset
                                                              else hints, [])[0]
            for chunk, charset in parts
        )
    return _fix_c1(" ".join(value.split()))


def _fix_c1(text: str) -> str:
    # Headers labelled Latin-1 but written in Windows-1252 give C1 controls for curly quotes.
    return _C1.sub(lambda m: m.group(0).encode("latin-1").decode("cp1252", "replace"), text)


def _fix_surrogates(text: str) -> str:
    return decode_bytes(text.encode("utf-8", "surrogateescape"), [], [])[0]


# Labels mail programs write for one charset while sending its superset (what every mail client
# does when it reads them), and ASCII labels on 8-bit text.
_SUPERSETS = {
    "gb2312": "gb18030", "euc_cn": "gb18030", "gbk": "gb18030", "cp936": "gb18030",
    "latin_1": "cp1252", "iso8859_1": "cp1252", "ascii": "utf-8", "us_ascii": "utf-8",
    "ks_c_5601_1987": "cp949", "ks_c_5601": "cp949", "euc_kr": "cp949",
    "shift_jis": "cp932", "big5": "big5hkscs", "iso8859_9": "cp1254", "iso8859_11": "cp874",
    "tis_620": "cp874", "iso8859_8": "cp1255", "iso_8859_8_i": "iso8859_8",
}
# Where a detector cannot tell these apart on a short text, a council in England reads
# Windows-1252.
_WESTERN = frozenset({"cp1250", "cp1252", "latin_1", "iso8859_1", "iso8859_2", "iso8859_15",
                      "mac_roman", "mac_latin2", "cp850", "cp437", "ascii"})


def _codec(label: str) -> str | None:
    """The codec to read LABEL's text with: its superset where mail programs send one."""
    own = _own_codec(label)
    return None if own is None else _SUPERSETS.get(own, own)


def _own_codec(label: str) -> str | None:
    label = label.strip().lower().strip('"').replace("-", "_")
    if label in _SUPERSETS:
        return label
    try:
        return codecs.lookup(label).name.replace("-", "_")
    except LookupError:
        return None


def decode_bytes(data: bytes, declared: list[str], flags: list[str],
                 where: str = "body") -> tuple[str, str]:
    """(text, codec): DATA in its declared charset's superset, else UTF-8, else the charset a
    detector finds; a flag says so when the declared one did not fit. Never U+FFFD where the
    bytes decode in some charset."""
    tried: list[str] = []
    for label in declared:
        codec = _codec(label)
        if codec is None:
            flags.append(f"{where}: unknown character set, read as UTF-8 or a detected one")
            continue
        tried.append(codec)
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        own = _own_codec(label) or codec
        if own != codec and _decodes_differently(data, own, text):
            flags.append(f"{where}: labelled {label}, read as {codec} (the label's superset)")
        return text, codec
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if tried:
            flags.append(f"{where}: text was not in its declared character set")
        return text, "utf-8"
    guess = _detect(data)
    if tried:
        flags.append(f"{where}: text was not in its declared character set")
    elif any(b > 0x7F for b in data):
        flags.append(f"{where}: no character set declared, read as {guess}")
    try:
        return data.decode(guess), guess
    except (UnicodeDecodeError, LookupError):
        flags.append(f"{where}: some characters could not be read")
        return data.decode("cp1252", "replace"), "cp1252"


def _decodes_differently(data: bytes, codec: str, text: str) -> bool:
    try:
        return data.decode(codec) != text
    except (UnicodeDecodeError, LookupError):
        return True


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    guess = _codec(best.encoding) if best is not None else None
    if guess is None or guess in _WESTERN:
        try:
            data.decode("cp1252")
            return "cp1252"
        except UnicodeDecodeError:
            return guess or "cp1252"
    return guess


def _message_id(msg: Message) -> str | None:
    value = _header(msg, "Message-ID").strip()
    return value[:998] or None


def _set_aside_reason(msg: Message) -> str | None:
    subject = _header(msg, "Subject")
    sender = parseaddr(_header(msg, "From"))[1].lower()
    content_type = msg.get_content_type()
    report_type = str(msg.get_param("report-type", "") or "").lower()
    if content_type == "multipart/report" and report_type == "delivery-status":
        return "delivery failure"
    if sender.split("@")[0] in _BOUNCE_SENDERS or _BOUNCE_SUBJECT.match(subject):
        return "delivery failure"
    if content_type == "multipart/report" and report_type == "disposition-notification":
        return "read receipt"
    auto_submitted = _header(msg, "Auto-Submitted").lower()
    automatic = (
        (auto_submitted and auto_submitted != "no")
        or _header(msg, "X-Autoreply")
        or _header(msg, "X-Autorespond")
        or _header(msg, "Precedence").lower() == "auto_reply"
    )
    if re.search(r"out of (the )?office", subject, re.IGNORECASE) and (
        automatic or _AUTO_REPLY_SUBJECT.match(subject)
    ):
        return "out-of-office notice"
    if automatic or _AUTO_REPLY_SUBJECT.match(subject):
        return "automatic reply"
    return None


def _address(value: str) -> tuple[str, str | None]:
    """(display name, email) from a From header or a forwarded "From:" line."""
    value = value.strip()
    # Outlook's "Name [mailto:x@y]" and "x@y<mailto:x@y>" forms.
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value, flags=re.IGNORECASE)
    value = re.sub(r"<mailto:[^>]*>", "", value, flags=re.IGNORECASE)
    name, email = parseaddr(value)
    if not email or "@" not in email:
        found = _EMAIL_IN_TEXT.search(value)
        email = found.group(0) if found else ""
        name = value[: found.start()] if found else value
    name = name.strip().strip("\"'<>[]()").strip()
    if "@" in name:
        name = ""
    # "<name@example.com.>": a fully qualified domain's trailing dot.
    email = email.strip().strip("<>").rstrip(".").lower()
    if "@" in email and not _ADDRESS.fullmatch(email):
        email = ""
    if not email and "<" in value:
        # '"Jane Smith" <>' and other empty addresses: the quoted name is still the sender.
        name = value.split("<", 1)[0].strip().strip("\"'").strip()
        if "@" in name or not any(ch.isalpha() for ch in name):
            name = ""
    return " ".join(name.split()), (email if "@" in email else None)


def _is_staff(email: str | None, known: set[str]) -> bool:
    return bool(email) and (email in known or _domain(email) in known)


def _domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1] if email and "@" in email else None


def _name_from_address(email: str) -> str:
    local = email.split("@")[0]
    words = re.split(r"[._+-]+", local)
    name = " ".join(w.capitalize() for w in words if w and not w.isdigit())
    return name or local or "Unknown"


def _arrival(msg: Message) -> datetime | None:
    """When the message reached us: the date of the topmost Received header (our own server's,
    added last), if it has one that reads."""
    for value in _headers(msg, "Received")[:1]:
        _, _, when = value.rpartition(";")
        parsed = parse_mail_date(when) if when.strip() else None
        if parsed is not None:
            return parsed
    return None


_HEADER_NAME = re.compile(rb"^[!-9;-~]+:")
_KNOWN_HEADER = re.compile(
    rb"^(from|to|cc|bcc|subject|date|message-id|reply-to|sender|mime-version|content-[a-z-]+"
    rb"|received|return-path|in-reply-to|references|x-[a-z0-9-]+|delivered-to|thread-[a-z]+"
    rb"|importance|priority|auto-submitted|precedence|list-[a-z-]+|dkim-signature"
    rb"|arc-[a-z-]+|authentication-results):", re.IGNORECASE)


def _repair_headers(raw: bytes, flags: list[str]) -> bytes:
    """Mend the header block the way mail clients read it: one stray line before the headers
    ("---- Original email message ----") is skipped, and a line without indentation between
    two headers is read as the continuation it was meant to be. Everything else is untouched
    (and the stored bytes are never changed)."""
    end = re.search(rb"\r?\n\r?\n", raw)
    head, rest = (raw[: end.start()], raw[end.start():]) if end else (raw, b"")
    newline = b"\r\n" if b"\r\n" in head else b"\n"
    lines = head.split(newline)
    changed = False
    if (len(lines) > 2 and not _HEADER_NAME.match(lines[0]) and not lines[0].startswith(b"From ")
            and _KNOWN_HEADER.match(lines[1]) and _KNOWN_HEADER.match(lines[2])):
        flags.append("email: a line before the headers was skipped")
        lines = lines[1:]
        changed = True
    for i in range(1, len(lines)):
        line = lines[i]
        if not line.strip() or line[:1] in (b" ", b"\t") or _HEADER_NAME.match(line):
            continue
        if any(_KNOWN_HEADER.match(later) for later in lines[i + 1:]):
            lines[i] = b" " + line
            flags.append("email: a header line without indentation was read as a continuation")
            changed = True
    return newline.join(lines) + rest if changed else raw


# --- dates ---------------------------------------------------------------------------------

_WEEKDAYS = re.compile(
    r"\b(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(day|sday|nesday|rsday|urday)?\b\.?,?",
    re.IGNORECASE,
)
_DATE_FORMATS = (
    "%d %B %Y %H:%M:%S", "%d %B %Y %H:%M", "%d %b %Y %H:%M:%S", "%d %b %Y %H:%M",
    "%d %B %Y %I:%M:%S %p", "%d %B %Y %I:%M %p", "%d %b %Y %I:%M %p",
    "%B %d %Y %I:%M:%S %p", "%B %d %Y %I:%M %p", "%b %d %Y %I:%M %p", "%B %d %Y %H:%M",
    "%b %d %Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M", "%d %B %Y", "%d %b %Y", "%d/%m/%Y", "%Y-%m-%d",
)


def parse_mail_date(value: str) -> datetime | None:
    """A Date header or a forwarded "Date:"/"Sent:" line, as an aware datetime (or None).

    Times without a zone were written in England (Europe/London).
    """
    value = value.strip()
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        parsed = None
    if parsed is not None:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON)
    text = _WEEKDAYS.sub(" ", value)
    text = re.sub(r"\bat\b|,", " ", text, flags=re.IGNORECASE)
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    zone: timezone | ZoneInfo = LONDON
    offset = re.search(r"(?:GMT|UTC)?\s*([+-])(\d{2}):?(\d{2})\s*$", text)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        delta = timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3)))
        zone = timezone(sign * delta)
        text = text[: offset.start()]
    else:
        named = re.search(r"\b(BST|GMT|UTC|Z)\s*$", text, re.IGNORECASE)
        if named:
            zone = UTC if named.group(1).upper() in ("UTC", "Z") else LONDON
            text = text[: named.start()]
    text = " ".join(text.split()).replace("a.m.", "AM").replace("p.m.", "PM")
    for fmt in _DATE_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=zone)
    return None


# --- bodies --------------------------------------------------------------------------------


def _sender(msg: Message, flags: list[str], where: str) -> tuple[str, str | None]:
    """The sender as a mail client shows it: the first From that reads as an address, else
    Reply-To or Sender (flagged), else a From with a name only."""
    froms = [_address(v) for v in _headers(msg, "From")]
    for i, (name, email) in enumerate(froms):
        if email:
            if i:
                flags.append(f"{where}.from: the first From header could not be read; a later "
                             "one was used")
            return name, email
    for header in ("Reply-To", "Sender"):
        for value in _headers(msg, header):
            name, email = _address(value)
            if email:
                flags.append(f"{where}.from: no readable From address; the sender was taken "
                             f"from {header}")
                named = next((n for n, _ in froms if n), "")
                return name or named, email
    for name, _ in froms:
        if any(ch.isalpha() for ch in name):
            flags.append(f"{where}.from: no email address could be read, only a name")
            return name, None
    return "", None


def _read_message(msg: Message, limit: int, flags: list[str], where: str) -> _Read:
    name, email = _sender(msg, flags, where)
    date_text = _header(msg, "Date")
    date = parse_mail_date(date_text) if date_text else None
    if date_text and date is None:
        flags.append(f"{where}.date: not a date that could be read")
    body = _Body(limit, flags)
    body.walk(msg, top=True)
    read = _Read(
        sender_name=name,
        sender_email=email,
        date=date,
        subject=_header(msg, "Subject") or None,
        text=body.text(),
        attachments=body.attachments,
        attached_messages=body.messages,
    )
    read.body = body
    return read


class _Body:
    def __init__(self, limit: int, flags: list[str]) -> None:
        self.limit = limit
        self.flags = flags
        self.parts: list[str] = []
        self.attachments: list[AttachmentData] = []
        self.messages: list[Message] = []

    def text(self) -> str:
        return "\n\n".join(p for p in self.parts if p.strip())

    def walk(self, part: Message, top: bool = False) -> None:
        ctype = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        if ctype == "message/rfc822" and not top:
            inner = _inner_message(part)
            if inner is not None:
                self.messages.append(inner)
            return
        if part.get_content_maintype() == "multipart" and not part.is_multipart():
            self._recover_parts(part)
            return
        if part.is_multipart():
            children = _children(part)
            if ctype == "multipart/alternative":
                chosen = _best_alternative(children)
                if chosen is not None:
                    self.walk(chosen)
                return
            for child in children:
                self.walk(child)
            return
        filename = _filename(part)
        if disposition == "attachment" or (filename and not ctype.startswith("text/")):
            self._attach(part)
            return
        if ctype == "text/plain":
            self.parts.append(_decode_text(part, self.flags))
        elif ctype == "text/html":
            self.parts.append(html_to_text(_decode_text(part, self.flags)))
        elif filename or part.get_content_maintype() not in ("multipart", "image"):
            # Unnamed inline images are signature logos; anything else is kept as a file.
            self._attach(part)

    def _recover_parts(self, part: Message) -> None:
        """A multipart whose boundary is missing or not the one its parts use: find the parts
        by their own "--marker" lines, or read the whole body as text, as mail clients do."""
        payload = part.get_payload()
        body = payload if isinstance(payload, str) else ""
        markers = re.findall(r"^--([^\s-][^\s]{3,69}?)(?:--)?[ \t\r]*$", body, re.MULTILINE)
        if markers:
            boundary = max(set(markers), key=markers.count)
            head = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            rebuilt = BytesParser(policy=policy.default).parsebytes(
                head.encode() + body.encode("utf-8", "surrogateescape"))
            if rebuilt.is_multipart():
                self.flags.append("email: the MIME boundary was missing or wrong; the parts "
                                  "were found by their own markers")
                for child in _children(rebuilt):
                    self.walk(child)
                return
        self.flags.append("email: the MIME boundary was missing or wrong; the body was read "
                          "as plain text")
        text = decode_bytes(body.encode("utf-8", "surrogateescape"),
                            [part.get_content_charset() or ""] if part.get_content_charset()
                            else [], self.flags)[0]
        self.parts.append(text)

    def _attach(self, part: Message) -> None:
        index = len(self.attachments) + 1
        ctype = part.get_content_type()
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        content = payload if isinstance(payload, bytes) else b""
        name = _filename(part) or f"attachment-{index}{mimetypes.guess_extension(ctype) or ''}"
        self.add(name, ctype, content)

    def add(self, name: str, ctype: str, content: bytes) -> None:
        index = len(self.attachments) + 1
        if len(content) > self.limit:
            self.flags.append(
                f"attachments[{index}]: larger than {self.limit} bytes, kept only in the raw email"
            )
            return
        self.attachments.append(AttachmentData(filename=name, content_type=ctype, content=content))


def _children(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def _inner_message(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, Message):
        return payload
    return None


def _best_alternative(children: list[Message]) -> Message | None:
    """Plain text where it says something, else HTML, else whatever is there."""
    by_type: dict[str, Message] = {}
    for child in children:
        by_type.setdefault(child.get_content_type(), child)
    plain = by_type.get("text/plain")
    if plain is not None and _decode_text(plain, []).strip():
        return plain
    for child in children:
        if child.get_content_type() == "text/html" or child.is_multipart():
            return child
    return plain or (children[0] if children else None)


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    name = _fix_surrogates(str(name))
    # Never trust a path from outside: keep the last component, printable characters only.
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name[:200] or None


def _decode_text(part: Message, flags: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    declared = (part.get_content_charset() or "").strip().lower()
    return decode_bytes(payload, [declared] if declared else [], flags)[0]


def _clean_text(text: str) -> str:
    # NULs and other control characters cannot be stored (PostgreSQL) and mean nothing.
    text = clean_text(text)
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextFromHTML(HTMLParser):
    """Text of an HTML body: scripts, styles and tags dropped, blocks on their own lines."""

    SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
    BLOCKS = frozenset(
        {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
         "pre", "hr", "table", "ul", "ol", "section", "article", "header", "footer"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "li":
            self.out.append("\n- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(html: str) -> str:
    parser = _TextFromHTML()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is forgiving; this guards against the odd assertion
        pass
    lines = [" ".join(line.split()) for line in "".join(parser.out).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- forwards ------------------------------------------------------------------------------


def _unwrap_forward(
    current: _Read, from_forwarder: bool, limit: int, flags: list[str]
) -> _Read | None:
    """The message inside a forward, or None when `current` is not a forward."""
    subject_says = bool(_FORWARD_SUBJECT.match(current.subject or ""))
    if current.attached_messages and (
        subject_says or from_forwarder or not current.text.strip()
    ):
        # Forwarded as an attachment: the first attached message is the original.
        original = _read_message(current.attached_messages[0], limit, flags, "forwarded")
        if not original.sender_email and not original.sender_name:
            raise SubmissionError("forwarded.from", "the original sender could not be read")
        current.keep_messages_as_files(limit, flags, skip=1)
        return original
    current.keep_messages_as_files(limit, flags)
    return _inline_forward(current, subject_says or from_forwarder, flags)


def _inline_forward(current: _Read, forward_expected: bool, flags: list[str]) -> _Read | None:
    lines = current.text.split("\n")
    marker = _FORWARD_MARKER.search(current.text)
    start = current.text[: marker.end()].count("\n") + 1 if marker else 0
    if not marker and not forward_expected:
        return None
    found = _header_block(lines, start)
    if found is None:
        if marker:
            raise SubmissionError("forwarded.from", "the original sender could not be read")
        return None
    headers, body_start = found
    name, email = _address(headers.get("from", ""))
    if not name and not email:
        raise SubmissionError("forwarded.from", "the original sender could not be read")
    date_text = headers.get("date") or headers.get("sent") or ""
    date = parse_mail_date(date_text) if date_text else None
    return _Read(
        sender_name=name,
        sender_email=email,
        date=date,
        subject=headers.get("subject") or current.subject,
        text="\n".join(lines[body_start:]),
    )


def _header_block(lines: list[str], start: int) -> tuple[dict[str, str], int] | None:
    """The first run of "From:/Sent:/Date:/To:/Subject:" lines at or after `start`.

    Needs a From and a Date or Sent line; returns the headers and where the body begins. Blank
    lines inside the run are allowed (HTML forwards put each header in its own paragraph).
    """
    i = start
    while i < len(lines):
        if not _HEADER_LINE.match(lines[i]):
            i += 1
            continue
        headers: dict[str, str] = {}
        j = i
        last = ""
        while j < len(lines):
            line = lines[j]
            hit = _HEADER_LINE.match(line)
            if hit:
                last = hit.group(1).lower()
                headers.setdefault(last, hit.group(2))
            elif not line.strip():
                following = next((x for x in lines[j + 1 :] if x.strip()), "")
                if not _HEADER_LINE.match(following):
                    break
            elif last in ("to", "cc") and line[:1].isspace():
                headers[last] += " " + line.strip()
            else:
                break
            j += 1
        if "from" in headers and ("date" in headers or "sent" in headers):
            return headers, j
        i = j + 1
    return None
