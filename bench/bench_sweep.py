"""One reminder sweep with 10,000 and with 1,000,000 open deadlines, the same 1,000 of them due.

The sweep's cost should follow what is due, not the size of the register: the ratio of the two
sweep times should stay near 1 (aim ≤ 1.5). Each size is also compared with a bare indexed
SELECT of the due rows, measured in the same run.

Environment:
  CONCERNS_BENCH_SWEEP_LARGE   open deadlines in the large case (default 1000000; e.g. 100000
                               for a quick run)
  CONCERNS_BENCH_DB            postgres, sqlite or both (default: both if PostgreSQL answers, else
                               sqlite)
  CONCERNS_BENCH_PG_URL        PostgreSQL server to create a throwaway database on
                               (default postgresql+psycopg://postgres@127.0.0.1:5432/postgres)
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, delete, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from concerns.db.engine import make_engine, migrate  # noqa: E402
from concerns.db.models import Notification  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.reminder_rules import ReminderPolicy, selection_horizon  # noqa: E402
from concerns.workflows.reminders import sweep  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402

SMALL = 10_000
LARGE = int(os.environ.get("CONCERNS_BENCH_SWEEP_LARGE", "1000000"))
DUE = 1_000
REPEATS = 5
NOW = datetime(2026, 6, 10, 9, 30, tzinfo=UTC)  # Wed 10:30 BST: in working hours
PG_ADMIN_URL = os.environ.get(
    "CONCERNS_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RESULTS = Path(__file__).resolve().parent / "results.json"
STAMP = "2026-01-05 09:00:00"


try:
    from bench.common import record
except ImportError:  # the shared helper is not there: the same record format, written here

    def record(name: str, ours: float, baseline: float, unit: str) -> dict[str, Any]:
        rec = {"name": name, "ours": round(ours, 6), "baseline": round(baseline, 6),
               "unit": unit, "ratio": round(ours / baseline, 3) if baseline else None}
        existing: list[dict[str, Any]] = []
        if RESULTS.exists():
            try:
                loaded = json.loads(RESULTS.read_text())
                existing = loaded if isinstance(loaded, list) else []
            except json.JSONDecodeError:
                existing = []
        existing = [r for r in existing if r.get("name") != name] + [rec]
        RESULTS.write_text(json.dumps(existing, indent=2) + "\n")
        print(f"{name:<60} ours {ours:>12.4f} {unit:<6} baseline {baseline:>12.4f} {unit:<6} "
              f"ratio {rec['ratio']}")
        return rec


# --- databases ----------------------------------------------------------------------------


def pg_reachable() -> bool:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@contextmanager
def postgres_database() -> Iterator[str]:
    name = f"concerns_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'bench.db'}"


# --- bulk loading (raw COPY / executemany: the ORM would take far longer) -------------------


def _deadline_row(case_id: int, i: int, due_ones: int) -> tuple[Any, ...]:
    """The first DUE deadlines are overdue (half reviews, half director sign-offs); the rest
    run for months yet."""
    if i < due_ones:
        clock = "review" if i % 2 == 0 else "signoff"
        owner_role = "iat_officer" if clock == "review" else "director"
        owner = 3 if clock == "review" else None  # alex owns the reviews
        return (case_id, clock, "running", date(2026, 5, 1), 25, True, date(2026, 6, 3),
                owner_role, owner)
    due = date(2026, 8, 1) + timedelta(days=i % 300)
    return (case_id, "review", "running", date(2026, 6, 1), 25, True, due, "iat_officer", 3)


def load_staff(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, username, full_name, email, name_key, active, created_at)"
            " VALUES (:id, :u, :u, :e, :u, :t, :c)"),
            [{"id": i, "u": u, "e": f"{u}@example.gov.uk", "t": True, "c": NOW}
             for i, u in ((1, "morgan"), (2, "dana"), (3, "alex"))])
        conn.execute(text("INSERT INTO user_roles (user_id, role) VALUES (:i, :r)"),
                     [{"i": 1, "r": "iat_manager"}, {"i": 2, "r": "director"},
                      {"i": 3, "r": "iat_officer"}])
        conn.execute(text(
            "INSERT INTO respondents (id, name, name_key, name_block, created_at)"
            " VALUES (1, 'Bench Person', 'bench person', 'bench', :c)"), {"c": NOW})


def load_cases(engine: Engine, first: int, count: int) -> None:
    """Cases FIRST..FIRST+COUNT-1, each with one running deadline (ids match)."""
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, first, count)
    else:
        _executemany_sqlite(engine, first, count)


def _copy_postgres(engine: Engine, first: int, count: int) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cases = io.StringIO()
        deadlines = io.StringIO()
        for n in range(first, first + count):
            cases.write(f"{n}\tB-{n:08d}\tin_review\t1\t1\t{STAMP}+00\tweb\t[]\t[]\tf\t"
                        f"{STAMP}+00\t{STAMP}+00\n")
            row = _deadline_row(n, n - 1, DUE)
            owner = "\\N" if row[8] is None else str(row[8])
            deadlines.write(f"{n}\t{row[0]}\t{row[1]}\t{row[2]}\t{row[3]}\t{row[4]}\tt\t{row[6]}"
                            f"\t{row[7]}\t{owner}\t{{}}\t{STAMP}+00\n")
        with cursor.copy(  # type: ignore[attr-defined]
            "COPY cases (id, reference, state, version, respondent_id, received_at, channel,"
            " staff_named, staff_named_keys, learning_review_completed, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            copy.write(cases.getvalue())
        with cursor.copy(  # type: ignore[attr-defined]
            "COPY deadlines (id, case_id, clock, status, started_on, target_days, working_days,"
            " due_date, owner_role, owner_user_id, explanation, created_at) FROM STDIN"
        ) as copy:
            copy.write(deadlines.getvalue())
        raw.commit()
        cursor.execute("ANALYZE cases")
        cursor.execute("ANALYZE deadlines")
        raw.commit()
    finally:
        raw.close()


def _executemany_sqlite(engine: Engine, first: int, count: int) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        step = 50_000
        for start in range(first, first + count, step):
            ids = range(start, min(start + step, first + count))
            cursor.executemany(
                "INSERT INTO cases (id, reference, state, version, respondent_id, received_at,"
                " channel, staff_named, staff_named_keys, learning_review_completed, created_at,"
                " updated_at) VALUES (?, ?, 'in_review', 1, 1, ?, 'web', '[]', '[]', 0, ?, ?)",
                [(n, f"B-{n:08d}", STAMP, STAMP, STAMP) for n in ids],
            )
            rows = []
            for n in ids:
                r = _deadline_row(n, n - 1, DUE)
                rows.append((n, r[0], r[1], r[2], r[3].isoformat(), r[4], 1, r[6].isoformat(),
                             r[7], r[8], "{}", STAMP))
            cursor.executemany(
                "INSERT INTO deadlines (id, case_id, clock, status, started_on, target_days,"
                " working_days, due_date, owner_role, owner_user_id, explanation, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        cursor.execute("COMMIT")
        cursor.execute("ANALYZE")
    finally:
        raw.close()


# --- measuring ----------------------------------------------------------------------------


def median_time(fn: Callable[[], Any], before: Callable[[], None] | None = None) -> float:
    times = []
    for _ in range(REPEATS):
        if before:
            before()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(ctx: AppContext) -> tuple[float, float]:
    """(one sweep, a bare indexed SELECT of the due rows), medians, in seconds."""
    horizon = selection_horizon(ctx.calendar, ReminderPolicy.from_settings(ctx.settings), NOW)

    def clear() -> None:
        with ctx.uow() as uow:
            uow.session.execute(delete(Notification))
            uow.commit()

    created: list[int] = []

    def one_sweep() -> None:
        created.append(sweep(ctx, NOW).created)

    ours = median_time(one_sweep, clear)
    assert set(created) == {DUE // 2 + DUE}, created  # reviews: 1 each; sign-offs: 2 each

    def bare_select() -> None:
        with ctx.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, case_id, clock, due_date, owner_role, owner_user_id"
                     " FROM deadlines WHERE status = 'running' AND due_date <= :h"),
                {"h": horizon},
            ).all()
        assert len(rows) == DUE

    baseline = median_time(bare_select)
    return ours, baseline


def run(url: str, label: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    settings = replace(load_settings(REPO / "config.toml"), database_url=url)
    ctx = AppContext(settings, engine)
    load_staff(engine)
    started = time.perf_counter()
    load_cases(engine, 1, SMALL)
    print(f"[{label}] loaded {SMALL:,} open deadlines in {time.perf_counter() - started:.1f}s")
    small_sweep, small_select = measure(ctx)
    started = time.perf_counter()
    load_cases(engine, SMALL + 1, LARGE - SMALL)
    print(f"[{label}] loaded {LARGE:,} open deadlines in {time.perf_counter() - started:.1f}s")
    large_sweep, large_select = measure(ctx)
    size = f"{LARGE // 1000}k" if LARGE < 1_000_000 else f"{LARGE // 1_000_000}m"
    record(f"reminder_sweep_{label}_10k_open_1k_due_vs_bare_select", small_sweep, small_select,
           "s")
    record(f"reminder_sweep_{label}_{size}_open_1k_due_vs_bare_select", large_sweep,
           large_select, "s")
    record(f"reminder_sweep_{label}_{size}_vs_10k_open", large_sweep, small_sweep, "s")
    record(f"bare_select_{label}_{size}_vs_10k_open", large_select, small_select, "s")
    engine.dispose()


def main() -> None:
    choice = os.environ.get("CONCERNS_BENCH_DB") or ("both" if pg_reachable() else "sqlite")
    if choice in ("postgres", "both"):
        if not pg_reachable():
            print("PostgreSQL not reachable: skipping the PostgreSQL sweep benchmark")
        else:
            with postgres_database() as url:
                run(url, "postgres")
    if choice in ("sqlite", "both"):
        with sqlite_database() as url:
            run(url, "sqlite")


if __name__ == "__main__":
    main()
