"""Bulk intake of web-form submissions: contacts per second through `ingest_form`, against raw
SQL inserting the same rows.

The baseline is exact: every INSERT and UPDATE our intake sends (the raw bytes, the person, the
children, the case, the contact, the clock, the audit row) is captured with its parameters and
its transaction, then replayed through the bare DB-API driver, in the same transactions, on a
copy of the database taken before the run. The ratio is what we add on top of the writes:
parsing and validating, matching each person and child by the blocking keys, the ORM and the
hash chain. One in ten forms is a repeat writer whose name, email and phone are typed
differently. SQLite file, as shipped.

Environment: CONCERNS_BENCH_FORMS (default 10000).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import capture_writes, record, replay_sqlite  # noqa: E402
from concerns.db.engine import make_engine  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.intake import ingest_form  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402
from tests.factories import create_staff  # noqa: E402

N = int(os.environ.get("CONCERNS_BENCH_FORMS", "10000"))


def form(i: int) -> bytes:
    """Form i; every tenth is person i-5 again, typed differently, about the same child."""
    repeat = i % 10 == 9
    p = i - 5 if repeat else i
    name = f"Person{p} Example"
    data: dict[str, Any] = {
        "submitted_at": f"2021-{1 + p % 12:02d}-{1 + p % 28:02d}T10:15:00+00:00",
        "respondent": {
            "name": name.upper() if repeat else name,
            "email": f"Person{p}@Example.com" if repeat else f"person{p}@example.com",
            "phone": f"+44 7700 9{p % 100000:05d}" if repeat else f"07700 9{p % 100000:05d}",
            "postcode": f"HR{1 + p % 9} {p % 10}AB",
            "relationship": "parent",
        },
        "children": [{"name": f"Child{p} Example", "date_of_birth": "2010-01-01"}],
        "involvement": {"from_year": 2005, "to_year": 2015},
        "concern": f"Concern number {i}: " + "what happened to my child. " * 8,
        "consent_to_contact": True,
    }
    return json.dumps(data).encode()


def main() -> None:
    forms = [form(i) for i in range(N)]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ours_db, replay_db = base / "ours.db", base / "replay.db"
        url = f"sqlite:///{ours_db}"
        settings = replace(load_settings(REPO / "config.toml"), database_url=url, base_dir=base)
        ctx = AppContext(settings, make_engine(url))
        ctx.migrate()
        create_staff(ctx)
        ingest_form(ctx, form(-1), "warm-up.json", "ian")  # imports and caches
        ctx.engine.dispose()
        shutil.copy(ours_db, replay_db)
        ctx = AppContext(settings, make_engine(url))

        transactions = capture_writes(ctx.engine)

        statuses: dict[str, int] = {}
        started = time.perf_counter()
        for i, raw in enumerate(forms):
            status = ingest_form(ctx, raw, f"form-{i}.json", "ian").status
            statuses[status] = statuses.get(status, 0) + 1
        ours = time.perf_counter() - started
        ctx.engine.dispose()

        baseline = replay_sqlite(replay_db, transactions)

    record(
        f"intake: {N:,} web forms on SQLite (as seconds per contact) "
        "vs raw SQL inserts of the same rows",
        ours / N, baseline / N, "s",
    )
    print(f"  ours {N / ours:.0f} contacts/s, raw SQL {N / baseline:.0f} contacts/s; "
          f"{len(transactions)} transactions; {statuses}")


if __name__ == "__main__":
    main()
