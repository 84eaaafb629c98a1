"""Conflict of interest: is a member of staff named in a concern?

Pure: no database. A member of staff is compared with each name in the concern's `staff_named`
list and with the names written in the concern's text, by surname with forename, initial or a
known short form (`nicknames`), tolerant of titles, punctuation, order, parenthesised roles and
lists (`nameparser` reads the parts of each name; `triage.matching.normalise_name` is the one
normaliser). The answer is one of:

- "excluded": certainly the same name (surname with the same forename or a known short form of
  it); the member of staff may not open the case.
- "flagged": perhaps them (an initial, a title with the surname, the surname alone, a forename
  alone in the named list, a near spelling, part of a double surname, a related name); the IAT
  manager confirms or clears it, and until then the case stays closed to them.
- None: not them.

Possessives ("Sam Patel's team") and names made into email addresses ("alex.morgan@…") are
read as the names they hold; a forename that begins the other ("Jo", "Joseph") is related.

In the concern's free text a forename on its own is not taken as a mention (too many people share
one), and neither is a surname on its own written in lower case ("the young people" is not
"Sam Young"): a forename, initial or title next to the surname is needed, or a capitalised surname.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from concerns.triage.matching import TITLES, normalise_name, soundex, strip_bracketed

Finding = Literal["excluded", "flagged"]
Source = Literal["staff_named", "concern_text"]
# Two surnames this alike (0-100) and sounding the same are taken as a possible spelling slip.
NEAR_SURNAME = 80.0

_LIST_SEPARATORS = re.compile(
    r"\s+(?:and|&|\+|with|plus)\s+|[;/\n|]|\s[-\u2013\u2014:]\s", re.IGNORECASE)
# "Sam Patel's manager", "James' team": the name without the possessive.
_POSSESSIVE = re.compile(r"(?<=[^\W\d_])['\u2019\u02bc](?:s\b|(?=\s|$))", re.IGNORECASE)
# "alex.morgan@council.gov.uk": the name an address is made of, as two words.
_EMAIL_NAME = re.compile(r"\b([^\W\d_]{2,}(?:[._-][^\W\d_]{2,})+)@[\w.-]+")
_EMAIL_SEPARATORS = re.compile(r"[._-]")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019\-][^\W\d_]+)*\.?")
# Sentence punctuation between two words means they are not one name.
_BREAK = re.compile(r"[.!?;:,\n()\[\]\"]")


@dataclass(frozen=True)
class Match:
    """Why a member of staff is taken to be named: what was found, where, and the words."""

    finding: Finding
    source: Source
    mention: str


@dataclass(frozen=True)
class StaffName:
    """A member of staff's name, in normalised parts."""

    forename: str
    middle: tuple[str, ...]
    surname: str  # may be several words: "bloggs smith"

    @property
    def surname_words(self) -> frozenset[str]:
        return frozenset(self.surname.split())


if TYPE_CHECKING:
    from nameparser import HumanName
    from nicknames import NickNamer


# nameparser, nicknames and rapidfuzz are loaded by the first name judged, not by every command
# that merely imports this module (reading a case does, for the conflict-of-interest rule).
@lru_cache(maxsize=1)
def _nicknamer() -> NickNamer:
    from nicknames import NickNamer

    return NickNamer()


def _parse(name: str) -> HumanName:
    from nameparser import HumanName

    return HumanName(name)


@lru_cache(maxsize=4096)
def staff_name(full_name: str) -> StaffName | None:
    """The parts of a member of staff's full name, or None if it has no forename and surname.
    Kept (the answer is frozen): every concern is checked against every member of staff."""
    parsed = _parse(strip_bracketed(full_name))
    forename = normalise_name(parsed.first)
    surname = normalise_name(parsed.last)
    if not forename or not surname:
        return None
    middle = tuple(normalise_name(parsed.middle).split())
    return StaffName(forename, middle, surname)


def split_names(text: str) -> list[str]:
    """The separate names in one `staff_named` entry: "Alex Morgan and Sam Patel", "Alex Morgan
    (IAT officer)", "Morgan, Alex", "Alex Morgan, Sam Patel"."""
    out: list[str] = []
    for piece in _LIST_SEPARATORS.split(strip_bracketed(text)):
        parts = [p.strip() for p in piece.split(",")]
        parts = [p for p in parts if p]
        # "Morgan, Alex" is one name written surname first; anything else with commas is a list.
        if len(parts) == 2 and len(parts[0].split()) == 1:
            out.append(f"{parts[0]}, {parts[1]}")
        else:
            out.extend(parts)
    return [name for name in out if normalise_name(name)]


