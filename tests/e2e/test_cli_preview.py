"""`concerns case act REF EVENT --preview`: the letter the event would make, printed or written,
through the same service as the web's check page, and nothing fired, sent or stored."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from tests.e2e.conftest import Cli
from tests.e2e.test_cli_lifecycle import log

TABLES = ("letters", "notifications", "deadlines", "letter_previews", "review_findings")


def _rows(cli: Cli) -> dict[str, int]:
    db = sqlite3.connect(cli.env["CONCERNS_DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        db.close()


def _case(cli: Cli, ref: str) -> tuple[str, int]:
    shown = cli.ok("case", "show", ref, "--json", as_user="morgan").json()
    return shown["state"], shown["version"]


def test_a_letter_is_previewed_from_the_command_line_without_firing_the_event(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path, name="Jordan Preview")
    before, rows = _case(cli, ref), _rows(cli)

    printed = cli.ok("case", "act", ref, "acknowledge", "--preview", "--note", "INTERNAL",
                     as_user="alex")
    assert printed.out.startswith(f"Preview of the letter it would make (acknowledge on {ref})")
    assert "nothing was sent or stored" in printed.out
    assert "Dear Jordan Preview" in printed.out and "<p>" not in printed.out
    assert "We have received your concern" in printed.out and "INTERNAL" not in printed.out
    assert (_case(cli, ref), _rows(cli)) == (before, rows)

    # Written as a file, and the same letter as the web's check page would show (one service).
    pdf = tmp_path / "ack.pdf"
    written = cli.ok("case", "act", ref, "acknowledge", "--preview", "--out", str(pdf), "--json",
                     as_user="alex").json()
    assert written["fired"] is False and written["stored"] is False
    assert written["kind"] == "acknowledgement" and written["format"] == "pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "Jordan Preview" in text
    html = tmp_path / "ack.html"
    cli.ok("case", "act", ref, "acknowledge", "--preview", "--out", str(html), as_user="alex")
    from hashlib import sha256

    assert sha256(html.read_bytes()).hexdigest() == written["sha256"]
    assert (_case(cli, ref), _rows(cli)) == (before, rows)

    # The event itself then makes exactly the letter shown.
    cli.ok("case", "act", ref, "acknowledge", as_user="alex")
    letter = cli.ok("letters", "render", ref, "acknowledgement", "--format", "html", "--json",
                    "--out", str(tmp_path / "stored.html"), as_user="alex").json()
    assert letter["stored"] is True
    assert (tmp_path / "stored.html").read_bytes() == html.read_bytes()


def test_previews_refuse_as_the_event_would_and_need_a_letter(
    staffed: Cli, tmp_path: Path
) -> None:
    cli = staffed
    ref = log(cli, tmp_path)
    cli.ok("case", "act", ref, "acknowledge", as_user="alex")
    rows = _rows(cli)
    # A value missing: exit 2 naming the field in words, as firing it would.
    missing = cli("case", "act", ref, "request_information", "--preview", as_user="alex")
    assert missing.code == 2 and "wording" in missing.err.lower()
    assert "Traceback" not in missing.err
    # Not her role: exit 3.
    role = cli("case", "act", ref, "request_information", "--preview", "--set",
               "wording=Dates please.", as_user="dana")
    assert role.code == 3 and "Traceback" not in role.err
    # An event that makes no letter, an unknown event, a file type that is no letter.
    none = cli("case", "act", ref, "add_review_note", "--preview", as_user="alex")
    assert none.code == 2 and "--preview" in none.err and "makes no letter" in none.err
    typo = cli("case", "act", ref, "acknowlege", "--preview", as_user="alex")
    assert typo.code == 2 and "no such event" in typo.err
    odd = cli("case", "act", ref, "request_information", "--preview", "--set", "wording=x",
              "--out", str(tmp_path / "letter.txt"), as_user="alex")
    assert odd.code == 2 and "--out" in odd.err
    assert cli("case", "act", ref, "answer_query", "--out", str(tmp_path / "a.pdf"),
               as_user="alex").code == 2
    assert _rows(cli) == rows
    # With the wording: printed, the wording in place.
    shown = cli.ok("case", "act", ref, "request_information", "--preview", "--set",
                   "wording=Please send the dates of the visits.", "--json", as_user="alex")
    data = json.loads(shown.out)
    assert "Please send the dates of the visits." in data["text"]
    assert data["draft"] is False and _rows(cli) == rows


def _audit(cli: Cli) -> list[tuple[str, str | None]]:
    db = sqlite3.connect(cli.env["CONCERNS_DATABASE_URL"].removeprefix("sqlite:///"))
    try:
        return db.execute("SELECT event, data FROM events ORDER BY id").fetchall()
    finally:
        db.close()


def test_a_preview_changes_nothing_and_is_audited_as_a_look_at_the_case(
    staffed: Cli, tmp_path: Path
) -> None:
    """A preview reads the person's name and address, and every view of a case is in the audit
    trail: one `letter_previewed` row with the letter's hash, nothing else."""
    cli = staffed
    ref = log(cli, tmp_path, name="Jordan Looked-At")
    before, rows, audit = _case(cli, ref), _rows(cli), _audit(cli)

    shown = cli.ok("case", "act", ref, "acknowledge", "--preview", as_user="alex")
    assert "The audit trail records that you looked at it." in shown.out

    assert (_case(cli, ref), _rows(cli)) == (before, rows)
    added = _audit(cli)[len(audit):]
    looked = [e for e in added if e[0] != "case_viewed"]  # `_case` reads the case to compare
    assert [e for e, _ in looked] == ["letter_previewed"]
    assert "Jordan" not in str(looked[0][1]), "the audit row holds the letter's hash, not its text"
    # A preview that is refused writes nothing at all.
    count = len(_audit(cli))
    assert cli("case", "act", ref, "acknowledge", "--preview", as_user="dana").code == 3
    assert len(_audit(cli)) == count
