"""The IAT manager decides a possible conflict of interest in Chromium: from the count on her
team view to the decision page, a refusal that names the fields and keeps what she typed, then
the decision; at 320 px, with axe-core finding nothing serious or critical."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from concerns.db.models import Event
from tests.browser.conftest import LiveServer, assert_accessible, assert_fits, sign_in
from tests.factories import log_concern


def test_the_manager_clears_a_possible_conflict_from_her_team_view(
    new_page: Any, live: LiveServer
) -> None:
    reference = log_concern(live.ctx, staff_named=["A. Morgan"])
    page = new_page()
    sign_in(page, "morgan")
    page.get_by_role("link", name="Team", exact=True).click()
    page.wait_for_url("**/team")
    page.set_viewport_size({"width": 320, "height": 900})
    assert "1 possible conflict of interest to decide" in page.inner_text("#conflicts-waiting")
    page.click("#conflicts-waiting")
    page.wait_for_url("**/conflicts")
    assert_fits(page)
    assert_accessible(page)
    assert "A. Morgan" in page.inner_text("table")

    page.click(f"#decide-{reference}-alex")
    page.wait_for_url(f"**/conflicts/{reference}/alex")
    assert_fits(page)
    assert_accessible(page)
    page.fill("#reason", "Anne Morgan at the school, not Alex")
    page.get_by_role("button", name="Save the decision").click()
    summary = page.inner_text(".govuk-error-summary")
    assert "Choose whether it is them or not" in summary
    assert page.input_value("#reason") == "Anne Morgan at the school, not Alex"
    assert_fits(page)
    assert_accessible(page)
    # The summary's link takes her to the first choice.
    page.get_by_role("link", name="Choose whether it is them or not").click()
    page.check("#decision-clear")
    page.get_by_role("button", name="Save the decision").click()
    page.wait_for_url("**/conflicts")
    assert "Alex Morgan cleared" in page.inner_text(".govuk-notification-banner")
    assert "Nothing is waiting for a decision." in page.inner_text("main")
    assert_accessible(page)
    with live.ctx.sessions() as session:
        event = session.scalars(select(Event).where(Event.event == "conflict_cleared")).one()
    assert (event.actor, event.note) == ("morgan", "Anne Morgan at the school, not Alex")
