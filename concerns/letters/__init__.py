"""Letters on letterhead: templates, rendering to HTML, PDF and DOCX. Pure: no database.

The service layer (workflows) builds a `LetterContent` and a `Letterhead` from a case and the
council's settings, and stores what `LetterRenderer.letter()` returns.
"""

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
from concerns.letters.render import (
    FORMATS,
    LetterRenderer,
    RenderedLetter,
    load_templates,
    sha256_hex,
)
from concerns.letters.templating import check_templates, long_date

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
