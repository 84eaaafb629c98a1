"""Letters in the lifecycle: made at their events, signed, sent, and never changed once signed.

Hooks (registered with `hooks.on_event`) run inside the event's own transaction:
- the events whose lifecycle row names a letter (`acknowledge`, `request_information`,
  `answer_query`, `offer_complaints_route`, `prepare_letter`, `offer_meeting`) render it once on
  letterhead and store its HTML, PDF and the PDF's SHA-256. The rendering (tens of milliseconds)
  is done beforehand, outside the write lock, by a preparer (`hooks.prepares`); the hook stores
  that PDF if the letter it would make now is the same one, else renders it itself. Letters
  other than the outcome need no signature: when the person gave an email address they go to
  the outbox at once.
- `sign` records who signed, when, and the SHA-256 of the exact stored PDF. A meeting offer the
  director sends herself is signed as it is made, the same way (her signature image, when one
  is configured, over the letter she was shown).
- `send` puts exactly those bytes in the outbox as a PDF attachment, or records the posting.
A signed letter's stored content is locked by a mapper check: any attempt to change it fails.

`render_case_letter` is the use case behind `concerns letters render`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, undefer

from concerns.db.models import (
    Case,
    CaseChild,
    Child,
    Contact,
    Event,
    Letter,
    Notification,
    Respondent,
    UserRole,
)
from concerns.db.prebuilt import Prebuilt
from concerns.letters import (
    FORMATS,
    KINDS,
    LetterContent,
    LetterError,
    Letterhead,
    LetterRenderer,
    Recipient,
    RenderedLetter,
    sha256_hex,
)
from concerns.letters.content import DIRECTOR_SIGNS, SUBJECTS
from concerns.letters.render import html_to_docx
from concerns.workflows import clocks, letter_previews
from concerns.workflows.access.need_to_know import may_read
from concerns.workflows.access.readers import ActingUser, readable_case
from concerns.workflows.audit import append_event
from concerns.workflows.calendar import WorkingCalendar
from concerns.workflows.context import AppContext
from concerns.workflows.errors import (
    BadInput,
    ConcurrentChange,
    NotAllowed,
    NotFound,
    ServiceError,
)
from concerns.workflows.hooks import EventContext, on_event, prepares, run_checks
from concerns.workflows.machine import STEPS

# Event → the kind of letter it makes, read from the lifecycle table.
LETTER_EVENTS: dict[str, str] = {s.event: s.letter for s in STEPS if s.letter}
# Events that make no letter but write the wording of one made later: the reviewer sees the
# outcome letter around her wording (a draft: the director may edit it, and it is dated when
# prepared).
DRAFT_LETTERS: dict[str, str] = {"submit_outcome": "outcome"}
# Letters whose free text is the event's own "Wording in the letter" field, read from the
# lifecycle table (the outcome's is the wording the director authorised). An event's note is
# internal and never printed.
WORDING_FIELD = frozenset(
    s.letter for s in STEPS if s.letter and any(f.name == "wording" for f in s.fields)
)
# The clock whose due date a letter gives the person as "by …".
REPLY_BY_CLOCK = {
    "acknowledgement": "complaints_triage",
    "information_request": "information_wait",
    "complaints_offer": "offer_reply",
}
LETTER_EMAIL = "letter"
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


class LetterLocked(NotAllowed):
    """A signed letter is final: its bytes, hash and signature never change."""


class LetterChanged(ServiceError):
    """The letter about to be made is not the one the member of staff was shown."""

    http_status = 409

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"case {reference}: the letter changed since you saw it; look at it again"
        )


# --- settings → letters ---------------------------------------------------------------------


def templates_dir(ctx: AppContext) -> Path | None:
    folder = ctx.settings.council.letter_templates
    if not folder:
        return None
    path = Path(folder)
    return path if path.is_absolute() else ctx.settings.base_dir / path


def renderer(ctx: AppContext) -> LetterRenderer:
    """The council's letterhead and checked templates; a broken template refuses here."""
    try:
        letterhead = Letterhead.from_council(ctx.settings.council, ctx.settings.base_dir)
        return LetterRenderer(letterhead, templates_dir(ctx))
    except LetterError as exc:
        raise BadInput(exc.field, exc.problem) from None


