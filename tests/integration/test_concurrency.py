"""Two people acting on one case at the same moment: one wins, the other is told to reload."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event

from concerns.workflows.context import AppContext
from concerns.workflows.errors import ConcurrentChange, ServiceError
from concerns.workflows.lifecycle import fire_event
from concerns.workflows.queries import show_case
from tests.factories import act, create_staff, log_concern


def test_two_concurrent_events_on_one_case_one_wins_and_the_other_must_reload(
    pg_ctx: AppContext,
) -> None:
    create_staff(pg_ctx)
    ref = log_concern(pg_ctx)
    act(pg_ctx, ref, "acknowledge", "alex")
    # Both transactions have read the case before either writes: the barrier holds each thread
    # at its first write statement, after all its reads (the case is written by Core, not by
    # the ORM's flush, so that is where to wait).
    barrier = threading.Barrier(2, timeout=20)
    waited: set[int] = set()

    def wait_for_the_other(
        conn: object, cursor: object, statement: str, *_: object
    ) -> None:
        me = threading.get_ident()
        if (me in threads_ids and me not in waited
                and statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))):
            waited.add(me)
            barrier.wait()

    threads_ids: set[int] = set()
    event.listen(pg_ctx.engine, "before_cursor_execute", wait_for_the_other)
    outcomes: dict[str, BaseException | str] = {}

    def run(name: str, event_name: str, actor: str, values: dict[str, str]) -> None:
        threads_ids.add(threading.get_ident())
        try:
            outcomes[name] = fire_event(pg_ctx, ref, event_name, actor, values).to_state
        except BaseException as exc:
            outcomes[name] = exc

    try:
        threads = [
            threading.Thread(
                target=run, args=("legal", "record_legal_triage", "lee", {"proceedings": "none"})
            ),
            threading.Thread(
                target=run,
                args=(
                    "complaints",
                    "record_complaints_triage",
                    "priya",
                    {"meets_criteria": "no", "reason": "time_limit_passed"},
                ),
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        event.remove(pg_ctx.engine, "before_cursor_execute", wait_for_the_other)

    errors = [o for o in outcomes.values() if isinstance(o, BaseException)]
    wins = [o for o in outcomes.values() if o == "triage"]
    assert len(wins) == 1 and len(errors) == 1, outcomes
    assert isinstance(errors[0], ConcurrentChange)
    assert "the case changed" in str(errors[0]) and "reload" in str(errors[0])
    history = [h["event"] for h in show_case(pg_ctx, "alex", ref)["history"]]
    assert history.count("record_legal_triage") + history.count("record_complaints_triage") == 1


def test_an_event_against_an_old_version_is_refused(ctx: AppContext) -> None:
    create_staff(ctx)
    ref = log_concern(ctx)
    seen = show_case(ctx, "alex", ref)["version"]
    act(ctx, ref, "acknowledge", "sam")
    with pytest.raises(ServiceError, match="reload"):
        fire_event(
            ctx, ref, "request_information", "alex", {"wording": "Which years?"}, None,
            expected_version=seen,
        )
