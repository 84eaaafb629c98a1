"""HTML letter → Word (DOCX) with python-docx, for the assistant who must make a last edit.

The Word file is made from the same rendered HTML as the PDF, so one template per kind serves
every format and the wording cannot drift between them. Only the few elements letter templates
use are mapped: headings, paragraphs, lists, bold, italics, line breaks and the logo.
"""

from __future__ import annotations

import base64
import binascii
import io
from html.parser import HTMLParser
from typing import Any

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

BLOCKS = {"p", "h1", "h2", "h3", "li"}
SKIPPED = {"head", "style", "script", "title"}
VOID = {"br", "img", "meta", "link", "hr", "input"}
HEADING_SIZES = {"h1": 13.0, "h2": 11.0, "h3": 10.5}


class _LetterToWord(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.doc = Document()
        self.stack: list[tuple[str, frozenset[str]]] = []
        self.paragraph: Any = None
        self.skip = 0
        self.bold = 0
        self.italic = 0
        self._page_setup()

    def _page_setup(self) -> None:
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(18), Mm(20)
        section.left_margin, section.right_margin = Mm(22), Mm(20)
        normal = self.doc.styles["Normal"]
        # Arial: the Word user's machine has it; DejaVu (the PDF's font) it may not.
        normal.font.name = "Arial"
        normal.font.size = Pt(10.5)
        normal.paragraph_format.space_after = Pt(6)
        footer = section.footer.paragraphs[0]
        footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        footer.add_run("Page ")
        _field(footer, "PAGE")
        footer.add_run(" of ")
        _field(footer, "NUMPAGES")

    def _classes(self) -> set[str]:
        return {c for _, classes in self.stack for c in classes}

    def _new_paragraph(self, tag: str) -> None:
        classes = self._classes()
        if tag == "li":
            paragraph = self.doc.add_paragraph(style="List Bullet")
        else:
            paragraph = self.doc.add_paragraph()
        fmt = paragraph.paragraph_format
        if "letterhead" in classes:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            fmt.space_after = Pt(0)
        if "recipient" in classes or "meta" in classes:
            fmt.space_after = Pt(0)
        if "quoted" in classes:
            fmt.left_indent = Mm(6)
        if "signatory" in classes:
            fmt.space_before = Pt(30)
        if tag in HEADING_SIZES:
            fmt.space_before = Pt(10)
            fmt.keep_with_next = True
        self.paragraph = paragraph

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in SKIPPED:
            self.skip += 1
        if self.skip:
            return
        if tag == "br":
            if self.paragraph is not None:
                self.paragraph.add_run().add_break(WD_BREAK.LINE)
            return
        if tag == "img":
            self._picture(values.get("src") or "")
            return
        if tag in VOID:
            return
        classes = frozenset((values.get("class") or "").split())
        self.stack.append((tag, classes))
        if tag in BLOCKS:
            self._new_paragraph(tag)
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or tag in VOID:
            return
        # Pop to the matching open tag, forgiving unclosed elements in an edited template.
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if tag in BLOCKS:
            self.paragraph = None
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = " ".join(data.split())
        if not text:
            return
        if self.paragraph is None:
            self._new_paragraph("p")
        paragraph = self.paragraph
        # Keep one space between runs where the HTML had whitespace at the join.
        if data[:1].isspace() and paragraph.text and not paragraph.text.endswith(" "):
            text = " " + text
        if data[-1:].isspace():
            text += " "
        run = paragraph.add_run(text)
        classes = self._classes()
        tag = self.stack[-1][0] if self.stack else "p"
        run.bold = bool(self.bold) or tag in HEADING_SIZES or "council-name" in classes
        run.italic = bool(self.italic) or None
        if tag in HEADING_SIZES:
            run.font.size = Pt(HEADING_SIZES[tag])
        if "council-name" in classes:
            run.font.size = Pt(14)
        if "quoted" in classes:
            run.font.color.rgb = RGBColor(0x38, 0x3F, 0x43)

    def _picture(self, src: str) -> None:
        # Only images carried inside the letter; Word cannot show SVG, so that logo is left out.
        if not src.startswith("data:image/png;base64,") and not src.startswith(
            "data:image/jpeg;base64,"
        ):
            return
        try:
            data = base64.b64decode(src.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            return
        paragraph = self.doc.add_paragraph()
        if "letterhead" in self._classes():
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.add_run().add_picture(io.BytesIO(data), height=Mm(18))

    def result(self) -> bytes:
        out = io.BytesIO()
        self.doc.save(out)
        return out.getvalue()


def _field(paragraph: Any, code: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the document out."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = code
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    run._r.append(begin)
    run._r.append(instr)
    run._r.append(end)


def html_to_docx(html: str) -> bytes:
    """The Word file of one rendered letter."""
    parser = _LetterToWord()
    parser.feed(html)
    parser.close()
    return parser.result()
