"""Four `concerns remind run-once` processes at once on one database: each notification once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from concerns.db.models import Notification
from concerns.workflows.context import AppContext
from tests.factories import create_staff
from tests.integration.reminder_support import seed_deadlines

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 4


def test_four_sweeps_started_together_create_each_of_500_due_reminders_exactly_once(
    ctx: AppContext, tmp_path: Path
) -> None:
    create_staff(ctx)
    # 500 due deadlines: 250 missed reviews (to the IAT manager) and 250 missed sign-offs
    # (to the IAT manager and the director): 750 escalations, and a digest each for the
    # reviewer and the director.
    seed_deadlines(ctx, 250, clock="review", due=date(2026, 6, 3), started=date(2026, 5, 1),
                   owner_role="iat_officer", owner="alex")
    seed_deadlines(ctx, 250, clock="signoff", due=date(2026, 6, 3), started=date(2026, 5, 27),
                   owner_role="director", first=1000)
    env = {
        **os.environ,
        "CONCERNS_DATABASE_URL": ctx.settings.database_url,
        "CONCERNS_CONFIG": str(REPO / "config.toml"),
        # The checkout's package, whatever the working directory.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "concerns.cli.start", "remind", "run-once",
               "--now", "2026-06-10T10:00:00+01:00", "--no-deliver", "--json"]
    running = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(PROCESSES)
    ]
    outputs = [p.communicate(timeout=240) for p in running]
    for p, (_out, err) in zip(running, outputs, strict=True):
        assert p.returncode == 0, err
    results = [json.loads(out) for out, _ in outputs]

    assert sum(r["created"] for r in results) == 750
    assert sum(r["digests"] for r in results) == 2
    made = [(i["reference"], i["clock"], i["level"], i["to"]) for r in results for i in r["items"]]
    assert len(made) == len(set(made)) == 750
    with ctx.uow() as uow:
        total = uow.session.scalar(select(func.count()).select_from(Notification))
        keys = uow.session.scalar(select(func.count(func.distinct(Notification.key))))
    assert total == keys == 752
