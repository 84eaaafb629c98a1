"""`report scrutiny` in process over 1,000,000 contacts (about 900,000 cases), on SQLite and
PostgreSQL. Goal: at most 2 s each.

The register is bulk-loaded (executemany on SQLite, COPY on PostgreSQL, with the secondary
indexes dropped for the load and made again after it, then ANALYZE, and VACUUM on PostgreSQL as
autovacuum would), not through the services: 900,000 cases with their people, 1,000,000
contacts (100,000 repeat contacts), children (some shared by two people), two clocks per case
(most met, some running and overdue), learning findings, actions and escalations.

The baseline, measured in the same run, is a replay of every SELECT the report sent, with the
same parameters, through the bare driver (sqlite3 or psycopg): what the database itself needs,
so the ratio is what our Python adds. On SQLite both run in this process, so their CPU time is
recorded too (on a busy machine the wall time also counts the wait for a core).

Environment:
  CONCERNS_BENCH_SCRUTINY_CONTACTS  contacts (default 1000000; e.g. 100000 for a quick run)
  CONCERNS_BENCH_DB                 postgres, sqlite or both (default both when PostgreSQL is
                                    reachable, else sqlite)
  CONCERNS_BENCH_PG_URL             PostgreSQL server for the throwaway database
  CONCERNS_BENCH_SCRUTINY_KEEP      a folder: the loaded databases are kept (a SQLite file there,
                                    a PostgreSQL database named after the size) and used again by
                                    the next run, migrated to the current schema (for iterating
                                    on the report's SQL without loading again)

Each SELECT's own time in the replay is printed too, costliest first (on PostgreSQL with the
server process's CPU time, read from /proc when the server runs on this machine).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import operator
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_sweep import (  # noqa: E402
    PG_ADMIN_URL,
    pg_reachable,
    postgres_database,
    sqlite_database,
)
from bench.common import record  # noqa: E402
from concerns.db.engine import make_engine, migrate  # noqa: E402
from concerns.db.models import Base  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.learning.scrutiny_service import scrutiny_report  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402

CONTACTS = int(os.environ.get("CONCERNS_BENCH_SCRUTINY_CONTACTS", "1000000"))
CASES = CONTACTS * 9 // 10
REPEATS = 3
KEEP = os.environ.get("CONCERNS_BENCH_SCRUTINY_KEEP")
SIZE = f"{CONTACTS // 1000}k" if CONTACTS < 1_000_000 else f"{CONTACTS // 1_000_000}m"
NOW = datetime(2026, 4, 15, 9, 0, tzinfo=UTC)
FIRST_DAY = datetime(2024, 4, 1, 8, 0, tzinfo=UTC)
CONCERN = ("I am writing about the way my family was treated by children's social care. "
           "Nobody explained the decisions that were made and the records are wrong. ") * 2
THEMES = ("communication_with_families", "record_keeping", "consent", "timeliness_of_visits",
          "assessment_accuracy", "management_oversight", "access_to_records",
          "multi_agency_working", "other")


def _defaults(table: str) -> dict[str, Any]:
    """A value for every NOT NULL column without a server default (other people add columns),
    so the bulk rows stay valid whatever the schema gained."""
    out: dict[str, Any] = {}
    for column in Base.metadata.tables[table].columns:
        if column.nullable or column.server_default is not None or column.primary_key:
            continue
        try:
            kind = column.type.python_type
        except NotImplementedError:
            kind = str
        out[column.name] = {int: 0, bool: False, str: "", float: 0.0, dict: {}, list: [],
                            datetime: NOW, date: NOW.date(), bytes: b""}.get(kind, "")
    return out


def _moment(i: int) -> datetime:
    # Spread over two years, in working hours.
    return FIRST_DAY + timedelta(days=(i * 731) // max(CASES, 1), hours=i % 8)


def cases() -> Iterator[dict[str, Any]]:
    for i in range(1, CASES + 1):
        closed = i % 5 != 0
        outcome = (("answered", "referred_to_complaints", "outside_framework", "responded",
                    "responded")[i % 5]) if closed else None
        yield {"id": i, "reference": f"B-{i:08d}", "state": "closed" if closed else "in_review",
               "version": 1, "respondent_id": i, "received_at": _moment(i), "channel": "web",
               "staff_named": "[]", "staff_named_keys": "[]",
               "learning_review_completed": outcome == "responded", "outcome": outcome,
               "retention_state": "not_set",
               "created_at": NOW, "updated_at": NOW}


def respondents() -> Iterator[dict[str, Any]]:
    for i in range(1, CASES + 1):
        yield {"id": i, "name": f"Person {i}", "name_key": f"person {i}", "name_block": "p",
               "created_at": NOW}


def contacts() -> Iterator[dict[str, Any]]:
    for i in range(1, CONTACTS + 1):
        case_id = i if i <= CASES else (i * 7919) % CASES + 1  # repeat contacts
        at = _moment(case_id) + timedelta(days=0 if i <= CASES else 20)
        yield {"id": i, "case_id": case_id, "respondent_id": case_id, "received_at": at,
               "channel": ("web", "email", "import", "phone")[i % 4],
               "route": "communications@example.gov.uk" if i % 10 == 0 else None,
               "concern": CONCERN, "involvement_from_year": 1996 + i % 25,
               "involvement_to_year": 2000 + i % 24, "flags": "[]", "created_at": NOW}


def children() -> Iterator[dict[str, Any]]:
    for i in range(1, CASES * 9 // 10 + 1):
        yield {"id": i, "name": f"Child {i}", "name_key": f"child {i}", "created_at": NOW}


def case_children() -> Iterator[dict[str, Any]]:
    kids = CASES * 9 // 10
    for i in range(1, CASES + 1):
        yield {"case_id": i, "child_id": (i - 1) % kids + 1}  # the last tenth share a child


def deadlines() -> Iterator[dict[str, Any]]:
    n = 0
    for i in range(1, CASES + 1):
        start = _moment(i).date()
        n += 1
        taken = i % 6
        yield _deadline(n, i, "acknowledge", "met", start, 3, start + timedelta(days=5),
                        start + timedelta(days=taken + taken // 5 * 2), taken, i % 50 == 0)
        n += 1
        if i % 5 == 0:  # open: running review, a few overdue
            due = NOW.date() + timedelta(days=(i % 40) - 8)
            yield _deadline(n, i, "review", "running", start, 25, due, None, None, False)
        else:
            taken = 10 + i % 30
            yield _deadline(n, i, "review", "met", start, 25, start + timedelta(days=35),
                            start + timedelta(days=taken * 7 // 5), taken, i % 40 == 0)


def _deadline(n: int, case_id: int, clock: str, status: str, start: date, target: int,
              due: date, met_on: date | None, taken: int | None, extended: bool
              ) -> dict[str, Any]:
    return {"id": n, "case_id": case_id, "clock": clock, "status": status, "started_on": start,
            "target_days": target, "working_days": True, "due_date": due,
            "owner_role": "iat_officer", "explanation": "{}",
            "met_at": datetime(met_on.year, met_on.month, met_on.day, 12, tzinfo=UTC)
            if met_on else None, "met_on": met_on, "working_days_taken": taken,
            "extended_days": 5 if extended else 0, "created_at": NOW}


def findings() -> Iterator[dict[str, Any]]:
    n = 0
    for i in range(5, CASES + 1, 5):  # every fifth... of the reviewed ones, one or two themes
        for k in range(1 + i % 2):
            n += 1
            yield {"id": n, "case_id": i - 1, "theme": THEMES[(i + k) % len(THEMES)],
                   "finding": "The reasons for the decision were not written down.",
                   "recorded_by_id": 2, "recorded_at": _moment(i) + timedelta(days=30)}


def actions() -> Iterator[dict[str, Any]]:
    for n, i in enumerate(range(50, CASES + 1, 50), start=1):
        yield {"id": n, "case_id": i - 1, "theme": THEMES[i % len(THEMES)],
               "description": "Write to families after each meeting.",
               "owner_service": "Children in Need", "due_date": _moment(i).date()
               + timedelta(days=90), "status": "open" if i % 100 else "completed",
               "created_by_id": 2, "created_at": _moment(i) + timedelta(days=30),
               "completed_at": None if i % 100 else NOW}


def escalations() -> Iterator[dict[str, Any]]:
    for n, i in enumerate(range(100, CASES + 1, 100), start=1):
        raised = _moment(i) + timedelta(days=10)
        yield {"id": n, "case_id": i, "severity": ("safeguarding", "practice")[i % 2],
               "to": "MASH", "raised_by_id": 2, "raised_at": raised,
               "resolved_at": raised + timedelta(hours=i % 30) if i % 300 else None}


def users() -> Iterator[dict[str, Any]]:
    for i, name in ((1, "audrey"), (2, "alex")):
        yield {"id": i, "username": name, "full_name": name, "email": f"{name}@example.gov.uk",
               "name_key": name, "active": True, "created_at": NOW}


def user_roles() -> Iterator[dict[str, Any]]:
    yield {"user_id": 1, "role": "auditor"}
    yield {"user_id": 2, "role": "iat_officer"}


TABLES = (("users", users), ("user_roles", user_roles), ("respondents", respondents),
          ("cases", cases), ("children", children), ("case_children", case_children),
          ("contacts", contacts), ("deadlines", deadlines), ("escalations", escalations),
          ("review_findings", findings), ("learning_actions", actions))


def _plain(value: Any, sqlite_style: bool) -> Any:
    if isinstance(value, (dict, list)):  # JSON columns (COPY takes the text too)
        return json.dumps(value)
    if sqlite_style and isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if sqlite_style and isinstance(value, date):
        return value.isoformat()
    return value


def _secondary_indexes(engine: Engine) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every index that no key or constraint needs."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        else:
            rows = conn.exec_driver_sql(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = "
                "current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                "WHERE c.conname = i.indexname)")
        return [(str(name), str(sql)) for name, sql in rows]


def load(engine: Engine) -> None:
    # Rows go in far faster without the indexes to keep up; each is made once at the end.
    indexes = _secondary_indexes(engine)
    with engine.begin() as conn:
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    for table, rows in TABLES:
        started = time.perf_counter()
        count = _insert(engine, table, rows())
        print(f"  {table:<16} {count:>9,} rows in {time.perf_counter() - started:5.1f}s",
              flush=True)
    started = time.perf_counter()
    with engine.begin() as conn:
        for _, sql in indexes:
            conn.exec_driver_sql(sql)
    print(f"  {len(indexes)} indexes made in {time.perf_counter() - started:5.1f}s", flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")


def _insert(engine: Engine, table: str, rows: Iterable[dict[str, Any]]) -> int:
    defaults = _defaults(table)
    it = iter(rows)
    first = next(it)
    columns = list(dict.fromkeys([*defaults, *first]))
    sqlite_style = engine.dialect.name == "sqlite"
    # Only the JSON, date and time columns need converting: the rest go as they are (most of
    # the load's time was spent asking every value what it was).
    kinds = Base.metadata.tables[table].columns
    convert = [i for i, c in enumerate(columns)
               if isinstance(getattr(kinds[c].type, "impl", kinds[c].type), (JSON, DateTime, Date))]
    pick = operator.itemgetter(*columns)

    def tuples() -> Iterator[tuple[Any, ...]]:
        for r in itertools.chain([first], it):
            values = list(pick(defaults | r)) if len(columns) > 1 else [pick(defaults | r)]
            for i in convert:
                values[i] = _plain(values[i], sqlite_style)
            yield tuple(values)

    raw = engine.raw_connection()
    count = 0
    try:
        cursor = raw.cursor()
        names = ", ".join(f'"{c}"' for c in columns)
        if sqlite_style:
            cursor.execute("BEGIN")
            marks = ", ".join("?" for _ in columns)
            batch: list[tuple[Any, ...]] = []
            for row in tuples():
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
                    count += len(batch)
                    batch = []
            if batch:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", batch)
                count += len(batch)
            cursor.execute("COMMIT")
        else:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in tuples():
                    copy.write_row(row)
                    count += 1
            raw.commit()
    finally:
        raw.close()
    return count


def capture_selects(engine: Engine) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    return seen


Timing = tuple[float, float, list[tuple[float, float]]]


def _server_cpu(pid: int) -> float | None:
    """The CPU seconds PostgreSQL's backend PID has used, if it runs on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def replay(url: str, engine: Engine, statements: list[tuple[str, Any]]) -> Timing:
    """Every SELECT the report sent, through the bare driver: (seconds, CPU seconds, and per
    statement (seconds, CPU seconds)). The CPU is this process's on SQLite, the server
    backend's on PostgreSQL (0 if it cannot be read)."""
    each: list[tuple[float, float]] = []
    if engine.dialect.name == "sqlite":
        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        started, started_cpu = time.perf_counter(), time.process_time()
        for statement, parameters in statements:
            at, at_cpu = time.perf_counter(), time.process_time()
            db.execute(statement, parameters).fetchall()
            each.append((time.perf_counter() - at, time.process_time() - at_cpu))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        db.close()
        return elapsed, cpu, each
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as db:
        row = db.execute("SELECT pg_backend_pid()").fetchone()
        pid = int(row[0]) if row else 0
        server_started = _server_cpu(pid) or 0.0
        started = time.perf_counter()
        for statement, parameters in statements:
            at, at_cpu = time.perf_counter(), _server_cpu(pid) or 0.0
            db.execute(statement, parameters).fetchall()
            each.append((time.perf_counter() - at, (_server_cpu(pid) or 0.0) - at_cpu))
        return (time.perf_counter() - started, (_server_cpu(pid) or 0.0) - server_started,
                each)


