"""The scrutiny report: what the council tells its scrutiny committee, computed by SQL aggregates
over any date range, and its exports (JSON, CSV safe against formula injection, HTML, PDF).

No personal data: only counts. Dates are Europe/London; the range is inclusive of both days.
"Outside the framework" counts cases closed by answering the query, by referral to the formal
complaints route, or by the IAT manager's close outside the framework.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import ColumnElement, Integer, bindparam, case, distinct, func, or_, select
from sqlalchemy.orm import Session

from concerns.db.models import (
    Case,
    CaseChild,
    Contact,
    Deadline,
    Escalation,
    LearningAction,
    RawSubmission,
    ReviewFinding,
)
from concerns.reports.figures import (
    STAFF_ONLY,
    bar_chart,
    day_words,
    fewer_than,
    month_words,
    months_between,
    nearest_rank,
    quarter_of,
    quarter_words,
    shown,
    suppress,
)

OUTSIDE_FRAMEWORK = ("answered", "referred_to_complaints", "outside_framework")
FIGURES = (
    "contacts", "cases", "respondents", "respondents_with_multiple_contacts", "children",
    "children_with_contacts_from_several_people", "outside_framework",
    "learning_reviews_completed", "open_cases", "overdue", "oldest_involvement_years",
    "newest_involvement_years",
)


@dataclass(frozen=True)
class Period:
    """Inclusive local dates; None means unbounded on that side."""

    start: date | None
    end: date | None
    timezone: str = "Europe/London"

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The UTC moments [from, to) for the local days."""
        tz = ZoneInfo(self.timezone)
        lo = datetime.combine(self.start, time(0), tz).astimezone(UTC) if self.start else None
        hi = (datetime.combine(self.end + timedelta(days=1), time(0), tz).astimezone(UTC)
              if self.end else None)
        return lo, hi


def within(column: Any, period: Period) -> list[ColumnElement[bool]]:
    lo, hi = period.bounds()
    out: list[ColumnElement[bool]] = []
    if lo is not None:
        out.append(column >= lo)
    if hi is not None:
        out.append(column < hi)
    return out


@dataclass(frozen=True)
class Options:
    """What the report needs from the settings, and how it is shown."""

    themes: tuple[tuple[str, str], ...] = ()
    # clock -> (target, unit words), in the order of config.toml
    clocks: tuple[tuple[str, int, str], ...] = ()
    clock_labels: Mapping[str, str] = field(default_factory=dict)
    overdue_since: date | None = None
    # Staff who may read cases also get the findings' words and the case references.
    details: bool = False
    # Rows met before the day and the days taken were kept: (started_on, met_at, explanation,
    # working) -> (met_on, days taken), from the calendar.
    taken: Callable[[date, datetime, dict[str, Any], bool], tuple[date, int]] | None = None


# Clocks of the case itself (an action's clock is counted under `actions`).
CASE_CLOCK_EXCLUDED = ("action",)


def _span(session: Session, column: Any, where: list[ColumnElement[bool]], period: Period
          ) -> list[str]:
    """The local months from the period's first to its last day (or the data's, if open)."""
    tz = ZoneInfo(period.timezone)
    # Two scalar subqueries, not min() and max() in one SELECT: each is then one look-up at an
    # end of the column's index, where the pair together would scan it.
    lo, hi = session.execute(select(
        select(func.min(column)).where(*where).scalar_subquery(),
        select(func.max(column)).where(*where).scalar_subquery(),
    )).one()
    if lo is None:
        return []
    if isinstance(lo, str):  # SQLite's min() of a DateTime comes back as text
        lo, hi = datetime.fromisoformat(lo), datetime.fromisoformat(hi)
    first = period.start or lo.replace(tzinfo=lo.tzinfo or UTC).astimezone(tz).date()
    last = period.end or hi.replace(tzinfo=hi.tzinfo or UTC).astimezone(tz).date()
    return months_between(first.strftime("%Y-%m"), last.strftime("%Y-%m"))


