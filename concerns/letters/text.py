"""HTML letter → plain text, for reading a letter in a terminal (`concerns case act --preview`).

Only what the letter says: the letterhead, address and signature blocks as lines, each
paragraph and heading on its own with a blank line between, list items bulleted; styles, the
title and images left out.
"""

from __future__ import annotations

from html.parser import HTMLParser

# Blocks whose paragraphs are lines of one block (an address, a list, the signature).
GROUPS = {"header", "section", "ul", "ol"}
BLOCKS = {"p", "h1", "h2", "h3", "li", "div", "blockquote"}
SKIPPED = {"head", "style", "script", "title"}


class _LetterToText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.group: list[str] | None = None
        self.depth = 0
        self.current: list[str] = []
        self.skip = 0

    def _end_line(self) -> None:
        lines = [" ".join(line.split()) for line in "".join(self.current).split("\n")]
        text = "\n".join(line for line in lines if line)
        self.current = []
        if not text:
            return
        if self.group is not None:
            self.group.append(text)
        else:
            self.blocks.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skip += 1
        elif tag in GROUPS:
            self._end_line()
            self.depth += 1
            if self.group is None:
                self.group = []
        elif tag in BLOCKS:
            self._end_line()
            if tag == "li":
                self.current.append("- ")
        elif tag == "br":
            self.current.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag in GROUPS:
            self._end_line()
            self.depth = max(0, self.depth - 1)
            if self.depth == 0 and self.group is not None:
                if self.group:
                    self.blocks.append("\n".join(self.group))
                self.group = None
        elif tag in BLOCKS:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.current.append(data.replace("\n", " "))


def html_to_text(html: str) -> str:
    parser = _LetterToText()
    parser.feed(html)
    parser.close()
    parser._end_line()
    return "\n\n".join(parser.blocks) + "\n"
