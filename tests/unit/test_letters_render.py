"""Letters render on letterhead to HTML, PDF and Word, saying what each kind must say."""

from __future__ import annotations

import io
import logging
from datetime import date
from pathlib import Path

import docx
import pypdf
import pytest
from PIL import Image

from concerns.letters import (
    FORMATS,
    KINDS,
    LetterError,
    Letterhead,
    LetterRenderer,
    Recipient,
    long_date,
    sha256_hex,
)
from concerns.workflows.settings import Council
from tests.unit.letters_support import (
    LETTERHEAD,
    RECIPIENT,
    WORDING,
    docx_text,
    letter,
    pdf_flat_text,
)

RENDERER = LetterRenderer(LETTERHEAD)
A4_POINTS = (595.28, 841.89)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_to_html_with_reference_recipient_and_wording(kind: str) -> None:
    html = RENDERER.html(letter(kind))
    assert "CAC-2026-0042" in html
    assert "Morgan Ellery" in html
    assert "14 Orchard Row" in html
    assert "HR6 8AB" in html
    assert WORDING[kind].replace("'", "&#39;") in html
    assert "23 November 2026" in html
    assert "Herefordshire Council" in html


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_to_a_pdf_whose_text_has_reference_recipient_and_wording(
    kind: str, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="concerns.letters"):
        pdf = RENDERER.pdf(letter(kind))
    # The PDF engine found nothing in the letter or its stylesheet to warn about.
    assert [r.getMessage() for r in caplog.records] == []
    assert pdf.startswith(b"%PDF-")
    text = pdf_flat_text(pdf)
    assert "CAC-2026-0042" in text
    assert "Morgan Ellery" in text
    assert WORDING[kind] in text
    assert "Plough Lane" in text


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_to_a_word_file_with_reference_recipient_and_wording(
    kind: str,
) -> None:
    text = docx_text(RENDERER.docx(letter(kind)))
    assert "CAC-2026-0042" in text
    assert "Morgan Ellery" in text
    assert WORDING[kind] in text
    assert "Dear Morgan Ellery" in text


def test_render_gives_each_format_as_file_bytes() -> None:
    content = letter("outcome")
    assert RENDERER.render(content, "html").startswith(b"<!DOCTYPE html>")
    assert RENDERER.render(content, "pdf").startswith(b"%PDF-")
    assert RENDERER.render(content, "docx").startswith(b"PK")
    assert set(FORMATS) == {"html", "pdf", "docx"}
    with pytest.raises(LetterError) as refused:
        RENDERER.render(content, "odt")
    assert refused.value.field == "format"


def test_outcome_is_signed_by_the_director_and_acknowledgement_by_the_team() -> None:
    outcome = pdf_flat_text(RENDERER.pdf(letter("outcome")))
    assert "Yours sincerely Dana Whitfield Director of Children's Services" in outcome
    acknowledgement = pdf_flat_text(RENDERER.pdf(letter("acknowledgement")))
    assert "Yours sincerely Independent Assurance Team" in acknowledgement
    assert "Dana Whitfield" not in acknowledgement


def test_pdf_is_a4_with_every_font_embedded() -> None:
    reader = pypdf.PdfReader(io.BytesIO(RENDERER.pdf(letter("outcome"))))
    page = reader.pages[0]
    assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
        A4_POINTS, abs=0.5
    )
    fonts = page["/Resources"]["/Font"]
    assert fonts, "the letter uses fonts"
    for ref in fonts.values():
        font = ref.get_object()
        descendant = (
            font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        )
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font
        assert "DejaVu" in str(font["/BaseFont"])


def test_a_one_page_letter_carries_no_page_number() -> None:
    pdf = RENDERER.pdf(letter("outcome"))
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1
    assert "page 1 of" not in pdf_flat_text(pdf)


def test_a_long_letter_numbers_every_page_with_its_reference() -> None:
    long_wording = "\n\n".join(f"Finding {n}. " + "The records show this. " * 40 for n in range(20))
    pdf = RENDERER.pdf(letter("outcome", wording=long_wording))
    pages = pypdf.PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        flat = " ".join(page.extract_text().split())
        assert f"CAC-2026-0042 · page {number} of {len(pages)}" in flat


def test_dates_are_written_as_day_month_year_in_words() -> None:
    assert long_date(date(2026, 11, 23)) == "23 November 2026"
    assert long_date(date(2027, 5, 1)) == "1 May 2027"
    assert long_date(None) == ""
    text = pdf_flat_text(RENDERER.pdf(letter("information_chase")))
    assert "On 9 November 2026 we wrote to ask you" in text
    assert "Please reply by 21 December 2026." in text