def _pieces(months: list[str], period: Period, tz: ZoneInfo
            ) -> list[tuple[int, datetime, datetime]]:
    """(month's position, from, to): the UTC ranges of MONTHS (local) within the period, also
    cut at each UTC new year, so every moment in a piece has the same year."""
    if not months:
        return []
    lo, hi = period.bounds()
    y, m = int(months[-1][:4]), int(months[-1][5:])
    after = f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"
    starts = [datetime(int(k[:4]), int(k[5:]), 1, tzinfo=tz).astimezone(UTC)
              for k in [*months, after]]
    out: list[tuple[int, datetime, datetime]] = []
    for i in range(len(months)):
        first = starts[i] if lo is None else max(starts[i], lo)
        last = starts[i + 1] if hi is None else min(starts[i + 1], hi)
        cuts = [first, *(datetime(year, 1, 1, tzinfo=UTC)
                         for year in range(first.year + 1, last.year + 1)), last]
        out += [(i, a, b) for a, b in pairwise(cuts) if a < b]
    return out


def _quarters(months: list[str], period: Period, tz: ZoneInfo
              ) -> list[tuple[str, datetime, datetime]]:
    """(quarter, from, to): the UTC ranges of the local quarters MONTHS fall in, cut to MONTHS
    and to the period."""
    out: list[tuple[str, datetime, datetime]] = []
    for m, first, last in _pieces(months, period, tz):
        quarter = quarter_of(months[m])
        if out and out[-1][0] == quarter and out[-1][2] == first:
            out[-1] = (quarter, out[-1][1], last)
        else:
            out.append((quarter, first, last))
    return out


def _distinct(session: Session, column: Any) -> list[str]:
    """Every value of COLUMN: one look-up of the next value in an index that leads with it
    each, not a scan."""
    out: list[str] = []
    current = session.scalar(select(func.min(column)))
    while current is not None:
        out.append(str(current))
        current = session.scalar(select(func.min(column)).where(column > current))
    return out


