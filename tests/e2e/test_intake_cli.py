"""`concerns intake`, `concerns people` and `concerns report scrutiny` run as a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.integration.test_scrutiny_council import EXPECTED

DATA = Path(__file__).resolve().parents[1] / "data" / "council"


def test_the_council_comes_in_through_the_cli_and_the_scrutiny_figures_come_out(
    staffed: Cli,
) -> None:
    cli = staffed
    dry = cli("intake", "import", str(DATA / "register.csv"), "--dry-run", "--json",
              as_user="morgan")
    assert dry.code == 0  # every row comes in; the totals row is not a record
    rows = dry.json()
    assert len(rows) == 31
    assert [r["status"] for r in rows].count("new_case") == 30
    assert rows[-1] == {"source": "register.csv:row 32", "status": "set_aside",
                        "reference": None, "reason": "not a record (a totals or notes row)"}
    assert cli.ok("intake", "quarantine", "--json", as_user="ian").json() == []

    assert cli("intake", "import", str(DATA / "register.csv"), as_user="morgan").code == 0
    emails = cli("intake", "email", str(DATA / "emails"), "--json", as_user="ian")
    assert emails.code == 2 and "Traceback" not in emails.err
    statuses = [r["status"] for r in emails.json()]
    assert statuses.count("set_aside") == 2 and statuses.count("quarantined") == 1
    forms = sorted(str(p) for p in (DATA / "forms").glob("*.json"))
    result = cli("intake", "form", *forms, "--json", as_user="ian")
    assert result.code == 2
    assert "zz-wrong-types.json: respondent.name: expected text, got a number" in result.err

    quarantine = cli.ok("intake", "quarantine", "--json", as_user="ian").json()
    assert len(quarantine) == 2
    assert all(set(q) >= {"source", "reason", "received_at"} for q in quarantine)

    report = cli.ok("report", "scrutiny", "--json", as_user="audrey").json()
    assert {k: report[k] for k in EXPECTED} == EXPECTED

    again = cli("intake", "email", str(DATA / "emails"), "--json", as_user="ian")
    assert {r["status"] for r in again.json()} == {"duplicate"}
    assert "already received and quarantined" in {r["reason"] for r in again.json()}


def test_scrutiny_exports_to_csv_html_and_pdf_files(staffed: Cli, tmp_path: Path) -> None:
    cli = staffed
    cli("intake", "import", str(DATA / "register.csv"), as_user="morgan")
    out = tmp_path / "report.csv"
    cli.ok("report", "scrutiny", "--from", "2021-04-01", "--to", "2021-04-30", "--format",
           "csv", "--out", str(out), as_user="audrey")
    lines = out.read_text().splitlines()
    assert lines[0] == "figure,value"
    assert "contacts,19" in lines
    assert "period_from,2021-04-01" in lines
    html = tmp_path / "report.html"
    cli.ok("report", "scrutiny", "--format", "html", "--out", str(html), as_user="audrey")
    assert "Individuals who made more than one contact" in html.read_text()
    pdf = tmp_path / "report.pdf"
    cli.ok("report", "scrutiny", "--format", "pdf", "--out", str(pdf), as_user="audrey")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_scrutiny_refuses_bad_dates_and_staff_without_a_reporting_role(staffed: Cli) -> None:
    bad = staffed("report", "scrutiny", "--from", "2021-13-01", as_user="audrey")
    assert (bad.code, "Traceback" in bad.err) == (2, False)
    assert "--from: not a real date" in bad.err  # the same words as `case act` and `calendar add`
    refused = staffed("report", "scrutiny", as_user="ian")
    assert refused.code == 3


def test_people_flags_merge_and_split_from_the_cli(staffed: Cli, tmp_path: Path) -> None:
    cli = staffed
    for i, email in enumerate(["tom@example.com", "t.w@example.net"]):
        path = tmp_path / f"{i}.json"
        path.write_text(json.dumps(
            {"respondent": {"name": "Tom Williams", "email": email}, "concern": "Help."}))
        cli.ok("intake", "form", str(path), as_user="ian")
    [flag] = cli.ok("people", "flags", "--json", as_user="alex").json()
    keep, absorb = flag["candidate"]["id"], flag["person"]["id"]
    merged = cli.ok("people", "merge", str(keep), str(absorb), "--note", "Same man.", "--json",
                    as_user="alex").json()
    assert len(merged["kept"]["cases"]) == 2
    split = cli.ok("people", "split", str(absorb), as_user="alex")
    assert "now stands apart" in split.out
    assert cli("people", "merge", str(keep), str(keep), as_user="alex").code == 2
    assert cli("people", "flags", as_user="ian").code == 3
    assert cli.ok("audit", "verify", as_user="admin").code == 0


def test_intake_poll_reads_the_configured_maildir(staffed: Cli) -> None:
    box = staffed.home / "var" / "mailbox"
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "emails" / "2021-06-22-p35.eml", box / "new" / "1.host")
    result = staffed.ok("intake", "poll", "--json", as_user="ian").json()
    assert [(r["source"], r["status"]) for r in result] == [("maildir:1.host", "new_case")]
    assert staffed.ok("intake", "poll", "--json", as_user="ian").json() == []