def test_wording_keeps_its_paragraphs_and_line_breaks() -> None:
    html = RENDERER.html(letter("answer", wording="First part.\n\nSecond part,\nnext line."))
    assert "<p>First part.</p>" in html
    assert "<p>Second part,<br>next line.</p>" in html


def test_optional_parts_are_left_out_cleanly_when_absent() -> None:
    content = letter("meeting_offer", meeting_date=None, reply_by=None, wording="", children=())
    text = pdf_flat_text(RENDERER.pdf(content))
    assert "Please tell us some days and times that suit you" in text
    assert "None" not in text
    assert "about ." not in text


def test_an_emailed_letter_shows_the_email_address_instead_of_a_postal_one() -> None:
    content = letter(
        "answer", delivery="email", recipient=Recipient("Morgan Ellery", email="m@x.org")
    )
    text = pdf_flat_text(RENDERER.pdf(content))
    assert "By email: m@x.org" in text


def test_the_postcode_is_not_printed_twice() -> None:
    recipient = Recipient("A Person", ("1 Lane", "Hereford HR1 1AA"), postcode="hr1 1aa")
    assert recipient.postal_lines == ("1 Lane", "Hereford HR1 1AA")
    assert Recipient("A", ("1 Lane",), postcode="HR1 1AA").postal_lines == ("1 Lane", "HR1 1AA")
    assert Recipient.address_lines("1 Lane, Hereford\nHerefordshire") == (
        "1 Lane",
        "Hereford",
        "Herefordshire",
    )


def test_the_same_letter_renders_to_the_same_html() -> None:
    assert RENDERER.html(letter("outcome")) == RENDERER.html(letter("outcome"))


def test_a_rendered_letter_for_storing_carries_the_sha256_of_its_exact_pdf() -> None:
    stored = RENDERER.letter(letter("outcome"))
    assert stored.sha256 == sha256_hex(stored.pdf)
    assert len(stored.sha256) == 64
    assert "CAC-2026-0042" in stored.html
    assert WORDING["outcome"] in pdf_flat_text(stored.pdf)


def _png(path: Path) -> Path:
    Image.new("RGB", (120, 40), (0, 94, 165)).save(path, "PNG")
    return path


def test_the_councils_logo_travels_inside_every_format(tmp_path: Path) -> None:
    _png(tmp_path / "logo.png")
    council = Council(logo="logo.png")
    letterhead = Letterhead.from_council(council, base_dir=tmp_path)
    renderer = LetterRenderer(letterhead)
    html = renderer.html(letter("outcome"))
    assert 'src="data:image/png;base64,' in html
    reader = pypdf.PdfReader(io.BytesIO(renderer.pdf(letter("outcome"))))
    assert len(reader.pages[0].images) == 1
    word = docx.Document(io.BytesIO(renderer.docx(letter("outcome"))))
    assert len(word.inline_shapes) == 1


def test_the_letterhead_comes_from_the_councils_settings() -> None:
    letterhead = Letterhead.from_council(Council())
    assert letterhead.council_name == "Herefordshire Council"
    assert letterhead.address == ("Plough Lane", "Hereford", "HR4 0LE")
    assert letterhead.logo is None
    html = LetterRenderer(letterhead).html(letter("outcome"))
    assert "Independent Assurance Team" in html


def test_a_logo_that_is_missing_or_not_an_image_is_refused_naming_the_setting(
    tmp_path: Path,
) -> None:
    with pytest.raises(LetterError) as missing:
        Letterhead.from_council(Council(logo="nowhere.png"), base_dir=tmp_path)
    assert missing.value.field == "council.logo"
    (tmp_path / "logo.txt").write_text("not an image")
    with pytest.raises(LetterError) as wrong:
        Letterhead.from_council(Council(logo="logo.txt"), base_dir=tmp_path)
    assert wrong.value.field == "council.logo"


def test_word_file_is_a4_with_page_numbers_in_the_footer() -> None:
    word = docx.Document(io.BytesIO(RENDERER.docx(letter("outcome"))))
    section = word.sections[0]
    assert round(section.page_width.mm) == 210
    assert round(section.page_height.mm) == 297
    footer_xml = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer_xml
    assert "NUMPAGES" in footer_xml


def test_recipient_details_are_where_a_window_envelope_shows_them() -> None:
    html = RENDERER.html(letter("outcome"))
    block = html.split('<section class="recipient">', 1)[1].split("</section>", 1)[0]
    assert [
        line
        for line in ("Morgan Ellery", "14 Orchard Row", "Leominster", "HR6 8AB")
        if line in block
    ] == ["Morgan Ellery", "14 Orchard Row", "Leominster", "HR6 8AB"]
    assert RECIPIENT.email not in block
