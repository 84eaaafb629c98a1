"""The imported rows to check, as a page: the same list as `concerns intake import --report`."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest

from concerns.workflows.context import AppContext
from concerns.workflows.intake.register_import import import_register, rows_to_check
from tests.data.register.build import csv_bytes
from tests.factories import create_staff
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def test_the_page_lists_every_flagged_imported_row_with_its_case(web: AppContext) -> None:
    import_register(web, csv_bytes(), "register.csv", "morgan")
    listed = rows_to_check(web, "morgan")
    client = client_for(web)
    sign_in(client, "morgan")
    page = client.get("/my-work")
    assert 'href="/imported-rows"' in page.text
    page = client.get("/imported-rows")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert f"{len(listed)} rows" in text
    for row in listed:
        assert f'href="/cases/{row["reference"]}"' in page.text
        for flag in row["flags"]:
            assert flag in text


def test_staff_who_may_not_import_see_no_link_and_are_refused(web: AppContext) -> None:
    client = client_for(web)
    sign_in(client, "ian")
    assert 'href="/imported-rows"' not in client.get("/log-contact").text
    assert client.get("/imported-rows").status_code == 403
