"""`concerns retention …`, `concerns backup` and `concerns restore`, run as a user would."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_cli_posting import log


def test_the_information_officer_keeps_anonymises_and_the_register_is_backed_up_and_restored(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    kept = log(cli, tmp_path, {"email": "rowan.hale@example.org"})
    erased = log(cli, tmp_path, {"name": "Isolde Pennywhistle", "email": "isolde@example.org"})
    for ref in (kept, erased):
        cli.ok("case", "act", ref, "answer_query", "--set", "wording=Our answer.",
               as_user="alex")
    schedule = cli.ok("retention", "list", "--all", "--json", as_user="priya").json()
    assert {(r["reference"], r["state"]) for r in schedule} == {
        (kept, "review"), (erased, "review")}
    assert cli.ok("retention", "list", as_user="priya").out.strip() == "(none)"

    held = cli.ok("retention", "retain", kept, "--until", "2031-01-31",
                  "--reason", "Legal hold", as_user="priya").out
    assert held.strip() == f"{kept}: review -> retain (review on 2031-01-31)"
    refused = cli("retention", "anonymise", kept, "--reason", "Erasure request", as_user="priya")
    assert refused.code == 3 and "on retain until 2031-01-31" in refused.err

    assert cli.ok("backup", str(tmp_path / "before.zip"), "--json").json()["cases"] == 2
    done = cli.ok("retention", "anonymise", erased, "--reason", "Erasure request", "--json",
                  as_user="priya").json()
    assert done["person_erased"] is True and done["contacts"] == 1
    assert "pennywhistle" not in (tmp_path / "var" / "concerns.db").read_bytes().lower().decode(
        "latin-1")

    newer = cli("restore", str(tmp_path / "before.zip"))
    assert newer.code == 3 and "--force" in newer.err
    restored = cli.ok("restore", str(tmp_path / "before.zip"), "--force", "--json").json()
    assert restored["erasures_reapplied"] == [erased]
    shown = cli.ok("case", "show", erased, "--json", as_user="morgan").json()
    assert "Pennywhistle" not in str(shown)
    assert cli.ok("audit", "verify").code == 0


def test_bad_input_names_the_field_and_exits_2(staffed: Cli, tmp_path: Path) -> None:
    cli = staffed
    ref = log(cli, tmp_path, {"email": "rowan.hale@example.org"})
    bad_date = cli("retention", "retain", ref, "--until", "someday", "--reason", "x",
                   as_user="priya")
    assert bad_date.code == 2 and "until: expected a date" in bad_date.err
    both = cli("retention", "anonymise", ref, "--due", "--reason", "x", as_user="priya")
    assert both.code == 2 and "reference:" in both.err
    missing = cli("restore", str(tmp_path / "nothing.zip"))
    assert missing.code == 2 and "file: no such file" in missing.err
    assert "Traceback" not in bad_date.err + both.err + missing.err


def test_a_subject_access_request_is_reviewed_then_released_to_a_zip(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, {"email": "rowan.hale@example.org"})
    person = cli.ok("case", "show", ref, "--json", as_user="alex").json()["respondent"]["id"]
    early = cli("people", "export", str(person), "--release", "--out",
                str(tmp_path / "sar.zip"), as_user="priya")
    assert early.code == 2 and "review its redactions" in early.err
    shown = cli.ok("people", "export", str(person), "--redact", "new social worker",
                   "--json", as_user="priya").json()
    [mine] = [r for r in shown["redactions"] if r["kind"] == "officer"]
    assert (mine["words"], mine["occurrences"]) == ("new social worker", 1)
    human = cli.ok("people", "export", str(person), as_user="priya").out
    assert f"cases: {ref}" in human and "new social worker" in human
    released = cli.ok("people", "export", str(person), "--release", "--out",
                      str(tmp_path / "sar.zip"), "--json", as_user="priya").json()
    assert released["cases"] == [ref] and released["redactions_applied"] >= 1
    assert (tmp_path / "sar.zip").read_bytes()[:2] == b"PK"
    assert cli.ok("audit", "verify").code == 0


def test_a_restricted_record_is_refused_to_the_officer_and_shown_to_the_manager(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, {"email": "rowan.hale@example.org"})
    person = cli.ok("case", "show", ref, "--json", as_user="alex").json()["respondent"]["id"]
    human = cli.ok("people", "restrict", str(person), "--reason", "Objection received",
                   as_user="priya").out
    assert human.strip() == f"Person {person}: restricted ({ref})."
    refused = cli("case", "show", ref, as_user="alex")
    assert refused.code == 3 and "you cannot open this case" in refused.err
    assert cli.ok("case", "show", ref, "--json", as_user="morgan").json()["reference"] == ref
    cli.ok("people", "restrict", str(person), "--lift", "--reason", "Withdrawn", as_user="priya")
    assert cli.ok("case", "show", ref, "--json", as_user="alex").json()["reference"] == ref
