"""A stored letter fetched by its id: exactly that letter's stored PDF, even when the case has
several letters of the same kind (what the assistant prints to post).

Runs on a real SQLite file and on the real PostgreSQL.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import undefer

from concerns.db.models import Case, Event, Letter
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.letters_service import render_case_letter, stored_letter
from tests.factories import act, create_staff
from tests.integration.test_letters_posting import log


@pytest.fixture
def staffed(ctx: AppContext) -> AppContext:
    create_staff(ctx)
    return ctx


def case_letters(ctx: AppContext, reference: str) -> list[Letter]:
    """The case's letters with their stored PDF, detached."""
    with ctx.uow() as uow:
        rows = list(uow.session.scalars(
            select(Letter).options(undefer(Letter.pdf))
            .join(Case, Case.id == Letter.case_id)
            .where(Case.reference == reference).order_by(Letter.id)
        ))
        uow.session.expunge_all()
    return rows


def asked_twice(ctx: AppContext) -> str:
    """A case with two information requests, both waiting to be posted."""
    ref = log(ctx)
    act(ctx, ref, "request_information", "alex", wording="Please send the dates of the visits.")
    act(ctx, ref, "information_received", "alex")
    act(ctx, ref, "request_information", "alex", wording="Please send the name of the school.")
    return ref


def test_each_letter_of_a_kind_is_served_exactly_as_stored_by_its_id(
    staffed: AppContext,
) -> None:
    ref = asked_twice(staffed)
    first, second = case_letters(staffed, ref)
    assert first.kind == second.kind == "information_request"
    assert first.pdf != second.pdf
    for letter in (first, second):
        got = stored_letter(staffed, "erin", ref, letter.id)
        assert got.data == bytes(letter.pdf)
        assert got.sha256 == letter.sha256 == hashlib.sha256(got.data).hexdigest()
        assert (got.letter_id, got.kind, got.media_type) == (
            letter.id, "information_request", "application/pdf"
        )
        assert got.filename == f"{ref}-information_request-{letter.id}.pdf"
    # By kind, only the latest one can be had: why the assistant's links go by id.
    assert render_case_letter(staffed, "erin", ref, "information_request").data == second.pdf
    html = stored_letter(staffed, "erin", ref, first.id, "html")
    assert html.data == first.html.encode("utf-8")
    with staffed.uow() as uow:
        rendered = uow.session.scalars(
            select(Event).where(Event.event == "letter_rendered").order_by(Event.id)
        ).all()
        assert [(e.actor, e.data["letter_id"], e.data["format"]) for e in rendered] == [
            ("erin", first.id, "pdf"), ("erin", second.id, "pdf"),
            ("erin", second.id, "pdf"), ("erin", first.id, "html"),
        ]


def test_a_letter_of_another_case_an_unknown_format_or_a_conflicted_reader_is_refused(
    staffed: AppContext,
) -> None:
    ref = log(staffed, staff_named=["Erin Clarke"])
    other = log(staffed, name="Jess Arden", address="9 Bridge Street, Kington")
    act(staffed, ref, "acknowledge", "alex")
    act(staffed, other, "acknowledge", "alex")
    [letter] = case_letters(staffed, ref)
    with pytest.raises(NotFound, match=f"has no letter {letter.id}"):
        stored_letter(staffed, "alex", other, letter.id)
    with pytest.raises(NotFound):
        stored_letter(staffed, "alex", ref, 999_999)
    with pytest.raises(BadInput, match="format"):
        stored_letter(staffed, "alex", ref, letter.id, "exe")
    with pytest.raises(NotAllowed, match="you cannot open this case"):
        stored_letter(staffed, "erin", ref, letter.id)
    with pytest.raises(NotAllowed):
        stored_letter(staffed, "audrey", ref, letter.id)
    assert stored_letter(staffed, "morgan", ref, letter.id).data == letter.pdf
