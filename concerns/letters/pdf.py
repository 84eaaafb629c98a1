"""HTML letter → PDF with WeasyPrint: A4 (set by letter.css), fonts embedded, pages numbered.

Nothing outside the letter is fetched: the logo travels inside the HTML as a data: URI and any
other URL (file:, http:) an edited template might add is refused, so a letter cannot read files
from the server or call out to the network.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

log = logging.getLogger("concerns.letters")


class _Withheld(logging.Handler):
    """Takes what WeasyPrint and fontTools log (a missing glyph's warning quotes the character,
    and so a person's name) and logs only that there was one, from where, at what level."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            log.log(record.levelno, "PDF engine %s from %s (its text is withheld: it can quote "
                    "the letter)", record.levelname.lower(), record.name)


def _withhold_engine_logs() -> None:
    for name in ("weasyprint", "fontTools"):
        engine = logging.getLogger(name)
        if not any(isinstance(h, _Withheld) for h in engine.handlers):
            engine.addHandler(_Withheld())
        # Their own records (and their child loggers') stop at this handler.
        engine.propagate = False


_withhold_engine_logs()

# WeasyPrint is imported when the first PDF is made, not when the package is: it takes most of
# a second to load, which every `concerns` command would otherwise pay.

# Only the pages of a letter that runs past one page carry numbers.
PAGE_NUMBERS = """
@page {{
  @bottom-right {{
    content: "{label}page " counter(page) " of " counter(pages);
    font-family: "DejaVu Sans", sans-serif;
    font-size: 8.5pt;
    color: #505a5f;
  }}
}}
"""


@lru_cache(maxsize=1)
def _fonts() -> Any:
    # Building the font configuration is the slow part of a first render; share it.
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=64)
def _numbering(label: str) -> Any:
    from weasyprint import CSS

    return CSS(string=PAGE_NUMBERS.format(label=label), font_config=_fonts())


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols=("data",), timeout=1)


def _label(reference: str) -> str:
    # A CSS string: keep it to characters that need no escaping.
    safe = re.sub(r"[^A-Za-z0-9/ ._-]", "", reference)[:40]
    return f"{safe} · " if safe else ""


def warm_up() -> None:
    """Load WeasyPrint and build its fonts by making one tiny PDF, so that a server's first
    letter does not wait the second or two this takes (nothing of anyone's is in it)."""
    html_to_pdf("<p>Concerns about Care</p>")


def html_to_pdf(html: str, reference: str = "") -> bytes:
    """The PDF of one letter; when it runs to several pages, each says "page N of M"."""
    from weasyprint import HTML

    fonts = _fonts()
    document = HTML(string=html, url_fetcher=_fetcher()).render(font_config=fonts)
    if len(document.pages) > 1:
        document = HTML(string=html, url_fetcher=_fetcher()).render(
            font_config=fonts, stylesheets=[_numbering(_label(reference))]
        )
    return bytes(document.write_pdf())
