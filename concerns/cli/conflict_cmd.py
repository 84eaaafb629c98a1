"""`concerns conflict …`: possible conflicts of interest for the IAT manager to decide.

A member of staff certainly named in a concern never opens it; one perhaps named (an initial, a
title and surname, a forename alone) is held out until an IAT manager confirms or clears it, with
a reason kept in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, handled, table
from concerns.cli.lazy import lazy_import

if TYPE_CHECKING:
    from concerns.workflows.access import conflicts
else:
    conflicts = lazy_import("concerns.workflows.access.conflicts")

app = typer.Typer(help="Conflicts of interest: staff perhaps named in a concern.",
                  no_args_is_help=True)

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (kept in the audit trail).")]


def _rows(found: list[dict[str, object]]) -> str:
    return table(found, ["reference", "username", "finding", "source", "mention", "status"])


@app.command("list")
@handled
def conflict_list(
    every: Annotated[bool, typer.Option("--all", help="Decided and certain ones too.")] = False,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Possible conflicts waiting for a decision (--all: every finding)."""
    c = call(json_out, as_user, config)
    found = conflicts.list_conflicts(c.ctx, c.user, open_only=not every)
    emit(c, [x.__dict__ for x in found], _rows)


def _decide(decision: str, reference: str, username: str, reason: str,
            json_out: bool, as_user: str | None, config: str | None) -> None:
    c = call(json_out, as_user, config)
    info = conflicts.decide_conflict(c.ctx, c.user, reference, username, decision, reason)
    emit(c, info.__dict__, f"{info.reference}: {info.username} {info.status}.")


@app.command("clear")
@handled
def conflict_clear(
    reference: Annotated[str, typer.Argument(help="The case reference.")],
    username: Annotated[str, typer.Argument(help="The member of staff.")],
    reason: ReasonOpt,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Not them: USERNAME may open the case."""
    _decide("clear", reference, username, reason, json_out, as_user, config)


@app.command("confirm")
@handled
def conflict_confirm(
    reference: Annotated[str, typer.Argument(help="The case reference.")],
    username: Annotated[str, typer.Argument(help="The member of staff.")],
    reason: ReasonOpt,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """It is them: USERNAME stays out of the case."""
    _decide("confirm", reference, username, reason, json_out, as_user, config)
