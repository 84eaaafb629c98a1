"""The IAT manager's team view: every open case by the due date of its next step, overdue
first, with who must act; filtered by who must act, state and deadline, with counts of each
(the page's choices show them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.queries import team_view
from tests.factories import act, create_staff, log_concern, walk_to_review
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


def _refs(view: dict[str, object]) -> list[str]:
    return [row["reference"] for row in view["rows"]]  # type: ignore[attr-defined, index]


def _four_cases(ctx: AppContext) -> dict[str, str]:
    now = datetime.now(UTC).isoformat()
    late = log_concern(ctx, submitted_at="2026-01-05T10:00:00+00:00")  # long unacknowledged
    new = log_concern(ctx, submitted_at=now)
    triage = log_concern(ctx, submitted_at=now)
    act(ctx, triage, "acknowledge", "alex")
    review = log_concern(ctx, submitted_at=now)
    walk_to_review(ctx, review, reviewer="sam")
    return {"late": late, "new": new, "triage": triage, "review": review}


def test_open_cases_come_overdue_first_with_counts_of_who_what_and_which_deadline(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    cases = _four_cases(ctx)
    view = team_view(ctx, "morgan")
    refs = _refs(view)
    assert refs[0] == cases["late"], "the overdue case leads"
    assert set(refs) == set(cases.values())
    dues = [row["due"] for row in view["rows"][1:]]
    assert dues == sorted(dues), "then by the due date of the next step"
    counts = view["counts"]
    assert (counts["open"], counts["overdue"], counts["stuck"]) == (4, 1, 0)
    assert counts["owner"] == {"iat_officer": 2, "information_officer": 1, "legal": 1, "sam": 1}
    assert counts["state"] == {"logged": 2, "in_review": 1, "triage": 1}
    assert counts["clock"]["acknowledge"] == 2

    def only(**filters: str) -> set[str]:
        return set(_refs(team_view(ctx, "morgan", **filters)))

    assert only(owner="information_officer") == {cases["triage"]}
    assert only(owner="sam") == {cases["review"]}, "the reviewer by username"
    assert only(state="logged") == {cases["late"], cases["new"]}
    assert only(clock="legal_triage") == {cases["triage"]}
    assert only(owner="iat_officer", state="triage") == set()
    # The counts stay those of the whole team whatever is filtered.
    assert team_view(ctx, "morgan", owner="sam")["counts"] == counts


def test_the_team_view_is_the_managers_only(ctx: AppContext) -> None:
    create_staff(ctx)
    for username in ("alex", "dana", "erin"):
        with pytest.raises(NotAllowed, match="the team view needs the role IAT manager"):
            team_view(ctx, username)


def test_the_team_page_filters_and_names_who_must_act_with_their_counts(
    sqlite_ctx: AppContext,
) -> None:
    create_staff(sqlite_ctx, PASSWORD)
    cases = _four_cases(sqlite_ctx)
    client = client_for(sqlite_ctx)
    sign_in(client, "morgan")
    page = client.get("/team").text
    assert "<strong>4</strong> open" in page and "<strong>1</strong> overdue" in page
    # Who must act, in words, with how many cases each.
    options = re.findall(r"<option[^>]*>([^<]+)</option>", page)
    assert {"IAT officer (2)", "Information officer (1)", "Legal Services (1)",
            "Sam Patel (1)"} <= {o.strip() for o in options}
    filtered = client.get("/team", params={"owner": "sam"}).text
    assert cases["review"] in filtered and cases["late"] not in filtered
    assert "1 shown" in filtered
    assert re.search(r'<option value="sam" selected', filtered)
    assert client.get("/team", params={"state": "no_such_state"}).status_code == 422
    officer = client_for(sqlite_ctx)
    sign_in(officer, "alex")
    assert officer.get("/team").status_code == 403
