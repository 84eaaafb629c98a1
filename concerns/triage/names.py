"""Name normalisation shared by matching and the conflict-of-interest rule. Pure."""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"['’`.]")
_SPLIT = re.compile(r"[^0-9a-z]+")


def normalise_name(name: str) -> str:
    """Fold case, accents, spacing, punctuation, hyphens and apostrophes.

    "O'Neil-Smith " → "oneil smith".
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    folded = _DROP.sub("", folded.lower())
    return " ".join(part for part in _SPLIT.split(folded) if part)
