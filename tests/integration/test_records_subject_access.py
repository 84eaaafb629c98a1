"""A subject access bundle: everything of the person's across their cases, nobody else's, with
a reviewed, audited redaction step and the one-calendar-month clock."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pypdf
import pytest
from freezegun import freeze_time
from sqlalchemy import select

from concerns.db.models import Case, Deadline, Event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.records.subject_access import (
    add_redaction,
    open_request,
    release,
    set_redaction,
)
from concerns.workflows.reminders import sweep
from tests.factories import act, create_staff, log_concern
from tests.integration.reminder_support import notifications

TOBIAS = {"name": "Tobias Featherstonehaugh", "date_of_birth": "2011-05-05"}
# The other person who wrote about Tobias: none of it may reach Rosalind's bundle.
CRISPIN = ("wolstenholme", "crispin.w@example.net", "776655", "mulberry")


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def person_of(ctx: AppContext, reference: str) -> int:
    with ctx.uow() as uow:
        return int(uow.session.scalars(
            select(Case.respondent_id).where(Case.reference == reference)).one())


def text_of(bundle: bytes) -> dict[str, str]:
    """Each file of the ZIP as text (PDFs through their text layer)."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(bundle)) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name.endswith(".pdf"):
                reader = pypdf.PdfReader(io.BytesIO(data))
                out[name] = "\n".join(page.extract_text() for page in reader.pages)
            else:
                out[name] = data.decode("utf-8", "replace")
    return out


def register(ctx: AppContext) -> tuple[str, str, str]:
    first = log_concern(
        ctx, name="Rosalind Featherstonehaugh", email="rosalind@example.org",
        children=[TOBIAS], concern="Tobias was moved to a placement in Ross without a word.")
    log_concern(ctx, name="Crispin Wolstenholme", email="crispin.w@example.net",
                phone="01905 776655", address="4 Mulberry Court, Ledbury", children=[TOBIAS],
                concern="I am Tobias's uncle and I worry about him.")
    act(ctx, first, "answer_query", "alex", "Crispin Wolstenholme rang about Tobias as well.",
        wording="We also heard from Crispin Wolstenholme (01905 776655) about Tobias. "
        "Our answer follows.")
    second = log_concern(
        ctx, name="Rosalind Featherstonehaugh", email="rosalind@example.org",
        children=[TOBIAS], concern="Nobody told me Tobias's new social worker's name.")
    act(ctx, second, "acknowledge", "alex")
    return first, second, "rosalind@example.org"


def test_the_bundle_holds_all_her_contacts_and_letters_and_nothing_of_the_other_person(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-11-30 10:00:00"):  # Mon
        first, second, _ = register(staffed)
        person = person_of(staffed, first)
        assert person_of(staffed, second) == person
        opened = open_request(staffed, "priya", person)
    assert opened["cases"] == [first, second]
    assert opened["due"] == "2026-12-30"  # one calendar month, a working day
    third_party = [r for r in opened["redactions"] if r["kind"] == "third_party"]
    assert {r["field"] for r in third_party} == {"name", "email", "phone", "address", "postcode"}
    found = {r["field"]: r for r in third_party}
    assert found["name"]["words"] == "Crispin Wolstenholme" and found["name"]["occurrences"] >= 2

    # The review: the officer hides a word of her own and lets a staff email through.
    request = opened["request"]
    reviewed = add_redaction(staffed, "priya", request, "Ross")
    mine = next(r for r in reviewed["redactions"] if r["kind"] == "officer")
    assert (mine["words"], mine["occurrences"]) == ("Ross", 1)
    staff = next(r for r in reviewed["redactions"] if r["kind"] == "staff")
    set_redaction(staffed, "priya", request, staff["id"], False)
    set_redaction(staffed, "priya", request, staff["id"], True)

    with freeze_time("2026-12-14 10:00:00"):
        released = release(staffed, "priya", request)
    files = text_of(released.data)
    everything = "\n".join(files.values()).lower()
    index = files["index.pdf"]
    assert "moved to a placement in" in index and "new social worker" in index
    assert first in index and second in index
    letters = sorted(n for n in files if "/letters/" in n)
    assert [n.split("/")[0] for n in letters] == [first, second]
    assert any(n.endswith("-answer-redacted-copy.pdf") for n in letters)
    assert any(n.endswith("-acknowledgement.pdf") for n in letters)  # the exact PDF sent
    for needle in CRISPIN:
        assert needle not in everything, needle
    assert " ross " not in everything
    assert "[redacted: third party]" in everything

    with staffed.uow() as uow:
        s = uow.session
        trail = s.scalars(select(Event).where(Event.event.like("subject_access_%"))
                          .order_by(Event.id)).all()
        assert [(e.event, e.data.get("action"), e.actor) for e in trail] == [
            ("subject_access_requested", None, "priya"),
            ("subject_access_redaction", "added", "priya"),
            ("subject_access_redaction", "removed", "priya"),
            ("subject_access_redaction", "restored", "priya"),
            ("subject_access_released", None, "priya")]
        assert trail[-1].data["sha256"] == released.sha256
        assert "Ross" not in str([e.data for e in trail])
        clock = s.scalars(select(Deadline).where(Deadline.clock == "subject_access")).one()
        assert (clock.due_date, clock.status) == (date(2026, 12, 30), "met")
    with pytest.raises(NotAllowed, match="already released"):
        release(staffed, "priya", request)


def test_closing_the_case_does_not_stop_the_request_clock_and_refusals_name_the_field(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-11-25 10:00:00"):  # Wed: a month later is Christmas Day
        first, second, _ = register(staffed)
        person = person_of(staffed, first)
        with pytest.raises(NotAllowed, match="information_officer"):
            open_request(staffed, "alex", person)
        opened = open_request(staffed, "priya", person)
        assert opened["due"] == "2026-12-29"  # past Christmas, Boxing Day and the weekend
        act(staffed, second, "close_outside_framework", "morgan", reason="withdrawn")
        with pytest.raises(BadInput, match="redact: give the words"):
            add_redaction(staffed, "priya", opened["request"], " ")
        with pytest.raises(BadInput, match="redaction: no redaction 999"):
            set_redaction(staffed, "priya", opened["request"], 999, False)
    with staffed.uow() as uow:
        clock = uow.session.scalars(
            select(Deadline).where(Deadline.clock == "subject_access")).one()
        assert clock.status == "running"


def test_the_request_clock_reminds_the_information_officer_before_it_is_due(
    staffed: AppContext,
) -> None:
    with freeze_time("2026-11-30 10:00:00"):
        first, _, _ = register(staffed)
        open_request(staffed, "priya", person_of(staffed, first))
    with freeze_time("2026-12-29 10:00:00"):  # Tue, the working day before 30 December
        sweep(staffed)
    owed = [n for n in notifications(staffed) if "subject access" in n["subject"]]
    assert [(n["username"], n["level"]) for n in owed] == [("priya", "before_due")]
