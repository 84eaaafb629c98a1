"""Bulk intake of web-form submissions: contacts per second through `ingest_form`, against raw
SQL inserting the same rows.

The baseline is exact: every INSERT and UPDATE our intake sends (the raw bytes, the person, the
children, the case, the contact, the clock, the audit row) is captured with its parameters and
its transaction, then replayed through the bare DB-API driver, in the same transactions, on a
copy of the database taken before the run. The ratio is what we add on top of the writes:
parsing and validating, matching each person and child by the blocking keys, the ORM and the
hash chain. The writers are realistic, distinct people (seeded Faker, en_GB: names,
emails, phones, addresses, postcodes); one in ten forms is a repeat writer whose name, email and
phone are typed differently. SQLite file, as shipped.

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
from concerns.workflows.intake.submissions import ingest_form  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402
from tests.factories import create_staff  # noqa: E402

N = int(os.environ.get("CONCERNS_BENCH_FORMS", "10000"))


class People:
    """Realistic, distinct people (seeded Faker, en_GB): their own names, emails, phones,
    addresses and postcodes, as a council's register has them. Names and postcodes recur as
    they do in life (common surnames, neighbours), but no one shares everything."""

    def __init__(self, count: int, seed: int = 2026) -> None:
        from faker import Faker

        fake = Faker("en_GB")
        fake.seed_instance(seed)
        self.people = []
        for p in range(count):
            first, last = fake.first_name(), fake.last_name()
            self.people.append({
                "name": f"{first} {last}",
                "email": f"{first}.{last}{p}@{fake.free_email_domain()}".lower(),
                "phone": fake.phone_number(),
                "address": fake.street_address(),
                "postcode": fake.postcode(),
                "child": f"{fake.first_name()} {last}",
                "dob": fake.date_of_birth(minimum_age=2, maximum_age=17).isoformat(),
            })


def form(i: int, people: People) -> bytes:
    """Form i; every tenth is person i-5 again, typed differently, about the same child."""
    repeat = i % 10 == 9
    p = max(i - 5 if repeat else i, 0)
    who = people.people[p]
    data: dict[str, Any] = {
        "submitted_at": f"2021-{1 + p % 12:02d}-{1 + p % 28:02d}T10:15:00+00:00",
        "respondent": {
            "name": who["name"].upper() if repeat else who["name"],
            "email": who["email"].title() if repeat else who["email"],
            "phone": who["phone"].replace(" ", "") if repeat else who["phone"],
            "address": who["address"],
            "postcode": who["postcode"],
            "relationship": "parent",
        },
        "children": [{"name": who["child"], "date_of_birth": who["dob"]}],
        "involvement": {"from_year": 2005, "to_year": 2015},
        "concern": f"Concern number {i}: " + "what happened to my child. " * 8,
        "consent_to_contact": True,
    }
    return json.dumps(data).encode()


def main() -> None:
    people = People(N + 1)
    forms = [form(i + 1, people) for i in range(N)]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ours_db, replay_db = base / "ours.db", base / "replay.db"
        url = f"sqlite:///{ours_db}"
        settings = replace(load_settings(REPO / "config.toml"), database_url=url, base_dir=base)
        ctx = AppContext(settings, make_engine(url))
        ctx.migrate()
        create_staff(ctx)
        ingest_form(ctx, form(0, people), "warm-up.json", "ian")  # imports and caches
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
