"""The `concerns` command end to end: set-up, intake, a case walked to the end, refusals."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.factories import form_bytes
from tests.services import create_pg_database, drop_pg_database, postgres_reachable, unavailable


def log(cli: Cli, tmp: Path, **kwargs: object) -> str:
    path = tmp / f"form-{len(list(tmp.glob('form-*.json')))}.json"
    path.write_bytes(form_bytes(**kwargs))  # type: ignore[arg-type]
    result = cli.ok("intake", "form", str(path), "--json", as_user="ian")
    [row] = result.json()
    assert row["status"] == "new_case"
    return str(row["reference"])


def counts(cli: Cli) -> dict[str, int]:
    db = sqlite3.connect(cli.env["CONCERNS_DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        return {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("cases", "contacts", "respondents", "children", "deadlines", "events")
        }
    finally:
        db.close()


def refused(cli: Cli, ref: str, *args: str, as_user: str, match: str) -> None:
    before = cli.ok("case", "show", ref, "--json", as_user="morgan").json()
    result = cli("case", "act", ref, *args, as_user=as_user)
    assert result.code == 3, result.err
    assert match in result.err and "Traceback" not in result.err
    after = cli.ok("case", "show", ref, "--json", as_user="morgan").json()
    assert (after["state"], after["version"], after["history"]) == (
        before["state"],
        before["version"],
        before["history"],
    )


def test_init_with_demo_data_gives_a_working_register(cli: Cli) -> None:
    result = cli.ok("init", "--demo", "--json")
    data = result.json()
    assert "dana" in data["users_created"] and len(data["demo_cases"]) == 5
    cases = cli.ok("case", "list", "--json", as_user="alex").json()
    assert {c["state"] for c in cases} >= {"logged", "triage", "in_review", "awaiting_signoff"}
    assert set(cases[0]) >= {
        "reference",
        "state",
        "received_at",
        "respondent_name",
        "owner",
        "overdue",
    }
    # Need to know: Legal lists (and finds by name) only the cases in triage or review.
    legal = cli.ok("case", "list", "--json", as_user="lee").json()
    assert 0 < len(legal) < len(cases)
    assert {c["state"] for c in legal} <= {"triage", "awaiting_information",
                                                      "in_review"}
    for case in cases:
        surname = case["respondent_name"].split()[-1]
        found = cli.ok("case", "list", "--search", surname, "--json", as_user="lee").json()
        assert (case["reference"] in {c["reference"] for c in found}) is (
            case["reference"] in {c["reference"] for c in legal})
    assert cli.ok("init", "--demo", "--json").json()["demo_cases"] == []  # idempotent
    assert cli.ok("audit", "verify").code == 0


def test_a_case_walked_from_intake_to_closed_through_the_command(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, children=[{"name": "Ellie Price", "date_of_birth": "2008-02-01"}])
    events = [e["event"] for e in cli.ok("case", "events", ref, "--json", as_user="alex").json()]
    assert events == ["acknowledge", "request_information", "answer_query"]
    refused(cli, ref, "authorise", as_user="dana", match="not possible while the case is logged")
    refused(cli, ref, "acknowledge", as_user="dana", match="needs the role")
    cli.ok("case", "act", ref, "acknowledge", as_user="alex")
    cli.ok(
        "case",
        "act",
        ref,
        "record_complaints_triage",
        "--set",
        "meets_criteria=no",
        "--set",
        "reason=time_limit_passed",
        "--note",
        "Involvement ended in 2015.",
        as_user="priya",
    )
    cli.ok("case", "act", ref, "record_legal_triage", "--set", "proceedings=none", as_user="lee")
    cli.ok("case", "act", ref, "assign_reviewer", "--set", "reviewer=alex", as_user="morgan")
    cli.ok("case", "act", ref, "start_review", as_user="alex")
    cli.ok(
        "case",
        "act",
        ref,
        "add_review_note",
        "--set",
        "kind=interview_respondent",
        "--note",
        "Met the family at home.",
        as_user="alex",
    )
    cli.ok(
        "case",
        "act",
        ref,
        "submit_outcome",
        "--set",
        "summary=Records read.",
        "--set",
        "wording=We are sorry that nobody explained our decision.",
        "--set",
        "finding.communication_with_families=Nobody explained the decision in writing.",
        as_user="alex",
    )
    # Someone who holds both roles still cannot authorise what they submitted.
    cli.ok("user", "add", "chris", "--role", "director", "--role", "iat_officer",
           "--full-name", "Chris Dunmore", as_user="admin")
    cli.ok("case", "act", ref, "return_for_changes", "--note", "Add dates.", as_user="dana")
    cli.ok("case", "act", ref, "assign_reviewer", "--set", "reviewer=chris", as_user="morgan")
    cli.ok("case", "act", ref, "submit_outcome", as_user="chris")
    refused(cli, ref, "authorise", as_user="chris", match="separation of duties")
    cli.ok("case", "act", ref, "authorise", as_user="dana")
    cli.ok("case", "act", ref, "prepare_letter", as_user="erin")
    queue = cli.ok("queue", "director", "--json", as_user="dana").json()
    assert [q["reference"] for q in queue] == [ref]
    assert queue[0]["events"] == ["sign", "return_letter"]
    cli.ok("case", "act", ref, "sign", as_user="dana")
    cli.ok("case", "act", ref, "send", "--set", "method=post", as_user="erin")
    refused(cli, ref, "close", as_user="alex", match="reply window is still running")
    result = cli.ok(
        "case", "act", ref, "close", "--set", "reason=The person phoned: satisfied.", "--json",
        as_user="morgan",
    ).json()
    assert result["to_state"] == "closed"
    shown = cli.ok("case", "show", ref, "--json", as_user="alex").json()
    assert shown["state"] == "closed"
    assert [d["status"] for d in shown["deadlines"]] == ["met"] * len(shown["deadlines"])
    assert {"clock", "due", "status"} <= set(shown["deadlines"][0])
    assert [h["event"] for h in shown["history"]][:2] == ["concern_logged", "acknowledge"]
    assert cli.ok("audit", "verify", "--json").json()["ok"] is True


def test_bad_values_and_unknown_things_exit_2_or_1_with_a_message_and_no_traceback(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path)
    result = cli("case", "act", ref, "acknowledge", "--set", "colour=blue", as_user="alex")
    assert result.code == 2 and "colour: not a value acknowledge takes" in result.err
    result = cli("case", "act", ref, "teleport", as_user="alex")
    assert result.code == 2 and "event: no such event" in result.err
    result = cli("case", "act", ref, "acknowledge", "--set", "novalue", as_user="alex")
    assert result.code == 2 and "--set: expected KEY=VALUE" in result.err
    result = cli("case", "show", "CAC-1999-0001", as_user="alex")
    assert result.code == 1 and "no case with reference" in result.err
    result = cli("case", "list", as_user="nobody")
    assert result.code == 2 and "--as: no such user 'nobody'" in result.err
    result = cli("case", "list", as_user="audrey")
    assert result.code == 3 and "may not read case content" in result.err
    result = cli("user", "add", "eve", "--role", "admin", as_user="alex")
    assert result.code == 3 and "only an admin" in result.err
    result = cli("user", "add", "eve", "--role", "wizard", as_user="admin")
    assert result.code == 2 and "role: unknown role" in result.err
    for r in (result,):
        assert "Traceback" not in r.err


MALFORMED: dict[str, tuple[bytes, str]] = {
    "not json": (b"{this is not json", "(file): not valid JSON"),
    "not utf-8": (b'{"concern": "caf\xe9"}', "(file): not UTF-8"),
    "a list": (b"[1, 2]", "(file): expected a JSON object"),
    "name a number": (
        form_bytes().replace(b'"name": "Test Person', b'"nme": "x', 1),
        "respondent.name: missing",
    ),
    "concern a list": (
        json.dumps(
            {"respondent": {"name": "A B", "email": "a@example.com"}, "concern": ["x"]}
        ).encode(),
        "concern: expected text, got a list",
    ),
    "no way to reply": (
        json.dumps({"respondent": {"name": "A B"}, "concern": "x"}).encode(),
        "respondent: needs at least one way to reply",
    ),
    "10 MB of text": (
        json.dumps(
            {"respondent": {"name": "A B", "email": "a@example.com"}, "concern": "x" * 10_000_000}
        ).encode(),
        "concern: longer than 100000 characters",
    ),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_intake_exits_2_naming_the_field_and_stores_no_half_case(
    staffed: Cli, tmp_path: Path, kind: str
) -> None:
    raw, message = MALFORMED[kind]
    path = tmp_path / "bad.json"
    path.write_bytes(raw)
    before = counts(staffed)
    result = staffed("intake", "form", str(path), "--json", as_user="ian")
    assert result.code == 2, result.err
    assert message in result.err and "Traceback" not in result.err
    [row] = result.json()
    assert row["status"] == "quarantined" and message in row["reason"]
    assert counts(staffed) == before
    # Nothing lost: the raw bytes are kept, quarantined, exactly as received.
    db = sqlite3.connect(staffed.env["CONCERNS_DATABASE_URL"].removeprefix("sqlite:///"))
    stored = db.execute("SELECT content, status FROM raw_submissions").fetchall()
    db.close()
    assert stored == [(raw, "quarantined")]


def test_audit_verify_fails_after_a_row_is_changed_by_hand(staffed: Cli, tmp_path: Path) -> None:
    ref = log(staffed, tmp_path)
    staffed.ok("case", "act", ref, "acknowledge", as_user="alex")
    assert staffed.ok("audit", "verify").code == 0
    db = sqlite3.connect(staffed.env["CONCERNS_DATABASE_URL"].removeprefix("sqlite:///"))
    row_id = db.execute("SELECT id FROM events WHERE event = 'acknowledge'").fetchone()[0]
    db.execute("UPDATE events SET note = 'edited' WHERE id = ?", (row_id,))
    db.commit()
    db.close()
    result = staffed("audit", "verify")
    assert result.code == 1
    assert f"audit chain broken at event row {row_id}" in result.err


def test_the_command_sets_up_and_runs_a_register_on_postgresql(cli: Cli) -> None:
    reason = postgres_reachable()
    if reason:
        unavailable(reason)
    url = create_pg_database("concerns_e2e")
    try:
        cli.env["CONCERNS_DATABASE_URL"] = url
        assert cli.ok("init", "--demo", "--json").json()["demo_cases"]
        assert cli.ok("init", "--json").json()["database"] == "up to date"
        [signoff] = cli.ok("queue", "director", "--json", as_user="dana").json()[:1]
        cli.ok("case", "act", signoff["reference"], "authorise", as_user="dana")
        assert cli.ok("audit", "verify", "--json").json()["ok"] is True
    finally:
        drop_pg_database(url)


def test_nobody_can_log_a_concern_from_the_command_as_the_public_form(
    staffed: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "form.json"
    path.write_bytes(form_bytes())
    result = staffed("intake", "form", str(path), as_user="public")
    assert result.code == 2 and "--as: no such user 'public'" in result.err


def test_a_password_from_stdin_must_not_be_empty(staffed: Cli) -> None:
    result = staffed("user", "add", "pat", "--role", "iat_officer", "--full-name", "Pat Kerr",
                     "--password-stdin", as_user="admin", stdin="\n")
    assert result.code == 2 and "password: nothing was read" in result.err
    assert staffed("user", "add", "pat", "--role", "iat_officer", "--full-name", "Pat Kerr",
                   "--password-stdin", as_user="admin", stdin="a long pass phrase\n").code == 0
