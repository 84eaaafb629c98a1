"""`concerns action …`: actions arising from learning reviews, each tracked on its own clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, handled, table
from concerns.cli.lazy import lazy_import
from concerns.workflows.errors import day_field
from concerns.workflows.learning.action_statuses import STATUSES

if TYPE_CHECKING:
    from concerns.workflows.learning import actions
else:
    actions = lazy_import("concerns.workflows.learning.actions")

app = typer.Typer(help="Actions arising from learning reviews: list, extend, complete.")


@app.command("list")
@handled
def action_list(
    status: Annotated[
        str | None, typer.Option("--status", help=" | ".join(STATUSES) + " (default: all)")
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Actions arising, earliest due first, with their case, theme, owner service and status."""
    c = call(json_out, as_user, config)

    def human(rows: list[dict[str, Any]]) -> str:
        return table(rows, ["id", "reference", "theme", "owner_service", "due", "status", "what"])

    emit(c, actions.list_actions(c.ctx, c.user, status), human)


@app.command("complete")
@handled
def action_complete(
    action_id: Annotated[int, typer.Argument(help="The action's number (action list).")],
    evidence: Annotated[str, typer.Option("--evidence", help="What shows it was done.")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Close an action with the evidence that it was done."""
    c = call(json_out, as_user, config)
    done = actions.complete_action(c.ctx, c.user, action_id, evidence)
    emit(c, done, f"Action {done['id']} on {done['reference']}: completed.")


@app.command("extend")
@handled
def action_extend(
    action_id: Annotated[int, typer.Argument(help="The action's number (action list).")],
    due: Annotated[str, typer.Option("--due", help="The new due date (YYYY-MM-DD).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it needs longer.")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Move an open action's due date later, with a reason (the IAT manager)."""
    c = call(json_out, as_user, config)
    new_due = day_field(due, "--due", required=True)
    assert new_due is not None  # required=True: a blank --due is refused above
    done = actions.extend_action(c.ctx, c.user, action_id, new_due, reason)
    emit(c, done, f"Action {done['id']} on {done['reference']}: now due {done['due']}.")
