"""GOV.UK date inputs (day, month, year) for every date typed on a page, public or staff.

One pattern everywhere: the three boxes are read into the YYYY-MM-DD every service (and the
command line) takes, a date that cannot be read is refused here in words naming the field, only
the wrong part is highlighted (all three when the date is real but not allowed: in the past, not
a working day), and what was typed stays in the boxes. The template side is the `date_input`
macro in `_macros.html`; `highlight` is a template global.

Pure: no database, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

PARTS = ("day", "month", "year")
_RANGES = {"day": (1, 31), "month": (1, 12), "year": (1900, 9999)}


def typed(form: Mapping[str, str], name: str) -> tuple[str, str, str]:
    """The day, month and year typed into date input NAME (NAME-day, NAME-month, NAME-year)."""
    day, month, year = (str(form.get(f"{name}-{p}", "") or "").strip() for p in PARTS)
    return day, month, year


def joined(form: Mapping[str, str], name: str) -> str:
    """The date as YYYY-MM-DD; "" when nothing was typed. Parts that are not numbers are kept
    as typed, so the service refuses the date instead of it being quietly dropped."""
    day, month, year = typed(form, name)
    if not (day or month or year):
        return ""
    if day.isdigit() and month.isdigit() and year.isdigit():
        return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"


def real(form: Mapping[str, str], name: str) -> date | None:
    """The date typed, if it is a real one."""
    day, month, year = typed(form, name)
    if not (day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4):
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def wrong_parts(form: Mapping[str, str], name: str) -> list[str]:
    """The parts that cannot be right on their own (blank counts); for a date whose parts are
    each possible but not together (31 2 2010), the day."""
    wrong = []
    for part, value in zip(PARTS, typed(form, name), strict=True):
        low, high = _RANGES[part]
        if not (value.isdigit() and low <= int(value) <= high
                and (part != "year" or len(value) == 4)):
            wrong.append(part)
    return wrong or ["day"]


def highlight(form: Mapping[str, str], name: str) -> list[str]:
    """The parts to mark when the date is refused: only the wrong ones when it cannot be read,
    all three when it is a real date that is not allowed."""
    return list(PARTS) if real(form, name) is not None else wrong_parts(form, name)


def problem(form: Mapping[str, str], name: str, words: str, example: str = "27 3 2026"
            ) -> str | None:
    """What is wrong with the date typed into NAME, in words naming it (WORDS: "The meeting
    date"); None when it is blank (required or not is the service's to say) or real."""
    day, month, year = typed(form, name)
    if not (day or month or year) or real(form, name) is not None:
        return None
    missing = [p for p, v in zip(PARTS, (day, month, year), strict=True) if not v]
    if missing:
        return f"{words} must include a {' and a '.join(missing)}"
    wrong = wrong_parts(form, name)
    if len(wrong) < 3:
        return f"{words} must include a real {' and '.join(wrong)}"
    return f"{words} must be a real date, like {example}"


def target(input_id: str, form: Mapping[str, str], name: str) -> str:
    """The box an error about this date links to: its first highlighted part."""
    return f"{input_id}-{highlight(form, name)[0]}"


def split(value: str | None) -> dict[str, str]:
    """A YYYY-MM-DD date (from the case, or a link) as the three boxes' values."""
    if not value:
        return {}
    year, _, rest = str(value).partition("-")
    month, _, day = rest.partition("-")
    return {"day": day.lstrip("0") or day, "month": month.lstrip("0") or month, "year": year}
