"""Records tests' shared data: a person with two closed cases, their child, an emailed concern
with an attachment from a maildir, and a second person the anonymisation must leave alone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, MetaData, select

from concerns.workflows.context import AppContext
from concerns.workflows.intake.mailbox import poll_mailbox
from tests.factories import act, log_concern, walk_to_signoff

# Everything of Zebedee's that must disappear, in the forms it is stored (lower-cased).
ZEBEDEE = {
    "name": "zebedee",
    "surname": "quartermaine",
    "email": "zebedee.q@example.org",
    "phone": "998877",
    "address": "wisteria",
    "postcode": "hr6 8xy",
    "postcode key": "hr68xy",
    "child": "philomena",
    "concern": "brannigan",
    "concern, emailed": "tuesday placement",
    "attachment": "marmalade-sandwich",
    "review note": "ledger of visits",
    "escalation": "sibling in kettering",
}
# Another person's details, which must stay.
OTHER = {"name": "ottoline fairweather", "concern": "the respite carers kept changing"}


@dataclass
class Register:
    first: str  # Zebedee's case that went through review, letters and sign-off
    second: str  # Zebedee's emailed concern, with an attachment, answered at once
    other: str
    maildir: Path


def make_maildir(root: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def zebedee_email() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Zebedee Quartermaine <zebedee.q@example.org>"
    msg["To"] = "concernsaboutcare@example.gov.uk"
    msg["Subject"] = "About Philomena again"
    msg["Date"] = "Tue, 10 Nov 2026 10:15:00 +0000"
    msg["Message-ID"] = "<zq-2@example.org>"
    msg.set_content(
        "Philomena was moved after the Tuesday placement meeting and nobody told me.\n"
        "Call me on 01432 998877. 17 Wisteria Lane, Leominster HR6 8XY.\n"
    )
    msg.add_attachment(b"Notes: marmalade-sandwich meeting with Brannigan.",
                       maintype="text", subtype="plain", filename="quartermaine-notes.txt")
    return msg.as_bytes()


def build_register(ctx: AppContext, base: Path) -> Register:
    """Staff must exist. Two closed cases of Zebedee's and one open case of another person."""
    first = log_concern(
        ctx, name="Zebedee Quartermaine", email="zebedee.q@example.org", phone="01432 998877",
        address="17 Wisteria Lane, Leominster", postcode="HR6 8XY",
        children=[{"name": "Philomena Quartermaine", "date_of_birth": "2009-03-14"}],
        staff_named=["Brannigan"],
        concern="Philomena's social worker Brannigan never returned my calls.",
    )
    walk_to_signoff_with_notes(ctx, first)
    other = log_concern(
        ctx, name="Ottoline Fairweather", email="ottoline@example.net",
        concern="The respite carers kept changing.",
        children=[{"name": "Barnaby Fairweather", "date_of_birth": "2012-07-01"}],
    )
    box = make_maildir(base / "var" / "mailbox")
    (box / "new" / "1700000000.zq.host").write_bytes(zebedee_email())
    ctx.settings = replace(ctx.settings, mailbox=replace(
        ctx.settings.mailbox, kind="maildir", path=str(box)))
    [result] = poll_mailbox(ctx, "ian")
    assert result.status == "new_case" and result.reference, result
    second = result.reference
    act(ctx, second, "answer_query", "alex",
        wording="Zebedee, we have looked into the Tuesday placement.")
    return Register(first, second, other, box)


def walk_to_signoff_with_notes(ctx: AppContext, reference: str) -> None:
    walk_to_signoff(ctx, reference)
    act(ctx, reference, "return_for_changes", "dana", "Mention the ledger of visits.")
    act(ctx, reference, "add_review_note", "alex", "A ledger of visits for Philomena.",
        kind="records_examined")
    act(ctx, reference, "raise_escalation", "alex", "Sibling in Kettering at risk.",
        severity="safeguarding", to="MASH about Zebedee Quartermaine's household")
    act(ctx, reference, "resolve_escalation", "morgan", "Sibling in Kettering referred.")
    act(ctx, reference, "submit_outcome", "alex", summary="Zebedee was let down by Brannigan.",
        wording="Dear Zebedee Quartermaine, we are sorry about Philomena.")
    act(ctx, reference, "authorise", "dana")
    act(ctx, reference, "prepare_letter", "erin")
    act(ctx, reference, "sign", "dana")
    act(ctx, reference, "send", "erin", method="email")
    act(ctx, reference, "close", "morgan", reason="The person said the outcome settles it.")


def found_in_database(engine: Engine, needles: dict[str, str]) -> list[str]:
    """Every (table.column: what) where a needle is found, in every column of every table
    (text, JSON and binary alike: each value is read as text or as bytes)."""
    meta = MetaData()
    meta.reflect(engine)
    hits: list[str] = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    haystack = _haystack(value)
                    for what, needle in needles.items():
                        if needle in haystack:
                            hits.append(f"{table.name}.{column}: {what}")
    return sorted(set(hits))


def _haystack(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1").lower()
    return str(value).lower()


def found_in_files(root: Path, needles: dict[str, str]) -> list[str]:
    """Every file under ROOT (the database file and its WAL included) holding a needle."""
    hits: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes().lower()
        for what, needle in needles.items():
            if needle.encode() in data:
                hits.append(f"{path.relative_to(root)}: {what}")
    return hits
