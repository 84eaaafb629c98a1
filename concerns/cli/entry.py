"""How `concerns` starts: plain help screens and one-line usage errors.

Typer's rich help shows types as `<str>`, `<bool>` and arguments as `{reference}`, and wraps
descriptions inside narrow boxes; a mistyped command or option came out in a box too. Here the
command tree is walked once: every value takes a plain name (`REF`, `EVENT`, `TEXT`), help is
Click's plain layout, and a usage mistake is one line on stderr with exit status 2.
"""

from __future__ import annotations

import copy
import functools
import sys
from typing import Any

import typer

# Typer (0.2x) carries its own copy of Click: its error classes are these (an older Typer
# used Click itself).
try:
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - another Typer
    from click import exceptions as click_errors  # type: ignore[no-redef]
from typer.core import TyperArgument, TyperGroup, TyperOption
from typer.exceptions import Abort

# What an option's value is called in help, by the option's long name; others: the name itself.
OPTION_METAVARS = {
    "set": "KEY=VALUE",
    "as": "USER",
    "config": "PATH",
    "out": "FILE",
    "note": "TEXT",
    "now": "ISO-TIME",
    "from": "DATE",
    "to": "DATE",
    "expect-version": "N",
    "password-stdin": "",
}
ARGUMENT_METAVARS = {"reference": "REF", "notification_id": "ID"}


def _option_metavar(option: TyperOption) -> str:
    long = max(option.opts, key=len).lstrip("-")
    choices = option.type_descriptor.choices
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    return OPTION_METAVARS.get(long, long.upper())


def _no_type(*_args: Any, **_kwargs: Any) -> None:
    return None


def plain_help(command: Any) -> None:
    """Give every parameter in COMMAND's tree a plain metavar and Click's plain help layout."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for param in command.params:
        if isinstance(param, TyperOption):
            if not param.is_flag and param.metavar is None:
                param.metavar = _option_metavar(param)
        elif isinstance(param, TyperArgument):
            name = param.metavar or ARGUMENT_METAVARS.get(param.name or "", "")
            param.metavar = name or (param.name or "").upper()
            usage = param.metavar if param.required else f"[{param.metavar}]"
            if param.nargs != 1:
                usage += "..."
            # Typer writes a required argument as {NAME} in the usage line and its type as
            # <str> in the list; the name alone says it.
            param._usage_display_name = functools.partial(str, usage)  # type: ignore[method-assign]
            param.display_type_rich = _no_type  # type: ignore[method-assign]
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            plain_help(sub)


# Options that take a value and may come before a command's name (`concerns --as alex case …`).
VALUED_OPTIONS = frozenset({"--as", "--config"})


def _name_of(info: Any) -> str | None:
    name = getattr(info, "name", None)
    callback = getattr(info, "callback", None)
    if name is None and callback is not None:
        name = typer.main.get_command_name(callback.__name__)
    return name if isinstance(name, str) else None


def only_what_runs(app: typer.Typer, args: list[str]) -> typer.Typer:
    """APP with, at each level, only the group or command ARGS names: Typer reads the
    signature of every command it is given (a tenth of a second for all of them), and one
    command needs its own. Where ARGS names none (no command yet, `--help`, a mistyped name),
    that level is kept whole, so help and errors are the same as the full tree's."""
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word in VALUED_OPTIONS:
            rest = rest[1:]
        elif not word.startswith("-"):
            break
    else:
        return app
    groups = [g for g in app.registered_groups if _name_of(g) == word]
    commands = [c for c in app.registered_commands if _name_of(c) == word]
    if len(groups) + len(commands) != 1:
        return app
    pruned = copy.copy(app)
    pruned.registered_commands = commands
    pruned.registered_groups = []
    for group in groups:
        instance = group.typer_instance
        if instance is not None:
            group = copy.copy(group)
            group.typer_instance = only_what_runs(instance, rest)
        pruned.registered_groups.append(group)
    return pruned


def build(app: typer.Typer, args: list[str] | None = None) -> Any:
    """The command tree; with ARGS, only the part that runs them (`only_what_runs`)."""
    command = typer.main.get_command(app if args is None else only_what_runs(app, args))
    plain_help(command)
    return command


def run(app: typer.Typer, args: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    command = build(app, sys.argv[1:] if args is None else args)
    try:
        result: Any = command.main(args=args, prog_name="concerns", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help())
        return 0
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "concerns"
        message = exc.format_message().rstrip(".")
        typer.echo(f"error: {message}; see `{where} --help`", err=True)
        return exc.exit_code
    except click_errors.ClickException as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return exc.exit_code
    except Abort:
        typer.echo("error: interrupted", err=True)
        return 1
    return result if isinstance(result, int) else 0


def main(app: typer.Typer) -> None:
    sys.exit(run(app))
