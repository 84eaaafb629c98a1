"""The IAT manager's conflicts-of-interest pages: a count on her team view and a link in her
menu, each flag confirmed or cleared with a reason (audited) through the same service as
`concerns conflict clear|confirm`; CSRF, errors that name the field, what was typed kept."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from concerns.db.models import Event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.queries import show_case
from tests.factories import create_staff, log_concern
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def _summary(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', page)


def _opens(ctx: AppContext, username: str, reference: str) -> bool:
    try:
        show_case(ctx, username, reference)
    except NotAllowed:
        return False
    return True


def test_the_manager_sees_a_count_and_clears_or_confirms_each_flag_with_a_reason(
    web: AppContext,
) -> None:
    cleared = log_concern(web, staff_named=["A. Morgan"])
    confirmed = log_concern(web, concern="Mr Morgan never returned my calls.")
    client = client_for(web)
    csrf = sign_in(client, "morgan")

    team = client.get("/team").text
    assert '<a class="govuk-service-navigation__link" href="/conflicts"' in team
    assert re.search(r"<strong>2</strong> possible conflicts of interest to decide", team)
    listing = client.get("/conflicts")
    assert listing.status_code == 200
    assert cleared in listing.text and confirmed in listing.text and "A. Morgan" in listing.text
    assert f'href="/conflicts/{cleared}/alex"' in listing.text

    page = f"/conflicts/{cleared}/alex"
    assert "Is this Alex Morgan?" in html.unescape(client.get(page).text)
    # Nothing chosen, nothing typed: both fields named at once.
    refused = client.post(page, data={"csrf_token": csrf, "reason": "  "})
    assert refused.status_code == 400
    assert [f for f, _ in _summary(refused.text)] == ["decision-confirm", "reason"]
    # A reason typed and no decision: the reason is kept.
    refused = client.post(page, data={"csrf_token": csrf, "reason": "Anne <b>Morgan</b>, school"})
    assert [f for f, _ in _summary(refused.text)] == ["decision-confirm"]
    assert "Anne &lt;b&gt;Morgan&lt;/b&gt;, school</textarea>" in refused.text
    # No CSRF token: refused, nothing decided.
    assert client.post(page, data={"decision": "clear", "reason": "x"}).status_code == 403
    assert not _opens(web, "alex", cleared)

    done = client.post(page, data={"csrf_token": csrf, "decision": "clear",
                                   "reason": "A. Morgan is Anne Morgan at the school"})
    assert done.status_code == 303 and done.headers["location"] == "/conflicts"
    banner = html.unescape(client.get("/conflicts").text)
    assert f"Case {cleared}: Alex Morgan cleared: they may open the case." in banner
    client.post(f"/conflicts/{confirmed}/alex", data={
        "csrf_token": csrf, "decision": "confirm", "reason": "Alex was the worker then"})

    assert _opens(web, "alex", cleared) and not _opens(web, "alex", confirmed)
    assert "Nothing is waiting for a decision." in client.get("/conflicts").text
    assert "<strong>0</strong> possible conflicts" in client.get("/team").text
    every = client.get("/conflicts", params={"all": "yes"}).text
    assert "Alex was the worker then" in every and "Cleared" in every
    with web.sessions() as s:
        audited = [(e.event, e.actor, e.note) for e in s.scalars(
            select(Event).where(Event.event.like("conflict_%")).order_by(Event.id))]
    assert audited == [
        ("conflict_cleared", "morgan", "A. Morgan is Anne Morgan at the school"),
        ("conflict_confirmed", "morgan", "Alex was the worker then"),
    ]


def test_only_the_iat_manager_has_the_pages_and_never_for_herself(web: AppContext) -> None:
    flagged = log_concern(web, staff_named=["A. Morgan"])
    own = log_concern(web, staff_named=["Reid"])
    officer = client_for(web)
    csrf = sign_in(officer, "alex")
    assert 'href="/conflicts"' not in officer.get("/my-work").text
    assert officer.get("/conflicts").status_code == 403
    assert officer.post(f"/conflicts/{flagged}/alex", data={
        "csrf_token": csrf, "decision": "clear", "reason": "not me"}).status_code == 403
    assert not _opens(web, "alex", flagged)

    manager = client_for(web)
    sign_in(manager, "morgan")
    assert own not in manager.get("/conflicts", params={"all": "yes"}).text
    assert manager.get(f"/conflicts/{own}/morgan").status_code == 404
    assert manager.get(f"/conflicts/{flagged}/nobody").status_code == 404
    assert manager.get("/conflicts/CAC-1999-9999/alex").status_code == 404
    certain = log_concern(web, staff_named=["Alex Morgan"])
    page = manager.get(f"/conflicts/{certain}/alex").text
    assert "Certain: kept out" in page and 'name="decision"' not in page