def _channels(session: Session) -> list[str]:
    """Every channel contacts came by."""
    return _distinct(session, Contact.channel)


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def scrutiny(
    session: Session, period: Period, today: date, options: Options | None = None
) -> dict[str, Any]:
    """Every figure of the scrutiny report, for contacts and cases in PERIOD, in a few passes:
    the contacts grouped once by month, channel and route; once per person; once per child;
    the cases once; the deadlines once for timeliness and once for what is overdue."""
    options = options or Options()
    tz = ZoneInfo(period.timezone)
    contact_in = within(Contact.received_at, period)
    case_in = within(Case.received_at, period)
    one = session.scalar

    # Contacts: one pass, as one range of the (channel, received_at, ...) index per channel and
    # local month, each summed without sorting (a GROUP BY over the month would sort them all).
    months = _span(session, Contact.received_at, contact_in, period)
    by_month: Counter[str] = Counter()
    by_channel: Counter[str] = Counter()
    forwarded = 0
    oldest: int | None = None
    newest: int | None = None
    pieces = _pieces(months, period, tz)
    piece = select(
        func.count(), func.count(Contact.route),
        func.min(func.coalesce(Contact.involvement_from_year, Contact.involvement_to_year)),
        func.max(func.coalesce(Contact.involvement_to_year, Contact.involvement_from_year)),
    ).where(Contact.channel == bindparam("channel"), Contact.received_at >= bindparam("lo"),
            Contact.received_at < bindparam("hi"))
    for channel in _channels(session):
        for m, lo, hi in pieces:
            count, routed, earliest, latest = session.execute(
                piece, {"channel": channel, "lo": lo, "hi": hi}).one()
            if not count:
                continue
            by_month[months[m]] += int(count)
            by_channel[channel] += int(count)
            forwarded += int(routed)
            # The year of every contact in a piece is its first moment's (UTC) year.
            if earliest is not None:
                old = lo.year - int(earliest)
                oldest = old if oldest is None else max(oldest, old)
            if latest is not None:
                new = lo.year - int(latest)
                newest = new if newest is None else min(newest, new)
    contacts = sum(by_month.values())

    per_person = (
        select(Contact.respondent_id, func.count().label("n")).where(*contact_in)
        .group_by(Contact.respondent_id).subquery()
    )
    # Conditional counts are count(*) FILTER (WHERE ...), here and below: cheaper per row than
    # summing a CASE on SQLite (the cases' pass about 0.14 to 0.10 s at 900,000 cases), and
    # never NULL.
    respondents, repeaters = session.execute(
        select(func.count(), func.count().filter(per_person.c.n > 1))
    ).one()
    # Several people about one child: their lowest and highest respondent ids differ (cheaper
    # than counting distinct ids, which sorts each child's contacts). The join walks the
    # (child_id, case_id) and (case_id, respondent_id, received_at) indexes in order.
    per_child = (
        select(CaseChild.child_id, func.min(Contact.respondent_id).label("lo"),
               func.max(Contact.respondent_id).label("hi"))
        .join(Contact, Contact.case_id == CaseChild.case_id).where(*contact_in)
        .group_by(CaseChild.child_id).subquery()
    )
    children, shared = session.execute(
        select(func.count(), func.count().filter(per_child.c.lo != per_child.c.hi))
    ).one()

    # Cases: one pass.
    cases, outside_count, reviews, open_cases = session.execute(
        select(
            func.count(),
            func.count().filter(outside()),
            func.count().filter(Case.learning_review_completed.is_(True)),
            func.count().filter(Case.state != "closed"),
        ).where(*case_in)
    ).one()
    # The open cases among those with an overdue deadline: an IN, not a join counted DISTINCT,
    # so each case is looked up once by its key and nothing is sorted (at 180,000 overdue
    # deadlines about 0.33 to 0.14 s on SQLite; a semi-join on PostgreSQL).
    overdue = one(
        select(func.count()).select_from(Case)
        .where(*case_in, Case.state != "closed",
               Case.id.in_(select(Deadline.case_id).where(*overdue_deadline(today))))
    ) or 0
    raw_in = within(RawSubmission.received_at, period)
    raw_status = dict(
        session.execute(
            select(RawSubmission.status, func.count(RawSubmission.id))
            .where(*raw_in, RawSubmission.status.in_(("quarantined", "ignored")))
            .group_by(RawSubmission.status)
        ).tuples().all()
    )
    return {
        "period": {"from": period.start.isoformat() if period.start else None,
                   "to": period.end.isoformat() if period.end else None},
        "contacts": contacts,
        "cases": int(cases),
        "respondents": int(respondents),
        "respondents_with_multiple_contacts": int(repeaters),
        "children": int(children),
        "children_with_contacts_from_several_people": int(shared),
        "outside_framework": int(outside_count),
        "learning_reviews_completed": int(reviews),
        "open_cases": int(open_cases),
        "overdue": int(overdue),
        "oldest_involvement_years": oldest,
        "newest_involvement_years": newest,
        "contacts_by_month": [{"month": k, "contacts": by_month.get(k, 0)} for k in
                              (months_between(min(by_month), max(by_month)) if by_month else [])],
        "contacts_by_channel": {k: by_channel[k] for k in sorted(by_channel)},
        "forwarded_contacts": forwarded,
        "quarantined": int(raw_status.get("quarantined", 0)),
        "set_aside": int(raw_status.get("ignored", 0)),
        "timeliness": _timeliness(session, period, options),
        "newly_overdue": _newly_overdue(session, today, options),
        "themes": _themes(session, period, options),
        "actions": _actions(session, period, today, options),
        "escalations": _escalations(session, period),
    }


def outside() -> ColumnElement[bool]:
    return Case.outcome.in_(OUTSIDE_FRAMEWORK)


def overdue_deadline(today: date) -> list[ColumnElement[bool]]:
    """A case's own deadline still running past its due date."""
    return [Deadline.status == "running", Deadline.due_date < today,
            Deadline.clock.not_in(CASE_CLOCK_EXCLUDED)]


def overdue_case(today: date) -> list[ColumnElement[bool]]:
    return [Case.state != "closed", *overdue_deadline(today)]


# --- timeliness -----------------------------------------------------------------------------


def met_in(period: Period, *, legacy: bool = False) -> list[ColumnElement[bool]]:
    """Deadlines met on a local day in PERIOD (LEGACY: with those met before the day was kept,
    which are placed by their moment)."""
    where: list[ColumnElement[bool]] = [Deadline.status == "met"]
    keep: list[ColumnElement[bool]] = []
    if period.start:
        keep.append(Deadline.met_on >= period.start)
    if period.end:
        keep.append(Deadline.met_on <= period.end)
    where += [or_(k, Deadline.met_on.is_(None)) if legacy else k for k in keep]
    return where


