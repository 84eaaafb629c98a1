"""`concerns doctor --json` on a healthy install, and on copies of it with one fault each.

The healthy install is made once (init --demo, a real SMTP server, a scheduler that ran, a
maildir, the secret key the web app makes) and copied for every fault, which is injected the way
it happens in life: a port nobody listens on, an edited audit row, a template with a typo, a key
file anyone may read, a fontconfig that finds no fonts."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.e2e.conftest import REPO, Cli, Result
from tests.integration.test_outbox import Inbox, free_port


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def _config(home: Path, **replacements: str) -> None:
    config = home / "config.toml"
    text = config.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    config.write_text(text, encoding="utf-8")


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCERNS_")}
    env.update({"CONCERNS_CONFIG": str(home / "config.toml"), "PYTHONPATH": str(REPO)})
    return env


@pytest.fixture(scope="module")
def healthy_template(tmp_path_factory: pytest.TempPathFactory, smtp_port: int) -> Path:
    """An install with nothing wrong, made through the commands a council would run."""
    home = tmp_path_factory.mktemp("healthy")
    shutil.copy(REPO / "config.toml", home / "config.toml")
    _config(home, **{'host = "127.0.0.1"\nport = 25': f'host = "127.0.0.1"\nport = {smtp_port}'})
    cli = Cli(home, _env(home))
    cli.ok("init", "--demo")
    # A scheduler that ran: started for real, stopped once it has written its heartbeat.
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "concerns.cli.start", "scheduler", "--interval", "60"],
        cwd=home, env=cli.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    heartbeat = home / "var" / "scheduler_heartbeat.json"
    try:
        for _ in range(1200):
            if heartbeat.exists():
                break
            time.sleep(0.1)
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=60)
    assert heartbeat.exists(), "the scheduler wrote no heartbeat"
    for sub in ("new", "cur", "tmp"):
        (home / "var" / "mailbox" / sub).mkdir(parents=True)
    from concerns.web.security import secret_key

    secret_key("", home / "var")
    # The scheduler delivered the demo's letter emails; nothing is left failed.
    return home


@pytest.fixture
def install(healthy_template: Path, tmp_path: Path) -> Cli:
    home = tmp_path / "install"
    shutil.copytree(healthy_template, home)
    return Cli(home, _env(home))


def doctor(cli: Cli) -> tuple[Result, dict[str, dict[str, Any]]]:
    result = cli("doctor", "--json")
    assert "Traceback" not in result.err
    report = json.loads(result.out)
    return result, {c["name"]: c for c in report["checks"]}


def test_a_healthy_install_passes_every_check(install: Cli) -> None:
    result, checks = doctor(install)
    assert result.code == 0, result.out
    assert {name: c["status"] for name, c in checks.items()} == {
        "database": "ok",
        "audit_chain": "ok",
        "letter_templates": "ok",
        "letter_fonts": "ok",
        "outbox": "ok",
        "smtp": "ok",
        "scheduler": "ok",
        "mailbox": "ok",
        "secret_key": "ok",
        "govuk_assets": "ok",
    }
    assert "rows verify; head " in checks["audit_chain"]["found"]
    assert json.loads(result.out)["ok"] is True
    human = install("doctor")
    assert human.code == 0 and "All is well." in human.out


def _sql(cli: Cli, statement: str) -> None:
    with sqlite3.connect(cli.home / "var" / "concerns.db") as db:
        db.execute(statement)


def _no_database(cli: Cli) -> None:
    for path in (cli.home / "var").glob("concerns.db*"):
        path.unlink()


def _old_schema(cli: Cli) -> None:
    _sql(cli, "DELETE FROM alembic_version")


def _edited_audit_row(cli: Cli) -> None:
    # The trigger-free way someone with the database file edits history.
    _sql(cli, "UPDATE events SET actor = 'someone' WHERE id = (SELECT MIN(id) + 2 FROM events)")


def _broken_template(cli: Cli) -> None:
    folder = cli.home / "letters"
    folder.mkdir()
    (folder / "acknowledgement.html").write_text("<p>Dear {{ name }</p>\n", encoding="utf-8")
    _config(cli.home, **{'letter_templates = ""': 'letter_templates = "letters"'})


def _missing_template_folder(cli: Cli) -> None:
    _config(cli.home, **{'letter_templates = ""': 'letter_templates = "no-such-folder"'})


def _no_fonts(cli: Cli) -> None:
    empty = cli.home / "fonts.conf"
    empty.write_text('<?xml version="1.0"?><fontconfig></fontconfig>', encoding="utf-8")
    cli.env["FONTCONFIG_FILE"] = str(empty)


def _failed_notification(cli: Cli) -> None:
    _sql(cli, "UPDATE notifications SET status = 'failed' WHERE id = (SELECT MIN(id) FROM "
              "notifications)")


def _smtp_down(cli: Cli) -> None:
    text = (cli.home / "config.toml").read_text(encoding="utf-8")
    port = text.split("[smtp]", 1)[1].split("port = ", 1)[1].split("\n", 1)[0]
    _config(cli.home, **{f"port = {port}\nstarttls": f"port = {free_port()}\nstarttls"})


def _scheduler_stopped_long_ago(cli: Cli) -> None:
    heartbeat = cli.home / "var" / "scheduler_heartbeat.json"
    data = json.loads(heartbeat.read_text(encoding="utf-8"))
    data["at"] = "2020-01-01T09:00:00+00:00"
    heartbeat.write_text(json.dumps(data), encoding="utf-8")


def _scheduler_cycle_failed(cli: Cli) -> None:
    heartbeat = cli.home / "var" / "scheduler_heartbeat.json"
    data = json.loads(heartbeat.read_text(encoding="utf-8"))
    data["cycle_ok"] = False
    heartbeat.write_text(json.dumps(data), encoding="utf-8")


def _signature_missing(cli: Cli) -> None:
    _config(cli.home, **{'director_signature = ""': 'director_signature = "signature.png"'})


def _imap_down(cli: Cli) -> None:
    _config(cli.home, **{'kind = "maildir"': 'kind = "imap"',
                    'host = ""\nport = 993': f'host = "127.0.0.1"\nport = {free_port()}'})


def _not_a_maildir(cli: Cli) -> None:
    shutil.rmtree(cli.home / "var" / "mailbox" / "cur")


def _secret_key_readable_by_all(cli: Cli) -> None:
    (cli.home / "var" / "secret_key").chmod(0o644)


FAULTS: dict[str, tuple[Callable[[Cli], None], str, str, str]] = {
    # fault: (inject, check, what it finds, what the fix says)
    "no database": (_no_database, "database", "no database at", "concerns init"),
    "old schema": (_old_schema, "database", "not the newest", "concerns init"),
    "edited audit row": (_edited_audit_row, "audit_chain", "broken at event row", "backup"),
    "broken template": (_broken_template, "letter_templates", "acknowledgement.html",
                        "concerns letters check"),
    "template folder missing": (_missing_template_folder, "letter_templates",
                                "not a folder", "letter_templates"),
    "signature missing": (_signature_missing, "letter_templates",
                          "council.director_signature: the file cannot be read",
                          "PNG, JPEG or SVG"),
    "no fonts": (_no_fonts, "letter_fonts", "none of the letter fonts", "fonts-dejavu-core"),
    "failed notification": (_failed_notification, "outbox", "1 notification(s) failed",
                            "concerns remind retry"),
    "smtp down": (_smtp_down, "smtp", "could not be reached", "[smtp] host and port"),
    "scheduler stopped": (_scheduler_stopped_long_ago, "scheduler", "last seen",
                          "concerns scheduler"),
    "scheduler cycle failed": (_scheduler_cycle_failed, "scheduler", "last cycle failed",
                               "concerns remind run-once"),
    "imap down": (_imap_down, "mailbox", "IMAP 127.0.0.1", "[mailbox] host"),
    "not a maildir": (_not_a_maildir, "mailbox", "not a maildir", "mailbox.path"),
    "secret key readable": (_secret_key_readable_by_all, "secret_key", "mode 644", "chmod 600"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_a_problem_with_its_fix_and_exit_1(install: Cli, fault: str) -> None:
    inject, name, found, fix = FAULTS[fault]
    inject(install)
    result, checks = doctor(install)
    assert result.code == 1, result.out
    assert checks[name]["status"] == "problem", checks[name]
    assert found in checks[name]["found"], checks[name]
    assert fix in checks[name]["fix"], checks[name]
    # One fault, one problem: checks that need the database say "not checked" (a warning).
    others = [n for n, c in checks.items() if n != name and c["status"] == "problem"]
    assert others == [], others


def test_a_scheduler_that_never_ran_and_no_maildir_are_warnings_not_problems(
    install: Cli,
) -> None:
    (install.home / "var" / "scheduler_heartbeat.json").unlink()
    shutil.rmtree(install.home / "var" / "mailbox")
    (install.home / "var" / "secret_key").unlink()
    result, checks = doctor(install)
    assert result.code == 0
    assert checks["scheduler"]["status"] == "warning"
    assert "concerns scheduler" in checks["scheduler"]["fix"]
    assert checks["mailbox"]["status"] == "warning"
    assert checks["secret_key"]["status"] == "warning"


def test_doctor_reads_without_writing(install: Cli) -> None:
    _no_database(install)
    before = sorted(p.relative_to(install.home) for p in install.home.rglob("*"))
    doctor(install)
    assert sorted(p.relative_to(install.home) for p in install.home.rglob("*")) == before


def test_govuk_styles_not_built_is_a_warning_naming_npm(tmp_path: Path) -> None:
    from concerns.workflows.doctor import WARNING, check_govuk_assets

    check = check_govuk_assets(None, tmp_path)  # type: ignore[arg-type]
    assert check.status == WARNING and "npm run build" in check.fix
