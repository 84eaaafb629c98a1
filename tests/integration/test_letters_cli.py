"""`concerns letters …` run as a real command on a real SQLite file with the demo data."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def concerns_command() -> list[str]:
    script = Path(sys.executable).with_name("concerns")
    return [str(script)] if script.exists() else [sys.executable, "-m", "concerns.cli.start"]


@pytest.fixture(scope="module")
def demo_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo register made once (init --demo hashes many passwords); each test gets a copy."""
    folder = tmp_path_factory.mktemp("letters-demo")
    shutil.copy(REPO / "config.toml", folder / "config.toml")
    result = run(folder, "init", "--demo")
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture
def demo(demo_once: Path, tmp_path: Path) -> Path:
    for name in ("config.toml", "concerns.db"):
        shutil.copy(demo_once / name, tmp_path / name)
    return tmp_path


def run(folder: Path, *args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONCERNS_DATABASE_URL": f"sqlite:///{folder / 'concerns.db'}"}
    env.pop("CONCERNS_CONFIG", None)
    if user:
        env["CONCERNS_USER"] = user
    return subprocess.run(
        [*concerns_command(), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def authorised_case(folder: Path) -> str:
    cases = json.loads(run(folder, "case", "list", "--json", user="dana").stdout)
    return next(c["reference"] for c in cases if c["state"] == "authorised")


def test_render_writes_the_stored_signed_pdf_whose_hash_the_case_shows(demo: Path) -> None:
    ref = authorised_case(demo)
    assert run(demo, "case", "act", ref, "prepare_letter", user="erin").returncode == 0
    assert run(demo, "case", "act", ref, "sign", user="dana").returncode == 0
    result = run(
        demo, "letters", "render", ref, "outcome", "--out", "outcome.pdf", "--json", user="erin"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    data = (demo / "outcome.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert summary["signed"] is True
    assert summary["sha256"] == hashlib.sha256(data).hexdigest()
    shown = json.loads(run(demo, "case", "show", ref, "--json", user="erin").stdout)
    outcome = [x for x in shown["letters"] if x["kind"] == "outcome"]
    assert [x["sha256"] for x in outcome] == [summary["sha256"]]
    again = run(demo, "letters", "render", ref, "outcome", "--out", "again.pdf", user="erin")
    assert again.returncode == 0
    assert (demo / "again.pdf").read_bytes() == data


def test_a_signed_letter_is_not_handed_out_as_an_editable_word_file(demo: Path) -> None:
    ref = authorised_case(demo)
    run(demo, "case", "act", ref, "prepare_letter", user="erin")
    word = run(
        demo,
        "letters",
        "render",
        ref,
        "outcome",
        "--format",
        "docx",
        "--out",
        "o.docx",
        user="erin",
    )
    assert word.returncode == 0
    assert (demo / "o.docx").read_bytes().startswith(b"PK")
    run(demo, "case", "act", ref, "sign", user="dana")
    refused = run(
        demo,
        "letters",
        "render",
        ref,
        "outcome",
        "--format",
        "docx",
        "--out",
        "signed.docx",
        user="erin",
    )
    assert refused.returncode == 3
    assert "is signed" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (demo / "signed.docx").exists()


def test_html_goes_to_standard_output_when_no_file_is_named(demo: Path) -> None:
    ref = authorised_case(demo)
    run(demo, "case", "act", ref, "prepare_letter", user="erin")
    result = run(demo, "letters", "render", ref, "outcome", "--format", "html", user="erin")
    assert result.returncode == 0
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert ref in result.stdout


def test_bad_requests_exit_with_the_documented_status_and_no_traceback(demo: Path) -> None:
    ref = authorised_case(demo)
    cases = [
        (("letters", "render", ref, "apology"), "erin", 2, "kind: must be one of"),
        (("letters", "render", ref, "outcome", "--format", "odt"), "erin", 2, "--format"),
        (("letters", "render", ref, "outcome", "--out", "x.pdf"), "audrey", 3, "cannot open"),
        (("letters", "render", "CAC-1999-0001", "outcome", "--out", "x.pdf"), "erin", 1, "no case"),
        (
            ("letters", "render", ref, "outcome", "--out", "nowhere/x.pdf"),
            "erin",
            2,
            "--out: no such folder",
        ),
    ]
    for args, user, status, message in cases:
        result = run(demo, *args, user=user)
        assert result.returncode == status, (args, result.stderr)
        assert message in result.stderr
        assert "Traceback" not in result.stderr
    assert not (demo / "x.pdf").exists()


def test_check_reports_a_broken_edited_template_with_its_line(demo: Path) -> None:
    folder = demo / "letter-templates"
    folder.mkdir()
    (folder / "answer.html").write_text(
        '{% extends "_layout.html" %}\n{% block body %}\n{{ wording|paragraphs }\n{% endblock %}\n'
    )
    config = (demo / "config.toml").read_text()
    (demo / "config.toml").write_text(
        config.replace('letter_templates = ""', 'letter_templates = "letter-templates"')
    )
    result = run(demo, "letters", "check")
    assert result.returncode == 2
    assert "answer.html, line 3" in result.stderr
    assert "Traceback" not in result.stderr
    ref = authorised_case(demo)
    refused = run(demo, "case", "act", ref, "prepare_letter", user="erin")
    assert refused.returncode == 2
    assert "answer.html, line 3" in refused.stderr
    (folder / "answer.html").unlink()
    assert run(demo, "letters", "check").returncode == 0
