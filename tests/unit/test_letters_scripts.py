"""Letters print every script people in England write their names in (Debian's Noto fonts as
fallbacks), and the PDF engine's warnings never put a character of a letter in the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from concerns.letters import LetterRenderer
from tests.unit.letters_support import LETTERHEAD, RECIPIENT, letter, pdf_flat_text

RENDERER = LetterRenderer(LETTERHEAD)

NAMES = {
    "Chinese": "王秀英",
    "Arabic": "فاطمة",
    "Devanagari": "अनीता",
    "Japanese": "さくら",
    "Korean": "김민준",
    "Greek": "Ελένη",
    "Cyrillic": "Ольга",
    "Hebrew": "רחל",
    "Bengali": "রহিম",
    "Gurmukhi": "ਗੁਰਪ੍ਰੀਤ",
}


def extracted(name: str) -> str:
    pdf = RENDERER.pdf(letter("acknowledgement", recipient=RECIPIENT.__class__(
        name=name, address=RECIPIENT.address, postcode=RECIPIENT.postcode,
        email=RECIPIENT.email)))
    return pdf_flat_text(pdf)


@pytest.mark.parametrize("script", ["Chinese", "Japanese", "Korean", "Greek", "Cyrillic"])
def test_a_name_in_this_script_is_in_the_pdfs_text(script: str) -> None:
    assert NAMES[script] in extracted(NAMES[script])


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()}")


@pytest.fixture
def server_log() -> Iterator[Kept]:
    """What a server's log would hold: a handler on the root logger, as `concerns serve` has."""
    kept = Kept()
    root = logging.getLogger()
    level = root.level
    root.addHandler(kept)
    root.setLevel(logging.DEBUG)
    yield kept
    root.removeHandler(kept)
    root.setLevel(level)


def test_a_respondent_named_in_chinese_arabic_and_devanagari_is_printed_and_never_logged(
    server_log: Kept,
) -> None:
    name = f"{NAMES['Chinese']} {NAMES['Arabic']} {NAMES['Devanagari']} {NAMES['Gurmukhi']}"
    text = extracted(name)
    # Shaped scripts come back from a PDF as their glyphs' letters; every letter is there.
    for part in name.split():
        assert all(ch in text for ch in part if ch.isalpha()), part
    logged = "\n".join(server_log.lines)
    assert not any(ch in logged for ch in name if not ch.isspace())


def test_a_missing_glyph_warning_is_logged_without_the_character(server_log: Kept) -> None:
    # No font has a glyph for a private-use character: WeasyPrint warns, quoting it.
    private = "\ue000\ue001"
    extracted(f"Jo {private}")
    logged = "\n".join(server_log.lines)
    assert "PDF engine warning from weasyprint" in logged
    assert private[0] not in logged and private[1] not in logged
