"""Lifecycle events per second through the service layer, against the bare driver doing the same.

The lifecycles are first run on a copy of the database, their statements captured. Then, segment
by segment in turns, the same lifecycles are timed through our services (nothing listening to
their statements, as the product runs) and two baselines are replayed through the bare sqlite3
driver (with our pragmas) on further copies, in the same transactions:
- every statement our services send while walking the cases, reads included (each SELECT's rows
  fetched): the floor for the same work by the bare route;
- the INSERTs, UPDATEs and DELETEs alone.
What the ratio measures is everything we add on top: checking roles and guards, the state
machine, the ORM, hash-chaining the audit trail and (in the first run) the letters.

With letters on, the time each write transaction holds SQLite's write lock is measured as well
(from BEGIN IMMEDIATE until the commit finished): the PDFs are rendered before it opens.

An "event" is one use case that changes the register: the intake of the concern and the 11
lifecycle events a case goes through here (12 per lifecycle).

Each concern comes from a person of its own (realistic, distinct people, as in the intake bench):
with everyone given the test factory's one phone number and postcode, each intake flagged every
earlier person as a possible match, so the cost per event grew with the number of lifecycles.

The run is timed in three segments of lifecycles and each figure is the segments' median, the
replay's over the same segments, each replayed right after ours: a moment when a shared machine
was busy moves one segment of each side, not the figure or the ratio.

Environment: CONCERNS_BENCH_LIFECYCLES (default 60).
"""

from __future__ import annotations

import itertools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.bench_intake import People  # noqa: E402
from bench.common import (  # noqa: E402
    WriteLockClock,
    capture_all,
    capture_writes,
    record,
    replay_all_timed,
    replay_sqlite,
)
from concerns.db.engine import make_engine  # noqa: E402
from concerns.workflows import hooks  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402
from tests.factories import act, create_staff, log_concern  # noqa: E402

