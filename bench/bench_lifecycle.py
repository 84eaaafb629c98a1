"""Full lifecycles per second through the service layer, against raw SQL doing the same writes.

The baseline is exact, not a guess: every INSERT, UPDATE and DELETE our services send while
walking the cases is captured with its parameters and its transaction, then replayed through the
bare DB-API driver, in the same transactions, on an identical copy of the database taken before
the run. What the ratio measures is everything we add on top of the writes themselves: reading
and checking (roles, guards, the state machine), the ORM, hash-chaining the audit trail, and the
letters rendered on the way (acknowledgement and outcome PDFs).

Environment: CONCERNS_BENCH_LIFECYCLES (default 30).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import capture_writes, record, replay_sqlite  # noqa: E402
from concerns.db.engine import make_engine  # noqa: E402
from concerns.workflows import hooks  # noqa: E402
from concerns.workflows.context import AppContext  # noqa: E402
from concerns.workflows.settings import load_settings  # noqa: E402
from tests.factories import act, create_staff, log_concern  # noqa: E402

N = int(os.environ.get("CONCERNS_BENCH_LIFECYCLES", "30"))


def lifecycle(ctx: AppContext, i: int) -> None:
    ref = log_concern(ctx, name=f"Bench Person {i}", email=f"bench{i}@example.com")
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
    act(ctx, ref, "close", "alex")


def measure(with_letters: bool) -> tuple[float, float, int]:
    """Seconds per lifecycle (ours, raw replay) and the number of transactions replayed."""
    saved = {event: list(fns) for event, fns in hooks._HOOKS.items()}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ours_db, replay_db = base / "ours.db", base / "replay.db"
        url = f"sqlite:///{ours_db}"
        settings = replace(load_settings(REPO / "config.toml"), database_url=url, base_dir=base)
        ctx = AppContext(settings, make_engine(url))
        ctx.migrate()
        create_staff(ctx)
        lifecycle(ctx, -1)  # warm up imports, templates and caches
        if not with_letters:
            hooks._HOOKS.clear()
        ctx.engine.dispose()
        shutil.copy(ours_db, replay_db)
        ctx = AppContext(settings, make_engine(url))

        transactions = capture_writes(ctx.engine)

        started = time.perf_counter()
        for i in range(N):
            lifecycle(ctx, i)
        ours = time.perf_counter() - started
        ctx.engine.dispose()

        baseline = replay_sqlite(replay_db, transactions)

    hooks._HOOKS.update(saved)
    return ours / N, baseline / N, len(transactions)


def main() -> None:
    ours, baseline, count = measure(with_letters=True)
    record("lifecycle: seconds per full lifecycle on SQLite vs raw SQL replay of its writes",
           ours, baseline, "s")
    print(f"  {N} lifecycles, {count} transactions; ours {1 / ours:.1f}/s, "
          f"raw SQL {1 / baseline:.1f}/s")
    # The same walk with the letter hooks switched off shows what the workflow engine itself
    # costs; the difference is rendering the acknowledgement and outcome PDFs.
    ours, baseline, count = measure(with_letters=False)
    record("lifecycle without letters (engine only): seconds per lifecycle vs raw SQL replay",
           ours, baseline, "s")
    print(f"  {N} lifecycles, {count} transactions; ours {1 / ours:.1f}/s, "
          f"raw SQL {1 / baseline:.1f}/s")


if __name__ == "__main__":
    main()
