"""`concerns case correct REF --set FIELD=VALUE --note REASON`, run as a user would."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_cli_posting import log


def test_an_officer_corrects_a_persons_email_and_postcode_through_the_command(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, {"email": "rowan.hale@example.org", "postcode": "HR7 4AA"})
    done = cli.ok(
        "case", "correct", ref, "--set", "email=rowan@example.net", "--set", "postcode=hr4 0le",
        "--note", "She phoned with her new address.", "--json", as_user="alex",
    ).json()
    assert (done["reference"], done["changed"]) == (ref, ["email", "postcode"])
    human = cli.ok("case", "correct", ref, "--set", "phone=01885 555010",
                   "--note", "Added the number she rang from.", as_user="erin").out
    assert human.strip() == f"{ref}: corrected phone."

    shown = cli.ok("case", "show", ref, "--json", as_user="morgan").json()
    assert shown["respondent"]["email"] == "rowan@example.net"
    assert shown["respondent"]["postcode"] == "hr4 0le"
    [first, second] = [h for h in shown["history"]
                       if h["event"] == "respondent_details_corrected"]
    assert first["data"]["fields"] == ["email", "postcode"]
    assert first["note"] == "She phoned with her new address."
    assert "rowan" not in str(first["data"]) and second["actor"] == "erin"
    assert cli.ok("audit", "verify").code == 0


def test_a_bad_field_or_value_exits_2_naming_it_and_changes_nothing(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, {"email": "rowan.hale@example.org"})
    note = ("--note", "Correction.")
    unknown = cli("case", "correct", ref, "--set", "nickname=Ro", *note, as_user="alex")
    assert unknown.code == 2 and "nickname: not a detail that can be corrected" in unknown.err
    email = cli("case", "correct", ref, "--set", "email=rowan@", *note, as_user="alex")
    assert email.code == 2 and "email: not an email address" in email.err
    malformed = cli("case", "correct", ref, "--set", "email", *note, as_user="alex")
    assert malformed.code == 2 and "expected KEY=VALUE" in malformed.err
    nothing = cli("case", "correct", ref, *note, as_user="alex")
    assert nothing.code == 2 and "give at least one detail" in nothing.err
    no_note = cli("case", "correct", ref, "--set", "phone=01432 555123", as_user="alex")
    assert no_note.code == 2
    refused = cli("case", "correct", ref, "--set", "phone=01432 555123", *note, as_user="lee")
    assert refused.code == 3 and "needs the role" in refused.err
    missing = cli("case", "correct", "CAC-1999-0001", "--set", "phone=01432 555123", *note,
                  as_user="alex")
    assert missing.code == 1
    for result in (unknown, email, malformed, nothing, refused, missing):
        assert "Traceback" not in result.err and "rowan" not in result.err.lower()
    shown = cli.ok("case", "show", ref, "--json", as_user="alex").json()
    assert shown["respondent"]["email"] == "rowan.hale@example.org"
    assert "respondent_details_corrected" not in [h["event"] for h in shown["history"]]
