"""The demo register (`init --demo`) is made through the services at fixed dates: every history
agrees with every deadline, whenever it is made."""

from __future__ import annotations

from datetime import date

from concerns.workflows.admin import init_database
from concerns.workflows.context import AppContext
from concerns.workflows.machine import DUTIES, STEPS
from concerns.workflows.queries import show_case

# The events that meet each clock: those that stop it, and for a clock that dates a situation
# ("triage complete, no reviewer") the events that end the situation.
MEETS: dict[str, set[str]] = {}
for step in STEPS:
    for clock in step.stops:
        MEETS.setdefault(clock, set()).add(step.event)
for duty in DUTIES:
    MEETS.setdefault(duty.clock, set()).update(duty.events)


def test_the_demo_cases_have_fixed_references_and_consistent_histories(
    sqlite_ctx: AppContext,
) -> None:
    result = init_database(sqlite_ctx, demo=True)
    assert result.demo_cases == [f"CAC-2026-000{n}" for n in range(1, 6)]
    for reference in result.demo_cases:
        case = show_case(sqlite_ctx, "morgan", reference)
        history = case["history"]
        moments = [h["at"] for h in history]
        assert moments == sorted(moments), reference
        assert all("2026-10-26" <= m[:10] <= "2026-12-31" for m in moments), moments
        for deadline in case["deadlines"]:
            if deadline["status"] != "met":
                continue
            done = [h["at"][:10] for h in history if h["event"] in MEETS[deadline["clock"]]]
            assert done, (reference, deadline["clock"])
            # Met on or before the day it was due: the history says when.
            assert date.fromisoformat(done[0]) <= date.fromisoformat(str(deadline["due"])[:10]), (
                reference, deadline, done,
            )


def test_the_acknowledgement_of_case_3_was_done_before_it_was_due(sqlite_ctx: AppContext) -> None:
    init_database(sqlite_ctx, demo=True)
    case = show_case(sqlite_ctx, "morgan", "CAC-2026-0003")
    ack = next(d for d in case["deadlines"] if d["clock"] == "acknowledge")
    done = next(h for h in case["history"] if h["event"] == "acknowledge")
    assert ack["status"] == "met"
    assert done["at"][:10] == "2026-11-17" and str(ack["due"])[:10] == "2026-11-18"