def _met_month(session: Session, met_on: Any) -> Any:
    if _is_pg(session):
        return func.to_char(met_on, "YYYY-MM")
    return func.substr(met_on, 1, 7)


def _stats(hist: Counter[int], on_time: int, extended: int, ext_days: int) -> dict[str, Any]:
    completed = sum(hist.values())
    return {
        "completed": completed,
        "on_time": on_time,
        "on_time_share": round(on_time / completed, 3) if completed else None,
        "median_days": nearest_rank(hist, 0.5),
        "p90_days": nearest_rank(hist, 0.9),
        "extended": extended,
        "extension_days": ext_days,
    }


def _timeliness(session: Session, period: Period, options: Options) -> dict[str, Any]:
    """Per clock: deadlines met in the period (by the local day met), the share met by their
    due date (extensions included), median and 90th percentile days taken (pauses left out),
    and how many were extended and by how many days; by month and by quarter."""
    where = met_in(period, legacy=True)
    # First by the day met, in the order of the (status, met_on, clock, working_days_taken,
    # extended_days, due_date) index, so nothing is sorted and only the index is read; then
    # by month over those far fewer rows. The due date is a key too (it is the index's next
    # column, so still nothing is sorted, and a day's rows seldom differ in it): whether a
    # group was on time is then decided once per group, not summed row by row (at 1,620,000
    # met deadlines about 0.34 to 0.27 s on SQLite).
    by_day = select(
        Deadline.met_on.label("met_on"), Deadline.clock.label("clock"),
        Deadline.working_days_taken.label("taken"), Deadline.extended_days.label("ext"),
        Deadline.due_date.label("due"), func.count().label("n"),
    ).where(*where).group_by(
        Deadline.met_on, Deadline.clock, Deadline.working_days_taken, Deadline.extended_days,
        Deadline.due_date,
    ).subquery()
    month = _met_month(session, by_day.c.met_on)
    # (clock, month, how many on time, days taken, extension days, how many)
    rows: list[tuple[str, str | None, int, int | None, int, int]] = [
        (str(c), m, int(ok), t, int(e or 0), int(n))
        for c, m, t, e, n, ok in session.execute(
            select(by_day.c.clock, month, by_day.c.taken, by_day.c.ext,
                   func.sum(by_day.c.n),
                   func.sum(case((by_day.c.met_on <= by_day.c.due, by_day.c.n), else_=0)))
            .group_by(by_day.c.clock, month, by_day.c.taken, by_day.c.ext)
        ).all()
    ]
    if any(m is None for _, m, _, _, _, _ in rows):
        rows = [r for r in rows if r[1] is not None] + _legacy_rows(session, period, options)
    # (clock, bucket) -> histogram, on time, extended, extension days
    acc: dict[tuple[str, str], tuple[Counter[int], list[int]]] = {}
    for clock, m, on_time, taken, ext, n in rows:
        assert m is not None
        for bucket in ("all", m, quarter_of(m)):
            hist, sums = acc.setdefault((clock, bucket), (Counter(), [0, 0, 0]))
            if taken is not None:
                hist[int(taken)] += n
            sums[0] += on_time
            sums[1] += n if ext else 0
            sums[2] += ext * n
    order = [c for c, _, _ in options.clocks] or sorted({c for c, _ in acc})
    known = {c: (t, u) for c, t, u in options.clocks}
    out: dict[str, Any] = {}
    for clock in order + sorted({c for c, _ in acc} - set(order)):
        target, unit = known.get(clock, (None, "working days"))
        whole = acc.get((clock, "all"), (Counter(), [0, 0, 0]))
        buckets = sorted(b for c, b in acc if c == clock and b != "all")
        out[clock] = {
            "label": options.clock_labels.get(clock, clock.replace("_", " ")),
            "target_days": target,
            "unit": unit,
            **_stats(whole[0], *whole[1]),
            "by_month": [{"month": b, **_stats(acc[(clock, b)][0], *acc[(clock, b)][1])}
                         for b in buckets if "-Q" not in b],
            "by_quarter": [{"quarter": b, **_stats(acc[(clock, b)][0], *acc[(clock, b)][1])}
                           for b in buckets if "-Q" in b],
        }
    return out


