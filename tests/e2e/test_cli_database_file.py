"""When a command ends, what it wrote is in the SQLite file itself, not left in its write-ahead
log: an officer who copies `concerns.db` (or a backup tool that copies only that file) has the
whole register."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from tests.e2e.conftest import Cli


def _cases_in_a_copy_of_the_file_alone(database: Path, tmp_path: Path) -> int:
    copy = tmp_path / "copy-of-concerns.db"
    shutil.copyfile(database, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])


def test_a_command_leaves_everything_it_wrote_in_the_database_file(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("init", "--demo")
    database = cli.home / "var" / "concerns.db"
    wal = database.with_name("concerns.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert _cases_in_a_copy_of_the_file_alone(database, tmp_path) == 5
    logged = next(c["reference"] for c in cli.ok("case", "list", "--json", as_user="alex").json()
                  if c["state"] == "logged")
    cli.ok("case", "act", logged, "acknowledge", as_user="alex")
    assert not wal.exists() or wal.stat().st_size == 0
