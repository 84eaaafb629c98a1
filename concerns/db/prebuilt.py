"""Statements run on every page view, where SQLAlchemy's own path costs more than the database.

A `Prebuilt` select is compiled once per dialect and run on the driver's cursor of the caller's
connection, in its transaction; its rows come back as plain tuples converted by the columns' own
types (SQLAlchemy's result processors: an aware UTC datetime, a JSON list, a boolean on SQLite),
so a row reads as SQLAlchemy would have returned it. Each run of a statement through the
connection builds an execution context, processes its parameters, fires events and wraps every
row; for a queue's 60 cases that cost three times the SQL.

Only plain parameters: an expanding one (`in_()` of a list) is refused when compiled.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # (the name the driver takes, the key the caller passes, its value if built in, its
    # bind processor) for each parameter, in the statement's order when positional.
    binds: tuple[tuple[str, str, Any, Callable[[Any], Any] | None], ...]
    # (column index, result processor) for each column whose type converts what the driver gives.
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]


class Prebuilt:
    """STATEMENT, compiled once per dialect, run on the driver's cursor (see the module)."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )

    def rows(self, conn: Connection, params: Mapping[str, Any] | None = None
             ) -> list[tuple[Any, ...]]:
        """The rows of the statement with PARAMS, on CONN in its transaction."""
        dialect = conn.dialect
        compiled = self._by_dialect.get(dialect) or self._compile(dialect)
        given = params or {}
        values = [
            (process(given[key]) if process else given[key]) if key in given else fixed
            for _, key, fixed, process in compiled.binds
        ]
        arguments: Any = (values if compiled.positional
                          else {name: v for (name, *_), v in zip(compiled.binds, values,
                                                                 strict=True)})
        driver_error = dialect.loaded_dbapi.Error
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, arguments)
            fetched = cursor.fetchall()
        except driver_error as exc:
            # As SQLAlchemy raises it: its error, without the parameters (personal data).
            raise DBAPIError.instance(compiled.sql, None, exc, driver_error,
                                      hide_parameters=True) from exc
        finally:
            cursor.close()
        if not compiled.processors:
            return [tuple(row) for row in fetched]
        out = []
        for row in fetched:
            converted = list(row)
            for index, process in compiled.processors:
                converted[index] = process(converted[index])
            out.append(tuple(converted))
        return out

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect)
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        order = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
        binds = []
        for name in order:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"Prebuilt takes no expanding parameter ({bind.key})")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            fixed = bind.effective_value
            if fixed is not None and process is not None:
                fixed = process(fixed)
            binds.append((escaped.get(name, name), bind.key, fixed, process))
        processors = tuple(
            (index, process)
            for index, column in enumerate(self.statement.selected_columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
        )
        built = _Compiled(compiled.string, bool(compiled.positional), tuple(binds), processors)
        self._by_dialect[dialect] = built
        return built
