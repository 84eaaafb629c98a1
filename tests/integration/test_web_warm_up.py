"""A server prepares itself before its first request: every template compiled, the modules that
act on events, the bank holidays and the PDF engine loaded. What cannot be prepared is left to
load when first used, and the server still serves."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from concerns.letters import pdf
from concerns.web import create_app
from concerns.workflows import hooks
from concerns.workflows.context import AppContext


def _compiled(app: object) -> set[str]:
    env = app.state.web.templates.env  # type: ignore[attr-defined]
    # Jinja's cache is keyed by (loader, name as asked for).
    return {name for _loader, name in env.cache}


def test_a_server_has_compiled_every_template_before_its_first_request(
    sqlite_ctx: AppContext,
) -> None:
    app = create_app(sqlite_ctx.settings, sqlite_ctx)
    env = app.state.web.templates.env
    pages = set(env.list_templates(extensions=("html", "njk")))
    assert {"concern.html", "case.html", "govuk_frontend_jinja/template.html"} <= pages
    assert not pages <= _compiled(app)

    with TestClient(app) as client:
        assert pages <= _compiled(app)
        assert client.get("/concern").status_code == 200


def test_preparing_the_services_loads_the_hooks_the_holidays_and_the_pdf_engine(
    sqlite_ctx: AppContext,
) -> None:
    assert "_holidays" not in vars(sqlite_ctx.calendar)

    sqlite_ctx.warm_up()

    assert "_holidays" in vars(sqlite_ctx.calendar)
    assert hooks._loaded
    assert pdf._fonts.cache_info().currsize == 1


def test_a_server_that_cannot_prepare_the_pdf_engine_still_serves_and_logs_only_the_kind(
    sqlite_ctx: AppContext, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> None:
        raise RuntimeError("could not render the letter to Jane Example")

    monkeypatch.setattr(pdf, "warm_up", broken)
    app = create_app(sqlite_ctx.settings, sqlite_ctx)

    with caplog.at_level(logging.WARNING, logger="concerns.web"), TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/concern").status_code == 200

    said = [record.getMessage() for record in caplog.records]
    assert said == ["could not prepare the services before serving (RuntimeError)"]
    assert "Jane" not in caplog.text
