"""Values as people type them in a register: dates (day first, as in the UK), several children
in one cell, years of involvement, UK phone numbers. Pure functions; each returns what it read
and, where a person should look again, a note saying why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers
from openpyxl.utils.datetime import from_excel

LONDON = ZoneInfo("Europe/London")

_ORDINAL = re.compile(r"(?<=\d)(st|nd|rd|th)\b", re.IGNORECASE)
_NUMERIC = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:\s+(\d{1,2}):(\d{2}))?$")
_WORDY_FORMATS = ("%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y", "%d %B %y", "%d %b %y",
                  "%d %b %Y %H:%M", "%d %B %Y %H:%M")
_YEAR = r"(1[89]\d\d|20\d\d)"
# A numeric date whose first number can only be a day (13/04/2021, 25.12.20).
DAY_FIRST_ONLY = re.compile(r"(?<![\d/.\-])(1[3-9]|2\d|3[01])[/.\-](0?[1-9]|1[0-2])[/.\-]\d{2,4}")


@dataclass(frozen=True)
class ReadDate:
    value: datetime
    # Set when the day and the month could be swapped: what the other reading would be.
    other_reading: date | None = None


def read_date(text: str) -> ReadDate | None:
    """A date as registers write it, aware in Europe/London, day first; None if not a date.

    03/03/2021, 3.3.21, 3-3-2021, 4 March 2021, 4th March 2021, March 4 2021, 2021-03-04 (a
    real date cell), 44258 (an Excel serial number that lost its date format)."""
    text = " ".join(_ORDINAL.sub("", text.replace(",", " ")).split())
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.year >= 1900:
            return ReadDate(parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON))
    except ValueError:
        pass
    numeric = _NUMERIC.match(text)
    if numeric:
        day, month, year = (int(numeric.group(i)) for i in (1, 2, 3))
        if year < 100:
            year += 2000 if year < 70 else 1900
        hour, minute = int(numeric.group(4) or 0), int(numeric.group(5) or 0)
        try:
            value = datetime(year, month, day, hour, minute, tzinfo=LONDON)
        except ValueError:
            return None
        other = None
        if day != month and day <= 12:
            try:
                other = date(year, day, month)
            except ValueError:
                other = None
        return ReadDate(value, other)
    for fmt in _WORDY_FORMATS:
        try:
            return ReadDate(datetime.strptime(text, fmt).replace(tzinfo=LONDON))
        except ValueError:
            continue
    if re.fullmatch(r"\d{5}(\.\d+)?", text):
        serial = from_excel(float(text))
        if isinstance(serial, datetime):
            return ReadDate(serial.replace(tzinfo=LONDON))
    return None


def read_years(text: str, until: int) -> tuple[int, int] | None:
    """Years of involvement: "2012-2019", "1998 - 2003", "2012-19", "since 2015" (to UNTIL),
    "1990s", "2010 to 2014", a single year. None when no year is written."""
    key = " ".join(text.lower().replace("\u2013", "-").replace("\u2014", "-").split())
    short = re.search(_YEAR + r"\s*-\s*(\d{2})\b(?!\d)", key)
    if short and not re.search(_YEAR + r"\s*-\s*" + _YEAR, key):
        start = int(short.group(1))
        end = start // 100 * 100 + int(short.group(2))
        return (start, end) if end >= start else None
    decade = re.fullmatch(r"(?:the )?" + r"(1[89]\d|20\d)0s", key)
    if decade:
        start = int(decade.group(1)) * 10
        return start, min(start + 9, until)
    years = [int(y) for y in re.findall(r"\b" + _YEAR + r"\b", key)]
    if not years:
        return None
    if re.search(r"\b(since|from)\b", key) and len(years) == 1:
        return years[0], until
    return min(years), max(years)


def split_children(text: str) -> list[str]:
    """Names of several children in one cell: "Sam Bloggs; Amy Bloggs", one a line, "Sam and
    Amy Bloggs", "Sam, Amy & Jo Bloggs". A name with one comma ("Bloggs, Sam") is one child."""
    if re.search(r"[;\n/]", text):
        return [" ".join(p.split()) for p in re.split(r"[;\n/]", text) if p.strip()]
    parts = [" ".join(p.split()) for p in re.split(r"&|\+|\band\b", text) if p.strip()]
    if len(parts) < 2:
        return parts
    names: list[str] = []
    for part in parts[:-1]:
        # Before the last "and", commas list forenames ("Sam, Amy and Jo Bloggs").
        names.extend(p.strip() for p in part.split(",") if p.strip())
    names.append(parts[-1])
    # A forename alone takes the surname of the last name given ("Sam and Amy Bloggs").
    last = names[-1].split()
    surname = last[-1] if len(last) > 1 and "," not in names[-1] else ""
    return [f"{n} {surname}" if surname and len(n.split()) == 1 else n for n in names]


def split_dates(text: str) -> list[str]:
    """Several dates in one cell, in the order written: by ';', ',', '&', 'and' or lines; or,
    failing those, by spaces between numeric dates ("11/02/2009 30/07/2005")."""
    parts = [p.strip() for p in re.split(r"[;,\n&]|\band\b", text) if p.strip()]
    if len(parts) == 1 and re.fullmatch(r"(\d[\d/.\-]+\d)(\s+\d[\d/.\-]+\d)+", parts[0]):
        return parts[0].split()
    return parts


def read_phone(text: str, region: str = "GB") -> str | None:
    """The first phone number in TEXT, in the national format ("07700 900123"); None if there
    is none. Excel drops the leading 0 of a number typed as a number: 7700900123 is 07700…"""
    compact = "".join(ch for ch in text if ch.isdigit())
    if re.fullmatch(r"[1-9]\d{9}", text.strip()) and compact[0] in "1237":
        text = "0" + text.strip()
    possible = phonenumbers.Leniency.POSSIBLE
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=possible):
        number = match.number
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        if number.country_code != phonenumbers.country_code_for_region(region):
            return str(phonenumbers.format_number(
                number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
        return str(national)
    return None
