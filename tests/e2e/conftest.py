"""Run the `concerns` command as a user would: a subprocess against a real SQLite file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    home: Path
    env: dict[str, str]

    def __call__(self, *args: str, as_user: str | None = None, stdin: str | None = None) -> Result:
        argv = [sys.executable, "-m", "concerns.cli.start", *args]
        if as_user:
            argv += ["--as", as_user]
        proc = subprocess.run(
            argv,
            cwd=self.home,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, as_user: str | None = None) -> Result:
        result = self(*args, as_user=as_user)
        assert result.code == 0, (args, result.err)
        assert "Traceback" not in result.err
        return result


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return _cli_in(tmp_path)


def _cli_in(tmp_path: Path) -> Cli:
    config = tmp_path / "config.toml"
    config.write_text((REPO / "config.toml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCERNS_")}
    env.update(
        {
            "CONCERNS_CONFIG": str(config),
            "CONCERNS_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'concerns.db'}",
            "PYTHONPATH": str(REPO),
        }
    )
    return Cli(tmp_path, env)


_STAFFED_TEMPLATE: dict[str, Path] = {}


def _staffed_register(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One register made by `concerns init` with the usual staff, once per test process (the
    staff added in-process: quicker than eleven `user add` runs, which tests of `user add`
    itself exercise). Each test gets a copy of the file."""
    if "db" not in _STAFFED_TEMPLATE:
        from concerns.db.engine import make_engine
        from concerns.workflows.context import AppContext
        from tests.conftest import make_settings
        from tests.factories import create_staff

        home = tmp_path_factory.mktemp("staffed-template")
        maker = _cli_in(home)
        maker.ok("init")
        url = maker.env["CONCERNS_DATABASE_URL"]
        ctx = AppContext(make_settings(url, home), make_engine(url))
        try:
            create_staff(ctx)
        finally:
            ctx.engine.dispose()  # the last connection folds the WAL into the file
        _STAFFED_TEMPLATE["db"] = home / "var" / "concerns.db"
    return _STAFFED_TEMPLATE["db"]


@pytest.fixture
def staffed(cli: Cli, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A register made by `concerns init`, with the usual staff."""
    database = cli.home / "var" / "concerns.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_staffed_register(tmp_path_factory), database)
    return cli
