"""`concerns user disable|enable|roles|reset-password|unlock|list` and `concerns init --admin`,
run as an administrator would; each change is audited with who and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from concerns.db.engine import make_engine
from concerns.workflows.context import AppContext
from concerns.workflows.reminders import sweep
from tests.conftest import make_settings
from tests.e2e.conftest import Cli
from tests.factories import act, log_concern

NEW_PASSWORD = "another long passphrase\n"


def _ctx(cli: Cli) -> AppContext:
    url = cli.env["CONCERNS_DATABASE_URL"]
    return AppContext(make_settings(url, cli.home), make_engine(url))


def _history(cli: Cli) -> list[dict[str, object]]:
    ctx = _ctx(cli)
    try:
        from sqlalchemy import select

        from concerns.db.models import Event

        with ctx.sessions() as s:
            return [{"event": e.event, "actor": e.actor, "data": e.data, "note": e.note}
                    for e in s.scalars(select(Event).where(Event.case_id.is_(None))
                                       .order_by(Event.id))]
    finally:
        ctx.engine.dispose()


def test_a_new_install_gets_its_administrator_and_never_a_first_account_without_one(
    cli: Cli,
) -> None:
    cli.ok("init")
    refused = cli("user", "add", "alex", "--role", "iat_officer")
    assert refused.code == 2 and "first account must have the role admin" in refused.err
    weak = cli("init", "--admin", "root", "--password-stdin", stdin="root\n")
    assert weak.code == 2 and "password" in weak.err and "Traceback" not in weak.err
    made = cli("init", "--admin", "ada", "--full-name", "Ada Lovelace", "--password-stdin",
               stdin="a long enough passphrase\n")
    assert made.code == 0 and "Administrator: ada." in made.out
    again = cli("init", "--admin", "eve", "--password-stdin", stdin="a long enough passphrase\n")
    assert again.code == 2 and "already has accounts" in again.err
    listed = cli.ok("user", "list", "--json", as_user="ada").json()
    assert [(u["username"], u["roles"]) for u in listed] == [("ada", ["admin"])]


def test_each_account_command_changes_the_account_and_is_audited(staffed: Cli) -> None:
    cli = staffed
    weak = cli("user", "reset-password", "sam", "--reason", "forgot", "--password-stdin",
               as_user="admin", stdin="sam12345678x\n")
    assert weak.code == 2 and "password" in weak.err
    assert cli("user", "disable", "sam", "--reason", "left", as_user="alex").code == 3
    assert cli("user", "disable", "sam", "--reason", " ", as_user="admin").code == 2
    done = [
        cli.ok("user", "disable", "sam", "--reason", "Left the council in March",
               as_user="admin").out,
        cli.ok("user", "enable", "sam", "--reason", "Back as an agency worker",
               as_user="admin").out,
        cli.ok("user", "roles", "sam", "--role", "iat_manager", "--role", "iat_officer",
               "--reason", "Acting manager", as_user="admin").out,
        cli("user", "reset-password", "sam", "--reason", "Forgot it", "--password-stdin",
            as_user="admin", stdin=NEW_PASSWORD).out,
        cli.ok("user", "unlock", "sam", "--reason", "Rang the service desk",
               as_user="admin").out,
    ]
    assert [line.strip() for line in done] == [
        "sam: disabled.", "sam: enabled.", "sam: roles iat_manager, iat_officer.",
        "sam: password reset, sessions ended.", "sam: unlocked."]
    audited = [(e["event"], e["actor"], e["note"]) for e in _history(cli)
               if str(e["event"]).startswith(("user_", "password_"))
               and e["event"] != "user_added"]
    assert audited == [
        ("user_disabled", "admin", "Left the council in March"),
        ("user_enabled", "admin", "Back as an agency worker"),
        ("user_roles_changed", "admin", "Acting manager"),
        ("password_reset", "admin", "Forgot it"),
        ("user_unlocked", "admin", "Rang the service desk"),
    ]
    listed = {u["username"]: u for u in cli.ok("user", "list", "--json", as_user="admin").json()}
    assert listed["sam"]["roles"] == ["iat_manager", "iat_officer"]
    assert listed["sam"]["active"] is True and "last_sign_in" in listed["sam"]


def test_the_last_administrator_cannot_be_disabled_or_lose_the_role(staffed: Cli) -> None:
    cli = staffed
    assert "last active admin" in cli("user", "disable", "admin", "--reason", "x",
                                      as_user="admin").err
    assert "last active admin" in cli("user", "roles", "admin", "--role", "auditor",
                                      "--reason", "x", as_user="admin").err


def test_a_disabled_reviewers_reminders_go_to_their_role(staffed: Cli) -> None:
    cli = staffed
    ctx = _ctx(cli)
    try:
        reference = log_concern(ctx)
        act(ctx, reference, "acknowledge", "alex")
        act(ctx, reference, "record_complaints_triage", "priya", meets_criteria="no",
            reason="time_limit_passed")
        act(ctx, reference, "record_legal_triage", "lee", proceedings="none")
        act(ctx, reference, "assign_reviewer", "morgan", reviewer="sam")
        act(ctx, reference, "start_review", "alex")
    finally:
        ctx.engine.dispose()
    cli.ok("user", "disable", "sam", "--reason", "Left the council", as_user="admin")
    ctx = _ctx(cli)
    try:
        swept = sweep(ctx, now=datetime(2027, 6, 1, 9, tzinfo=UTC))
    finally:
        ctx.engine.dispose()
    recipients = {item["to"] for item in swept.items if item["reference"] == reference}
    assert recipients and "sam" not in recipients


def test_an_account_that_reads_cases_needs_a_name_the_conflict_check_can_find(
    staffed: Cli,
) -> None:
    """A careless `user add` without --full-name would make a case reader the conflict-of-interest
    check can never find in a concern: refused, naming the field, for adding and for roles."""
    cli = staffed
    for name in ([], ["--full-name", "Bob"], ["--full-name", "(agency)"]):
        refused = cli("user", "add", "bob", "--role", "iat_officer", *name, as_user="admin")
        assert refused.code == 2 and refused.err.startswith("error: full-name:"), name
    cli.ok("user", "add", "ops", "--role", "auditor", as_user="admin")
    refused = cli("user", "roles", "ops", "--role", "legal", "--reason", "Moved to Legal",
                  as_user="admin")
    assert refused.code == 2 and "full-name" in refused.err
    cli.ok("user", "add", "bob", "--role", "iat_officer", "--full-name", "Bob Stone",
           as_user="admin")
    listed = {u["username"]: u for u in cli.ok("user", "list", "--json", as_user="admin").json()}
    assert listed["bob"]["full_name"] == "Bob Stone" and listed["ops"]["roles"] == ["auditor"]


@pytest.mark.parametrize("command", [
    ["disable", "sam"],
    ["roles", "sam", "--role", "iat_manager"],
    ["reset-password", "sam", "--password-stdin"],
    ["reset-second-factor", "sam"],
])
def test_an_account_command_ends_the_accounts_open_sessions_at_once(
    staffed: Cli, command: list[str],
) -> None:
    """Run from the command line while sam is signed in to the web app: sam's cookie is refused
    at the next request; another member of staff's session goes on."""
    from concerns.web.app import create_app
    from tests.integration.web_helpers import sign_in

    cli = staffed
    for username in ("sam", "alex"):
        made = cli("user", "reset-password", username, "--reason", "Set for the test",
                   "--password-stdin", as_user="admin", stdin=NEW_PASSWORD)
        assert made.code == 0, made.err
    ctx = _ctx(cli)
    try:
        sam, alex = (TestClient(create_app(ctx.settings, ctx), follow_redirects=False)
                     for _ in range(2))
        sign_in(sam, "sam", NEW_PASSWORD.strip())
        sign_in(alex, "alex", NEW_PASSWORD.strip())
        assert sam.get("/api/me").status_code == 200
        done = cli(*["user", *command], "--reason", "Changed for the test", as_user="admin",
                   stdin="yet another long passphrase\n")
        assert done.code == 0, done.err
        assert sam.get("/api/me").status_code == 401
        assert alex.get("/api/me").status_code == 200
    finally:
        ctx.engine.dispose()


