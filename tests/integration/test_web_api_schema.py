"""Schemathesis against /api/openapi.json: generated requests, signed in as an officer with a
valid CSRF token, against a real SQLite database holding real cases, never get a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from concerns.web import create_app
from tests.conftest import _sqlite_ctx
from tests.factories import create_staff, log_concern, walk_to_signoff
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


@pytest.fixture(scope="module")
def signed_in_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    ctx = _sqlite_ctx(tmp_path_factory.mktemp("api"))
    create_staff(ctx, PASSWORD)
    log_concern(ctx)
    walk_to_signoff(ctx, log_concern(ctx, phone=None))
    client = client_for(ctx)
    token = sign_in(client, "morgan")
    cookie = client.cookies.get("concerns_session")
    app = create_app(ctx.settings, ctx)
    yield {
        "schema": schemathesis.openapi.from_asgi("/api/openapi.json", app),
        "headers": {"Cookie": f"concerns_session={cookie}", "X-CSRF-Token": token},
    }
    ctx.engine.dispose()


def test_no_generated_api_request_gets_a_server_error(signed_in_api: dict[str, Any]) -> None:
    """Every operation in the schema, with requests Hypothesis generates from it."""
    operations = [result.ok() for result in signed_in_api["schema"].get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case: Any) -> None:
            response = case.call(headers={**(case.headers or {}), **signed_in_api["headers"]})
            assert response.status_code < 500, (case.method, case.path, response.text[:300])

        no_server_error()


def test_the_openapi_schema_lists_only_the_api(signed_in_api: dict[str, Any]) -> None:
    paths = set(signed_in_api["schema"].raw_schema["paths"])
    assert paths and all(p.startswith("/api/") for p in paths)
