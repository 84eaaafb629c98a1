"""Shared by every benchmark: one record format, written to bench/results.json and printed.

A record is {"name", "ours", "baseline", "unit", "ratio"}: the baseline is measured in the same
run, ratio = ours / baseline (lower is better).
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

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
