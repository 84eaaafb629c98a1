"""Shared by every benchmark: one record format, written to bench/results.json and printed.

A record is {"name", "ours", "baseline", "unit", "ratio"}: the baseline is measured in the same
run, ratio = ours / baseline (lower is better).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
