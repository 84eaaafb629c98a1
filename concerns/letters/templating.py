"""Letter templates: a sandboxed, autoescaping Jinja2 environment over files the council can edit.

The built-in templates live next to this module. A council may point `council.letter_templates`
at a folder of its own: any file there replaces the built-in one of the same name. Every template
is checked (parsed and tried on sample letters) before a letter is made, so a broken edit is
refused with its file, line and problem instead of producing a half-right letter.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from concerns.letters.content import (
    KINDS,
    LetterContent,
    LetterError,
    Letterhead,
    Recipient,
    TemplateProblem,
)

BUILTIN_TEMPLATES = Path(__file__).parent / "templates"
TEMPLATE_SUFFIXES = (".html", ".css")

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def long_date(value: date | None) -> str:
    """23 November 2026: GOV.UK style, whatever the machine's locale."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def paragraphs(text: str | None) -> Markup:
    """Free text as paragraphs: blank lines split them, single line breaks are kept.

    Each piece is escaped first, so HTML or template syntax in the text is printed as typed.
    """
    if not text:
        return Markup("")
    blocks = [b.strip() for b in text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")]
    out = []
    for block in blocks:
        if block:
            lines = [escape(line.strip()) for line in block.split("\n")]
            out.append(Markup("<p>") + Markup("<br>").join(lines) + Markup("</p>"))
    return Markup("\n").join(out)


def name_list(names: Iterable[str] | None) -> str:
    """Anna, Ben and Cara."""
    items = [n for n in (names or ()) if n]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def make_environment(templates_dir: Path | None = None) -> SandboxedEnvironment:
    """The environment letters are rendered in: the council's folder first, then the built-ins."""
    loaders = []
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise LetterError("council.letter_templates", "no such folder")
        loaders.append(FileSystemLoader(templates_dir))
    loaders.append(FileSystemLoader(BUILTIN_TEMPLATES))
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        # Always on, whatever a file is called: concern text is never markup.
        autoescape=True,
        # A template naming a value the letter does not have is an error, not a blank.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        keep_trailing_newline=True,
    )
    env.filters["long_date"] = long_date
    env.filters["paragraphs"] = paragraphs
    env.filters["name_list"] = name_list
    return env


def _sample(kind: str, full: bool) -> LetterContent:
    """A made-up letter to try a template on: every optional field filled, or none of them."""
    day = date(2026, 11, 23)
    return LetterContent(
        kind=kind,
        reference="CAC-2026-0001",
        letter_date=day,
        recipient=Recipient(
            name="Sample Person",
            address=("1 Sample Street", "Sampletown"),
            postcode="AB1 2CD",
            email="person@example.org" if full else "",
        ),
        delivery="post",
        received_on=day,
        concern="Sample concern." if full else "",
        children=("Sample Child",) if full else (),
        wording="Sample wording.\n\nA second paragraph.",
        requested_on=day,
        reply_by=day if full else None,
        meeting_date=day if full else None,
    )


def _template_line(exc: BaseException, names: set[str]) -> tuple[str | None, int | None]:
    """Where in a template a render error happened: Jinja puts template frames in tracebacks."""
    found: tuple[str | None, int | None] = (None, None)
    for frame in traceback.extract_tb(exc.__traceback__):
        name = Path(frame.filename).name
        if name in names:
            found = (name, frame.lineno)
    return found


def _describe(exc: BaseException) -> str:
    if isinstance(exc, UndefinedError):
        return f"uses a value letters do not have ({exc.message})"
    if isinstance(exc, SecurityError):
        return f"does something templates may not do ({exc})"
    return str(exc) or type(exc).__name__


def check_templates(templates_dir: Path | None = None) -> list[TemplateProblem]:
    """Every problem in the templates a council would print letters from; empty when all is well.

    Parses each file (syntax errors give their line) and renders every kind on two sample
    letters, one with every optional value and one with none, so a misspelt value or a
    forbidden operation on either branch of an `{% if %}` is found now, not on a real letter.
    """
    env = make_environment(templates_dir)
    problems: list[TemplateProblem] = []
    names: set[str] = set()
    folders = [BUILTIN_TEMPLATES] if templates_dir is None else [templates_dir, BUILTIN_TEMPLATES]
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix not in TEMPLATE_SUFFIXES or path.name in names:
                continue
            names.add(path.name)
            try:
                source = path.read_text(encoding="utf-8")
                env.parse(source, path.name, str(path))
            except UnicodeDecodeError:
                problems.append(TemplateProblem(path.name, None, "is not UTF-8 text"))
            except TemplateSyntaxError as exc:
                problems.append(TemplateProblem(path.name, exc.lineno, exc.message or "bad syntax"))
            if folder == templates_dir and path.suffix == ".html":
                known = path.stem in KINDS or path.name.startswith("_")
                if not known:
                    problems.append(
                        TemplateProblem(
                            path.name,
                            None,
                            "is not a letter kind (expected one of "
                            f"{', '.join(KINDS)}, or a name starting with _ for a shared part)",
                        )
                    )
    if problems:
        return problems
    letterhead = Letterhead("Sample Council", team="Sample Team", address=("Town Hall",))
    for kind in KINDS:
        for full in (True, False):
            try:
                template = env.get_template(f"{kind}.html")
                template.render(_sample(kind, full).template_values(letterhead))
            except (TemplateError, SecurityError, TypeError, ValueError, AttributeError) as exc:
                name, line = _template_line(exc, names)
                problems.append(TemplateProblem(name or f"{kind}.html", line, _describe(exc)))
                break
    return problems


class LetterTemplates:
    """Checked templates, ready to render. Construction refuses a broken template set."""

    def __init__(self, templates_dir: Path | None = None) -> None:
        problems = check_templates(templates_dir)
        if problems:
            raise problems[0]
        self.templates_dir = templates_dir
        self.env = make_environment(templates_dir)

    def render_html(self, content: LetterContent, letterhead: Letterhead) -> str:
        """The letter as one self-contained HTML page (styles and logo inside it)."""
        content.check()
        template = self.env.get_template(f"{content.kind}.html")
        try:
            return template.render(content.template_values(letterhead))
        except UndefinedError as exc:
            # The sample letters passed, so only an unusual value can get here; name no data.
            raise LetterError(
                content.kind, f"the template could not use a value ({exc.message})"
            ) from None