def forename_relation(written: str, staff: str) -> Literal["same", "related", "initial", ""]:
    """How a written forename relates to the staff member's: the same (or a known short form
    either way), related (a short form of the same full name, "Sandy" and "Alex"), the initial
    alone, or not at all."""
    if not written:
        return ""
    if written == staff:
        return "same"
    if len(written) == 1:
        return "initial" if staff.startswith(written) else ""
    namer = _nicknamer()
    if written in namer.nicknames_of(staff) or staff in namer.nicknames_of(written):
        return "same"
    if namer.canonicals_of(written) & (namer.canonicals_of(staff) | {staff}):
        return "related"
    if staff in namer.canonicals_of(written) or written in namer.canonicals_of(staff):
        return "same"
    if written.startswith(staff) or staff.startswith(written):
        # A short form the list does not know ("Jo" for "Joseph"): perhaps them.
        return "related"
    return ""


def surname_relation(written: str, staff: StaffName) -> Literal["same", "near", ""]:
    return _surname_relation(written, staff.surname)


@lru_cache(maxsize=65536)
def _surname_relation(written: str, surname: str) -> Literal["same", "near", ""]:
    """Kept by the two strings (whose hashes Python keeps), not by the StaffName, whose hash is
    worked out again at every call: a concern's every word is asked of every member of staff."""
    if not written:
        return ""
    if written == surname:
        return "same"
    words = frozenset(written.split())
    if words & frozenset(surname.split()):
        # Part of a double surname: "Bloggs" for "Bloggs-Smith", or the other way round.
        return "near"
    from rapidfuzz import fuzz

    if (
        fuzz.ratio(written, surname) >= NEAR_SURNAME
        and soundex(written.replace(" ", "")) == soundex(surname.replace(" ", ""))
    ):
        return "near"
    return ""


@lru_cache(maxsize=4096)
def _written_parts(written: str) -> tuple[str, str, str, tuple[str, ...]]:
    """(title, forename, surname, middle names) of a name as written, normalised. Kept: each
    name in a concern is judged against every member of staff."""
    parsed = _parse(written)
    return (normalise_name(parsed.title), normalise_name(parsed.first),
            normalise_name(parsed.last), tuple(normalise_name(parsed.middle).split()))


def judge_name(written: str, staff: StaffName) -> Finding | None:
    """One name as written in the `staff_named` list, against one member of staff."""
    title, forename, surname, middle = _written_parts(written)
    if not surname:
        # One word: a forename or a surname, nobody can tell which.
        word = forename
        if surname_relation(word, staff) == "same":
            return "flagged"
        if forename_relation(word, staff.forename) in ("same", "related"):
            return "flagged"
        return None
    sur = surname_relation(surname, staff)
    fore = forename_relation(forename, staff.forename)
    if not fore and any(m == staff.forename for m in middle):
        fore = "related"
    if not fore and forename in staff.middle:
        fore = "related"
    if sur == "same":
        if fore == "same":
            return "excluded"
        if fore in ("related", "initial") or not forename or (title and not forename):
            return "flagged"
        return None
    if sur == "near" and fore:
        return "flagged"
    # The forename with the surname's initial: "Alex M.".
    if len(surname) == 1 and staff.surname.startswith(surname) and fore in ("same", "related"):
        return "flagged"
    # Written surname first without a comma: "Morgan Alex", "Morgan A.".
    if (
        surname_relation(forename, staff) == "same"
        and forename_relation(surname, staff.forename) in ("same", "related", "initial")
    ):
        return "flagged"
    return None


@lru_cache(maxsize=4096)
def _text_words(text: str) -> tuple[tuple[re.Match[str], ...], tuple[str, ...]]:
    """TEXT's words and their normalised forms. Kept: a concern's text is read against every
    member of staff."""
    words = tuple(_WORD.finditer(text))
    return words, tuple(normalise_name(word.group()) for word in words)


