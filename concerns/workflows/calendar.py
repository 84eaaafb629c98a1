"""The working-day calendar: pure date arithmetic, no database.

A working day is Monday to Friday, less the bank holidays of England and Wales (the `holidays`
package, substitute days included) and the council's closure days from config.toml. Dates are the
council's local dates (Europe/London); moments are aware datetimes, stored in UTC.

Counting follows the Representations Procedure: the day something starts does not count, the
next working day is day 1, so "3 working days from a Friday" is the following Wednesday.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from concerns.workflows.settings import SettingsError

if TYPE_CHECKING:
    import holidays

WEEKEND = "weekend"
CLOSURE = "council closure day"


class WorkingCalendar:
    def __init__(
        self,
        closure_days: Iterable[date] = (),
        *,
        country: str = "GB",
        subdivision: str = "ENG",
        timezone: str = "Europe/London",
    ) -> None:
        self.closure_days = frozenset(closure_days)
        self.country = country
        self.subdivision = subdivision
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"calendar.timezone: unknown time zone {timezone!r}") from None

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        """The bank holidays, made when a day is first checked: the `holidays` package loads
        every country it knows (a tenth of a second), which commands that only read local
        dates need not pay. An unknown country or subdivision is refused then."""
        import holidays

        try:
            # Years are filled in lazily as dates are looked up (the package's `expand`).
            return holidays.country_holidays(self.country, subdiv=self.subdivision)
        except NotImplementedError:
            raise SettingsError(
                f"calendar.country/subdivision: no holidays known for "
                f"{self.country}/{self.subdivision}"
            ) from None

    @classmethod
    def from_settings(cls, settings: Any) -> WorkingCalendar:
        """Build from a CalendarSettings (duck-typed so this module stays free of imports)."""
        return cls(
            settings.closure_days,
            country=settings.country,
            subdivision=settings.subdivision,
            timezone=settings.timezone,
        )

    # -- moments and local dates -------------------------------------------------------------

    def local_date(self, moment: datetime) -> date:
        """The council's calendar date of an aware moment (a Friday 23:30 BST is that Friday)."""
        if moment.tzinfo is None:
            raise ValueError("local_date needs an aware datetime")
        return moment.astimezone(self.zone).date()

    def local_moment(self, day: date, at: time) -> datetime:
        """The UTC moment of local wall-clock time AT on DAY (BST or GMT as it falls)."""
        return datetime.combine(day, at, tzinfo=self.zone).astimezone(UTC)

    # -- single days ---------------------------------------------------------------------------

    def non_working_reason(self, day: date) -> str | None:
        """Why DAY is not a working day, or None if it is one."""
        if day.weekday() >= 5:
            return WEEKEND
        name = self._holidays.get(day)
        if name:
            return str(name)
        if day in self.closure_days:
            return CLOSURE
        return None

    def is_working_day(self, day: date) -> bool:
        return self.non_working_reason(day) is None

    def next_working_day(self, day: date) -> date:
        """DAY itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    # -- arithmetic ----------------------------------------------------------------------------

    def one_calendar_month(self, start: date) -> date:
        """The statutory month (UK GDPR art. 12(3), as the ICO reads it): the same day of the
        next month, or its last day when it has no such day; moved to the next working day when
        that is a weekend, bank holiday or closure day."""
        year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
        last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
        return self.next_working_day(date(year, month, min(start.day, last)))

    def add_working_days(self, start: date, n: int) -> date:
        """The date N working days after START (START itself does not count)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def subtract_working_days(self, start: date, n: int) -> date:
        """The date N working days before START (START itself does not count)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day = start
        while n > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def shift(self, start: date, n: int, *, working: bool = True) -> date:
        """N days after START (before it if N < 0): working days, or calendar days."""
        if not working:
            return start + timedelta(days=n)
        if n >= 0:
            return self.add_working_days(start, n)
        return self.subtract_working_days(start, -n)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after START up to and including END (0 if END is not after START)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def days_between(self, start: date, end: date, *, working: bool = True) -> int:
        """Days after START up to END, signed: negative when END is before START."""
        if not working:
            return (end - start).days
        if end >= start:
            return self.working_days_between(start, end)
        return -self.working_days_between(end, start)

    def skipped_between(self, start: date, end: date) -> list[tuple[date, str]]:
        """Holidays and closures (not weekends) after START up to and including END."""
        out: list[tuple[date, str]] = []
        day = start
        while day < end:
            day += timedelta(days=1)
            reason = self.non_working_reason(day)
            if reason and reason != WEEKEND:
                out.append((day, reason))
        return out

    def weekend_days_between(self, start: date, end: date) -> int:
        """Saturdays and Sundays after START up to and including END."""
        return sum(
            1
            for i in range(1, max(0, (end - start).days) + 1)
            if (start + timedelta(days=i)).weekday() >= 5
        )

    # -- explaining a due date -----------------------------------------------------------------

    def explain(
        self,
        start: date,
        n: int,
        *,
        pauses: Sequence[tuple[date, date | None]] = (),
        working: bool = True,
    ) -> DueDateExplanation:
        """Work out the due date of an N-day clock started on START, with its pauses.

        A pause (paused_on, resumed_on) stops the count at the end of paused_on; on resume the
        clock has the days it had left, counted from resumed_on. A clock paused after its due
        date keeps the days it was late by. An open pause (resumed_on None) must be the last:
        the clock then has no due date, only the days it has left.
        """
        remaining = n
        segment_start = start
        skipped: list[tuple[date, str]] = []
        weekend_days = 0
        pause_notes: list[PauseNote] = []
        for index, (paused_on, resumed_on) in enumerate(pauses):
            if paused_on < segment_start:
                raise ValueError("pauses must be in order and after the start")
            used = self.days_between(segment_start, paused_on, working=working)
            if working:
                skipped += self.skipped_between(segment_start, paused_on)
                weekend_days += self.weekend_days_between(segment_start, paused_on)
            remaining -= used
            pause_notes.append(PauseNote(paused_on, resumed_on, remaining))
            if resumed_on is None:
                if index != len(pauses) - 1:
                    raise ValueError("only the last pause may be open")
                return DueDateExplanation(
                    start, n, working, None, remaining, skipped, weekend_days, pause_notes
                )
            if resumed_on < paused_on:
                raise ValueError("a pause cannot end before it starts")
            segment_start = resumed_on
        due = self.shift(segment_start, remaining, working=working)
        if working:
            skipped += self.skipped_between(segment_start, due)
            weekend_days += self.weekend_days_between(segment_start, due)
        return DueDateExplanation(
            start, n, working, due, remaining, skipped, weekend_days, pause_notes
        )


@dataclass(frozen=True)
class PauseNote:
    paused_on: date
    resumed_on: date | None
    # Days the clock had left when it was paused (negative: it was already late by that many).
    remaining: int


@dataclass(frozen=True)
class DueDateExplanation:
    """How a due date was worked out, for staff to check (`case show`)."""

    start: date
    days: int
    working: bool
    due: date | None
    # Days left in the last counted stretch (all of them while paused).
    remaining: int
    skipped: list[tuple[date, str]] = field(default_factory=list)
    weekend_days: int = 0
    pauses: list[PauseNote] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: stored on each deadline as its `explanation`."""
        return {
            "from": self.start.isoformat(),
            "days": self.days,
            "working_days": self.working,
            "due": self.due.isoformat() if self.due else None,
            "skipped": [[d.isoformat(), r] for d, r in self.skipped],
            "weekend_days": self.weekend_days,
            "pauses": [
                {
                    "from": p.paused_on.isoformat(),
                    "to": p.resumed_on.isoformat() if p.resumed_on else None,
                    "days_left": p.remaining,
                }
                for p in self.pauses
            ],
            "text": self.text(),
        }

    def text(self) -> str:
        unit = "working day" if self.working else "calendar day"
        parts = [f"{self.days} {unit}{'' if self.days == 1 else 's'} from {_day(self.start)}"]
        if self.skipped:
            parts.append(
                "not counting " + ", ".join(f"{r} on {_day(d)}" for d, r in self.skipped)
            )
        if self.weekend_days:
            parts.append(f"{self.weekend_days} weekend day{'' if self.weekend_days == 1 else 's'}")
        for p in self.pauses:
            if p.resumed_on is None:
                parts.append(f"paused since {_day(p.paused_on)}, {_left(p, unit)}")
            else:
                span = f"{_day(p.paused_on)} to {_day(p.resumed_on)}"
                parts.append(f"paused {span}, {_left(p, unit)}")
        parts.append(f"due {_day(self.due)}" if self.due else "no due date while paused")
        return "; ".join(parts)


def _left(p: PauseNote, unit: str) -> str:
    if p.remaining < 0:
        return f"already late by {-p.remaining} {unit}{'' if p.remaining == -1 else 's'}"
    return f"{p.remaining} {unit}{'' if p.remaining == 1 else 's'} left"


def _day(d: date) -> str:
    return d.strftime("%a %d %b %Y")
