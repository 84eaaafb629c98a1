"""`concerns conflict list|clear|confirm`, run as the IAT manager would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli


def _log(cli: Cli, tmp: Path, concern: str, staff_named: list[str]) -> str:
    path = tmp / f"form-{len(list(tmp.glob('form-*.json')))}.json"
    path.write_text(json.dumps({
        "submitted_at": "2026-11-02T10:15:00+00:00", "channel": "web",
        "respondent": {"name": f"Person {path.stem}", "email": f"{path.stem}@example.org"},
        "concern": concern, "staff_named": staff_named,
    }), encoding="utf-8")
    [row] = cli.ok("intake", "form", str(path), "--json", as_user="ian").json()
    return str(row["reference"])


def test_the_manager_lists_and_clears_a_possible_conflict(staffed: Cli, tmp_path: Path) -> None:
    cli = staffed
    flagged = _log(cli, tmp_path, "Mr Morgan did not call me back.", [])
    certain = _log(cli, tmp_path, "Nobody listened.", ["Alex Morgan (social worker)"])
    refused = cli("case", "show", flagged, as_user="alex")
    assert refused.code != 0 and "you cannot open this case" in refused.err
    assert "Traceback" not in refused.err
    waiting = cli.ok("conflict", "list", "--json", as_user="morgan").json()
    assert [(w["reference"], w["username"], w["mention"]) for w in waiting] == [
        (flagged, "alex", "Mr Morgan")]
    no_reason = cli("conflict", "clear", flagged, "alex", "--reason", " ", as_user="morgan")
    assert no_reason.code == 2 and "reason" in no_reason.err
    done = cli.ok("conflict", "clear", flagged, "alex", "--reason",
                  "Mr Morgan is the school's head teacher", as_user="morgan")
    assert done.out.strip() == f"{flagged}: alex cleared."
    assert cli.ok("case", "show", flagged, "--json", as_user="alex").json()["reference"] == flagged
    assert cli("case", "show", certain, as_user="alex").code != 0
    every = cli.ok("conflict", "list", "--all", "--json", as_user="morgan").json()
    assert {(w["reference"], w["finding"], w["status"]) for w in every} == {
        (flagged, "flagged", "cleared"), (certain, "excluded", "open")}
    assert cli("conflict", "list", as_user="alex").code != 0
