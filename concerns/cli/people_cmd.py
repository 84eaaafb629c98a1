"""`concerns people …`: the IAT's decisions on people the matching was unsure about.

Uncertain matches are never merged by the system; they are listed by `people flags` for the IAT,
who merges, splits or keeps people apart. Every decision is in the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli.common import AsOpt, ConfigOpt, JsonOpt, call, emit, handled, table
from concerns.cli.lazy import lazy_import

if TYPE_CHECKING:
    from concerns.workflows import people
else:
    people = lazy_import("concerns.workflows.people")

app = typer.Typer(help="People raising concerns: uncertain matches, merge and split.",
                  no_args_is_help=True)

NoteOpt = Annotated[str | None, typer.Option("--note", help="Why (kept in the audit trail).")]


def _flag_rows(flags: list[dict[str, Any]]) -> str:
    rows = [
        {"flag": f["id"], "status": f["status"], "score": f"{f['score']:.2f}",
         "person": f"{f['person']['id']} {f['person']['name']}",
         "candidate": f"{f['candidate']['id']} {f['candidate']['name']}",
         "reasons": "; ".join(f["reasons"])}
        for f in flags
    ]
    return table(rows, ["flag", "status", "score", "person", "candidate", "reasons"])


@app.command("flags")
@handled
def flags(
    status: Annotated[
        str, typer.Option("--status", help="open, merged, kept_apart or all.")
    ] = "open",
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Pairs of people who may be the same person, for the IAT to decide."""
    c = call(json_out, as_user, config)
    emit(c, people.list_flags(c.ctx, c.user, status), _flag_rows)


@app.command("merge")
@handled
def merge(
    keep: Annotated[int, typer.Argument(help="The person to keep (id).")],
    absorb: Annotated[int, typer.Argument(help="The person merged into KEEP (id).")],
    note: NoteOpt = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Merge ABSORB into KEEP: their cases and contacts move to KEEP (undo with `split`)."""
    c = call(json_out, as_user, config)
    result = people.merge_people(c.ctx, c.user, keep, absorb, note)
    emit(c, result, lambda r: f"Merged person {r['absorbed']['id']} into {r['kept']['id']}; "
                              f"cases now: {', '.join(r['kept']['cases']) or 'none'}.")


@app.command("split")
@handled
def split(
    person: Annotated[int, typer.Argument(help="The person to split (id).")],
    case: Annotated[
        list[str] | None,
        typer.Option("--case", help="Move this case to a new person (repeatable). Without "
                                    "--case, undo the merge of PERSON."),
    ] = None,
    note: NoteOpt = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Undo a merge, or move cases wrongly matched to PERSON to a new person."""
    c = call(json_out, as_user, config)
    result = people.split_person(c.ctx, c.user, person, case or None, note)
    other = result.get("restored") or result.get("new") or {}
    emit(c, result, lambda r: f"Person {other.get('id')} now stands apart; "
                              f"cases: {', '.join(other.get('cases', [])) or 'none'}.")


@app.command("keep-apart")
@handled
def keep_apart_cmd(
    flag: Annotated[int, typer.Argument(help="The match flag (id) to close.")],
    note: NoteOpt = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Decide that a flagged pair are different people."""
    c = call(json_out, as_user, config)
    emit(c, people.keep_apart(c.ctx, c.user, flag, note), lambda r: f"Flag {r['id']}: kept apart.")
