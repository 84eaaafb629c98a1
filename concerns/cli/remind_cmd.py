"""`concerns remind …`, `concerns calendar …` and `concerns scheduler`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, handled, table
from concerns.workflows.errors import BadInput, parse_day
from concerns.workflows.settings import load_settings

if TYPE_CHECKING:
    from concerns.workflows.calendar import WorkingCalendar

app = typer.Typer(help="Reminders and escalations of deadlines.", no_args_is_help=True)
calendar_app = typer.Typer(help="The working-day calendar.", no_args_is_help=True)


def _moment(text: str, cal: WorkingCalendar) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput("--now", "expected an ISO time such as 2026-06-10T09:30:00+01:00") from None
    # A time without a zone is the council's local time.
    return moment if moment.tzinfo else moment.replace(tzinfo=cal.zone)


@app.command("run-once")
@handled
def run_once(
    now: Annotated[
        str | None,
        typer.Option("--now", help="Sweep as at this ISO time (local time if no zone given).",
                     show_default=False),
    ] = None,
    no_deliver: Annotated[
        bool, typer.Option("--no-deliver", help="Create notifications; leave them in the outbox.")
    ] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """One sweep of due reminders and escalations, then one delivery run of the outbox."""
    from concerns.workflows.scheduler import run_cycle

    c = call(json_out, as_user, config)
    moment = _moment(now, c.ctx.calendar) if now else None
    result = run_cycle(c.ctx, moment, deliver=not no_deliver).to_dict()

    def human(d: dict[str, Any]) -> str:
        lines = [f"Created {d['created']} reminder(s) and {d['digests']} digest(s)."]
        lines += [f"  {i['reference']}  {i['clock']:<18} {i['level']:<10} to {i['to']}"
                  for i in d["items"]]
        sent = d["delivery"]
        lines.append(f"Sent {sent['sent']}, retrying {sent['retrying']}, failed {sent['failed']}"
                     f", cancelled {sent['cancelled']}.")
        return "\n".join(lines)

    emit(c, result, human)


@app.command("outbox")
@handled
def outbox_cmd(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, sent, failed or cancelled.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000)] = 50,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """What is waiting, sent and failed in the outbox (admins and IAT managers)."""
    from concerns.workflows.outbox import outbox_status

    c = call(json_out, as_user, config)
    data = outbox_status(c.ctx, c.user, status, limit)

    def human(d: dict[str, Any]) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in d["counts"].items())
        return counts + "\n" + table(
            d["notifications"],
            ["id", "kind", "level", "reference", "to", "status", "attempts", "last_error"],
        )

    emit(c, data, human)


@app.command("retry")
@handled
def retry_cmd(
    notification_id: Annotated[str, typer.Argument(metavar="ID", help="From `remind outbox`.")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Put a failed notification back in the outbox, to the address as corrected since."""
    from concerns.workflows.outbox import retry_notification

    c = call(json_out, as_user, config)
    try:
        ident = int(notification_id.strip())
    except ValueError:
        raise BadInput("ID", f"expected a whole number, got {notification_id[:40]!r}") from None
    data = retry_notification(c.ctx, c.user, ident)
    emit(c, data, f"Notification {data['id']} is back in the outbox, to go after "
                  f"{data['send_after']}.")


def scheduler(
    interval: Annotated[
        int | None,
        typer.Option("--interval", min=1, help="Seconds between sweeps (default from config).",
                     show_default=False),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run the reminder scheduler until stopped: a sweep and outbox delivery every interval."""
    _run_scheduler(interval, config)


@handled
def _run_scheduler(interval: int | None, config: str | None) -> None:
    from concerns.workflows.scheduler import run_blocking

    c = call(False, None, config)
    run_blocking(c.ctx, interval)


# A negative N (`calendar add D -3`) reaches the command, which says what is wrong with it,
# instead of being read as an unknown option.
@calendar_app.command("add", context_settings={"ignore_unknown_options": True})
@handled
def calendar_add(
    start: Annotated[str, typer.Argument(metavar="DATE", help="Start date, YYYY-MM-DD.")],
    days: Annotated[str, typer.Argument(metavar="N", help="Working days to add.")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The date N working days after DATE (DATE itself does not count)."""
    c = call(json_out, as_user, config)
    try:
        day = parse_day(start[:40])
    except ValueError as exc:
        raise BadInput("DATE", str(exc)) from None
    try:
        n = int(days)
    except ValueError:
        raise BadInput("N", f"expected a whole number of working days, got {days[:40]!r}") from None
    if n < 0:
        raise BadInput("N", f"{n} is negative: the calendar counts forward from DATE (0 or more)")
    if n > 10_000:
        raise BadInput("N", "at most 10000 working days")
    try:
        from concerns.workflows.calendar import WorkingCalendar

        cal = WorkingCalendar.from_settings(load_settings(c.config).calendar)
    except ValueError as exc:
        raise BadInput("config", str(exc)) from None
    due = cal.add_working_days(day, n)
    skipped = [{"date": d.isoformat(), "reason": r} for d, r in cal.skipped_between(day, due)]
    emit(c, {"date": due.isoformat(), "skipped": skipped}, due.isoformat())
