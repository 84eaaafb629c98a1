"""Setting up the register: create or upgrade the database, demo data, and the audit check."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from concerns.db.engine import schema_is_current
from concerns.db.models import Case, User
from concerns.workflows.access.users import DEMO_PASSWORD, DEMO_USERS, add_user, load_actor
from concerns.workflows.audit import ChainReport, verify_chain
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed
from concerns.workflows.intake import ingest_form
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
        with ctx.uow() as uow:
            has_users = uow.session.scalar(select(func.count()).select_from(User)) or 0
        if has_users:
            raise BadInput("admin", "the register already has accounts: an admin adds more "
                                    "with concerns user add")
        add_user(ctx, None, username, ("admin",), full_name=full_name, password=password)
        created.append(username)
    if demo:
        with ctx.uow() as uow:
            has_users = uow.session.scalar(select(func.count()).select_from(User)) or 0
            has_cases = uow.session.scalar(select(func.count()).select_from(Case)) or 0
        if not has_users:
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
        if not has_cases:
            cases = _demo_cases(ctx)
    return InitResult(created, cases, current)


def _is_current(ctx: AppContext) -> bool:
    try:
        return schema_is_current(ctx.engine)
    except Exception:
        return False


def _form(
    name: str,
    email: str,
    concern: str,
    days_ago: int,
    ctx: AppContext,
    child: tuple[str, str] | None = None,
    staff: tuple[str, ...] = (),
    years: tuple[int, int] = (2008, 2016),
) -> bytes:
    submitted = (ctx.now() - timedelta(days=days_ago)).replace(microsecond=0)
    data: dict[str, Any] = {
        "submitted_at": submitted.isoformat(),
        "channel": "web",
        "respondent": {
            "name": name,
            "email": email,
            "phone": f"01432 555 0{days_ago:02d}",
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


def _demo_cases(ctx: AppContext) -> list[str]:
    """A handful of made-up cases at different stages, walked there through the real services."""
    forms = [
        (
            "Amira Hussain",
            "amira.h@example.com",
            "I was never told why my son was placed in care.",
            1,
            ("Yusuf Hussain", "2009-03-14"),
            (),
        ),
        (
            "Gareth Price",
            "g.price@example.com",
            "Our social worker did not return calls for months in 2012.",
            6,
            ("Ellie Price", "2006-07-02"),
            ("Jo Bloggs",),
        ),
        (
            "Margaret O'Neill",
            "moneill@example.com",
            "My granddaughter's contact arrangements were changed without asking us.",
            12,
            ("Ruby O'Neill", "2011-11-30"),
            (),
        ),
        (
            "Daniel Brooks",
            "dan.brooks@example.com",
            "I want to understand the decisions made when I was in foster care.",
            20,
            None,
            (),
        ),
        (
            "Helen Carter",
            "helen.carter@example.com",
            "The assessment of our family in 2015 contained mistakes that were never corrected.",
            30,
            ("Sophie Carter", "2010-05-19"),
            (),
        ),
    ]
    refs: list[str] = []
    for i, (name, email, concern, days, child, staff) in enumerate(forms):
        result = ingest_form(
            ctx, _form(name, email, concern, days, ctx, child, staff), f"demo-{i + 1}.json", "ian"
        )
        if result.reference:
            refs.append(result.reference)
    if len(refs) < 5:
        return refs
    act = fire_event
    # 2: in triage
    act(ctx, refs[1], "acknowledge", "alex")
    # 3: in review
    act(ctx, refs[2], "acknowledge", "alex")
    act(
        ctx,
        refs[2],
        "record_complaints_triage",
        "priya",
        {"meets_criteria": "no", "reason": "time_limit_passed"},
    )
    act(ctx, refs[2], "record_legal_triage", "lee", {"proceedings": "none"})
    act(ctx, refs[2], "assign_reviewer", "morgan", {"reviewer": "alex"})
    act(ctx, refs[2], "start_review", "alex")
    act(
        ctx,
        refs[2],
        "add_review_note",
        "alex",
        {"kind": "records_examined"},
        "Read the case records for 2011 to 2016.",
    )
    # 4 and 5: waiting for the director, each with learning themes and an action arising
    action_due = ctx.calendar.add_working_days(
        ctx.calendar.local_date(ctx.now()), 20
    ).isoformat()
    for ref in refs[3:5]:
        act(ctx, ref, "acknowledge", "sam")
        act(
            ctx,
            ref,
            "record_complaints_triage",
            "priya",
            {"meets_criteria": "no", "reason": "all_stages_exhausted"},
        )
        act(ctx, ref, "record_legal_triage", "lee", {"proceedings": "none"})
        act(ctx, ref, "assign_reviewer", "morgan", {"reviewer": "sam"})
        act(ctx, ref, "start_review", "sam")
        act(
            ctx,
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
        )
    act(ctx, refs[4], "authorise", "dana")
    return refs


def verify_audit(ctx: AppContext, actor_name: str | None) -> ChainReport:
    with ctx.uow() as uow:
        if actor_name:
            _, actor = load_actor(uow.session, actor_name)
            if not actor.roles & {"auditor", "admin", "iat_manager"}:
                raise NotAllowed("the audit check needs the role auditor, admin or iat_manager")
        return verify_chain(uow.session)