def _per_select(statements: list[tuple[str, Any]], replays: list[Timing], label: str) -> None:
    """Each SELECT's median time over the replays, costliest first; those alike in shape (the
    contacts' per channel and month pieces) summed as one line."""
    shapes: dict[str, list[float]] = {}
    for i, (statement, _) in enumerate(statements):
        wall = statistics.median(r[2][i][0] for r in replays)
        cpu = statistics.median(r[2][i][1] for r in replays)
        key = " ".join(statement.split())
        acc = shapes.setdefault(key, [0.0, 0.0, 0])
        acc[0] += wall
        acc[1] += cpu
        acc[2] += 1
    print(f"[{label}] per SELECT (median of {len(replays)} replays): seconds, CPU seconds, times")
    for key, (wall, cpu, times) in sorted(shapes.items(), key=lambda kv: -kv[1][0]):
        print(f"  {wall:7.3f} {cpu:7.3f} x{int(times):<3} {key[:150]}")


def run(url: str, label: str) -> None:
    engine = make_engine(url)
    migrate(engine)
    settings = replace(load_settings(REPO / "config.toml"), database_url=url)
    ctx = AppContext(settings, engine)
    if _loaded(engine):
        print(f"[{label}] using the kept database", flush=True)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        started = time.perf_counter()
        print(f"[{label}] loading {CONTACTS:,} contacts, {CASES:,} cases", flush=True)
        load(engine)
        print(f"[{label}] loaded in {time.perf_counter() - started:.1f}s", flush=True)
    report = scrutiny_report(ctx, "audrey")  # warm the caches
    assert report["contacts"] == CONTACTS and report["cases"] == CASES, report["contacts"]
    times, cpu = [], []
    for _ in range(REPEATS):
        started, started_cpu = time.perf_counter(), time.process_time()
        scrutiny_report(ctx, "audrey")
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    ours = statistics.median(times)
    statements = capture_selects(engine)
    scrutiny_report(ctx, "audrey")
    replays = [replay(url, engine, list(statements)) for _ in range(REPEATS)]
    baseline = statistics.median(r[0] for r in replays)
    size = SIZE
    print(f"[{label}] report: {ours:.2f}s ({len(statements)} SELECTs); "
          f"replay {baseline:.2f}s; goal 2 s")
    if engine.dialect.name != "sqlite" and replays[0][1]:
        server = statistics.median(r[1] for r in replays)
        print(f"[{label}] server CPU in the replay: {server:.2f}s")
    _per_select(statements, replays, label)
    record(f"scrutiny_report_{label}_{size}_contacts_vs_replay_of_its_selects", ours, baseline,
           "s")
    if engine.dialect.name == "sqlite":  # the database works in this process: CPU is ours
        ours_cpu = statistics.median(cpu)
        baseline_cpu = statistics.median(r[1] for r in replays)
        print(f"[{label}] CPU: report {ours_cpu:.2f}s, replay {baseline_cpu:.2f}s")
        record(f"scrutiny_report_{label}_{size}_contacts_cpu_vs_replay_cpu", ours_cpu,
               baseline_cpu, "s")
    engine.dispose()


def _loaded(engine: Engine) -> bool:
    """Whether a kept database already holds this size's register."""
    if not KEEP:
        return False
    with engine.connect() as conn:
        return conn.scalar(text("SELECT max(id) FROM contacts")) == CONTACTS


@contextlib.contextmanager
def _kept_sqlite() -> Iterator[str]:
    assert KEEP
    Path(KEEP).mkdir(parents=True, exist_ok=True)
    yield f"sqlite:///{Path(KEEP).resolve() / f'scrutiny_{SIZE}.db'}"


@contextlib.contextmanager
def _kept_postgres() -> Iterator[str]:
    name = f"concerns_bench_scrutiny_{SIZE}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    choice = os.environ.get("CONCERNS_BENCH_DB") or ("both" if pg_reachable() else "sqlite")
    if choice in ("sqlite", "both"):
        with _kept_sqlite() if KEEP else sqlite_database() as url:
            run(url, "sqlite")
    if choice in ("postgres", "both"):
        if not pg_reachable():
            print("PostgreSQL not reachable: skipping the PostgreSQL scrutiny benchmark")
        else:
            with _kept_postgres() if KEEP else postgres_database() as url:
                run(url, "postgres")


if __name__ == "__main__":
    main()