def _legacy_rows(session: Session, period: Period, options: Options
                 ) -> list[tuple[str, str | None, int, int | None, int, int]]:
    """Deadlines met before the day and the days taken were kept on the row: worked out here."""
    out: list[tuple[str, str | None, int, int | None, int, int]] = []
    for d in session.execute(
        select(Deadline.clock, Deadline.started_on, Deadline.met_at, Deadline.due_date,
               Deadline.explanation, Deadline.working_days, Deadline.extended_days)
        .where(Deadline.status == "met", Deadline.met_on.is_(None),
               Deadline.met_at.is_not(None))
    ).all():
        if options.taken is None:
            met_on = d.met_at.astimezone(ZoneInfo(period.timezone)).date()
            taken = None
        else:
            met_on, taken = options.taken(d.started_on, d.met_at, dict(d.explanation or {}),
                                          bool(d.working_days))
        if (period.start and met_on < period.start) or (period.end and met_on > period.end):
            continue
        out.append((d.clock, met_on.strftime("%Y-%m"), int(met_on <= d.due_date), taken,
                    int(d.extended_days or 0), 1))
    return out


def newly_overdue_where(today: date, since: date) -> list[ColumnElement[bool]]:
    """Running deadlines of a case that became overdue from SINCE to TODAY. A deadline is
    overdue from the day after its due date, so: due on or after the day before SINCE, and
    before today (due today is not overdue yet)."""
    return [Deadline.status == "running", Deadline.due_date >= since - timedelta(days=1),
            Deadline.due_date < today, Deadline.clock.not_in(CASE_CLOCK_EXCLUDED)]


def _newly_overdue(session: Session, today: date, options: Options) -> dict[str, Any]:
    """Deadlines still running that became overdue on or after SINCE (the day after the due
    date is the first day overdue), and the cases they are on."""
    since = options.overdue_since or today
    where = newly_overdue_where(today, since)
    by_clock = dict(session.execute(
        select(Deadline.clock, func.count()).where(*where).group_by(Deadline.clock)
    ).tuples().all())
    cases = session.scalar(select(func.count(distinct(Deadline.case_id))).where(*where)) or 0
    out: dict[str, Any] = {
        "since": since.isoformat(),
        "cases": int(cases),
        "deadlines": int(sum(by_clock.values())),
        "by_clock": {k: int(v) for k, v in sorted(by_clock.items())},
    }
    if options.details:
        out["references"] = sorted(session.scalars(
            select(distinct(Case.reference)).join(Deadline, Deadline.case_id == Case.id)
            .where(*where)
        ))
    return out


# --- learning -------------------------------------------------------------------------------


def findings_in(period: Period) -> list[ColumnElement[bool]]:
    """The current findings (not superseded) of outcomes submitted in PERIOD."""
    return [ReviewFinding.superseded_at.is_(None), *within(ReviewFinding.recorded_at, period)]


def actions_in(period: Period) -> list[ColumnElement[bool]]:
    """Actions (not withdrawn) arising from outcomes submitted in PERIOD."""
    return [LearningAction.status != "withdrawn", *within(LearningAction.created_at, period)]


