"""One entry point for making letters: checked templates + letterhead → HTML, PDF or DOCX."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html import escape
from pathlib import Path

from concerns.letters.content import LetterContent, LetterError, Letterhead
from concerns.letters.pdf import html_to_pdf
from concerns.letters.templating import BUILTIN_TEMPLATES, TEMPLATE_SUFFIXES, LetterTemplates

FORMATS = ("html", "pdf", "docx")

_checked: dict[tuple[object, ...], LetterTemplates] = {}


def _fingerprint(templates_dir: Path | None) -> tuple[object, ...]:
    """What the template files look like now: an edit (or a new file) means checking again."""
    folders = [BUILTIN_TEMPLATES] if templates_dir is None else [templates_dir, BUILTIN_TEMPLATES]
    stamp: list[object] = [str(templates_dir)]
    for folder in folders:
        if not folder.is_dir():
            raise LetterError("council.letter_templates", "no such folder")
        for path in sorted(folder.iterdir()):
            if path.suffix in TEMPLATE_SUFFIXES:
                info = path.stat()
                stamp.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def load_templates(templates_dir: Path | None = None) -> LetterTemplates:
    """Checked templates; checked again only when a file changed. Refuses a broken set."""
    key = _fingerprint(templates_dir)
    templates = _checked.get(key)
    if templates is None:
        templates = LetterTemplates(templates_dir)
        _checked.clear()
        _checked[key] = templates
    return templates


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class RenderedLetter:
    """A letter as stored: the HTML it was made from, the exact PDF and that PDF's SHA-256."""

    kind: str
    html: str
    pdf: bytes
    sha256: str


# Where the built-in layout's signature block takes the director's signature once she has signed.
# An HTML comment: invisible until then, and nothing typed into a letter can make one (text is
# escaped). An edited _layout.html without it prints no signature image.
SIGNATURE_MARK = "<!-- signature -->"


def html_to_docx(html: str) -> bytes:
    """The Word file of a rendered letter (python-docx loaded only when one is asked for)."""
    from concerns.letters.word import html_to_docx as convert

    return convert(html)


class LetterRenderer:
    def __init__(self, letterhead: Letterhead, templates_dir: Path | None = None) -> None:
        self.letterhead = letterhead
        self.templates = load_templates(templates_dir)

    def html(self, content: LetterContent) -> str:
        return self.templates.render_html(content, self.letterhead)

    def pdf(self, content: LetterContent) -> bytes:
        return html_to_pdf(self.html(content), content.reference)

    def docx(self, content: LetterContent) -> bytes:
        return html_to_docx(self.html(content))

    def render(self, content: LetterContent, fmt: str) -> bytes:
        """The letter in one format, as the bytes of a file."""
        if fmt == "html":
            return self.html(content).encode("utf-8")
        if fmt == "pdf":
            return self.pdf(content)
        if fmt == "docx":
            return self.docx(content)
        raise LetterError("format", f"must be one of {', '.join(FORMATS)}")

    def letter(self, content: LetterContent) -> RenderedLetter:
        """HTML and PDF made together, for storing: the PDF is what gets signed and sent."""
        html = self.html(content)
        pdf = html_to_pdf(html, content.reference)
        return RenderedLetter(content.kind, html, pdf, sha256_hex(pdf))

    def signed(self, kind: str, html: str, reference: str) -> RenderedLetter | None:
        """The stored letter HTML with the director's signature in its signature block, and its
        PDF; None when no signature image is configured (or the layout has no place for one).
        Nothing else in the letter changes: it is the one she read, signed."""
        signed_html = self.signed_html(html)
        if signed_html is None:
            return None
        pdf = html_to_pdf(signed_html, reference)
        return RenderedLetter(kind, signed_html, pdf, sha256_hex(pdf))

    def signed_html(self, html: str) -> str | None:
        """The letter HTML with the director's signature image in its signature block (what
        `signed` makes its PDF from, and what a preview of a letter she signs as she sends it
        shows); None when no image is configured or the layout has no place for one."""
        image = self.letterhead.director_signature
        if image is None or SIGNATURE_MARK not in html:
            return None
        before, _, after = html.rpartition(SIGNATURE_MARK)
        name = escape(self.letterhead.director_name or "the director")
        return (f'{before}<img class="signature-image" src="{image.data_uri}" '
                f'alt="Signed by {name}">{after}')
