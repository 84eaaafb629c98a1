"""Which reminders a deadline is owed, and when they may go out: pure rules, no database.

Levels, each sent once per deadline and due date (the sweep's unique key):
- `chase`: the owner, once a clock with `chase_after` has run that many working days;
- `before_due`: the owner, N working days before the due date (`reminders.days_before_due`);
- `due_day`: the owner, on the due date;
- `overdue`: the IAT manager once the due date has passed, and the director too for the clocks
  in `reminders.director_clocks` (DCS queues).

Only the level that fits the day is owed: after days of downtime a deadline that is now overdue
gets its escalation, not a backlog of stale "due tomorrow" reminders.

Reminders go out in working hours on working days; the level is judged on the day they will go
out, so one "due tomorrow" is never delivered on the due day itself. Clocks that run in calendar
days (the safeguarding `escalation` clock) do not wait for working hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from concerns.workflows.calendar import WorkingCalendar
from concerns.workflows.settings import SettingsError

CHASE = "chase"
BEFORE_DUE = "before_due"
DUE_DAY = "due_day"
OVERDUE = "overdue"
LEVELS = (CHASE, BEFORE_DUE, DUE_DAY, OVERDUE)

# Who a reminder is for: the deadline's owner, or a role that oversees it.
OWNER = "owner"
IAT_MANAGER = "iat_manager"
DIRECTOR = "director"


@dataclass(frozen=True)
class ReminderPolicy:
    days_before_due: int = 1
    working_hours_start: time = time(9, 0)
    working_hours_end: time = time(17, 0)
    director_clocks: frozenset[str] = frozenset({"signoff", "signature"})
    # Clocks whose reminders go at once, day or night (they run in calendar days).
    immediate_clocks: frozenset[str] = frozenset({"escalation"})
    # clock -> (chase after N working days, target working days)
    chase: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: {"information_wait": (10, 20)}
    )

    def __post_init__(self) -> None:
        if self.days_before_due < 0:
            raise SettingsError("reminders.days_before_due: must not be negative")
        if self.working_hours_start >= self.working_hours_end:
            raise SettingsError(
                "reminders.working_hours_start: must be before working_hours_end"
            )

    @classmethod
    def from_settings(cls, settings: Any) -> ReminderPolicy:
        """From a Settings object (duck-typed: this module imports no settings loader)."""
        rem = settings.reminders
        return cls(
            days_before_due=rem.days_before_due,
            working_hours_start=rem.working_hours_start,
            working_hours_end=rem.working_hours_end,
            director_clocks=frozenset(rem.director_clocks),
            immediate_clocks=frozenset(c.name for c in settings.clocks.values() if not c.working),
            chase={
                c.name: (c.chase_after, c.target)
                for c in settings.clocks.values()
                if c.chase_after is not None
            },
        )


@dataclass(frozen=True)
class DeadlineFacts:
    """What the rules need to know about one deadline."""

    clock: str
    status: str  # running | paused | met | stopped
    due_date: date
    started_on: date
    working_days: bool = True
    # Who owns it (a username); None while nobody is assigned, so the IAT manager is told.
    owner: str | None = None


@dataclass(frozen=True)
class DueReminder:
    level: str
    to: str  # OWNER, IAT_MANAGER or DIRECTOR
    send_after: datetime  # UTC


def in_sending_window(cal: WorkingCalendar, policy: ReminderPolicy, moment: datetime) -> bool:
    """Whether MOMENT falls in working hours on a working day (local time)."""
    local = moment.astimezone(cal.zone)
    return (
        cal.is_working_day(local.date())
        and policy.working_hours_start <= local.time().replace(tzinfo=None)
        and local.time().replace(tzinfo=None) < policy.working_hours_end
    )


def next_sending_moment(cal: WorkingCalendar, policy: ReminderPolicy, now: datetime) -> datetime:
    """NOW if it is in working hours on a working day, else when they next begin (UTC)."""
    if in_sending_window(cal, policy, now):
        return now
    local = now.astimezone(cal.zone)
    day = local.date()
    if not (cal.is_working_day(day) and local.time() < policy.working_hours_start):
        day = cal.next_working_day(day + timedelta(days=1))
    return cal.local_moment(day, policy.working_hours_start)


def is_immediate(policy: ReminderPolicy, deadline: DeadlineFacts) -> bool:
    return deadline.clock in policy.immediate_clocks or not deadline.working_days


def reminders_due(
    cal: WorkingCalendar, policy: ReminderPolicy, deadline: DeadlineFacts, now: datetime
) -> list[DueReminder]:
    """The reminders DEADLINE is owed as of NOW, each with the moment it may be sent."""
    if deadline.status != "running":
        return []
    send_after = now if is_immediate(policy, deadline) else next_sending_moment(cal, policy, now)
    today = cal.local_date(send_after)
    due = deadline.due_date
    owner = OWNER if deadline.owner else IAT_MANAGER
    out: list[DueReminder] = []
    if today > due:
        out.append(DueReminder(OVERDUE, IAT_MANAGER, send_after))
        if deadline.clock in policy.director_clocks:
            out.append(DueReminder(OVERDUE, DIRECTOR, send_after))
        return out
    if today == due:
        return [DueReminder(DUE_DAY, owner, send_after)]
    chase = policy.chase.get(deadline.clock)
    if chase is not None and today >= cal.shift(
        deadline.started_on, chase[0], working=deadline.working_days
    ):
        out.append(DueReminder(CHASE, owner, send_after))
    if policy.days_before_due > 0:
        before = cal.shift(due, -policy.days_before_due, working=deadline.working_days)
        # A "due tomorrow" on the day a short clock starts tells nobody anything new.
        if before > deadline.started_on and today >= before:
            out.append(DueReminder(BEFORE_DUE, owner, send_after))
    return out


def evaluation_date(cal: WorkingCalendar, policy: ReminderPolicy, now: datetime) -> date:
    """The local day working-hours reminders created at NOW are judged on."""
    return cal.local_date(next_sending_moment(cal, policy, now))


def selection_horizon(cal: WorkingCalendar, policy: ReminderPolicy, now: datetime) -> date:
    """Running deadlines due on or before this date may be owed a reminder (not `chase`)."""
    # Working-day offsets reach at least as far as the same number of calendar days.
    return cal.add_working_days(evaluation_date(cal, policy, now), policy.days_before_due)


def chase_horizons(
    cal: WorkingCalendar, policy: ReminderPolicy, now: datetime
) -> dict[str, date]:
    """Per chased clock, the latest due date whose clock may have reached its chase day."""
    today = evaluation_date(cal, policy, now)
    return {
        clock: cal.add_working_days(today, max(0, target - after))
        for clock, (after, target) in policy.chase.items()
    }


def digest_date(cal: WorkingCalendar, policy: ReminderPolicy, now: datetime) -> date | None:
    """The day whose overdue digest may be made now: only in working hours on working days."""
    if not in_sending_window(cal, policy, now):
        return None
    return cal.local_date(now)


def deadline_status(status: str, due_date: date, today: date) -> str:
    """What staff see: running, paused, met, stopped, or overdue (running past its due date)."""
    if status == "running" and today > due_date:
        return "overdue"
    return status
