"""Test data with keyword defaults: staff, and concerns logged through the real intake service."""

from __future__ import annotations

import functools
import itertools
import json
from datetime import datetime
from typing import Any

from sqlalchemy import update

from concerns.db.models import User
from concerns.workflows.access.auth import check_password_rules, hash_password
from concerns.workflows.access.users import DEMO_USERS, add_user
from concerns.workflows.context import AppContext
from concerns.workflows.intake.submissions import ingest_form
from concerns.workflows.lifecycle import fire_event

# The demo's staff: usernames, roles and names the tests rely on.
STAFF = DEMO_USERS
_counter = itertools.count(1)


@functools.cache
def _password_hash(password: str) -> str:
    """Hashed once per test process: argon2 is slow on purpose (a tenth of a second or more
    each), and eleven accounts in every test that signs in came to seconds a test."""
    check_password_rules(password)
    return hash_password(password)


def create_staff(ctx: AppContext, password: str | None = None) -> None:
    """The demo's staff, through add_user; with PASSWORD, all of them sign in with it."""
    for username, roles, full_name in STAFF:
        add_user(
            ctx,
            "admin",
            username,
            roles,
            full_name=full_name,
            email=f"{username}@example.gov.uk",
        )
    if password is not None:
        with ctx.uow() as uow:
            uow.session.execute(
                update(User).where(User.username.in_([u for u, _, _ in STAFF]))
                .values(password_hash=_password_hash(password))
            )
            uow.commit()


def form_bytes(
    *,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = "01432 555123",
    address: str | None = "1 Example Street, Hereford",
    postcode: str | None = "HR1 2AB",
    concern: str = "Nobody explained why the decision about my child was made.",
    children: list[dict[str, Any]] | None = None,
    staff_named: list[str] | None = None,
    submitted_at: datetime | str | None = "2026-11-02T10:15:00+00:00",
    involvement: dict[str, Any] | None = None,
    **extra: Any,
) -> bytes:
    n = next(_counter)
    data: dict[str, Any] = {
        "submitted_at": submitted_at.isoformat()
        if isinstance(submitted_at, datetime)
        else submitted_at,
        "channel": "web",
        "respondent": {
            "name": name or f"Test Person {n}",
            "email": email or f"person{n}@example.com",
            "phone": phone,
            "address": address,
            "postcode": postcode,
            "relationship": "parent",
        },
        "children": children if children is not None else [],
        "involvement": involvement or {"from_year": 2010, "to_year": 2015},
        "staff_named": staff_named or [],
        "concern": concern,
        "consent_to_contact": True,
        **extra,
    }
    return json.dumps(data).encode()


def log_concern(ctx: AppContext, actor: str = "ian", **kwargs: Any) -> str:
    result = ingest_form(ctx, form_bytes(**kwargs), "test.json", actor)
    assert result.reference is not None, result
    return result.reference


def act(
    ctx: AppContext, reference: str, event: str, actor: str, note: str | None = None, **values: str
) -> str:
    return fire_event(ctx, reference, event, actor, values, note).to_state


def walk_to_review(ctx: AppContext, reference: str, reviewer: str = "alex") -> None:
    act(ctx, reference, "acknowledge", "alex")
    act(
        ctx,
        reference,
        "record_complaints_triage",
        "priya",
        meets_criteria="no",
        reason="time_limit_passed",
    )
    act(ctx, reference, "record_legal_triage", "lee", proceedings="none")
    act(ctx, reference, "assign_reviewer", "morgan", reviewer=reviewer)
    act(ctx, reference, "start_review", "alex")


def walk_to_signoff(ctx: AppContext, reference: str, reviewer: str = "alex") -> None:
    walk_to_review(ctx, reference, reviewer)
    act(
        ctx,
        reference,
        "submit_outcome",
        reviewer,
        summary="Records read; staff interviewed.",
        wording="Thank you for writing to us. We are sorry for what happened.",
        **{"finding.record_keeping": "The reasons for decisions were not written down."},
    )