def judge_text(text: str, staff: StaffName) -> tuple[Finding, str] | None:
    """The strongest mention of the member of staff in free text, with the words found."""
    words, keys = _text_words(text)
    surname = staff.surname
    best: tuple[Finding, str] | None = None
    for i, key in enumerate(keys):
        word = words[i]
        if (
            best is None and len(key) == 1 and word.group()[:1].isupper() and i
            and surname.startswith(key) and _linked(text, words[i - 1], word)
            and words[i - 1].group()[:1].isupper()
            and forename_relation(normalise_name(words[i - 1].group()), staff.forename)
            in ("same", "related")
        ):
            # "Alex M.": the forename with the surname's initial, perhaps them.
            best = ("flagged", text[words[i - 1].start(): word.end()].rstrip("."))
            continue
        sur = _surname_relation(key, surname)
        if not sur:
            continue
        before = words[i - 1] if i and _linked(text, words[i - 1], word) else None
        if before is not None:
            before = _past_middle_initials(text, words, i - 1, staff) or before
        after = words[i + 1] if i + 1 < len(words) and _linked(text, word, words[i + 1]) else None
        found = _judge_pair(
            before.group() if before else "", word.group(), after.group() if after else "",
            staff, sur,
        )
        if found is None:
            continue
        mention = text[(before or word).start(): word.end()].rstrip(".")
        if found == "excluded":
            return found, mention
        best = best or (found, mention)
    return best


def _past_middle_initials(
    text: str, words: Sequence[re.Match[str]], k: int, staff: StaffName
) -> re.Match[str] | None:
    """"Samuel J. Patel", "Sam J R Patel": the forename before the middle initials that end at
    WORDS[K], when it is the member of staff's (or related); None otherwise."""
    start = k
    while (k > 0 and start - k < 2 and len(normalise_name(words[k].group())) == 1
           and _linked(text, words[k - 1], words[k])):
        k -= 1
        if forename_relation(normalise_name(words[k].group()), staff.forename) in (
                "same", "related"):
            return words[k]
    return None


def _linked(text: str, first: re.Match[str], second: re.Match[str]) -> bool:
    """Whether two neighbouring words may be parts of one name: no sentence break between."""
    if _BREAK.search(text[first.end(): second.start()]):
        return False
    written = first.group()
    key = normalise_name(written)
    # "... the end. Morgan said": a full stop, not an initial or a title's.
    return not (written.endswith(".") and len(key) > 1 and key not in TITLES)


def _judge_pair(
    before: str, surname_word: str, after: str, staff: StaffName, sur: Literal["same", "near"]
) -> Finding | None:
    prior = normalise_name(before)
    if prior in TITLES:
        return "flagged" if sur == "same" else None
    fore = forename_relation(prior, staff.forename) if prior else ""
    if sur == "same" and fore == "same":
        return "excluded"
    if fore:
        return "flagged"
    # The surname alone counts only when written as a name (capitalised), and not as the
    # forename of someone else ("Morgan Reid" does not name Alex Morgan) or after another
    # forename ("Chris Morgan").
    if (
        sur == "same"
        and surname_word[:1].isupper()
        and not before[:1].isupper()
        and not after[:1].isupper()
    ):
        return "flagged"
    return None


@lru_cache(maxsize=4096)
def plain_names(text: str) -> str:
    """TEXT with names freed of what hides them from the check: possessives ("Sam Patel's
    team" is "Sam Patel team") and email addresses ("alex.morgan@…" is "alex morgan"). Kept: a
    concern's text is checked against every member of staff."""
    return _POSSESSIVE.sub("", _EMAIL_NAME.sub(
        lambda found: _EMAIL_SEPARATORS.sub(" ", found.group(1)), text))


def check(
    staff_full_name: str, staff_named: Sequence[str], texts: Iterable[str]
) -> Match | None:
    """Whether the member of staff called STAFF_FULL_NAME is named in a concern that names
    STAFF_NAMED and says TEXTS: the strongest finding, or None."""
    staff = staff_name(staff_full_name)
    if staff is None:
        return None
    best: Match | None = None
    for entry in staff_named:
        for written in split_names(plain_names(entry)):
            finding = judge_name(written, staff)
            if finding != "excluded":
                # Not one name as written ("Sam Patel manager", "Social worker Alex Morgan"):
                # read as text too, for a name in it; the stronger finding counts.
                in_words = judge_text(written, staff)
                if in_words is not None and (finding is None or in_words[0] == "excluded"):
                    finding = in_words[0]
            if finding == "excluded":
                return Match("excluded", "staff_named", written)
            if finding and best is None:
                best = Match(finding, "staff_named", written)
    for text in texts:
        found = judge_text(plain_names(text), staff)
        if found is None:
            continue
        if found[0] == "excluded":
            return Match("excluded", "concern_text", found[1])
        if best is None:
            best = Match(found[0], "concern_text", found[1])
    return best
