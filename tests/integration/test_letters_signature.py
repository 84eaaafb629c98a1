"""The signature block: the outcome letter names the director, and once she has signed it
carries her signature image (`council.director_signature`) — never before. Checked in the PDF
itself with poppler's pdfimages and pdftotext, as a reader's software sees it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import undefer

from concerns.db.models import Event, Letter
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput
from tests.factories import act, create_staff, log_concern, walk_to_signoff

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdfimages") and shutil.which("pdftotext")),
    reason="poppler-utils (pdfimages, pdftotext) not installed",
)


def _with_signature(ctx: AppContext, path: str) -> AppContext:
    council = replace(ctx.settings.council, director_signature=path)
    return AppContext(replace(ctx.settings, council=council), ctx.engine)


def _poppler(tmp_path: Path, pdf: bytes) -> tuple[list[str], str]:
    """The images in PDF (one line each: page, size) and its text."""
    file = tmp_path / "letter.pdf"
    file.write_bytes(pdf)
    listed = subprocess.run(["pdfimages", "-list", str(file)], check=True,
                            capture_output=True, text=True).stdout.splitlines()[2:]
    text = subprocess.run(["pdftotext", "-layout", str(file), "-"], check=True,
                          capture_output=True, text=True).stdout
    return [line for line in listed if line.strip()], " ".join(text.split())


def _outcome(ctx: AppContext) -> Letter:
    with ctx.sessions() as s:
        letter = s.scalars(select(Letter).options(undefer(Letter.pdf))
                           .where(Letter.kind == "outcome")).one()
        s.expunge(letter)
        return letter


def test_the_signature_image_appears_only_once_the_director_has_signed(
    ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(ctx)
    Image.new("RGB", (240, 80), (20, 40, 120)).save(tmp_path / "signature.png")
    signing = _with_signature(ctx, "signature.png")  # relative to config.toml's folder
    ref = log_concern(signing)
    walk_to_signoff(signing, ref)
    act(signing, ref, "authorise", "dana")
    act(signing, ref, "prepare_letter", "erin")

    prepared = _outcome(signing)
    images, text = _poppler(tmp_path, bytes(prepared.pdf or b""))
    assert images == [], "a letter waiting for her signature carries none"
    assert "Yours sincerely Dana Whitfield Director of Children's Services" in text
    assert "<img" not in prepared.html

    act(signing, ref, "sign", "dana")

    signed = _outcome(signing)
    images, text = _poppler(tmp_path, bytes(signed.pdf or b""))
    assert len(images) == 1 and " 240 " in images[0] and " 80 " in images[0], images
    assert "Yours sincerely Dana Whitfield Director of Children's Services" in text
    assert 'alt="Signed by Dana Whitfield"' in signed.html
    # The signature covers the exact bytes stored, and the letter she read is named beside it.
    pdf = bytes(signed.pdf or b"")
    assert signed.signed_sha256 == signed.sha256 == hashlib.sha256(pdf).hexdigest()
    with signing.sessions() as s:
        row = s.scalars(select(Event).where(Event.event == "sign")).one()
    assert row.data["read_sha256"] == prepared.sha256 != signed.sha256
    # Nothing but the signature changed: the letter she read, signed.
    before, _, after = prepared.html.partition("<!-- signature -->")
    assert signed.html.startswith(before) and signed.html.endswith(after)


def test_without_a_signature_image_the_signed_letter_is_the_one_she_read(
    ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    walk_to_signoff(ctx, ref)
    act(ctx, ref, "authorise", "dana")
    act(ctx, ref, "prepare_letter", "erin")
    prepared = _outcome(ctx)
    act(ctx, ref, "sign", "dana")
    signed = _outcome(ctx)
    assert (signed.pdf, signed.sha256) == (prepared.pdf, prepared.signed_sha256 or prepared.sha256)
    images, text = _poppler(tmp_path, bytes(signed.pdf or b""))
    assert images == [] and "Dana Whitfield" in text


def test_a_signature_setting_naming_no_image_is_refused_by_its_name(
    ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(ctx)
    (tmp_path / "signature.txt").write_text("not an image")
    for path, problem in (("missing.png", "cannot be read"),
                          ("signature.txt", "must be a PNG, JPEG or SVG file")):
        broken = _with_signature(ctx, path)
        ref = log_concern(broken)
        with pytest.raises(BadInput) as refused:
            act(broken, ref, "acknowledge", "alex")
        assert refused.value.field == "council.director_signature"
        assert problem in refused.value.problem


def _meeting_offers(ctx: AppContext) -> list[Letter]:
    with ctx.sessions() as s:
        letters = s.scalars(select(Letter).options(undefer(Letter.pdf))
                            .where(Letter.kind == "meeting_offer").order_by(Letter.id)).all()
        for letter in letters:
            s.expunge(letter)
        return list(letters)


def _dissatisfied(ctx: AppContext) -> str:
    ref = log_concern(ctx)
    walk_to_signoff(ctx, ref)
    act(ctx, ref, "authorise", "dana")
    act(ctx, ref, "prepare_letter", "erin")
    act(ctx, ref, "sign", "dana")
    act(ctx, ref, "send", "erin", method="post")
    act(ctx, ref, "record_dissatisfaction", "erin")
    return ref


def test_the_directors_own_meeting_offer_carries_her_signature_as_the_outcome_does(
    ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(ctx)
    Image.new("RGB", (240, 80), (20, 40, 120)).save(tmp_path / "signature.png")
    signing = _with_signature(ctx, "signature.png")
    by_her, by_assistant = _dissatisfied(signing), _dissatisfied(signing)

    act(signing, by_her, "offer_meeting", "dana", wording="I would value hearing from you.")
    act(signing, by_assistant, "offer_meeting", "erin")

    hers, assistants = _meeting_offers(signing)
    images, text = _poppler(tmp_path, bytes(hers.pdf or b""))
    assert len(images) == 1 and " 240 " in images[0], "she sent it herself: it is signed"
    assert "Yours sincerely Dana Whitfield Director of Children's Services" in text
    assert 'alt="Signed by Dana Whitfield"' in hers.html
    # Recorded as signed by her, over the exact bytes stored; the letter she read is named.
    pdf = bytes(hers.pdf or b"")
    assert hers.signed_sha256 == hers.sha256 == hashlib.sha256(pdf).hexdigest()
    assert hers.signed_at is not None and hers.signed_by_id == hers.created_by_id
    with signing.sessions() as s:
        row = s.scalars(select(Event).where(Event.event == "offer_meeting")
                        .order_by(Event.id)).first()
    assert row is not None and row.data["read_sha256"] != hers.sha256

    # The assistant's carries the director's name and title, and no signature of hers.
    images, text = _poppler(tmp_path, bytes(assistants.pdf or b""))
    assert images == [] and "<img" not in assistants.html
    assert "Yours sincerely Dana Whitfield Director of Children's Services" in text
    assert assistants.signed_at is None


def test_the_director_sees_her_meeting_offer_with_her_signature_before_it_goes(
    ctx: AppContext, tmp_path: Path
) -> None:
    from concerns.workflows.letters_service import preview_event_letter
    from concerns.workflows.lifecycle import fire_event

    create_staff(ctx)
    Image.new("RGB", (240, 80), (20, 40, 120)).save(tmp_path / "signature.png")
    signing = _with_signature(ctx, "signature.png")
    ref = _dissatisfied(signing)
    values = {"wording": "I would value hearing from you."}
    hers = preview_event_letter(signing, "dana", ref, "offer_meeting", values)
    theirs = preview_event_letter(signing, "erin", ref, "offer_meeting", values)
    assert hers is not None and theirs is not None
    assert 'alt="Signed by Dana Whitfield"' in hers.html, "shown as it will go: signed"
    assert "<img" not in theirs.html, "the assistant's goes unsigned"
    fire_event(signing, ref, "offer_meeting", "dana", values, None, letter_seen=hers.sha256)
    (letter,) = _meeting_offers(signing)
    assert letter.html == hers.html, "the letter that went is the one she was shown"
