"""Setting up the register: create or upgrade the database, demo data, and the audit check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from freezegun import freeze_time
from sqlalchemy import func, select

from concerns.db.engine import schema_is_current
from concerns.db.models import Case, User
from concerns.workflows.access.readers import load_actor
from concerns.workflows.access.users import DEMO_PASSWORD, DEMO_USERS, add_user
from concerns.workflows.audit import ChainReport, verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.intake.submissions import ingest_form
from concerns.workflows.lifecycle import fire_event


@dataclass(frozen=True)
class InitResult:
    created_users: list[str]
    demo_cases: list[str]
    already_current: bool


def init_database(
    ctx: AppContext, *, demo: bool = False,
    first_admin: tuple[str, str, str | None] | None = None,
) -> InitResult:
    """Create the schema or upgrade it; with demo, add sample staff and cases once; with
    FIRST_ADMIN (username, full name, password), the first account, an administrator."""
    current = _is_current(ctx)
    ctx.migrate()
    created: list[str] = []
    cases: list[str] = []
    if first_admin is not None:
        username, full_name, password = first_admin
        with ctx.read() as read:
            has_users = read.session.scalar(select(func.count()).select_from(User)) or 0
        if has_users:
            raise BadInput("admin", "the register already has accounts: an admin adds more "
                                    "with concerns user add")
        add_user(ctx, None, username, ("admin",), full_name=full_name, password=password)
        created.append(username)
    if demo:
        with ctx.read() as read:
            has_users = read.session.scalar(select(func.count()).select_from(User)) or 0
            has_cases = read.session.scalar(select(func.count()).select_from(Case)) or 0
        if not has_users:
            # The demo staff joined before the demo cases arrived.
            with freeze_time(DEMO_STAFF_JOINED):
                _add_demo_staff(ctx, created)
        if not has_cases:
            cases = _demo_cases(ctx)
    return InitResult(created, cases, current)


DEMO_STAFF_JOINED = datetime(2026, 10, 1, 8, 30, tzinfo=UTC)


def _add_demo_staff(ctx: AppContext, created: list[str]) -> None:
    for username, roles, full_name in DEMO_USERS:
        add_user(
            ctx,
            "admin",
            username,
            roles,
            full_name=full_name,
            email=f"{username}@example.gov.uk",
            password=DEMO_PASSWORD,
        )
        created.append(username)


def _is_current(ctx: AppContext) -> bool:
    try:
        return schema_is_current(ctx.engine)
    except Exception:
        return False


def _form(
    name: str,
    email: str,
    concern: str,
    submitted: datetime,
    number: int,
    child: tuple[str, str] | None = None,
    staff: tuple[str, ...] = (),
    years: tuple[int, int] = (2008, 2016),
) -> bytes:
    data: dict[str, Any] = {
        "submitted_at": submitted.isoformat(),
        "channel": "web",
        "respondent": {
            "name": name,
            "email": email,
            "phone": f"01432 555 0{number:02d}",
            "address": "1 Example Street, Hereford",
            "postcode": "HR1 2AB",
            "relationship": "parent",
        },
        "children": [{"name": child[0], "date_of_birth": child[1]}] if child else [],
        "involvement": {"from_year": years[0], "to_year": years[1]},
        "staff_named": list(staff),
        "concern": concern,
        "consent_to_contact": True,
    }
    return json.dumps(data).encode()


def _demo_moment(ctx: AppContext, received: date, working_days: int, hour: int) -> datetime:
    day = ctx.calendar.add_working_days(received, working_days)
    return datetime.combine(day, time(hour, 0), tzinfo=ctx.calendar.zone).astimezone(UTC)


def _demo_cases(ctx: AppContext) -> list[str]:
    """A handful of made-up cases at different stages, walked there through the real services,
    each step at the fixed date it happened (the clock is frozen there while the service runs),
    so every history agrees with every deadline and the references are always CAC-2026-000N."""
    forms = [
        (
            "Amira Hussain",
            "amira.h@example.com",
            "I was never told why my son was placed in care.",
            date(2026, 11, 26),
            ("Yusuf Hussain", "2009-03-14"),
            (),
        ),
        (
            "Gareth Price",
            "g.price@example.com",
            "Our social worker did not return calls for months in 2012.",
            date(2026, 11, 20),
            ("Ellie Price", "2006-07-02"),
            ("Jo Bloggs",),
        ),
        (
            "Margaret O'Neill",
            "moneill@example.com",
            "My granddaughter's contact arrangements were changed without asking us.",
            date(2026, 11, 13),
            ("Ruby O'Neill", "2011-11-30"),
            (),
        ),
        (
            "Daniel Brooks",
            "dan.brooks@example.com",
            "I want to understand the decisions made when I was in foster care.",
            date(2026, 11, 5),
            None,
            (),
        ),
        (
            "Helen Carter",
            "helen.carter@example.com",
            "The assessment of our family in 2015 contained mistakes that were never corrected.",
            date(2026, 10, 26),
            ("Sophie Carter", "2010-05-19"),
            (),
        ),
    ]
    refs: list[str] = []
    received: dict[str, date] = {}
    for i, (name, email, concern, day, child, staff) in enumerate(forms):
        submitted = _demo_moment(ctx, day, 0, 9)
        with freeze_time(submitted + timedelta(minutes=20)):
            form = _form(name, email, concern, submitted, i + 1, child, staff)
            result = ingest_form(ctx, form, f"demo-{i + 1}.json", "ian")
        if result.reference:
            refs.append(result.reference)
            received[result.reference] = day
    if len(refs) < 5:
        return refs
    steps_taken: dict[str, int] = {}

    def act(
        ref: str,
        event: str,
        actor: str,
        values: dict[str, str] | None = None,
        note: str | None = None,
        *,
        after: int,
    ) -> None:
        """EVENT on REF as it happened AFTER working days from its receipt, at office hours."""
        steps_taken[ref] = steps_taken.get(ref, 0) + 1
        moment = _demo_moment(ctx, received[ref], after, 10) + timedelta(
            minutes=7 * steps_taken[ref]
        )
        with freeze_time(moment):
            fire_event(ctx, ref, event, actor, values, note)

    # 2: in triage
    act(refs[1], "acknowledge", "alex", after=1)
    # 3: in review
    act(refs[2], "acknowledge", "alex", after=2)
    act(
        refs[2],
        "record_complaints_triage",
        "priya",
        {"meets_criteria": "no", "reason": "time_limit_passed"},
        after=4,
    )
    act(refs[2], "record_legal_triage", "lee", {"proceedings": "none"}, after=5)
    act(refs[2], "assign_reviewer", "morgan", {"reviewer": "alex"}, after=6)
    act(refs[2], "start_review", "alex", after=6)
    act(
        refs[2],
        "add_review_note",
        "alex",
        {"kind": "records_examined"},
        "Read the case records for 2011 to 2016.",
        after=8,
    )
    # 4 and 5: waiting for the director, each with learning themes and an action arising
    for ref in refs[3:5]:
        # The action arising is due 20 working days after the outcome was submitted.
        action_due = ctx.calendar.add_working_days(received[ref], 15 + 20).isoformat()
        act(ref, "acknowledge", "sam", after=1)
        act(
            ref,
            "record_complaints_triage",
            "priya",
            {"meets_criteria": "no", "reason": "all_stages_exhausted"},
            after=3,
        )
        act(ref, "record_legal_triage", "lee", {"proceedings": "none"}, after=4)
        act(ref, "assign_reviewer", "morgan", {"reviewer": "sam"}, after=5)
        act(ref, "start_review", "sam", after=5)
        act(
            ref,
            "submit_outcome",
            "sam",
            {
                "summary": "The records show that decisions were explained in meetings but not in "
                "writing. Practice has since changed.",
                "wording": "Thank you for telling us about your experience. We have read all the "
                "records of our work with your family. We found that the reasons for our "
                "decisions were not written down for you, and we are sorry. Since 2019 "
                "every family receives a written summary after each review meeting.",
                "finding.record_keeping": "Decisions were explained in meetings but never "
                "written down for the family.",
                "finding.communication_with_families": "Nobody told the family why the plan "
                "changed.",
                "action.1.what": "Send families a written summary after every review meeting.",
                "action.1.owner": "Children in Need service",
                "action.1.due": action_due,
                "action.1.theme": "record_keeping",
            },
            after=15,
        )
    act(refs[4], "authorise", "dana", after=17)
    return refs


def verify_audit(ctx: AppContext, actor_name: str | None) -> ChainReport:
    with ctx.read() as read:
        if actor_name:
            _, actor = load_actor(read.session, actor_name)
            if not actor.roles & {"auditor", "admin", "iat_manager"}:
                raise NotAllowed("the audit check needs the role auditor, admin or iat_manager")
        return verify_chain(read.session)
