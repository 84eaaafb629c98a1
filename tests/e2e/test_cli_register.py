"""`concerns intake import` as the IAT would use it on its register: propose a mapping, check
it, import with it, list what to check; bad mappings refused with the entry named."""

from __future__ import annotations

from pathlib import Path

from tests.data.register.build import ROWS, xlsx_bytes
from tests.e2e.conftest import Cli


def test_write_the_mapping_edit_it_import_with_it_and_list_the_rows_to_check(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    register = tmp_path / "register.xlsx"
    register.write_bytes(xlsx_bytes())
    mapping = tmp_path / "map.toml"
    dry = cli("intake", "import", str(register), "--dry-run", "--write-mapping", str(mapping),
              "--json", as_user="morgan")
    assert dry.code == 0, dry.err
    assert len([r for r in dry.json() if r["status"] == "new_case"]) > 50
    text = mapping.read_text(encoding="utf-8")
    assert '"Pending?" = ""  # not placed' in text
    mapping.write_text(text.replace('"Pending?" = ""', '"Pending?" = "in_review"'),
                       encoding="utf-8")
    # Nothing was stored by the dry run.
    assert cli.ok("intake", "import", "--report", "--json", as_user="morgan").json() == []

    done = cli("intake", "import", str(register), "--mapping", str(mapping), as_user="morgan")
    assert done.code == 0, done.err
    assert "Traceback" not in done.err
    pending = [i for i, row in enumerate(ROWS) if row.status == "Pending?"]
    listed = cli.ok("case", "list", "--json", as_user="morgan").json()
    in_review = [c for c in listed if c.get("state") == "in_review"]
    reviews = [r for r in ROWS if r.state == "in_review" and r.same_person_as is None]
    assert len(in_review) == len(reviews) + len(pending)

    report = cli.ok("intake", "import", "--report", as_user="morgan")
    assert "imported rows to check" in report.out
    assert "'Walk-in' not a channel we know" in report.out
    assert "'Pending?'" not in report.out

    again = cli("intake", "import", str(register), "--mapping", str(mapping), "--json",
                as_user="morgan")
    assert {r["status"] for r in again.json()} == {"duplicate", "set_aside"}


def test_a_mapping_with_an_unknown_stage_is_refused_naming_it(
    staffed: Cli, tmp_path: Path
) -> None:
    register = tmp_path / "register.xlsx"
    register.write_bytes(xlsx_bytes())
    mapping = tmp_path / "map.toml"
    staffed("intake", "import", str(register), "--write-mapping", str(mapping),
            as_user="morgan")
    text = mapping.read_text(encoding="utf-8")
    mapping.write_text(text.replace('"Pending?" = ""', '"Pending?" = "nearly_done"'),
                       encoding="utf-8")
    result = staffed("intake", "import", str(register), "--mapping", str(mapping),
                     as_user="morgan")
    assert result.code == 2
    assert result.err.startswith("error: mapping: [stages] 'Pending?': 'nearly_done' is not one")
    assert "Traceback" not in result.err
    assert staffed.ok("intake", "import", "--report", "--json", as_user="morgan").json() == []


def test_an_error_is_printed_once(staffed: Cli, tmp_path: Path) -> None:
    register = tmp_path / "r.csv"
    register.write_bytes(b"Name,Concern\n")
    missing = staffed("intake", "import", str(tmp_path / "nope.csv"), as_user="morgan")
    assert missing.code == 2
    assert (missing.out + missing.err).count("no such file") == 1
