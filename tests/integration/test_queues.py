"""The director's queue shows the cases waiting on her that her lists may show: not one a
conflict of interest bars her from, nor one of a restricted person's record."""

from __future__ import annotations

from sqlalchemy import select

from concerns.db.models import Case
from concerns.workflows.context import AppContext
from concerns.workflows.queries import queue
from concerns.workflows.records.restriction import set_restriction
from tests.factories import create_staff, log_concern, walk_to_signoff


def test_the_directors_queue_leaves_out_a_barred_case_and_a_restricted_persons_case(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    shown = log_concern(ctx, name="Ada Lovelace", phone=None)
    barred = log_concern(ctx, name="Grace Hopper", phone=None,
                         concern="Dana Whitfield did not answer my letters.")
    restricted = log_concern(ctx, name="Mary Somerville", phone=None)
    for reference in (shown, barred, restricted):
        walk_to_signoff(ctx, reference)
    with ctx.read() as read:
        states = set(read.session.scalars(select(Case.state)))
    assert states == {"awaiting_signoff"}
    waiting = [row["reference"] for row in queue(ctx, "dana", "director")]
    assert shown in waiting and restricted in waiting
    assert barred not in waiting

    with ctx.read() as read:
        person = read.session.scalars(select(Case.respondent_id)
                                      .where(Case.reference == restricted)).one()
    set_restriction(ctx, "priya", person, True, "She objects to the processing")
    rows = queue(ctx, "dana", "director")
    assert [row["reference"] for row in rows] == [shown]
    assert rows[0]["state"] == "awaiting_signoff"
    assert rows[0]["events"]

    set_restriction(ctx, "priya", person, False, "She withdrew her objection")
    assert [row["reference"] for row in queue(ctx, "dana", "director")] == [shown, restricted]