def _themes(session: Session, period: Period, options: Options) -> dict[str, Any]:
    """Findings by theme (the current ones, by the day the outcome was submitted): how many
    and on how many cases, by quarter; the findings themselves for staff."""
    tz = ZoneInfo(period.timezone)
    where = findings_in(period)
    # The months of every finding in the period, superseded ones too: each end is then one
    # look-up in the recorded_at index (the current findings' first and last would be sought
    # through the index of their cases), and a month only they fill is a range counting none.
    months = _span(session, ReviewFinding.recorded_at,
                   within(ReviewFinding.recorded_at, period), period)
    counts: dict[str, Counter[str]] = {}
    cases: dict[str, int] = {}
    if months:
        # Only quarters are shown: each theme's findings are counted as one range of the
        # (theme, superseded_at, recorded_at, case_id) index per quarter, so no row is compared
        # with the quarters' first days nor grouped (at 270,000 findings about 0.13 to 0.02 s
        # on SQLite).
        piece = select(func.count()).where(
            ReviewFinding.theme == bindparam("theme"), ReviewFinding.superseded_at.is_(None),
            ReviewFinding.recorded_at >= bindparam("lo"),
            ReviewFinding.recorded_at < bindparam("hi"))
        ranges = _quarters(months, period, tz)
        for theme in _distinct(session, ReviewFinding.theme):
            for quarter, lo, hi in ranges:
                n = session.scalar(piece, {"theme": theme, "lo": lo, "hi": hi})
                if n:
                    counts.setdefault(theme, Counter())[quarter] += int(n)
        cases = {str(t): int(n) for t, n in session.execute(
            select(ReviewFinding.theme, func.count(distinct(ReviewFinding.case_id)))
            .where(*where).group_by(ReviewFinding.theme)
        ).all()}
    labels = dict(options.themes)
    order = [k for k, _ in options.themes] + sorted(set(counts) - set(labels))
    quarters = sorted({q for c in counts.values() for q in c})
    out: dict[str, Any] = {
        "reviews_with_themes": int(session.scalar(
            select(func.count(distinct(ReviewFinding.case_id))).where(*where)) or 0),
        "quarters": quarters,
        "by_theme": {
            theme: {
                "label": labels.get(theme, theme),
                "findings": sum(counts.get(theme, Counter()).values()),
                "cases": cases.get(theme, 0),
                "by_quarter": {q: counts.get(theme, Counter()).get(q, 0) for q in quarters},
            }
            for theme in order
        },
    }
    if options.details:
        out["staff_findings"] = [
            {"theme": t, "label": labels.get(t, t), "finding": f, "reference": r}
            for t, f, r in session.execute(
                select(ReviewFinding.theme, ReviewFinding.finding, Case.reference)
                .join(Case, Case.id == ReviewFinding.case_id).where(*where)
                .order_by(ReviewFinding.theme, Case.reference)
            ).all()
        ]
    return out


def _actions(session: Session, period: Period, today: date, options: Options
             ) -> dict[str, Any]:
    """Actions arising from reviews whose outcome was submitted in the period, by theme: open,
    overdue (open past the due date) and completed (and of those, by the due date)."""
    where = actions_in(period)
    by_theme: dict[str, Counter[str]] = {}
    inner = select(
        LearningAction.theme.label("theme"), LearningAction.status.label("status"),
        (LearningAction.due_date < today).label("late"),
        (LearningAction.completed_at.is_not(None) & (Deadline.met_on <= Deadline.due_date))
        .label("early"),
    ).outerjoin(Deadline, Deadline.id == LearningAction.deadline_id).where(*where).subquery()
    for theme, status, late, early, n in session.execute(
        select(inner.c.theme, inner.c.status, inner.c.late, inner.c.early, func.count())
        .group_by(inner.c.theme, inner.c.status, inner.c.late, inner.c.early)
    ).all():
        c = by_theme.setdefault(str(theme), Counter())
        if status == "open":
            c["open"] += int(n)
            c["overdue"] += int(n) if late else 0
        elif status == "completed":
            c["completed"] += int(n)
            c["completed_on_time"] += int(n) if early else 0
    labels = dict(options.themes)
    keys = ("open", "overdue", "completed", "completed_on_time")
    order = [k for k, _ in options.themes] + sorted(set(by_theme) - set(labels))
    out: dict[str, Any] = {k: sum(c[k] for c in by_theme.values()) for k in keys}
    out["by_theme"] = {t: {"label": labels.get(t, t), **{k: by_theme.get(t, Counter())[k]
                                                         for k in keys}} for t in order}
    if options.details:
        out["overdue_items"] = [
            {"id": a.id, "reference": r, "theme": a.theme, "what": a.description,
             "owner_service": a.owner_service, "due": a.due_date.isoformat()}
            for a, r in session.execute(
                select(LearningAction, Case.reference)
                .join(Case, Case.id == LearningAction.case_id)
                .where(LearningAction.status == "open", LearningAction.due_date < today)
                .order_by(LearningAction.due_date)
            ).all()
        ]
    return out


