"""The outcome form's learning themes and actions arising, and completing an action from the case
page, against a real SQLite database through the same services as the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from freezegun import freeze_time

from concerns.workflows.context import AppContext
from concerns.workflows.learning.actions import list_actions
from concerns.workflows.queries import show_case
from tests.factories import create_staff, log_concern, walk_to_review
from tests.integration.web_helpers import LETTER_SEEN_RE, PASSWORD, client_for, csrf_of, sign_in

MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def _summary(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', html)


def test_the_reviewer_tags_themes_and_adds_an_action_on_the_outcome_form(web: AppContext) -> None:
    with freeze_time(MONDAY):
        ref = log_concern(web)
        walk_to_review(web, ref)
        client = client_for(web)
        sign_in(client, "alex")
        page = client.get(f"/cases/{ref}/events/submit_outcome")
        assert 'name="finding.record_keeping"' in page.text
        assert 'name="action.1.due-day"' in page.text
        form = {
            "csrf_token": csrf_of(page.text), "summary": "Records read.",
            "wording": "We are sorry.", "note": "",
            "finding.record_keeping": "", "action.1.what": "Write to families.",
            "action.1.owner": "", "action.1.theme": "", "action.1.due": "",
            "action.2.what": "", "action.2.owner": "", "action.2.theme": "", "action.2.due": "",
        }
        # No theme: refused, naming the themes, with everything typed kept.
        refused = client.post(f"/cases/{ref}/events/submit_outcome", data=form)
        assert refused.status_code == 422
        assert [f for f, _ in _summary(refused.text)] == ["submit-outcome-finding"]
        assert 'value="Write to families."' in refused.text
        # A theme, and an action missing its owner: the owner input is named.
        form |= {"finding.record_keeping": "Decisions were not written down."}
        refused = client.post(f"/cases/{ref}/events/submit_outcome", data=form)
        assert [f for f, _ in _summary(refused.text)] == ["submit-outcome-action-1-owner"]
        assert 'value="Decisions were not written down."' in refused.text
        form |= {"action.1.owner": "Children in Need service", "action.1.theme": "record_keeping",
                 "action.1.due": "2026-11-30"}
        # The reviewer reads the outcome letter around her wording before it goes on.
        shown = client.post(f"/cases/{ref}/events/submit_outcome", data=form)
        assert shown.status_code == 200 and "Check your wording in the letter" in shown.text
        assert show_case(web, "alex", ref)["state"] == "in_review"
        seen = LETTER_SEEN_RE.search(shown.text)
        assert seen
        done = client.post(f"/cases/{ref}/events/submit_outcome",
                           data={**form, "letter_seen": seen.group(1)})
        assert done.status_code == 303
        case = show_case(web, "alex", ref)
        assert case["state"] == "awaiting_signoff"
        assert [f["finding"] for f in case["learning"]["findings"]] == [
            "Decisions were not written down."]
        [action] = list_actions(web, "alex")
        assert (action["what"], action["due"]) == ("Write to families.", "2026-11-30")

        page = client.get(f"/cases/{ref}")
        assert "What the review found" in page.text and "Children in Need service" in page.text
        csrf = csrf_of(page.text)
        empty = client.post(f"/actions/{action['id']}/complete",
                            data={"csrf_token": csrf, "evidence": " "})
        assert empty.status_code == 422
        assert [f for f, _ in _summary(empty.text)] == [f"action-{action['id']}-evidence"]
        completed = client.post(f"/actions/{action['id']}/complete",
                                data={"csrf_token": csrf, "evidence": "New letter template."})
        assert completed.status_code == 303
        assert list_actions(web, "alex")[0]["status"] == "completed"
