"""Errors a use case can end in, each with the exit status the CLI gives it (docs/cli.md).

Messages name the field and the problem, never personal data.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from datetime import date


class ServiceError(Exception):
    exit_code = 1
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ServiceError):
    """Input that is malformed: names the field (a dotted path or a --set key) and the problem."""

    exit_code = 2
    http_status = 422

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NotAllowed(ServiceError):
    """Refused: role, guard, state or separation of duties."""

    exit_code = 3
    http_status = 403


class NotFound(ServiceError):
    exit_code = 1
    http_status = 404


class ConcurrentChange(ServiceError):
    """Someone else changed the case between reading and writing it."""

    exit_code = 1
    http_status = 409

    def __init__(self, reference: str) -> None:
        super().__init__(f"case {reference}: the case changed while you were working on it, reload")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest of CHOICES to WORD, or '' when none is close.

    One wording for every misspelt name: events, settings, sections, commands."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def parse_day(text: str) -> date:
    """A calendar date written YYYY-MM-DD; ValueError says which of the two problems it is."""
    value = text.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        # What to correct, without repeating the date (it may be someone's birthday).
        month = int(value[5:7])
        fix = ("the month must be 01 to 12" if not 1 <= month <= 12
               else "the day must be 01 to the last day of the month")
        raise ValueError(f"not a real date: {fix}") from None


def day_field(value: str | None, field: str, *, required: bool = False) -> date | None:
    """A date typed into FIELD (a command's option or a page's input), read by parse_day: one
    wording for every date everywhere. Blank is None, or refused when REQUIRED."""
    if value is None or not value.strip():
        if required:
            raise BadInput(field, "required: a date as YYYY-MM-DD")
        return None
    try:
        return parse_day(value)
    except ValueError as exc:
        raise BadInput(field, str(exc)) from None
