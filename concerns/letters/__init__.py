"""Letters on letterhead: templates, rendering to HTML, PDF and DOCX. Pure: no database.

The service layer (workflows) builds a `LetterContent` and a `Letterhead` from a case and the
council's settings, and stores what `LetterRenderer.letter()` returns.
"""

from typing import TYPE_CHECKING, Any

from concerns.letters.content import (
    DELIVERY_METHODS,
    KINDS,
    LetterContent,
    LetterError,
    Letterhead,
    Logo,
    Recipient,
    TemplateProblem,
)

if TYPE_CHECKING:
    from concerns.letters.render import (
        FORMATS,
        LetterRenderer,
        RenderedLetter,
        load_templates,
        sha256_hex,
    )
    from concerns.letters.templating import check_templates, long_date

# Rendering needs Jinja2 (and, for a PDF, WeasyPrint): loaded when first asked for, so that a
# command that only names the kinds of letter (`concerns letters --help`) starts at once.
_LAZY = {
    "FORMATS": "concerns.letters.render",
    "LetterRenderer": "concerns.letters.render",
    "RenderedLetter": "concerns.letters.render",
    "load_templates": "concerns.letters.render",
    "sha256_hex": "concerns.letters.render",
    "check_templates": "concerns.letters.templating",
    "long_date": "concerns.letters.templating",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

__all__ = [
    "DELIVERY_METHODS",
    "FORMATS",
    "KINDS",
    "LetterContent",
    "LetterError",
    "LetterRenderer",
    "Letterhead",
    "Logo",
    "Recipient",
    "RenderedLetter",
    "TemplateProblem",
    "check_templates",
    "load_templates",
    "long_date",
    "sha256_hex",
]
