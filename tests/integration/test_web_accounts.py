"""The admin's staff page: the same account changes as the commands, audited, and a leaver's
open sessions end at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from concerns.db.models import Event
from concerns.workflows.access.users import add_user
from concerns.workflows.context import AppContext
from tests.factories import create_staff, log_concern
from tests.integration.web_helpers import PASSWORD, client_for, sign_in


@pytest.fixture
def web(sqlite_ctx: AppContext) -> Iterator[AppContext]:
    create_staff(sqlite_ctx, PASSWORD)
    yield sqlite_ctx


def test_the_admin_disables_a_leaver_and_their_session_ends(web: AppContext) -> None:
    sam = client_for(web)
    sign_in(sam, "sam")
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    page = admin.get("/users")
    assert "Change an account" in page.text and "Last signed in" in page.text
    done = admin.post("/users", data={"csrf_token": csrf, "username": "sam",
                                      "action": "disable", "reason": "Left in March"})
    assert done.status_code == 303
    assert sam.get("/api/me").status_code == 401
    roles = admin.post("/users", data={"csrf_token": csrf, "username": "lee",
                                       "action": "roles", "role": ["legal", "iat_officer"],
                                       "reason": "Covering the IAT"})
    assert roles.status_code == 303
    with web.sessions() as s:
        audited = [(e.event, e.actor, e.note) for e in s.scalars(
            select(Event).where(Event.event.in_(("user_disabled", "user_roles_changed"))))]
    assert audited == [("user_disabled", "admin", "Left in March"),
                       ("user_roles_changed", "admin", "Covering the IAT")]


def test_a_missing_reason_comes_back_on_the_page_with_what_was_chosen(web: AppContext) -> None:
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    response = admin.post("/users", data={"csrf_token": csrf, "username": "jo",
                                          "action": "unlock", "reason": " "})
    assert response.status_code == 400
    assert "Say why" in response.text
    assert 'value="jo" selected' in response.text and 'value="unlock" checked' in response.text


def test_only_an_admin_changes_accounts(web: AppContext) -> None:
    manager = client_for(web)
    csrf = sign_in(manager, "morgan")
    assert "Change an account" not in manager.get("/users").text
    refused = manager.post("/users", data={"csrf_token": csrf, "username": "sam",
                                           "action": "disable", "reason": "I would like to"})
    assert refused.status_code == 403
    # Nor is a manager told whether a username exists: the same refusal for nobody.
    unknown = manager.post("/users", data={"csrf_token": csrf, "username": "smm",
                                           "action": "disable", "reason": "I would like to"})
    assert unknown.status_code == 403 and "smm" not in unknown.text


def test_an_account_nobody_has_gets_the_commands_wording_for_the_admin(web: AppContext) -> None:
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    response = admin.post("/users", data={"csrf_token": csrf, "username": "smm",
                                          "action": "unlock", "reason": "Forgot"})
    assert response.status_code == 400
    assert "No such user &#39;smm&#39; (did you mean &#39;sam&#39;?): check the spelling" in (
        response.text)


def test_the_admin_sets_a_new_password_and_the_old_sessions_end(web: AppContext) -> None:
    sam = client_for(web)
    sign_in(sam, "sam")
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    new = "the river bank in october"
    done = admin.post("/users", data={"csrf_token": csrf, "username": "sam",
                                      "action": "reset-password", "password": new,
                                      "reason": "Forgot it after leave"})
    assert done.status_code == 303
    assert sam.get("/api/me").status_code == 401  # the session from before ends
    sign_in(client_for(web), "sam", new)
    with web.sessions() as s:
        audited = [(e.event, e.actor, e.note) for e in s.scalars(
            select(Event).where(Event.event == "password_reset"))]
    assert audited == [("password_reset", "admin", "Forgot it after leave")]


def test_a_new_password_that_breaks_a_rule_is_refused_by_the_field_and_never_echoed(
    web: AppContext,
) -> None:
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    refused = admin.post("/users", data={"csrf_token": csrf, "username": "sam",
                                         "action": "reset-password", "password": "short1",
                                         "reason": "Forgot it"})
    assert refused.status_code == 400
    assert 'id="account-password-error"' in refused.text and "12 characters" in refused.text
    assert "short1" not in refused.text
    assert 'value="reset-password" checked' in refused.text
    sign_in(client_for(web), "sam")  # the old password still works: nothing changed


def test_every_account_change_on_the_page_is_audited_with_who_and_why(web: AppContext) -> None:
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    changes = [
        ({"action": "disable"}, "user_disabled"),
        ({"action": "enable"}, "user_enabled"),
        ({"action": "roles", "role": ["iat_manager", "iat_officer"]}, "user_roles_changed"),
        ({"action": "reset-password", "password": "a fresh long passphrase"}, "password_reset"),
        ({"action": "unlock"}, "user_unlocked"),
        ({"action": "reset-second-factor"}, "second_factor_reset"),
        ({"action": "rename", "full_name": "Sam Patel-Okafor"}, "user_renamed"),
    ]
    for i, (change, _event) in enumerate(changes):
        done = admin.post("/users", data={"csrf_token": csrf, "username": "sam",
                                          "reason": f"Reason {i}", **change})
        assert done.status_code == 303, change
    with web.sessions() as s:
        audited = [(e.event, e.actor, e.note, (e.data or {}).get("username")) for e in s.scalars(
            select(Event).where(Event.event.in_([event for _, event in changes]))
            .order_by(Event.id))]
    assert audited == [(event, "admin", f"Reason {i}", "sam")
                       for i, (_, event) in enumerate(changes)]
    # Nothing typed as a password is kept in the audit trail.
    with web.sessions() as s:
        assert not any("fresh long" in str(e.data) + str(e.note)
                       for e in s.scalars(select(Event)))


def test_a_refusal_about_the_account_is_shown_on_the_form_by_the_account(
    web: AppContext,
) -> None:
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    last = admin.post("/users", data={"csrf_token": csrf, "username": "admin",
                                      "action": "disable", "reason": "Tidying up"})
    assert last.status_code == 403
    assert "last active admin" in last.text and 'href="#account-username"' in last.text
    assert 'value="admin" selected' in last.text
    add_user(web, "admin", "ops", ("auditor",))
    nameless = admin.post("/users", data={"csrf_token": csrf, "username": "ops",
                                          "action": "roles", "role": ["legal"],
                                          "reason": "Covering Legal"})
    assert nameless.status_code == 400
    # Shown by the name field, where the page can now give the account its name.
    assert "forename and surname" in nameless.text and 'href="#account-full-name"' in nameless.text


def test_the_admin_changes_a_name_and_a_concern_naming_the_new_one_bars_them(
    web: AppContext,
) -> None:
    reference = log_concern(web, staff_named=["Sam Okafor"])
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    done = admin.post("/users", data={"csrf_token": csrf, "username": "sam", "action": "rename",
                                      "full_name": "  Sam   Okafor ", "reason": "Married"})
    assert done.status_code == 303
    assert "Sam Okafor" in admin.get("/users").text
    with web.sessions() as s:
        renamed = s.scalars(select(Event).where(Event.event == "user_renamed")).one()
    assert (renamed.actor, renamed.note, renamed.data["conflicts_found"]) == ("admin", "Married", 1)
    sam = client_for(web)
    sign_in(sam, "sam")
    assert sam.get(f"/cases/{reference}").status_code == 403


def test_a_name_left_empty_is_refused_by_its_field_with_everything_kept(web: AppContext) -> None:
    admin = client_for(web)
    csrf = sign_in(admin, "admin")
    refused = admin.post("/users", data={"csrf_token": csrf, "username": "jo", "action": "rename",
                                         "full_name": "   ", "reason": "Typo at set-up"})
    assert refused.status_code == 400
    # Said as a sentence by its field, without the command line's field name in front.
    assert "Give the person&#39;s full name" in refused.text and "full-name:" not in refused.text
    assert 'href="#account-full-name"' in refused.text
    assert 'value="jo" selected' in refused.text and 'value="rename" checked' in refused.text
    assert 'value="Typo at set-up"' in refused.text
    with web.sessions() as s:
        assert s.scalars(select(Event).where(Event.event == "user_renamed")).first() is None
