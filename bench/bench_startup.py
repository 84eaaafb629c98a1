"""Wall time of a `concerns` command from the shell, beside `python -c pass` in the same run.

`concerns --help` should load no service (no SQLAlchemy, WeasyPrint, openpyxl, Alembic, FastAPI,
uvicorn or imap-tools); `concerns case show REF` loads only what showing a case needs. Each
command is started as a fresh process, the three in turn, ROUNDS times; the medians are
recorded. The aims are 0.3 s and 0.6 s on a quiet machine; `python -c pass` shows how quiet it
was.

The package's bytecode is compiled first (`compileall`), as an installed package's is: with
PYTHONDONTWRITEBYTECODE set (as in some shells and containers) every run would otherwise compile
the concerns package from source again, a cost no installed command pays.

Environment: CONCERNS_BENCH_STARTS (default 15).
"""

from __future__ import annotations

import json
import os
import resource
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


def wall(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of one run, and the CPU seconds (user + system) the process used: on a busy
    machine the wall time also counts waiting for a core."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    if CONCERNS is None:
        raise SystemExit("the concerns command is not installed (make install)")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "concerns")],
                   check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CONCERNS_DATABASE_URL=f"sqlite:///{tmp}/bench.db",
                   CONCERNS_CONFIG=str(REPO / "config.toml"), CONCERNS_USER="alex")
        subprocess.run([CONCERNS, "init", "--demo"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        listed = subprocess.run([CONCERNS, "--json", "case", "list"], env=env, check=True,
                                capture_output=True, text=True).stdout
        reference = json.loads(listed)[0]["reference"]
        runs: dict[str, list[float]] = {"pass": [], "orm": [], "help": [], "show": []}
        cpu: dict[str, list[float]] = {"pass": [], "orm": [], "help": [], "show": []}
        # Besides `python -c pass`: importing SQLAlchemy's ORM and nothing else, the floor of
        # any command that reads the register (on a slow moment of a shared machine this is
        # most of `case show`).
        commands = {"pass": [sys.executable, "-c", "pass"],
                    "orm": [sys.executable, "-c", "import sqlalchemy.orm"],
                    "help": [CONCERNS, "--help"],
                    "show": [CONCERNS, "case", "show", reference]}
        for _ in range(ROUNDS):
            for name, argv in commands.items():
                elapsed, used = wall(argv, env)
                runs[name].append(elapsed)
                cpu[name].append(used)
    median = {name: statistics.median(times) for name, times in runs.items()}
    median_cpu = {name: statistics.median(times) for name, times in cpu.items()}
    record("startup: `concerns --help` wall time (s) vs `python -c pass`",
           median["help"], median["pass"], "s")
    record("startup: `concerns case show REF` wall time (s) vs `python -c pass`",
           median["show"], median["pass"], "s")
    record("startup: `concerns case show REF` wall time (s) vs importing sqlalchemy.orm alone",
           median["show"], median["orm"], "s")
    record("startup: `concerns --help` CPU time (s) vs `python -c pass`",
           median_cpu["help"], median_cpu["pass"], "s")
    record("startup: `concerns case show REF` CPU time (s) vs `python -c pass`",
           median_cpu["show"], median_cpu["pass"], "s")
    print(f"  medians of {ROUNDS}: python -c pass {median['pass']:.3f} s, import sqlalchemy.orm "
          f"{median['orm']:.3f} s, --help "
          f"{median['help']:.3f} s (aim 0.3), case show {median['show']:.3f} s (aim 0.6)")
    print(f"  CPU: python -c pass {median_cpu['pass']:.3f} s, --help {median_cpu['help']:.3f} s, "
          f"case show {median_cpu['show']:.3f} s")


if __name__ == "__main__":
    main()