# --- what a case's letter says --------------------------------------------------------------


def _recipient(respondent: Respondent) -> tuple[Recipient, str]:
    """The person and how the letter is addressed: by post when we have an address."""
    recipient = Recipient(
        name=(respondent.name or "").strip(),
        address=Recipient.address_lines(respondent.address),
        postcode=(respondent.postcode or "").strip(),
        email=(respondent.email or "").strip(),
    )
    return recipient, "post" if recipient.address else "email"


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored moment is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _due(session: Session, case: Case, clock: str) -> date | None:
    return clocks.open_due_dates(session, case).get(clock)


def _due_after(
    ctx: AppContext, session: Session, case: Case, step: Any, at: datetime
) -> Callable[[str], date | None]:
    """A clock's due date as it will be once STEP has fired (the letter's preview and the
    letter itself date their "reply by" alike)."""

    def due_after_event(clock: str) -> date | None:
        if clock in step.starts:
            return clocks.due_if_started(ctx.settings, ctx.calendar, clock, at)
        if clock in step.stops or "*" in step.stops:
            return None
        return _due(session, case, clock)

    return due_after_event


def _last_request(
    session: Session, calendar: WorkingCalendar, case: Case
) -> tuple[date | None, str]:
    """When information was last asked for, and what (the request letter's wording)."""
    row = session.scalars(
        select(Event)
        .where(Event.case_id == case.id, Event.event == "request_information")
        .order_by(Event.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, ""
    return calendar.local_date(_aware(row.at)), str((row.data or {}).get("wording") or "")


# What a letter quotes of the case's contacts and children, read as plain columns on the
# transaction's connection: loading the relationships flushed the event's pending changes
# through the ORM first and made objects the letter never uses (in the write lock, for the
# letter's comparison with the one prepared before it).
_CONCERNS = Prebuilt(
    select(Contact.concern)
    .where(Contact.case_id == bindparam("case_id"))
    .order_by(Contact.received_at, Contact.id)
)
_CHILD_NAMES = Prebuilt(
    select(Child.name)
    .join(CaseChild, CaseChild.child_id == Child.id)
    .where(CaseChild.case_id == bindparam("case_id"))
    .order_by(Child.id)
)


def letter_content(
    ctx: AppContext,
    session: Session,
    case: Case,
    kind: str,
    at: datetime,
    values: dict[str, Any] | None = None,
    due: Callable[[str], date | None] | None = None,
) -> LetterContent:
    """The letter of KIND for CASE as of AT, from the case's own data and the event's VALUES
    (notes are never an input: nothing typed as a note can reach a letter). DUE gives a clock's
    due date (by default the case's open clock of that name, as this transaction sees it)."""
    values = values or {}
    if due is None:

        def due(clock: str) -> date | None:
            return _due(session, case, clock)
    recipient, delivery = _recipient(case.respondent)
    today = ctx.calendar.local_date(at)
    wording = ""
    requested_on = None
    reply_by = due(REPLY_BY_CLOCK[kind]) if kind in REPLY_BY_CLOCK else None
    if kind == "outcome":
        # The wording being written (a draft), else the wording the director authorised.
        wording = str(values.get("wording", case.outcome_wording or ""))
        window = ctx.settings.clock("reply_window")
        reply_by = ctx.calendar.shift(today, window.target, working=window.working)
    elif kind in WORDING_FIELD:
        wording = str(values.get("wording") or "")
    elif kind == "information_chase":
        requested_on, wording = _last_request(session, ctx.calendar, case)
        reply_by = due("information_wait")
    if any(isinstance(obj, (Contact, Child, CaseChild))
           for obj in (*session.new, *session.dirty)):
        session.flush()  # a contact or child this transaction added or changed is quoted too
    conn = session.connection()
    concern = ("\n\n".join(row[0] for row in _CONCERNS.rows(conn, {"case_id": case.id}))
               if kind == "acknowledgement" else "")
    return LetterContent(
        kind=kind,
        reference=case.reference,
        letter_date=today,
        recipient=recipient,
        delivery=delivery,
        received_on=ctx.calendar.local_date(_aware(case.received_at)),
        concern=concern,
        children=tuple(row[0] for row in _CHILD_NAMES.rows(conn, {"case_id": case.id})),
        wording=wording,
        requested_on=requested_on,
        reply_by=reply_by,
        meeting_date=values.get("date"),
    )


def _refused(exc: LetterError, kind: str) -> BadInput:
    if exc.field == "wording" and kind in WORDING_FIELD:
        return BadInput("wording", "Enter the wording in the letter")
    return BadInput(exc.field, exc.problem)


# --- hooks ----------------------------------------------------------------------------------


def _by_phone(ec: EventContext, kind: str) -> bool:
    # A person who gave only a phone number is answered by phone.
    respondent = ec.case.respondent
    return kind != "outcome" and not respondent.address and not respondent.email


def _render(ec: EventContext, content: LetterContent) -> RenderedLetter:
    try:
        return renderer(ec.ctx).letter(content)
    except LetterError as exc:
        raise _refused(exc, content.kind) from None


@prepares(*LETTER_EVENTS)
def render_letter_first(ec: EventContext) -> None:
    """Render the letter before the event's write transaction, from a read of the case as it
    stands: the clocks this event starts are worked out as `start_clock` will store them."""
    kind = LETTER_EVENTS[ec.step.event]
    if _by_phone(ec, kind):
        return
    due_after_event = _due_after(ec.ctx, ec.session, ec.case, ec.step, ec.at)
    content = letter_content(ec.ctx, ec.session, ec.case, kind, ec.at, ec.values, due_after_event)
    made = _render(ec, content)
    ec.prepared["letter"] = (content, made)
    if _signed_as_made(ec, kind):
        ec.prepared["signed_letter"] = (made.sha256, _signed_html(ec, made))


def _signed_as_made(ec: EventContext, kind: str) -> bool:
    """A letter in the director's name that goes as it is made (the meeting offer), made by the
    director herself: she signs it as she sends it. The outcome letter is signed at `sign`; a
    meeting offer the assistant sends carries her name and title, not her signature."""
    if kind not in DIRECTOR_SIGNS or kind == "outcome":
        return False
    role = select(UserRole.role).where(UserRole.user_id == ec.user.id,
                                       UserRole.role == "director").limit(1)
    return ec.session.scalars(role).first() is not None


def _signed_html(ec: EventContext, made: RenderedLetter) -> RenderedLetter | None:
    try:
        return renderer(ec.ctx).signed(made.kind, made.html, ec.case.reference)
    except LetterError as exc:
        raise _refused(exc, made.kind) from None


@on_event(*LETTER_EVENTS)
def make_letter(ec: EventContext) -> None:
    """Store this event's letter, rendered once (before the transaction when it was prepared);
    email it now unless it awaits a signature."""
    kind = LETTER_EVENTS[ec.step.event]
    case = ec.case
    letter_previews.forget_answered(ec.session, case.id, ec.user.id, ec.step.event)
    if _by_phone(ec, kind):
        ec.data["letter"] = "none: no postal or email address, reply by phone"
        return
    content = letter_content(ec.ctx, ec.session, case, kind, ec.at, ec.values)
    prepared = ec.prepared.get("letter")
    if prepared is not None and prepared[0] == content:
        made: RenderedLetter = prepared[1]
    else:
        # Not prepared (or the event came out differently): render now, inside the lock.
        made = _render(ec, content)
    signs = _signed_as_made(ec, kind)
    signed: RenderedLetter | None = None
    if signs:
        # The letter she was shown, with her signature image in its signature block when one
        # is configured (as at `sign`): the hash of the one she read goes in the audit row.
        ready = ec.prepared.get("signed_letter")
        signed = ready[1] if ready is not None and ready[0] == made.sha256 else (
            _signed_html(ec, made))
    seen = ec.letter_seen
    shown = {sha256_hex(x.html.encode("utf-8")) for x in (made, signed) if x is not None}
    if seen is not None and seen not in shown:
        # The case changed between the preview and the sending (an address, a date).
        raise LetterChanged(case.reference)
    if signed is not None:
        ec.data["read_sha256"] = made.sha256
        made = signed
    letter = Letter(
        case_id=case.id,
        kind=kind,
        recipient_name=content.recipient.name,
        html=made.html,
        pdf=made.pdf,
        sha256=made.sha256,
        created_by_id=ec.user.id,
        created_at=ec.at,
    )
    if signs:
        letter.signed_by_id = ec.user.id
        letter.signed_at = ec.at
        letter.signed_sha256 = made.sha256
    emailed = kind != "outcome" and bool(content.recipient.email)
    if emailed:
        # Marked sent as it is stored: one INSERT inside the write lock, not an INSERT and then
        # an UPDATE.
        letter.sent_at, letter.sent_method = ec.at, "email"
    ec.session.add(letter)
    ec.session.flush()
    ec.data.update(letter_id=letter.id, letter_kind=kind, letter_sha256=made.sha256)
    if emailed:
        _queue_email(ec, letter, content.recipient)
        ec.data["letter_sent"] = "email"


@on_event(*DRAFT_LETTERS)
def forget_drafts(ec: EventContext) -> None:
    """The drafts this user looked at before the event: used now."""
    letter_previews.forget_answered(ec.session, ec.case.id, ec.user.id, ec.step.event)


def _signed(ec: EventContext, letter: Letter) -> RenderedLetter | None:
    try:
        return renderer(ec.ctx).signed(letter.kind, letter.html, ec.case.reference)
    except LetterError as exc:
        raise _refused(exc, letter.kind) from None


@prepares("sign")
def sign_letter_first(ec: EventContext) -> None:
    """With a signature image configured, make the signed PDF before the write transaction."""
    letter = _latest(ec.session, ec.case, signed=False)
    if letter is not None:
        ec.prepared["signed"] = (letter.id, letter.sha256, _signed(ec, letter))


@on_event("sign")
def sign_letter(ec: EventContext) -> None:
    """Record the director's signature against the exact bytes of the prepared outcome letter;
    with a signature image configured, those bytes are the letter she read with her signature
    in its signature block (the PDF she read is named in the audit row too)."""
    letter = _latest(ec.session, ec.case, signed=False)
    if letter is None:
        raise NotAllowed(
            f"case {ec.case.reference}: there is no prepared outcome letter to sign "
            "(prepare_letter first)"
        )
    pdf = bytes(letter.pdf or b"")
    digest = sha256_hex(pdf)
    if not pdf or digest != letter.sha256:
        raise ServiceError(
            f"case {ec.case.reference}: letter {letter.id} does not match the SHA-256 stored "
            "when it was made; it was not signed"
        )
    prepared = ec.prepared.get("signed")
    if prepared is not None and prepared[:2] == (letter.id, letter.sha256):
        made: RenderedLetter | None = prepared[2]
    else:
        made = _signed(ec, letter)
    if made is not None:
        ec.data["read_sha256"] = digest
        letter.html, letter.pdf, letter.sha256 = made.html, made.pdf, made.sha256
        digest = made.sha256
    letter.signed_by_id = ec.user.id
    letter.signed_at = ec.at
    letter.signed_sha256 = digest
    ec.data.update(letter_id=letter.id, signed_sha256=digest)


@on_event("send")
def send_letter(ec: EventContext) -> None:
    """Send the signed outcome letter: its exact PDF by email through the outbox, or by post."""
    letter = _latest(ec.session, ec.case, signed=True)
    if letter is None:
        raise NotAllowed(f"case {ec.case.reference}: there is no signed letter to send")
    pdf = bytes(letter.pdf or b"")
    if sha256_hex(pdf) != letter.signed_sha256:
        raise ServiceError(
            f"case {ec.case.reference}: letter {letter.id} no longer matches the SHA-256 "
            "recorded at signing; it was not sent"
        )
    recipient, _ = _recipient(ec.case.respondent)
    method = ec.values["method"]
    if method == "email":
        if not recipient.email:
            raise BadInput("method", "the person gave no email address: send by post")
        _queue_email(ec, letter, recipient)
    elif not recipient.address:
        raise BadInput("method", "the person gave no postal address: send by email")
    letter.sent_at, letter.sent_method = ec.at, method
    ec.data.update(letter_id=letter.id, signed_sha256=letter.signed_sha256)


def _latest(session: Session, case: Case, *, signed: bool) -> Letter | None:
    query = (
        select(Letter)
        .options(undefer(Letter.pdf))
        .where(Letter.case_id == case.id, Letter.kind == "outcome", Letter.sent_at.is_(None))
        .order_by(Letter.id.desc())
        .limit(1)
    )
    letter = session.scalars(query).first()
    if letter is None or (letter.signed_at is not None) != signed:
        return None
    return letter


def _queue_email(ec: EventContext, letter: Letter, recipient: Recipient) -> None:
    """One outbox email per letter (the unique key keeps it so), carrying the stored PDF; the
    caller marks the letter sent."""
    council = ec.ctx.settings.council
    contact = f" or phone {council.phone}" if council.phone else ""
    body = (
        f"Dear {recipient.name}\n\n"
        f"Please find attached our letter about your concern, reference {ec.case.reference}.\n\n"
        "If you cannot open the attachment, or you would like the letter in another format, "
        f"please reply to this email{contact}.\n\n"
        f"{council.team}\n{council.name}\n"
    )
    ec.session.add(
        Notification(
            key=f"letter:{letter.id}",
            kind=LETTER_EMAIL,
            case_id=ec.case.id,
            letter_id=letter.id,
            to_address=recipient.email,
            subject=f"{SUBJECTS[letter.kind]} (reference {ec.case.reference})",
            body=body,
            status="pending",
            send_after=ec.at,
            created_at=ec.at,
        )
    )


# --- a signed letter never changes ----------------------------------------------------------

LOCKED_WHEN_SIGNED = (
    "case_id",
    "kind",
    "recipient_name",
    "html",
    "pdf",
    "sha256",
    "created_by_id",
    "created_at",
    "signed_by_id",
    "signed_at",
    "signed_sha256",
)
LOCKED_WHEN_SENT = ("sent_at", "sent_method")


def _before(state: Any, name: str) -> Any:
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    return history.unchanged[0] if history.unchanged else None


@event.listens_for(Letter, "before_update")
def _signed_letters_never_change(mapper: Mapper[Letter], conn: Connection, target: Letter) -> None:
    state = inspect(target)
    changed = [name for name in LOCKED_WHEN_SIGNED if state.attrs[name].history.has_changes()]
    if _before(state, "signed_sha256") is not None and changed:
        raise LetterLocked(
            f"letter {target.id} is signed: it can never be re-rendered or changed "
            f"(tried to change {', '.join(changed)})"
        )
    sent = [name for name in LOCKED_WHEN_SENT if state.attrs[name].history.has_changes()]
    if _before(state, "sent_at") is not None and sent:
        raise LetterLocked(f"letter {target.id} was sent: its sending cannot be changed")


@event.listens_for(Letter, "before_delete")
def _signed_letters_are_kept(mapper: Mapper[Letter], conn: Connection, target: Letter) -> None:
    if target.signed_sha256 is not None or target.sent_at is not None:
        raise LetterLocked(f"letter {target.id} is signed or sent: it is kept for good")


# --- `concerns letters render` ---------------------------------------------------------------


@dataclass(frozen=True)
class LetterFile:
    reference: str
    kind: str
    format: str
    data: bytes
    media_type: str
    filename: str
    # The stored letter these bytes are (None: a preview made from the case as it is now).
    letter_id: int | None
    sha256: str
    signed: bool


def render_case_letter(
    ctx: AppContext, actor_name: str | None, reference: str, kind: str, fmt: str = "pdf"
) -> LetterFile:
    """The case's letter of KIND in FMT: the stored one exactly as stored, else a preview.

    A signed letter is never re-rendered: its PDF and HTML come back byte for byte, and a Word
    copy (which could be edited) is refused.
    """
    if kind not in KINDS:
        raise BadInput("kind", f"must be one of {', '.join(KINDS)}")
    if fmt not in FORMATS:
        raise BadInput("format", f"must be one of {', '.join(FORMATS)}")
    with ctx.uow() as uow:
        s = uow.session
        _, actor, case = readable_case(s, actor_name, reference)
        may_read(actor, case.state, "letters", case.reference)
        stored = s.scalars(
            select(Letter)
            .options(undefer(Letter.pdf))
            .where(Letter.case_id == case.id, Letter.kind == kind)
            .order_by(Letter.id.desc())
            .limit(1)
        ).first()
        if stored is not None:
            data, digest = _stored_bytes(stored, fmt)
            letter_id, signed = stored.id, stored.signed_at is not None
        else:
            content = letter_content(ctx, s, case, kind, ctx.now())
            try:
                data = renderer(ctx).render(content, fmt)
            except LetterError as exc:
                if exc.field == "wording" and kind in WORDING_FIELD:
                    raise BadInput(
                        "kind",
                        f"no {kind.replace('_', ' ')} letter has been made for this case yet "
                        "(it is made by its event, with --set wording=...)",
                    ) from None
                raise _refused(exc, kind) from None
            digest, letter_id, signed = sha256_hex(data), None, False
        append_event(
            s,
            case_id=case.id,
            event="letter_rendered",
            actor=actor.username,
            at=ctx.now(),
            from_state=case.state,
            to_state=case.state,
            data={"kind": kind, "format": fmt, "letter_id": letter_id, "sha256": digest},
        )
        result = LetterFile(
            reference=case.reference,
            kind=kind,
            format=fmt,
            data=data,
            media_type=MEDIA_TYPES[fmt],
            filename=f"{case.reference}-{kind}.{fmt}",
            letter_id=letter_id,
            sha256=digest,
            signed=signed,
        )
        uow.commit()
    return result


def stored_letter(
    ctx: AppContext, actor_name: str | None, reference: str, letter_id: int, fmt: str = "pdf"
) -> LetterFile:
    """The case's stored letter LETTER_ID exactly as stored (never a preview, never another
    letter of the same kind): what the assistant prints to post."""
    if fmt not in FORMATS:
        raise BadInput("format", f"must be one of {', '.join(FORMATS)}")
    with ctx.uow() as uow:
        s = uow.session
        _, actor, case = readable_case(s, actor_name, reference)
        may_read(actor, case.state, "letters", case.reference)
        letter = s.scalars(
            select(Letter)
            .options(undefer(Letter.pdf))
            .where(Letter.id == letter_id, Letter.case_id == case.id)
        ).first()
        if letter is None:
            raise NotFound(f"case {case.reference} has no letter {letter_id}")
        data, digest = _stored_bytes(letter, fmt)
        append_event(
            s,
            case_id=case.id,
            event="letter_rendered",
            actor=actor.username,
            at=ctx.now(),
            from_state=case.state,
            to_state=case.state,
            data={"kind": letter.kind, "format": fmt, "letter_id": letter.id, "sha256": digest},
        )
        result = LetterFile(
            reference=case.reference,
            kind=letter.kind,
            format=fmt,
            data=data,
            media_type=MEDIA_TYPES[fmt],
            filename=f"{case.reference}-{letter.kind}-{letter.id}.{fmt}",
            letter_id=letter.id,
            sha256=digest,
            signed=letter.signed_at is not None,
        )
        uow.commit()
    return result


def _stored_bytes(letter: Letter, fmt: str) -> tuple[bytes, str]:
    if fmt == "pdf":
        pdf = bytes(letter.pdf or b"")
        expected = letter.signed_sha256 or letter.sha256
        if sha256_hex(pdf) != expected:
            raise ServiceError(f"letter {letter.id} does not match its stored SHA-256")
        return pdf, sha256_hex(pdf)
    if fmt == "html":
        data = letter.html.encode("utf-8")
        return data, sha256_hex(data)
    if letter.signed_at is not None:
        raise LetterLocked(
            f"letter {letter.id} is signed: only its PDF (or HTML) exists now; a Word copy "
            "could be edited, so none is made"
        )
    data = html_to_docx(letter.html)
    return data, sha256_hex(data)


# --- seeing a letter before it goes ------------------------------------------------------------


@dataclass(frozen=True)
class LetterPreview:
    reference: str
    event: str
    kind: str
    html: str
    sha256: str  # of the HTML: the event stores exactly this letter or refuses
    # A draft of a letter made later (the outcome, from the reviewer's wording), not one the
    # event makes: shown, never held to.
    draft: bool = False

    def text(self) -> str:
        """What the letter says, as plain text (for a terminal)."""
        from concerns.letters.text import html_to_text

        return html_to_text(self.html)

    def file(self, fmt: str) -> bytes:
        """The letter as a file: its HTML, or the PDF (or Word file) made from that HTML as
        the event would make it."""
        if fmt == "html":
            return self.html.encode("utf-8")
        if fmt == "pdf":
            from concerns.letters.pdf import html_to_pdf

            return html_to_pdf(self.html, self.reference)
        if fmt == "docx":
            return html_to_docx(self.html)
        raise BadInput("format", f"must be one of {', '.join(FORMATS)}")


def preview_event_letter(
    ctx: AppContext,
    actor_name: str | None,
    reference: str,
    event: str,
    raw_values: dict[str, str] | None = None,
    *,
    expected_version: int | None = None,
) -> LetterPreview | None:
    """The letter EVENT would make now with these values, exactly as it would be stored, for a
    member of staff to read before it goes (for an event that writes a later letter's wording,
    that letter as it would be made today: a draft); None when the event makes no letter.
    Refuses as firing would (role, state, guards, values) and changes nothing on the case.

    It does write one audit row, `letter_previewed`, by design: a preview reads the person's
    name, address and what we tell them, and every view of a case is in the audit trail (as
    `case_viewed` and `letter_rendered` are: docs/operations.md, "The audit trail"); the row
    is also the record that a member of staff saw the letter before it went. The case is read
    in a read-only transaction (the letter rendered outside the write lock); only that row is
    written, in a short transaction of its own. The web's check page and
    `concerns case act --preview` both call this."""
    from concerns.workflows.cases import case_facts
    from concerns.workflows.lifecycle import require_event
    from concerns.workflows.machine import choose_step, next_state, parse_values, value_problem

    require_event(event)
    kind = LETTER_EVENTS.get(event) or DRAFT_LETTERS.get(event)
    if kind is None:
        return None
    draft = event in DRAFT_LETTERS
    try:
        values = parse_values(event, raw_values or {})
    except ValueError as exc:
        key, _, problem = str(exc).partition(": ")
        raise BadInput(key, problem) from None
    with ctx.read() as read:
        s = read.session
        user, actor, case = readable_case(s, actor_name, reference)
        if expected_version is not None and case.version != expected_version:
            raise ConcurrentChange(case.reference)
        at = ctx.now()
        facts = case_facts(s, case, values, today=ctx.calendar.local_date(at))
        try:
            next_state(event, facts, actor, values)
        except PermissionError as exc:
            raise NotAllowed(f"case {case.reference}: {exc}") from None
        respondent = case.respondent
        if kind != "outcome" and not respondent.address and not respondent.email:
            return None  # answered by phone: no letter is made (make_letter says so)
        step = choose_step(event, facts, actor, values)
        # Values only the case can judge are refused now, not after the letter was read.
        wrong = value_problem(step, facts, actor, values)
        if wrong:
            raise BadInput(*wrong)
        run_checks(EventContext(ctx, s, case, step, ActingUser(user.id, user.username), values,
                                None, at, case.state))
        content = letter_content(ctx, s, case, kind, at, values, _due_after(ctx, s, case, step, at))
        try:
            letters = renderer(ctx)
            html = letters.html(content)
        except LetterError as exc:
            raise _refused(exc, kind) from None
        if kind in DIRECTOR_SIGNS and kind != "outcome" and "director" in actor.roles:
            # She signs it as she sends it: shown with her signature, as it will go.
            html = letters.signed_html(html) or html
        digest = sha256_hex(html.encode("utf-8"))
        case_id, state, ref = case.id, case.state, case.reference
    with ctx.uow() as uow:
        append_event(
            uow.session,
            case_id=case_id,
            event="letter_previewed",
            actor=actor.username,
            at=ctx.now(),
            from_state=state,
            to_state=state,
            data={"kind": kind, "event": event, "sha256": digest, "draft": draft},
        )
        uow.commit()
    return LetterPreview(ref, event, kind, html, digest, draft)