def _escalations(session: Session, period: Period) -> dict[str, Any]:
    """Escalations raised in the period by severity: resolved and still open, and the hours
    from raising to resolving (median and 90th percentile)."""
    hours: Any
    if _is_pg(session):
        hours = func.floor(
            func.extract("epoch", Escalation.resolved_at - Escalation.raised_at) / 3600)
    else:
        # Whole milliseconds first (julianday's precision): a float of days times 24 can fall
        # just short of a whole hour and be cut to the hour before, where PostgreSQL is exact.
        ms = func.cast(func.round(
            (func.julianday(Escalation.resolved_at) - func.julianday(Escalation.raised_at))
            * 86_400_000), Integer)
        hours = ms // 3_600_000
    inner = select(Escalation.severity.label("severity"), hours.label("hours")).where(
        *within(Escalation.raised_at, period)).subquery()
    hist: dict[str, Counter[int]] = {}
    still_open: Counter[str] = Counter()
    for severity, h, n in session.execute(
        select(inner.c.severity, inner.c.hours, func.count())
        .group_by(inner.c.severity, inner.c.hours)
    ).all():
        if h is None:
            still_open[str(severity)] += int(n)
        else:
            hist.setdefault(str(severity), Counter())[int(h)] += int(n)
    out: dict[str, Any] = {}
    for severity in SEVERITY_ORDER + tuple(sorted((set(hist) | set(still_open))
                                                   - set(SEVERITY_ORDER))):
        h = hist.get(severity, Counter())
        resolved = sum(h.values())
        out[severity] = {
            "raised": resolved + still_open[severity],
            "resolved": resolved,
            "open": still_open[severity],
            "median_hours": nearest_rank(h, 0.5),
            "p90_hours": nearest_rank(h, 0.9),
        }
    return out


SEVERITY_ORDER = ("safeguarding", "practice")


def suppressed(report: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The version for publication: counts of 1 to THRESHOLD - 1 as words, no references and
    no findings' words; says so in `published`."""
    out: dict[str, Any] = suppress(report, threshold)
    out["published"] = {"small_numbers": fewer_than(threshold), "threshold": threshold}
    return out


# --- exports -------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell a spreadsheet will show as text, never run as a formula (OWASP's advice)."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        try:
            float(text)
            return text  # a plain negative number is safe
        except ValueError:
            return "'" + text
    return text


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["figure", "value"])
    period = report["period"]
    writer.writerow(["period_from", csv_safe(period["from"] or "")])
    writer.writerow(["period_to", csv_safe(period["to"] or "")])
    for name in FIGURES:
        writer.writerow([name, csv_safe(report[name])])
    for channel, count in report["contacts_by_channel"].items():
        writer.writerow([csv_safe(f"contacts_by_channel:{channel}"), count])
    for row in report["contacts_by_month"]:
        writer.writerow([csv_safe(f"contacts_by_month:{row['month']}"), row["contacts"]])
    for name in ("forwarded_contacts", "quarantined", "set_aside"):
        writer.writerow([name, csv_safe(report[name])])
    for section in LEARNING_SECTIONS:
        for path, value in _flat(report.get(section), section):
            writer.writerow([csv_safe(path), csv_safe(value)])
    return out.getvalue()


LEARNING_SECTIONS = ("timeliness", "newly_overdue", "themes", "actions", "escalations")


def _flat(value: Any, path: str) -> list[tuple[str, Any]]:
    """figure:part:part rows for the CSV; lists of months or quarters by their key, and the
    staff-only lists (findings, references) left to the HTML and JSON."""
    if isinstance(value, dict):
        return [row for k, v in value.items() if k not in STAFF_ONLY and k != "label"
                for row in _flat(v, f"{path}:{k}")]
    if isinstance(value, list):
        if all(isinstance(v, dict) and ("month" in v or "quarter" in v) for v in value):
            return [row for v in value
                    for row in _flat({k: x for k, x in v.items() if k not in ("month", "quarter")},
                                     f"{path}:{v.get('month') or v.get('quarter')}")]
        return [] if path.endswith(":quarters") else [(path, ", ".join(map(str, value)))]
    return [(path, value)]


