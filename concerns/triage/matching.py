"""Recognising repeat contacts: normalised keys, blocking keys and a pure same/uncertain/different
decision between two people, and the rule for children.

Pure: no database. The intake service looks candidates up by the indexed blocking keys
(`Respondent.name_block`, `email_key`, `phone_key`, `postcode_key`; `Child.name_key` with the date
of birth), so a new contact is only ever compared with the few people who share a key, then asks
`compare_people` about each. Nothing here merges anyone: an uncertain answer is for the IAT.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Literal

# phonenumbers and rapidfuzz are imported where used: commands that only read a case load this
# module (for normalise_name) and need neither.
from concerns.triage.submission import ChildDetails, RespondentDetails

Decision = Literal["same", "uncertain", "different"]

# Leading titles say nothing about who someone is ("Mrs J Smith" is "J Smith").
TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "rev", "revd", "prof", "sir", "dame", "lady", "lord"}
)
APOSTROPHES = "'\u2019\u2018\u02bc`\u00b4"
# Name similarity (0-100) at or above which two names are taken as the same name.
SAME_NAME = 88.0
# Nearly identical names: enough, with the same postcode, to be the same person.
IDENTICAL_NAME = 95.0
# Below this, a shared email or phone is more likely a household or an office than one person.
RELATED_NAME = 60.0

_POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """Lower case, no accents, no punctuation, single spaces, no leading title. Kept (a str
    for a str): a concern's words are normalised once for every member of staff checked.

    "Smith, Jane" is read as "Jane Smith"; hyphens split ("Smith-Jones" → "smith jones");
    apostrophes join ("O'Brien" → "obrien").
    """
    text = unicodedata.normalize("NFKC", name)
    if text.count(",") == 1:
        surname, _, forenames = text.partition(",")
        if surname.strip() and forenames.strip():
            text = f"{forenames} {surname}"
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    text = text.casefold()
    for mark in APOSTROPHES:
        text = text.replace(mark, "")
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    tokens = text.split()
    while len(tokens) > 1 and tokens[0] in TITLES:
        tokens.pop(0)
    return " ".join(tokens)


def strip_bracketed(text: str) -> str:
    """TEXT without its bracketed asides: "Alex Morgan (IAT officer)" is "Alex Morgan"."""
    return _BRACKETED.sub(" ", text).strip()


def normalise_email(email: str | None) -> str | None:
    """Emails compare case-insensitively; "<…>" and "mailto:" wrappers are dropped."""
    if not email:
        return None
    text = email.strip().strip("<>").strip()
    if text.lower().startswith("mailto:"):
        text = text[len("mailto:") :]
    text = text.strip().lower()
    if not _EMAIL_RE.match(text) or len(text) > 320:
        return None
    return text


def normalise_phone(phone: str | None, region: str = "GB") -> str | None:
    """E.164 ("+447700900123") for anything that can be a phone number, else None."""
    if not phone:
        return None
    import phonenumbers

    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def normalise_postcode(postcode: str | None) -> str | None:
    """UK postcodes as "HR4 0LE"; anything else upper case without spaces (or None if empty)."""
    if not postcode:
        return None
    compact = "".join(ch for ch in postcode.upper() if ch.isalnum())
    if not compact:
        return None
    found = _POSTCODE_RE.match(compact)
    if found:
        return f"{found.group(1)} {found.group(2)}"
    return compact[:12]


def soundex(word: str) -> str:
    """American Soundex: spelling slips in a surname ("Smyth", "Smith") give the same code."""
    codes = {
        **dict.fromkeys("bfpv", "1"),
        **dict.fromkeys("cgjkqsxz", "2"),
        **dict.fromkeys("dt", "3"),
        "l": "4",
        **dict.fromkeys("mn", "5"),
        "r": "6",
    }
    letters = [ch for ch in word.lower() if "a" <= ch <= "z"]
    if not letters:
        # Names outside the Latin alphabet block on their first characters instead.
        return word[:4]
    out = letters[0].upper()
    previous = codes.get(letters[0], "")
    for ch in letters[1:]:
        code = codes.get(ch, "")
        if code and code != previous:
            out += code
            if len(out) == 4:
                break
        if ch not in "hw":
            previous = code
    return out.ljust(4, "0")


def name_block(name_key: str) -> str:
    """Blocking key for a normalised name: Soundex of the surname plus the first initial."""
    tokens = name_key.split()
    if not tokens:
        return ""
    return f"{soundex(tokens[-1])}{tokens[0][0]}"[:64]


@dataclass(frozen=True)
class PersonKeys:
    """What matching knows about a person; the same values are stored in the indexed columns."""

    name_key: str
    name_block: str
    email_key: str | None = None
    phone_key: str | None = None
    postcode_key: str | None = None


def person_keys(respondent: RespondentDetails, region: str = "GB") -> PersonKeys:
    name_key = normalise_name(respondent.name)[:300]
    return PersonKeys(
        name_key=name_key,
        name_block=name_block(name_key),
        email_key=normalise_email(respondent.email),
        phone_key=normalise_phone(respondent.phone, region),
        postcode_key=normalise_postcode(respondent.postcode),
    )


@dataclass(frozen=True)
class MatchResult:
    decision: Decision
    # 0.0-1.0, for ordering candidates and for the IAT's flag list.
    score: float
    # Short, data-free reasons ("same email", "similar name (91)"), safe to store and show.
    reasons: tuple[str, ...]


def name_similarity(a: str, b: str) -> float:
    """0-100 between two normalised names; initials and missing middle names are forgiven."""
    if not a or not b:
        return 0.0
    if a == b:
        return 100.0
    from rapidfuzz import fuzz

    score = float(fuzz.token_sort_ratio(a, b))
    ta, tb = a.split(), b.split()
    numbers_a = {t for t in ta if any(ch.isdigit() for ch in t)}
    numbers_b = {t for t in tb if any(ch.isdigit() for ch in t)}
    if numbers_a != numbers_b:
        # "Test Person 1" and "Test Person 2", "Flat 3" and "Flat 4": the numbers decide.
        return min(score, 50.0)
    if len(ta) >= 2 and len(tb) >= 2:
        # "Jane Mary Smith" and "Jane Smith"; needs two tokens each so "Smith" ≠ "Jane Smith".
        score = max(score, float(fuzz.token_set_ratio(a, b)) - 5.0)
        surname = float(fuzz.ratio(ta[-1], tb[-1]))
        fa, fb = ta[0], tb[0]
        if surname >= 90 and (fa.startswith(fb) or fb.startswith(fa)):
            # "J Smith" / "Jane Smith", "Jo Smith" / "Joanne Smith".
            score = max(score, 90.0)
    return score


def compare_people(new: PersonKeys, stored: PersonKeys) -> MatchResult:
    """Same person, uncertain (for the IAT) or different, with the reasons."""
    reasons: list[str] = []
    same_email = bool(new.email_key) and new.email_key == stored.email_key
    same_phone = bool(new.phone_key) and new.phone_key == stored.phone_key
    same_postcode = bool(new.postcode_key) and new.postcode_key == stored.postcode_key
    from rapidfuzz import fuzz

    if not (same_email or same_phone or same_postcode) and fuzz.token_set_ratio(
        new.name_key, stored.name_key, score_cutoff=IDENTICAL_NAME
    ) == 0:
        # Nothing shared and names too far apart to be one (the common case within a name
        # block): no need for the full comparison.
        return MatchResult("different", 0.0, ("no shared details",))
    names = name_similarity(new.name_key, stored.name_key)
    if same_email:
        reasons.append("same email")
    if same_phone:
        reasons.append("same phone")
    if same_postcode:
        reasons.append("same postcode")
    reasons.append(f"name similarity {names:.0f}")

    evidence = 0.35 * same_email + 0.35 * same_phone + 0.1 * same_postcode
    score = round(min(1.0, evidence + 0.4 * names / 100.0), 3)

    if same_email or same_phone:
        if names >= SAME_NAME:
            return MatchResult("same", score, tuple(reasons))
        # A shared inbox or phone with a different name: a household, a carer, an office.
        return MatchResult("uncertain", score, tuple(reasons))
    conflicting = [
        label
        for label, x, y in (
            ("email", new.email_key, stored.email_key),
            ("phone", new.phone_key, stored.phone_key),
            ("postcode", new.postcode_key, stored.postcode_key),
        )
        if x and y and x != y
    ]
    reasons.extend(f"different {label}" for label in conflicting)
    if names >= IDENTICAL_NAME and same_postcode:
        return MatchResult("same", score, tuple(reasons))
    if names >= SAME_NAME and same_postcode:
        return MatchResult("uncertain", score, tuple(reasons))
    if names >= IDENTICAL_NAME and len(conflicting) < 3:
        # The same name with a new email or a new address: worth a look, not a merge.
        return MatchResult("uncertain", score, tuple(reasons))
    return MatchResult("different", score, tuple(reasons))


def best_match(
    new: PersonKeys, candidates: list[tuple[int, PersonKeys]]
) -> tuple[int | None, list[tuple[int, MatchResult]]]:
    """The stored person this contact is from (or None), and the uncertain others.

    Where several stored people are certainly the same (duplicates the IAT has not merged yet),
    the contact goes to the best-scoring, earliest one and the rest are returned as uncertain.
    """
    same: list[tuple[int, MatchResult]] = []
    uncertain: list[tuple[int, MatchResult]] = []
    for ident, keys in candidates:
        result = compare_people(new, keys)
        if result.decision == "same":
            same.append((ident, result))
        elif result.decision == "uncertain":
            uncertain.append((ident, result))
    same.sort(key=lambda x: (-x[1].score, x[0]))
    chosen = same[0][0] if same else None
    demoted = [(i, MatchResult("uncertain", r.score, r.reasons)) for i, r in same[1:]]
    return chosen, sorted(demoted + uncertain, key=lambda x: (-x[1].score, x[0]))


def child_key(name: str) -> str:
    return normalise_name(name)[:300]


def compare_children(
    new: ChildDetails, stored_name_key: str, stored_dob: date | None
) -> Decision:
    """Children are the same by normalised name and date of birth; a missing date is uncertain."""
    if child_key(new.name) != stored_name_key or not stored_name_key:
        return "different"
    if new.date_of_birth is None or stored_dob is None:
        return "uncertain"
    return "same" if new.date_of_birth == stored_dob else "different"