def test_a_name_is_set_or_changed_and_the_cases_are_checked_under_the_new_one(
    staffed: Cli,
) -> None:
    """`user rename`: an account added without a name gets one and may then read cases; a
    member of staff whose surname changes is checked against every case under the new name."""
    cli = staffed
    ctx = _ctx(cli)
    try:
        reference = log_concern(ctx, staff_named=["Jo Whitlow (team manager)"])
    finally:
        ctx.engine.dispose()
    assert cli.ok("case", "show", reference, "--json", as_user="jo").json()["reference"]
    renamed = cli("user", "rename", "jo", "--full-name", "Jo Whitlow", "--reason",
                  "Married in June", as_user="admin")
    assert renamed.code == 0 and "jo: name changed." in renamed.out
    refused = cli("case", "show", reference, as_user="jo")
    assert refused.code == 3 and "you cannot open this case" in refused.err
    assert cli("user", "rename", "jo", "--full-name", "Jo", "--reason", "x",
               as_user="admin").err.startswith("error: full-name:")
    blank = cli("user", "rename", "admin", "--full-name", "  ", "--reason", "x", as_user="admin")
    assert blank.code == 2 and "error: full-name: give the person's full name" in blank.err
    assert cli("user", "rename", "jo", "--full-name", "Jo Bloggs", "--reason", "x",
               as_user="alex").code == 3
    cli.ok("user", "add", "ops", "--role", "auditor", as_user="admin")
    cli.ok("user", "rename", "ops", "--full-name", "Olu Peters", "--reason", "Was missing",
           as_user="admin")
    cli.ok("user", "roles", "ops", "--role", "legal", "--reason", "Moved to Legal",
           as_user="admin")
    audited = [(e["event"], e["actor"], e["note"]) for e in _history(cli)
               if e["event"] == "user_renamed"]
    assert audited == [("user_renamed", "admin", "Married in June"),
                       ("user_renamed", "admin", "Was missing")]
