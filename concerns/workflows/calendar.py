"""The working-day calendar: pure date arithmetic, no database.

A working day is Monday to Friday, less the bank holidays of England and Wales (the `holidays`
package, substitute days included) and the council's closure days from config.toml.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

import holidays


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
        self.zone = ZoneInfo(timezone)

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country, subdiv=self.subdivision)

    def local_date(self, moment: datetime) -> date:
        """The council's calendar date of an aware moment (a Friday 23:30 BST is that Friday)."""
        if moment.tzinfo is None:
            raise ValueError("local_date needs an aware datetime")
        return moment.astimezone(self.zone).date()

    def non_working_reason(self, day: date) -> str | None:
        """Why DAY is not a working day, or None if it is one."""
        if day.weekday() >= 5:
            return "weekend"
        name = self._holidays.get(day)
        if name:
            return str(name)
        if day in self.closure_days:
            return "council closure day"
        return None

    def is_working_day(self, day: date) -> bool:
        return self.non_working_reason(day) is None

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

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after START up to and including END (0 if END is not after START)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def skipped_between(self, start: date, end: date) -> list[tuple[date, str]]:
        """Holidays and closures (not weekends) after START up to and including END."""
        out: list[tuple[date, str]] = []
        day = start
        while day < end:
            day += timedelta(days=1)
            reason = self.non_working_reason(day)
            if reason and reason != "weekend":
                out.append((day, reason))
        return out
