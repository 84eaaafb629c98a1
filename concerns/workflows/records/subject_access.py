"""Subject access: the bundle a person is entitled to, with third parties redacted.

1. `open_request` records the request on the person's latest case and starts the statutory
   `subject_access` clock (one calendar month, WorkingCalendar.one_calendar_month), audited.
2. The redactions are found: every other person who wrote about one of the same children (their
   name, email, phone, address, postcode) and staff email addresses (staff personal details
   beyond name and role). They are stored by reference (person or user id and field) and read
   when the bundle is built, so this table never copies a third party's details.
3. `review` shows the information officer each redaction, the words it hides and how often;
   `add_redaction` / `set_redaction` add a word of their own or switch one off or on. Each
   change is audited (which redaction, on or off; never the words).
4. `release` builds the ZIP (a readable PDF index, each contact's original text, letters as
   sent, the events that concern the person, deadlines, attachments) with the redactions
   applied, audits the release with the bundle's SHA-256, meets the clock and clears the
   officer's own words.

A letter none of whose words is redacted is included as the exact PDF sent; otherwise a
redacted copy is made from its stored HTML and named as such.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from concerns.db.models import (
    Attachment,
    Case,
    CaseChild,
    Contact,
    Deadline,
    Event,
    Letter,
    Respondent,
    SubjectAccessRequest,
    User,
)
from concerns.letters.pdf import html_to_pdf
from concerns.workflows import clocks
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.records.common import records_officer

CLOCK = "subject_access"
REVIEW = "review"
RELEASED = "released"
THIRD_PARTY_FIELDS = ("name", "email", "phone", "address", "postcode")
MASK = "[redacted: third party]"
MAX_WORDS = 300

_env = Environment(
    loader=PackageLoader("concerns.workflows.records", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def _officer(session: Session, actor_name: str | None) -> str:
    return records_officer(session, actor_name, "subject access")


def _person_ids(session: Session, person_id: int) -> list[int]:
    """The person and any record merged into them."""
    return [person_id, *session.scalars(
        select(Respondent.id).where(Respondent.merged_into_id == person_id))]


def _cases(session: Session, ids: list[int]) -> list[Case]:
    return list(session.scalars(
        select(Case).where(Case.respondent_id.in_(ids)).order_by(Case.received_at)))


def _person(session: Session, person_id: int) -> Respondent:
    person = session.get(Respondent, person_id)
    if person is None or person.merged_into_id is not None:
        raise NotFound(f"no person with id {person_id}")
    if person.anonymised_at is not None:
        raise NotAllowed(f"person {person_id}: anonymised; the register holds nothing of theirs")
    return person


# --- finding the redactions ----------------------------------------------------------------


def _found(session: Session, person: Respondent, cases: list[Case]) -> list[dict[str, Any]]:
    ids = _person_ids(session, person.id)
    children = set(session.scalars(
        select(CaseChild.child_id).where(CaseChild.case_id.in_([c.id for c in cases]))))
    others = session.scalars(
        select(Respondent.id).distinct()
        .join(Contact, Contact.respondent_id == Respondent.id)
        .join(CaseChild, CaseChild.case_id == Contact.case_id)
        .where(CaseChild.child_id.in_(children), Respondent.id.not_in(ids),
               Respondent.anonymised_at.is_(None))
        .order_by(Respondent.id)
    ).all() if children else []
    out: list[dict[str, Any]] = []
    for other in others:
        for field in THIRD_PARTY_FIELDS:
            out.append({"kind": "third_party", "person_id": other, "field": field})
    for user_id in session.scalars(select(User.id).where(User.email != "").order_by(User.id)):
        out.append({"kind": "staff", "user_id": user_id, "field": "email"})
    return out


def _words(session: Session, redaction: dict[str, Any]) -> list[str]:
    """What a redaction hides, read now (a third party's details as they are today)."""
    kind = redaction["kind"]
    if kind == "officer":
        return [str(redaction.get("text") or "")]
    if kind == "third_party":
        other = session.get(Respondent, redaction["person_id"])
        if other is None or other.anonymised_at is not None:
            return []
        value = getattr(other, redaction["field"]) or ""
        if redaction["field"] == "name":
            # The full name, and each part of it long enough not to hide ordinary words.
            return [value, *(p for p in value.split() if len(p) >= 3)]
        return [value]
    user = session.get(User, redaction["user_id"])
    return [user.email] if user is not None and user.email else []


def _own_words(person: Respondent) -> set[str]:
    """The person's own details: never hidden from them, even where a third party shares one
    (a household's postcode or phone)."""
    values = [person.name, person.email, person.phone, person.address, person.postcode,
              *(person.name or "").split()]
    return {v.strip().lower() for v in values if v and v.strip()}


def _pattern(words: list[str], own: set[str] | None = None) -> re.Pattern[str] | None:
    words = sorted({w.strip() for w in words if w and w.strip()
                    and w.strip().lower() not in (own or set())}, key=len, reverse=True)
    if not words:
        return None
    # Whole words only: hiding "Ross" must not hide "across".
    return re.compile(
        "|".join(rf"(?<!\w){re.escape(w)}(?!\w)" for w in words), re.IGNORECASE
    )


# --- the use cases --------------------------------------------------------------------------


def open_request(ctx: AppContext, actor_name: str | None, person_id: int) -> dict[str, Any]:
    """The person's open request (made now, with its clock, if there is none)."""
    with ctx.uow() as uow:
        s = uow.session
        actor = _officer(s, actor_name)
        person = _person(s, person_id)
        existing = s.scalars(select(SubjectAccessRequest).where(
            SubjectAccessRequest.respondent_id == person.id,
            SubjectAccessRequest.status == REVIEW)).first()
        created = existing is None
        if existing is None:
            cases = _cases(s, _person_ids(s, person.id))
            if not cases:
                raise NotFound(f"person {person_id} has no case")
            at = ctx.now()
            latest = cases[-1]
            found = [dict(r, id=i + 1, active=True)
                     for i, r in enumerate(_found(s, person, cases))]
            existing = SubjectAccessRequest(
                respondent_id=person.id, case_id=latest.id, status=REVIEW,
                redactions=found, requested_by=actor, requested_at=at)
            s.add(existing)
            s.flush()
            deadline = clocks.start_month_clock(
                s, ctx.settings, ctx.calendar, latest, CLOCK, at)
            s.flush()
            append_event(s, case_id=latest.id, event="subject_access_requested", actor=actor,
                         at=at, from_state=latest.state, to_state=latest.state,
                         data={"request": existing.id, "person": person.id,
                               "due": deadline.due_date.isoformat(),
                               "redactions_found": len(found)})
        result = _review(s, existing) | {"opened_now": created}
        uow.commit()
    return result


def _request(session: Session, request_id: int) -> SubjectAccessRequest:
    row = session.get(SubjectAccessRequest, request_id)
    if row is None:
        raise NotFound(f"no subject access request {request_id}")
    return row


def _review(session: Session, row: SubjectAccessRequest) -> dict[str, Any]:
    bundle = _collect(session, row, redact=False)
    texts = bundle.all_text()
    person = session.get(Respondent, row.respondent_id)
    own = _own_words(person) if person is not None else set()
    items = []
    for redaction in row.redactions:
        words = [w for w in _words(session, redaction)
                 if w.strip() and w.strip().lower() not in own]
        pattern = _pattern(words)
        items.append({
            "id": redaction["id"], "kind": redaction["kind"],
            "field": redaction.get("field", "words"), "active": redaction["active"],
            "words": words[0] if words else "",
            "occurrences": len(pattern.findall(texts)) if pattern else 0,
        })
    deadline = session.scalars(select(Deadline).where(
        Deadline.case_id == row.case_id, Deadline.clock == CLOCK).order_by(
        Deadline.id.desc())).first()
    return {
        "request": row.id, "person": row.respondent_id, "status": row.status,
        "due": deadline.due_date.isoformat() if deadline else None,
        "cases": [c["reference"] for c in bundle.cases],
        "redactions": items,
        "released_at": row.released_at.isoformat() if row.released_at else None,
        "bundle_sha256": row.bundle_sha256,
    }


def review(ctx: AppContext, actor_name: str | None, request_id: int) -> dict[str, Any]:
    with ctx.read() as read:
        _officer(read.session, actor_name)
        return _review(read.session, _request(read.session, request_id))


def _change(ctx: AppContext, actor_name: str | None, request_id: int,
            change: Any, what: dict[str, Any]) -> dict[str, Any]:
    with ctx.uow() as uow:
        s = uow.session
        actor = _officer(s, actor_name)
        row = _request(s, request_id)
        if row.status != REVIEW:
            raise NotAllowed(f"subject access request {request_id}: already released")
        redactions = [dict(r) for r in row.redactions]
        done = change(redactions)
        row.redactions = redactions
        case = s.get(Case, row.case_id)
        assert case is not None
        append_event(s, case_id=row.case_id, event="subject_access_redaction", actor=actor,
                     at=ctx.now(), from_state=case.state, to_state=case.state,
                     data={"request": row.id, **what, **done})
        result = _review(s, row)
        uow.commit()
    return result


def add_redaction(
    ctx: AppContext, actor_name: str | None, request_id: int, words: str
) -> dict[str, Any]:
    """The officer hides WORDS wherever they appear in the bundle."""
    words = (words or "").strip()
    if len(words) < 2:
        raise BadInput("redact", "give the words to hide (at least two characters)")
    if len(words) > MAX_WORDS:
        raise BadInput("redact", f"longer than {MAX_WORDS} characters")

    def add(redactions: list[dict[str, Any]]) -> dict[str, Any]:
        new_id = max((r["id"] for r in redactions), default=0) + 1
        redactions.append({"id": new_id, "kind": "officer", "text": words, "active": True})
        return {"redaction": new_id}

    return _change(ctx, actor_name, request_id, add, {"action": "added"})


def set_redaction(
    ctx: AppContext, actor_name: str | None, request_id: int, redaction_id: int, active: bool
) -> dict[str, Any]:
    """Switch one redaction off (the words are shown) or on again."""

    def switch(redactions: list[dict[str, Any]]) -> dict[str, Any]:
        for r in redactions:
            if r["id"] == redaction_id:
                r["active"] = active
                return {"redaction": redaction_id}
        raise BadInput("redaction", f"no redaction {redaction_id} on this request")

    return _change(ctx, actor_name, request_id, switch,
                   {"action": "restored" if active else "removed"})


@dataclass(frozen=True)
class Release:
    request: int
    filename: str
    data: bytes
    sha256: str
    summary: dict[str, Any]


def release(ctx: AppContext, actor_name: str | None, request_id: int) -> Release:
    """Build the bundle with the redactions as reviewed, and release it (audited)."""
    with ctx.uow() as uow:
        s = uow.session
        actor = _officer(s, actor_name)
        row = _request(s, request_id)
        if row.status != REVIEW:
            raise NotAllowed(f"subject access request {request_id}: already released")
        at = ctx.now()
        bundle = _collect(s, row, redact=True)
        data = _zip(bundle, at)
        digest = hashlib.sha256(data).hexdigest()
        row.status = RELEASED
        row.released_by = actor
        row.released_at = at
        row.bundle_sha256 = digest
        # The officer's own words were a working aid: not kept once the bundle is out.
        row.redactions = [dict(r, text=None) if r["kind"] == "officer" else r
                          for r in row.redactions]
        case = s.get(Case, row.case_id)
        assert case is not None
        clocks.stop_clocks(s, case, (CLOCK,), at)
        summary = {"request": row.id, "person": row.respondent_id, "sha256": digest,
                   "files": len(bundle.files) + 1, "redactions_applied": bundle.redacted,
                   "cases": [c["reference"] for c in bundle.cases]}
        append_event(s, case_id=row.case_id, event="subject_access_released", actor=actor,
                     at=at, from_state=case.state, to_state=case.state, data=summary)
        uow.commit()
    return Release(request_id, f"subject-access-{request_id}.zip", data, digest, summary)


# --- the bundle -----------------------------------------------------------------------------


@dataclass
class Bundle:
    person: dict[str, Any]
    cases: list[dict[str, Any]]
    files: dict[str, bytes]
    redacted: int = 0

    def all_text(self) -> str:
        parts = [str(v) for v in self.person.values()]
        for case in self.cases:
            for contact in case["contacts"]:
                parts += [contact["subject"] or "", contact["concern"]]
            parts += [e["note"] or "" for e in case["events"]]
            parts += [letter["html"] for letter in case["letters"]]
        return "\n".join(parts)


def _collect(session: Session, row: SubjectAccessRequest, *, redact: bool) -> Bundle:
    person = session.get(Respondent, row.respondent_id)
    assert person is not None
    ids = _person_ids(session, person.id)
    active = [r for r in row.redactions if r["active"]] if redact else []
    pattern = _pattern([w for r in active for w in _words(session, r)], _own_words(person))
    bundle = Bundle(person={}, cases=[], files={})

    def clean(value: str | None) -> str | None:
        if value is None or pattern is None:
            return value
        text, n = pattern.subn(MASK, value)
        bundle.redacted += n
        return text

    bundle.person = {"name": person.name, "email": person.email or "",
                     "phone": person.phone or "", "address": person.address or "",
                     "postcode": person.postcode or ""}
    staff = {u.username: (u.full_name, sorted(u.role_names)) for u in session.scalars(
        select(User))}
    for case in _cases(session, ids):
        contacts = []
        for contact in session.scalars(select(Contact).where(
                Contact.case_id == case.id, Contact.respondent_id.in_(ids))
                .order_by(Contact.received_at)):
            files = []
            for att in session.scalars(select(Attachment).options(undefer(Attachment.content))
                                       .where(Attachment.contact_id == contact.id)):
                name = f"{case.reference}/attachments/{att.id}-{_safe(att.filename)}"
                content = bytes(att.content or b"")
                if pattern is not None and att.content_type.startswith("text/"):
                    content = (clean(content.decode("utf-8", "replace")) or "").encode()
                bundle.files[name] = content
                files.append(name)
            contacts.append({
                "received": contact.received_at.strftime("%d %B %Y %H:%M"),
                "channel": contact.channel, "subject": clean(contact.subject),
                "concern": clean(contact.concern) or "", "attachments": files})
        letters = []
        for letter in session.scalars(select(Letter).options(undefer(Letter.pdf)).where(
                Letter.case_id == case.id).order_by(Letter.id)):
            html = clean(letter.html) or ""
            changed = html != letter.html
            name = f"{case.reference}/letters/{letter.id}-{letter.kind}" + (
                "-redacted-copy.pdf" if changed else ".pdf")
            if redact:
                bundle.files[name] = html_to_pdf(html, case.reference) if changed or not \
                    letter.pdf else bytes(letter.pdf)
            letters.append({"kind": letter.kind, "file": name, "html": html,
                            "sent": letter.sent_at.strftime("%d %B %Y") if letter.sent_at
                            else "not sent", "redacted": changed})
        events = []
        for event in session.scalars(select(Event).where(
                Event.case_id == case.id).order_by(Event.id)):
            name, roles = staff.get(event.actor, (event.actor, []))
            events.append({"at": event.at.strftime("%d %B %Y %H:%M"),
                           "event": event.event.replace("_", " "),
                           "by": f"{name} ({', '.join(r.replace('_', ' ') for r in roles)})"
                           if roles else name,
                           "state": event.to_state or "", "note": clean(event.note)})
        deadlines = [{"clock": d.clock.replace("_", " "), "started": d.started_on.isoformat(),
                      "due": d.due_date.isoformat(), "status": d.status}
                     for d in session.scalars(select(Deadline).where(
                         Deadline.case_id == case.id).order_by(Deadline.id))]
        bundle.cases.append({"reference": case.reference, "state": case.state.replace("_", " "),
                             "received": case.received_at.strftime("%d %B %Y"),
                             "contacts": contacts, "letters": letters, "events": events,
                             "deadlines": deadlines})
    return bundle


def _safe(filename: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:100] or "file"


def _zip(bundle: Bundle, at: datetime) -> bytes:
    html = _env.get_template("subject_access_index.html").render(
        bundle=bundle, generated=at.strftime("%d %B %Y"), mask=MASK)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("index.pdf", html_to_pdf(html))
        for name, data in sorted(bundle.files.items()):
            zf.writestr(name, data)
    return out.getvalue()
