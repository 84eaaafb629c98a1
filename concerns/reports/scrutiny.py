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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import PackageLoader, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.orm import Session

from concerns.db.models import Case, CaseChild, Contact, Deadline, RawSubmission

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


def _within(column: Any, period: Period) -> list[ColumnElement[bool]]:
    lo, hi = period.bounds()
    out: list[ColumnElement[bool]] = []
    if lo is not None:
        out.append(column >= lo)
    if hi is not None:
        out.append(column < hi)
    return out


def _hour_bucket(session: Session, column: Any) -> Any:
    """Contacts are grouped by UTC hour in SQL, then folded into local months (BST-exact)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


def scrutiny(session: Session, period: Period, today: date) -> dict[str, Any]:
    """Every figure of DESIGN §6's `report scrutiny`, for contacts and cases in PERIOD."""
    contact_in = _within(Contact.received_at, period)
    case_in = _within(Case.received_at, period)
    one = session.scalar

    contacts = one(select(func.count(Contact.id)).where(*contact_in)) or 0
    respondents = one(select(func.count(distinct(Contact.respondent_id))).where(*contact_in)) or 0
    repeaters = (
        select(Contact.respondent_id).where(*contact_in)
        .group_by(Contact.respondent_id).having(func.count(Contact.id) > 1).subquery()
    )
    children_of_contacts = select(CaseChild.child_id, Contact.respondent_id).join(
        Contact, Contact.case_id == CaseChild.case_id
    ).where(*contact_in)
    shared = (
        children_of_contacts.with_only_columns(CaseChild.child_id)
        .group_by(CaseChild.child_id)
        .having(func.count(distinct(Contact.respondent_id)) > 1)
        .subquery()
    )
    cases = one(select(func.count(Case.id)).where(*case_in)) or 0
    outside = one(
        select(func.count(Case.id)).where(*case_in, Case.outcome.in_(OUTSIDE_FRAMEWORK))
    ) or 0
    reviews = one(
        select(func.count(Case.id)).where(*case_in, Case.learning_review_completed.is_(True))
    ) or 0
    open_cases = one(select(func.count(Case.id)).where(*case_in, Case.state != "closed")) or 0
    overdue = one(
        select(func.count(distinct(Deadline.case_id)))
        .join(Case, Case.id == Deadline.case_id)
        .where(*case_in, Case.state != "closed", Deadline.status == "running",
               Deadline.due_date < today)
    ) or 0
    # The contact's year in UTC, whatever the server's time zone (London is UTC in winter,
    # so the year is England's too).
    moment = (func.timezone("UTC", Contact.received_at)
              if session.get_bind().dialect.name == "postgresql" else Contact.received_at)
    year = func.extract("year", moment)
    oldest, newest = session.execute(
        select(
            func.max(year - func.coalesce(Contact.involvement_from_year,
                                          Contact.involvement_to_year)),
            func.min(year - func.coalesce(Contact.involvement_to_year,
                                          Contact.involvement_from_year)),
        ).where(*contact_in)
    ).one()
    by_channel = dict(
        session.execute(
            select(Contact.channel, func.count(Contact.id)).where(*contact_in)
            .group_by(Contact.channel).order_by(Contact.channel)
        ).tuples().all()
    )
    raw_in = _within(RawSubmission.received_at, period)
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
        "contacts": int(contacts),
        "cases": int(cases),
        "respondents": int(respondents),
        "respondents_with_multiple_contacts": int(
            one(select(func.count()).select_from(repeaters)) or 0
        ),
        "children": int(
            one(select(func.count(distinct(CaseChild.child_id))).join(
                Contact, Contact.case_id == CaseChild.case_id).where(*contact_in)) or 0
        ),
        "children_with_contacts_from_several_people": int(
            one(select(func.count()).select_from(shared)) or 0
        ),
        "outside_framework": int(outside),
        "learning_reviews_completed": int(reviews),
        "open_cases": int(open_cases),
        "overdue": int(overdue),
        "oldest_involvement_years": int(oldest) if oldest is not None else None,
        "newest_involvement_years": int(newest) if newest is not None else None,
        "contacts_by_month": _by_month(session, contact_in, period),
        "contacts_by_channel": {str(k): int(v) for k, v in by_channel.items()},
        "forwarded_contacts": int(
            one(select(func.count(Contact.id)).where(*contact_in, Contact.route.is_not(None)))
            or 0
        ),
        "quarantined": int(raw_status.get("quarantined", 0)),
        "set_aside": int(raw_status.get("ignored", 0)),
    }


def _by_month(
    session: Session, contact_in: list[ColumnElement[bool]], period: Period
) -> list[dict[str, Any]]:
    bucket = _hour_bucket(session, Contact.received_at)
    rows = session.execute(
        select(bucket, func.count(Contact.id)).where(*contact_in).group_by(bucket)
    ).all()
    tz = ZoneInfo(period.timezone)
    months: Counter[str] = Counter()
    for hour, count in rows:
        moment = datetime.strptime(str(hour), "%Y-%m-%d %H").replace(tzinfo=UTC)
        months[moment.astimezone(tz).strftime("%Y-%m")] += int(count)
    if not months:
        return []
    # Every month between the first and the last, so quiet months show as zero.
    first, last = min(months), max(months)
    out: list[dict[str, Any]] = []
    y, m = int(first[:4]), int(first[5:])
    while f"{y:04d}-{m:02d}" <= last:
        key = f"{y:04d}-{m:02d}"
        out.append({"month": key, "contacts": months.get(key, 0)})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
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
    return out.getvalue()


_env = SandboxedEnvironment(
    loader=PackageLoader("concerns.reports", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)

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


def to_html(report: dict[str, Any], council: str, generated_at: datetime) -> str:
    peak = max((m["contacts"] for m in report["contacts_by_month"]), default=0)
    return _env.get_template("scrutiny.html").render(
        report=report, figures=[(LABELS[n], report[n]) for n in FIGURES], council=council,
        generated_at=generated_at.strftime("%d %B %Y %H:%M"), peak=peak or 1,
    )


def to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf
