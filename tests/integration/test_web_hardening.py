"""Smaller defences: ids beyond what the database holds answer 404, the server's output holds no
traceback, and the database and the secret key are readable by their owner only."""

from __future__ import annotations

import io
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from concerns.cli.serve_cmd import NoTracebacks
from concerns.db.engine import make_engine, migrate
from concerns.web.security import secret_key
from concerns.workflows.context import AppContext
from tests.factories import create_staff, log_concern
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


@pytest.mark.parametrize("letter_id", [2**63, 2**64, 10**30, 9_223_372_036_854_775_807])
def test_a_letter_id_beyond_the_database_answers_404(web: AppContext, letter_id: int) -> None:
    reference = log_concern(web)
    client = client_for(web)
    csrf = sign_in(client, "erin")
    assert client.get(f"/cases/{reference}/letters/{letter_id}.pdf").status_code == 404
    posted = client.post(f"/cases/{reference}/letters/{letter_id}/posted",
                         data={"csrf_token": csrf})
    assert posted.status_code == 404
    action = client.post(f"/actions/{letter_id}/complete", data={"csrf_token": csrf})
    assert action.status_code == 404


def test_the_server_log_never_holds_a_traceback() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(NoTracebacks())
    logger = logging.getLogger("test.no_tracebacks")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError("Concern from Jane Doe, 1 Example Street")
        except ValueError:
            logger.exception("Exception in ASGI application")
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "Exception in ASGI application (ValueError)" in written
    assert "Traceback" not in written and "Jane Doe" not in written


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_database_and_the_secret_key_are_the_owners_alone(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a typical umask that would otherwise leave them world-readable
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'concerns.db'}")
        migrate(engine)  # the file is made by `init`, never by merely connecting
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
            conn.commit()
        engine.dispose()
        secret_key("", tmp_path / "keys")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "var") == 0o700
    assert _mode(tmp_path / "var" / "concerns.db") == 0o600
    assert _mode(tmp_path / "keys") == 0o700
    assert _mode(tmp_path / "keys" / "secret_key") == 0o600


@pytest.mark.parametrize("huge", [2**63, 10**30])
def test_an_attachment_or_a_subject_access_request_beyond_the_database_answers_404(
    web: AppContext, huge: int
) -> None:
    reference = log_concern(web)
    officer = client_for(web)
    sign_in(officer, "alex")
    assert officer.get(f"/cases/{reference}/attachments/{huge}").status_code == 404
    information = client_for(web)
    csrf = sign_in(information, "priya")
    assert information.get(f"/records/subject-access/{huge}").status_code == 404
    released = information.post(f"/records/subject-access/{huge}/release",
                                data={"csrf_token": csrf})
    assert released.status_code == 404


@pytest.mark.parametrize("number", ["²", "٣", "9" * 19, str(2**63)])
def test_a_number_posted_in_a_form_that_no_id_could_be_is_refused_without_an_error(
    web: AppContext, number: str,
) -> None:
    """Digits to str.isdigit but not to int ("²"), or beyond what the database holds: the case's
    version is taken as not given, a person's id is refused by its field, a redaction is not
    found; never a server error."""
    reference = log_concern(web)
    officer = client_for(web)
    csrf = sign_in(officer, "alex")
    fired = officer.post(f"/cases/{reference}/events/acknowledge",
                         data={"csrf_token": csrf, "version": number})
    assert fired.status_code in (200, 303)
    information = client_for(web)
    csrf = sign_in(information, "priya")
    opened = information.post("/records/subject-access/open",
                              data={"csrf_token": csrf, "person": number})
    assert opened.status_code == 422 and "person" in opened.text
    toggled = information.post("/records/subject-access/1/redactions",
                               data={"csrf_token": csrf, "toggle": f"{number}:on"})
    assert toggled.status_code == 404
