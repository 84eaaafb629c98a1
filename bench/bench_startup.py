"""Wall time of a `concerns` command from the shell, beside `python -c pass` in the same run.

`concerns --help` should load no service (no SQLAlchemy, WeasyPrint, openpyxl, Alembic, FastAPI,
uvicorn or imap-tools); `concerns case show REF` loads only what showing a case needs. Each
command is started as a fresh process, the three in turn, ROUNDS times; the medians are
recorded. The aims are 0.3 s and 0.6 s on a quiet machine; `python -c pass` shows how quiet it
was.

Environment: CONCERNS_BENCH_STARTS (default 15).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402

ROUNDS = int(os.environ.get("CONCERNS_BENCH_STARTS", "15"))
BIN = Path(sys.executable).parent
CONCERNS = str(BIN / "concerns") if (BIN / "concerns").exists() else shutil.which("concerns")


def wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    if CONCERNS is None:
        raise SystemExit("the concerns command is not installed (make install)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CONCERNS_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
                   CONCERNS_CONFIG=str(REPO / "config.toml"), CONCERNS_USER="alex")
        subprocess.run([CONCERNS, "init", "--demo"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        listed = subprocess.run([CONCERNS, "--json", "case", "list"], env=env, check=True,
                                capture_output=True, text=True).stdout
        reference = json.loads(listed)[0]["reference"]
        runs: dict[str, list[float]] = {"pass": [], "help": [], "show": []}
        for _ in range(ROUNDS):
            runs["pass"].append(wall([sys.executable, "-c", "pass"], env))
            runs["help"].append(wall([CONCERNS, "--help"], env))
            runs["show"].append(wall([CONCERNS, "case", "show", reference], env))
    median = {name: statistics.median(times) for name, times in runs.items()}
    record("startup: `concerns --help` wall time (s) vs `python -c pass`",
           median["help"], median["pass"], "s")
    record("startup: `concerns case show REF` wall time (s) vs `python -c pass`",
           median["show"], median["pass"], "s")
    print(f"  medians of {ROUNDS}: python -c pass {median['pass']:.3f} s, --help "
          f"{median['help']:.3f} s (aim 0.3), case show {median['show']:.3f} s (aim 0.6)")


if __name__ == "__main__":
    main()