N = int(os.environ.get("CONCERNS_BENCH_LIFECYCLES", "60"))
# The run is timed in segments of lifecycles, and each figure is the segments' median (the
# replay's too, over the same segments).
SEGMENTS = 3
PER_SEGMENT = max(1, N // SEGMENTS)
# Lifecycle i's person (i = -1 and -2 warm up).
PEOPLE = People(N + 2).people


def lifecycle(ctx: AppContext, i: int) -> None:
    who = PEOPLE[i + 2]
    ref = log_concern(ctx, name=who["name"], email=who["email"], phone=who["phone"],
                      address=who["address"], postcode=who["postcode"])
    act(ctx, ref, "acknowledge", "alex")
    act(
        ctx,
        ref,
        "record_complaints_triage",
        "priya",
        meets_criteria="no",
        reason="time_limit_passed",
    )
    act(ctx, ref, "record_legal_triage", "lee", proceedings="none")
    act(ctx, ref, "assign_reviewer", "morgan", reviewer="alex")
    act(ctx, ref, "start_review", "alex")
    act(ctx, ref, "submit_outcome", "alex", summary="Records read.", wording="We are sorry.",
        **{"finding.record_keeping": "Decisions were not written down."})
    act(ctx, ref, "authorise", "dana")
    act(ctx, ref, "prepare_letter", "erin")
    act(ctx, ref, "sign", "dana")
    act(ctx, ref, "send", "erin", method="post")
    act(ctx, ref, "close", "morgan", reason="Closed early for the benchmark.")


EVENTS_PER_LIFECYCLE = 12
AIM_EVENTS_PER_S = 1000
AIM_LOCK_MS = 5.0


@dataclass
class Run:
    ours: float  # seconds per event
    replay_all: float  # seconds per event, every statement replayed
    replay_writes: float  # seconds per event, the writes alone replayed
    statements: int  # statements per event (reads and writes, BEGIN/COMMIT not counted)
    lock_ms: list[float]  # write-lock time of each write transaction, ms
    lock_cpu_ms: list[float]  # CPU time of this process while holding it, ms
    ours_cpu: float  # CPU seconds per event (what a quiet machine would take)
    replay_all_cpu: float  # CPU seconds per event of the replay of every statement


def measure(with_letters: bool) -> Run:
    # The letters' hooks register when their modules are first imported: loaded before they are
    # set aside, they are there to put back (else the run "with letters" had none).
    hooks.load_modules()
    saved = {event: list(fns) for event, fns in hooks._HOOKS.items()}
    if with_letters and not saved.get("acknowledge"):
        raise SystemExit("the letters' hooks did not load: the run with letters would have none")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ours_db, copy_db = base / "ours.db", base / "copy.db"
        all_db, writes_db = base / "all.db", base / "writes.db"
        url = f"sqlite:///{ours_db}"
        settings = replace(load_settings(REPO / "config.toml"), database_url=url, base_dir=base)
        ctx = AppContext(settings, make_engine(url))
        ctx.migrate()
        create_staff(ctx)
        # Warm up imports (which register the letters' hooks), templates and caches; then, with
        # the same hooks as the timed run, on the same engine: its compiled-statement cache stays
        # warm, as in a running server (a new engine compiled every statement again inside the
        # timed run, which the replay of plain SQL never pays).
        lifecycle(ctx, -1)
        if not with_letters:
            hooks._HOOKS.clear()
            lifecycle(ctx, -2)
        ctx.engine.dispose()  # closes the pooled connections; the engine and its cache remain
        for copy in (copy_db, all_db, writes_db):
            shutil.copy(ours_db, copy)

        # The same lifecycles first on a copy of the database as it was, their statements
        # captured (the capture's own cost kept out of what is timed), segment by segment.
        again = AppContext(replace(settings, database_url=f"sqlite:///{copy_db}"),
                           make_engine(f"sqlite:///{copy_db}"))
        everything = capture_all(again.engine)
        writes = capture_writes(again.engine)
        bounds_all, bounds_writes = [0], [0]
        for segment in range(SEGMENTS):
            for i in _lifecycles_of(segment):
                lifecycle(again, i)
            bounds_all.append(len(everything))
            bounds_writes.append(len(writes))
        again.engine.dispose()

        # Then, in turns, each segment timed through our services (nothing listening to its
        # statements, as the product runs; the run with letters also times each write
        # transaction's hold on the write lock) and the same segment's statements replayed
        # through the bare driver on two more copies: every statement, and the writes alone. A
        # moment when the shared machine is slower falls on a segment of each, not on one side.
        lock = WriteLockClock(ctx.engine) if with_letters else None
        ours_times: list[tuple[float, float]] = []
        replay_all_times: list[tuple[float, float]] = []
        replay_writes_times: list[float] = []
        segments = zip(itertools.pairwise(bounds_all), itertools.pairwise(bounds_writes),
                       strict=True)
        for segment, ((a, b), (c, d)) in enumerate(segments):
            ours_times.append(_timed(segment, lambda i: lifecycle(ctx, i)))
            replay_all_times.append(replay_all_timed(all_db, everything[a:b]))
            replay_writes_times.append(replay_sqlite(writes_db, writes[c:d]))
        if lock is not None:
            lock.close()
        ctx.engine.dispose()
        ours, ours_cpu = _median_pair(ours_times)
        replay_all, replay_all_cpu = _median_pair(replay_all_times)
        replay_writes = statistics.median(replay_writes_times)

    hooks._HOOKS.update(saved)
    events = PER_SEGMENT * EVENTS_PER_LIFECYCLE
    statements = sum(len(tx.statements) for tx in everything)
    return Run(ours / events, replay_all / events, replay_writes / events,
               round(statements / (N * EVENTS_PER_LIFECYCLE)),
               [t * 1000 for t in lock.held] if lock else [],
               [t * 1000 for t in lock.cpu] if lock else [],
               ours_cpu / events, replay_all_cpu / events)


def _lifecycles_of(segment: int) -> range:
    return range(segment * PER_SEGMENT, (segment + 1) * PER_SEGMENT)


def _timed(segment: int, run: Callable[[int], None]) -> tuple[float, float]:
    """The wall and CPU seconds of running SEGMENT's PER_SEGMENT lifecycles."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for i in _lifecycles_of(segment):
        run(i)
    return time.perf_counter() - started, time.process_time() - cpu_started


def _median_pair(pairs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main() -> None:
    engine = measure(with_letters=False)
    record("lifecycle, engine only: seconds per event vs bare-driver replay of all its statements",
           engine.ours, engine.replay_all, "s")
    record("lifecycle, engine only: seconds per event vs bare-driver replay of its writes",
           engine.ours, engine.replay_writes, "s")
    record("lifecycle, engine only: CPU seconds per event vs bare-driver replay of all statements",
           engine.ours_cpu, engine.replay_all_cpu, "s")
    per_segment = PER_SEGMENT * EVENTS_PER_LIFECYCLE
    print(f"  {SEGMENTS} segments of {PER_SEGMENT} lifecycles ({per_segment} events each; "
          f"medians), {engine.statements} statements "
          f"per event; ours {1 / engine.ours:.0f} events/s wall, {1 / engine.ours_cpu:.0f}/s by "
          f"CPU time (aim {AIM_EVENTS_PER_S}), "
          f"replay {1 / engine.replay_all:.0f}/s wall, {1 / engine.replay_all_cpu:.0f}/s by CPU")
    letters = measure(with_letters=True)
    record("lifecycle with letters: seconds per event vs bare-driver replay of all statements",
           letters.ours, letters.replay_all, "s")
    held = sorted(letters.lock_ms)
    p95 = held[int(0.95 * (len(held) - 1))]
    record("lifecycle with letters: write lock held per write transaction, p95 (ms) vs aim",
           p95, AIM_LOCK_MS, "ms")
    cpu = sorted(letters.lock_cpu_ms)
    cpu_p95 = cpu[int(0.95 * (len(cpu) - 1))]
    record("lifecycle with letters: CPU time while holding the write lock, p95 (ms) vs aim",
           cpu_p95, AIM_LOCK_MS, "ms")
    print(f"  CPU time while holding it: median {statistics.median(cpu):.2f} ms, p95 "
          f"{cpu_p95:.2f} ms, max {cpu[-1]:.2f} ms")
    print(f"  with letters {1 / letters.ours:.0f} events/s; write lock per transaction: "
          f"median {statistics.median(held):.2f} ms, p95 {p95:.2f} ms, max {held[-1]:.2f} ms "
          f"over {len(held)} transactions (aim <= {AIM_LOCK_MS} ms)")


if __name__ == "__main__":
    main()
