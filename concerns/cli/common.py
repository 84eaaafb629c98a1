"""What every command shares: --json, --as, --config, the context, and errors without tracebacks.

Exit statuses (docs/cli.md): 2 bad input, 3 not allowed, 1 anything else. Messages name the field
and the problem; they never carry personal data, and no traceback ever reaches the user.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, ParamSpec, TypeVar

import typer

from concerns.workflows.errors import ServiceError
from concerns.workflows.settings import SettingsError, load_settings

if TYPE_CHECKING:
    # Loading the context loads SQLAlchemy: only a command that runs needs it.
    from concerns.workflows.context import AppContext

log = logging.getLogger("concerns.cli")


def _strings_without_pydantic() -> None:
    """Typer coerces every option's value through a pydantic TypeAdapter: loading pydantic and
    building the adapters is a tenth of a second of every command. The command line gives a
    `str` option as a str already (and a flag's value is a bool or nothing), so those pass
    straight through, as the adapter would pass them; any other value, and every other type,
    goes the library's way. If Typer's internals change, this does nothing and the library's
    way is used throughout."""
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer.core import _TyperParameter
    except ImportError:  # pragma: no cover - another Typer
        return
    library = getattr(_TyperParameter, "get_runtime_param", None)
    if library is None or not hasattr(RuntimeParam, "_coerce_value"):  # pragma: no cover
        return

    @dataclass(frozen=True)
    class AsGiven(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if type(value) is self.annotation:
                return value
            descriptor = param.type_descriptor
            return build_runtime_param(descriptor)._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self: _TyperParameter) -> RuntimeParam:
        d = getattr(self, "type_descriptor", None)
        if (self._runtime_param is None and d is not None and d.annotation in (str, bool)
                and d.parameter_info.parser is None and d.file_annotation is None):
            self._runtime_param = AsGiven(parameter_info=d.parameter_info, annotation=d.annotation)
        result: RuntimeParam = library(self)
        return result

    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]


_strings_without_pydantic()

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
RefArg = Annotated[
    str, typer.Argument(metavar="REF", help="The case reference, e.g. CAC-2026-0001.")
]
AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Acting user (default $CONCERNS_USER).", show_default=False),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        help="Settings file (default ./config.toml or $CONCERNS_CONFIG).",
        show_default=False,
    ),
]


@dataclass
class Globals:
    json: bool = False
    as_user: str | None = None
    config: str | None = None


GLOBALS = Globals()


@dataclass
class Call:
    """One command's resolved options and its application context."""

    json: bool
    user: str | None
    config: str | None
    _ctx: AppContext | None = None

    @property
    def ctx(self) -> AppContext:
        if self._ctx is None:
            from concerns.workflows.context import build_context

            self._ctx = build_context(load_settings(self.config))
        return self._ctx


def call(json_out: bool = False, as_user: str | None = None, config: str | None = None) -> Call:
    return Call(
        json=json_out or GLOBALS.json,
        user=as_user or GLOBALS.as_user or os.environ.get("CONCERNS_USER") or None,
        config=config or GLOBALS.config,
    )


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


P = ParamSpec("P")
R = TypeVar("R")


def handled(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn every failure into a one-line message and the right exit status."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except ServiceError as exc:
            fail(exc.message, exc.exit_code)
        except SettingsError as exc:
            fail(f"config: {exc}", 2)
        except KeyboardInterrupt:
            fail("interrupted", 1)
        except Exception as exc:  # the promise: no traceback reaches the user
            _database_error(exc)
            log.debug("unexpected error", exc_info=True)
            fail(f"unexpected {type(exc).__name__}; nothing was changed", 1)

    return wrapper


def _database_error(exc: Exception) -> None:
    """Fail with the database's message if EXC is a database error; else return. SQLAlchemy is
    imported only when it was loaded already (else EXC cannot be one of its errors)."""
    if "sqlalchemy" not in sys.modules:
        return
    from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

    from concerns.db.engine import DatabaseMissing, DatabaseUrlError

    if isinstance(exc, DatabaseUrlError):
        fail(str(exc), 2)
    if isinstance(exc, DatabaseMissing):
        fail(str(exc), 1)
    if isinstance(exc, (OperationalError, ProgrammingError)):
        log.debug("database error", exc_info=True)
        fail(database_problem(str(getattr(exc, "orig", "") or "")), 1)
    if isinstance(exc, SQLAlchemyError):
        log.debug("database error", exc_info=True)
        fail("a database error stopped the command; nothing was changed", 1)


def database_problem(orig: str) -> str:
    """One line naming what is wrong with the database and what to do about it."""
    missing_db = re.search(r'database "([^"]+)" does not exist', orig)
    if missing_db:
        return (
            f"the PostgreSQL database {missing_db.group(1)!r} does not exist: "
            "run `concerns init` to create it"
        )
    if "no such table" in orig or re.search(r'relation "[^"]+" does not exist', orig):
        return "the database is not initialised: run `concerns init` first"
    if "unable to open database file" in orig:
        return (
            "the SQLite file in database.url cannot be opened: check the folder exists and "
            "may be written"
        )
    server = re.search(r'connection to server at "?([^" ,]+)"?[^,]*, port (\d+)', orig)
    if server or "Connection refused" in orig or "could not translate host name" in orig:
        where = f" at {server.group(1)}:{server.group(2)}" if server else ""
        return (
            f"the database server{where} could not be reached: check it is running and "
            "database.url in config.toml (or $CONCERNS_DATABASE_URL)"
        )
    if "password authentication failed" in orig or ("role" in orig and "does not exist" in orig):
        return (
            "the database server refused the user in database.url: check the user name and "
            "password (or $CONCERNS_DATABASE_URL)"
        )
    return (
        "the database could not be used: check database.url in config.toml "
        "(or $CONCERNS_DATABASE_URL) and run `concerns doctor`"
    )


def emit(c: Call, data: Any, human: Callable[[Any], str] | str | None = None) -> None:
    if c.json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
        return
    if human is None:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    elif isinstance(human, str):
        typer.echo(human)
    else:
        typer.echo(human(data))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    cells = [
        [str(r.get(col, "") if r.get(col) is not None else "") for col in columns] for r in rows
    ]
    widths = [max(len(col), *(len(row[i]) for row in cells)) for i, col in enumerate(columns)]
    line = "  ".join(col.ljust(w) for col, w in zip(columns, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def configure_logging() -> None:
    level = os.environ.get("CONCERNS_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