_env = SandboxedEnvironment(
    loader=PackageLoader("concerns.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
_env.filters["month"] = month_words
_env.filters["quarter"] = quarter_words
_env.filters["shown"] = shown
_env.filters["day"] = day_words

LABELS = {
    "contacts": "Contacts received",
    "cases": "Cases opened",
    "respondents": "Individuals who raised concerns",
    "respondents_with_multiple_contacts": "Individuals who made more than one contact",
    "children": "Children the concerns were about",
    "children_with_contacts_from_several_people":
        "Children who were the subject of more than one person's contact",
    "outside_framework": "Cases dealt with outside the framework",
    "learning_reviews_completed": "Learning reviews completed",
    "open_cases": "Cases still open",
    "overdue": "Open cases with an overdue deadline",
    "oldest_involvement_years": "Longest time back to the involvement (years)",
    "newest_involvement_years": "Shortest time back to the involvement (years)",
}


# What the committee's pages show when a report has no learning figures (an older export).
EMPTY_LEARNING: dict[str, Any] = {
    "timeliness": {},
    "newly_overdue": {"since": None, "cases": 0, "deadlines": 0, "by_clock": {}},
    "themes": {"reviews_with_themes": 0, "quarters": [], "by_theme": {}},
    "actions": {"open": 0, "overdue": 0, "completed": 0, "completed_on_time": 0,
                "by_theme": {}},
    "escalations": {},
}


def to_text(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as rows of figure and value in words, for the terminal."""
    rows = [{"figure": LABELS[n], "value": shown(report[n])} for n in FIGURES]
    rows += [{"figure": f"Contacts in {month_words(m['month'])}", "value": shown(m["contacts"])}
             for m in report["contacts_by_month"] if m["contacts"]]
    for t in (report.get("timeliness") or {}).values():
        if t["completed"]:
            rows.append({"figure": f"On time: {t['label']} (median, 90th percentile days)",
                         "value": f"{shown(t['on_time_share'])} of {shown(t['completed'])} "
                                  f"({shown(t['median_days'])}, {shown(t['p90_days'])})"})
    newly = report.get("newly_overdue")
    if newly:
        rows.append({"figure": f"Cases newly overdue since {day_words(newly['since'])}",
                     "value": shown(newly["cases"])})
    for t in ((report.get("themes") or {}).get("by_theme") or {}).values():
        if t["findings"]:
            rows.append({"figure": f"Findings: {t['label']}", "value": shown(t["findings"])})
    actions = report.get("actions")
    if actions:
        rows.append({"figure": "Actions open (overdue)",
                     "value": f"{shown(actions['open'])} ({shown(actions['overdue'])})"})
        rows.append({"figure": "Actions completed", "value": shown(actions["completed"])})
    for severity, e in (report.get("escalations") or {}).items():
        rows.append({"figure": f"Escalations: {severity} (open)",
                     "value": f"{shown(e['raised'])} ({shown(e['open'])})"})
    return rows


def to_html(report: dict[str, Any], council: str, generated_at: datetime) -> str:
    """The committee's report: one document, dated, with the period on its cover, the figures
    in plain words and SVG charts (the same HTML makes the PDF)."""
    report = {**EMPTY_LEARNING, **report}
    period = report["period"]
    if period["from"] or period["to"]:
        period_words = (f"{day_words(period['from']) or 'the first contact'} to "
                        f"{day_words(period['to']) or day_words(generated_at.date())}")
    else:
        period_words = f"every contact to {day_words(generated_at.date())}"
    months = report["contacts_by_month"]
    timeliness = report.get("timeliness") or {}
    themes = (report.get("themes") or {}).get("by_theme", {})
    charts = {
        "months": bar_chart("Contacts received each month",
                            [(month_words(m["month"]), m["contacts"]) for m in months],
                            chart_id="chart-months"),
        "timeliness": bar_chart(
            "Share of deadlines met on time, by clock",
            [(t["label"][:1].upper() + t["label"][1:], t["on_time_share"])
             for t in timeliness.values() if t["on_time_share"] is not None],
            percent=True, chart_id="chart-timeliness"),
        "themes": bar_chart("Findings by learning theme",
                            [(t["label"], t["findings"]) for t in themes.values()],
                            chart_id="chart-themes"),
    }
    return _env.get_template("scrutiny.html").render(
        report=report, figures=[(LABELS[n], report[n]) for n in FIGURES], council=council,
        generated_at=day_words(generated_at.date()), period_words=period_words, charts=charts,
        published=report.get("published"), timeliness=timeliness,
    )


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
