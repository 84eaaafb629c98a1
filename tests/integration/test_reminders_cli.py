"""`concerns calendar add`, `concerns remind run-once` and `concerns remind outbox` as processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from concerns.workflows.context import AppContext
from tests.factories import create_staff
from tests.integration.reminder_support import seed_deadlines

REPO = Path(__file__).resolve().parents[2]


def concerns(
    *args: str, cwd: Path, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CONCERNS_CONFIG": str(REPO / "config.toml"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    env.pop("CONCERNS_USER", None)
    if database_url:
        env["CONCERNS_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "concerns.cli.start", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_calendar_add_prints_the_date_and_with_json_the_days_skipped(tmp_path: Path) -> None:
    plain = concerns("calendar", "add", "2026-12-23", "3", cwd=tmp_path)
    assert (plain.returncode, plain.stdout) == (0, "2026-12-30\n")
    as_json = concerns("calendar", "add", "2026-12-23", "3", "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == {
        "date": "2026-12-30",
        "skipped": [
            {"date": "2026-12-25", "reason": "Christmas Day"},
            {"date": "2026-12-28", "reason": "Boxing Day (observed)"},
        ],
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-02-30", "3"), "error: DATE: not a real date"),
        (("2026-12-23", "three"), "error: N: expected a whole number of working days"),
    ],
)
def test_calendar_add_refuses_bad_input_naming_the_field(
    tmp_path: Path, args: tuple[str, str], message: str
) -> None:
    result = concerns("calendar", "add", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


def test_remind_run_once_prints_what_it_created_and_nothing_the_second_time(
    sqlite_ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(sqlite_ctx)
    [ref] = seed_deadlines(sqlite_ctx, 1, clock="signature", due=date(2026, 6, 3),
                           started=date(2026, 6, 1), owner_role="director")
    url = sqlite_ctx.settings.database_url
    args = ("remind", "run-once", "--now", "2026-06-04T10:00:00+01:00", "--no-deliver", "--json")
    first = concerns(*args, cwd=tmp_path, database_url=url)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert out["created"] == 2
    assert out["items"] == [
        {"reference": ref, "clock": "signature", "level": "overdue", "to": "morgan"},
        {"reference": ref, "clock": "signature", "level": "overdue", "to": "dana"},
    ]
    again = json.loads(concerns(*args, cwd=tmp_path, database_url=url).stdout)
    assert (again["created"], again["items"]) == (0, [])

    listed = concerns("remind", "outbox", "--as", "morgan", "--json", cwd=tmp_path,
                      database_url=url)
    assert json.loads(listed.stdout)["counts"]["pending"] == 3  # two escalations, a digest
    refused = concerns("remind", "outbox", "--as", "alex", cwd=tmp_path, database_url=url)
    assert refused.returncode == 3
    assert "only an admin or an IAT manager" in refused.stderr


def test_remind_run_once_refuses_a_time_it_cannot_read(
    sqlite_ctx: AppContext, tmp_path: Path
) -> None:
    result = concerns("remind", "run-once", "--now", "next tuesday", cwd=tmp_path,
                      database_url=sqlite_ctx.settings.database_url)
    assert result.returncode == 2
    assert result.stderr.startswith("error: --now: expected an ISO time")
