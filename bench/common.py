"""Shared by every benchmark: one record format, written to bench/results.json and printed.

A record is {"name", "ours", "baseline", "unit", "ratio"}: the baseline is measured in the same
run, ratio = ours / baseline (lower is better).
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from concerns.db.engine import READ_ONLY

RESULTS = Path(__file__).resolve().parent / "results.json"


def record(name: str, ours: float, baseline: float, unit: str) -> dict[str, Any]:
    """Add (or replace, by name) one record in bench/results.json, and print it."""
    rec: dict[str, Any] = {
        "name": name,
        "ours": round(ours, 6),
        "baseline": round(baseline, 6),
        "unit": unit,
        "ratio": round(ours / baseline, 3) if baseline else None,
    }
    existing = load()
    RESULTS.write_text(
        json.dumps([r for r in existing if r.get("name") != name] + [rec], indent=2) + "\n"
    )
    print(
        f"{name:<60} ours {ours:>12.4f} {unit:<6} baseline {baseline:>12.4f} {unit:<6} "
        f"ratio {rec['ratio']}"
    )
    return rec


Statement = tuple[str, Any, bool]
WRITES = ("INSERT", "UPDATE", "DELETE")


def capture_writes(engine: Engine) -> list[list[Statement]]:
    """Record every INSERT, UPDATE and DELETE ENGINE sends, with its parameters, grouped by the
    transaction that committed it (rolled-back work is dropped). The list fills as work runs."""
    transactions: list[list[Statement]] = []
    current: list[Statement] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                many: bool) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            current.append((statement, parameters, many))

    @event.listens_for(engine, "commit")
    def on_commit(conn: Any) -> None:
        if current:
            transactions.append(list(current))
        current.clear()

    @event.listens_for(engine, "rollback")
    def on_rollback(conn: Any) -> None:
        current.clear()

    return transactions


def replay_sqlite(path: Path, transactions: list[list[Statement]]) -> float:
    """Replay captured writes through the bare sqlite3 driver, in the same transactions, with the
    same pragmas our engine uses; returns the seconds taken. The baseline of our benchmarks."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    started = time.perf_counter()
    for tx in transactions:
        db.execute("BEGIN IMMEDIATE")
        for statement, parameters, many in tx:
            # SQLAlchemy's "insertmanyvalues" sends one statement even when it reports
            # executemany, so look at the parameters' shape rather than the flag.
            if many and parameters and isinstance(parameters[0], (tuple, list, dict)):
                db.executemany(statement, parameters)
            else:
                db.execute(statement, parameters)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


@dataclass
class Transaction:
    """One captured transaction: how it began, its statements, and whether it committed."""

    begin: str
    statements: list[Statement] = field(default_factory=list)
    committed: bool = False


def capture_all(engine: Engine) -> list[Transaction]:
    """Record every statement ENGINE sends, reads included, grouped by transaction, with how
    each began (BEGIN IMMEDIATE, or a plain BEGIN for read-only work) and ended. Replayed by
    `replay_all`: the floor for doing the same reads and writes through the bare driver."""
    transactions: list[Transaction] = []
    current: list[Transaction] = []

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        current[:] = [Transaction("BEGIN" if read_only else "BEGIN IMMEDIATE")]

    @event.listens_for(engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                many: bool) -> None:
        if current and not statement.lstrip().upper().startswith("BEGIN"):
            current[0].statements.append((statement, parameters, many))

    def end(committed: bool) -> None:
        if current:
            current[0].committed = committed
            transactions.append(current[0])
        current.clear()

    event.listen(engine, "commit", lambda conn: end(True))
    event.listen(engine, "rollback", lambda conn: end(False))
    return transactions


def replay_all(path: Path, transactions: list[Transaction]) -> float:
    """Replay captured transactions, reads fetched in full, through the bare sqlite3 driver with
    our pragmas; seconds taken."""
    return replay_all_timed(path, transactions)[0]


def replay_all_timed(path: Path, transactions: list[Transaction]) -> tuple[float, float]:
    """`replay_all`, returning the wall seconds and the CPU seconds (time.process_time) taken:
    on a busy machine the CPU time is the one to set beside ours."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA secure_delete=ON")  # as our engine: what is overwritten is zeroed
    started, cpu_started = time.perf_counter(), time.process_time()
    for tx in transactions:
        db.execute(tx.begin)
        for statement, parameters, many in tx.statements:
            if many and parameters and isinstance(parameters[0], (tuple, list, dict)):
                db.executemany(statement, parameters)
            else:
                db.execute(statement, parameters).fetchall()
        db.execute("COMMIT" if tx.committed else "ROLLBACK")
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    db.close()
    return elapsed, cpu


class WriteLockClock:
    """How long each write transaction on ENGINE holds SQLite's write lock: from its BEGIN
    IMMEDIATE (waiting included) until the commit or rollback has finished."""

    def __init__(self, engine: Engine) -> None:
        self.held: list[float] = []
        # The CPU time this process spent while holding it: on a busy machine the wall time
        # also counts waiting for a core, which this does not.
        self.cpu: list[float] = []
        self._since: float | None = None
        self._cpu_since = 0.0
        # Before the engine's own listener, which sends BEGIN IMMEDIATE.
        event.listen(engine, "begin", self._begin, insert=True)
        event.listen(Session, "after_commit", self._end)
        event.listen(Session, "after_rollback", self._end)

    def _begin(self, conn: Any) -> None:
        if not conn.get_execution_options().get(READ_ONLY):
            self._since = time.perf_counter()
            self._cpu_since = time.process_time()

    def _end(self, session: Any) -> None:
        if self._since is not None:
            self.held.append(time.perf_counter() - self._since)
            self.cpu.append(time.process_time() - self._cpu_since)
            self._since = None

    def close(self) -> None:
        event.remove(Session, "after_commit", self._end)
        event.remove(Session, "after_rollback", self._end)


def load() -> list[dict[str, Any]]:
    if not RESULTS.exists():
        return []
    try:
        loaded = json.loads(RESULTS.read_text())
    except json.JSONDecodeError:
        return []
    return loaded if isinstance(loaded, list) else []


def print_table() -> None:
    rows = load()
    if not rows:
        print("(no benchmark results)")
        return
    width = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{width}}  {'ours':>12}  {'baseline':>12}  {'unit':<6} {'ratio':>9}")
    for r in rows:
        print(
            f"{r['name']:<{width}}  {r['ours']:>12}  {r['baseline']:>12}  {r['unit']:<6} "
            f"{r['ratio']!s:>9}"
        )


if __name__ == "__main__":
    print_table()
