"""Statements run on every page view, where SQLAlchemy's own path costs more than the database.

A `Prebuilt` select is compiled once per dialect and run on the driver's cursor of the caller's
connection, in its transaction; its rows come back as plain tuples converted by the columns' own
types (SQLAlchemy's result processors: an aware UTC datetime, a JSON list, a boolean on SQLite),
so a row reads as SQLAlchemy would have returned it. Each run of a statement through the
connection builds an execution context, processes its parameters, fires events and wraps every
row; for a queue's 60 cases that cost three times the SQL.

Only plain parameters: an expanding one (`in_()` of a list) is refused when compiled; `one_of`
writes `column IN (...)` of a few fixed values with a plain parameter each.

`PrebuiltWrite` does the same for an event's INSERTs and UPDATEs, and `attach` makes the ORM
object of a row read this way, so that an event can read its case by one prebuilt statement and
still change it as a mapped object.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Connection, Insert, Select, Update, literal
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapper, Session, class_mapper
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.sql.compiler import SQLCompiler

_T = TypeVar("_T")


def one_of(column: Any, values: Iterable[str]) -> ColumnElement[bool]:
    """COLUMN is one of a few fixed VALUES, as `column IN (...)` with a plain parameter each: an
    `in_()` of the values themselves sends an expanding parameter, which a prebuilt statement
    refuses and SQLAlchemy rewrites into the SQL at every run (a tenth of the statement that
    reads a case for every event). SQLite reads the IN list faster than the same test as ORs."""
    test: ColumnElement[bool] = column.in_([literal(value) for value in values])
    return test


def _on_cursor(conn: Connection, sql: str, arguments: Any, *, many: bool, fetch: bool) -> Any:
    """Run SQL on a cursor of CONN's driver connection: the rows fetched (FETCH) or the rows
    matched. The engine's cursor listeners are told as SQLAlchemy tells them (what a test or a
    bench watches for: a statement count, the moment a transaction first writes)."""
    dispatch = conn.dispatch
    for listener in dispatch.before_cursor_execute:
        listener(conn, None, sql, arguments, None, many)
    dialect = conn.dialect
    driver_error = dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if many:
            cursor.executemany(sql, arguments)
        else:
            cursor.execute(sql, arguments)
        out = cursor.fetchall() if fetch else cursor.rowcount
    except driver_error as exc:
        # As SQLAlchemy raises it: its error, without the parameters (personal data).
        raise DBAPIError.instance(sql, None, exc, driver_error, hide_parameters=True) from exc
    finally:
        cursor.close()
    for listener in dispatch.after_cursor_execute:
        listener(conn, None, sql, arguments, None, many)
    return out


@dataclass(frozen=True)
class _Binds:
    """A compiled statement's SQL and how the caller's values become the driver's parameters."""

    sql: str
    positional: bool
    # (the name the driver takes, the key the caller passes, its value if built in, its
    # bind processor) for each parameter, in the statement's order when positional.
    binds: tuple[tuple[str, str, Any, Callable[[Any], Any] | None], ...]
    # Keys whose processor makes something of None (JSON's 'null'): the others' None is sent
    # as it is, past the processor.
    process_none: frozenset[str]

    @classmethod
    def of(cls, compiled: SQLCompiler, dialect: Dialect, what: str) -> _Binds:
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        order = list(compiled.positiontup or []) if compiled.positional else list(compiled.binds)
        binds = []
        for name in order:
            bind = compiled.binds[name]
            if bind.expanding:
                raise ValueError(f"{what} takes no expanding parameter ({bind.key})")
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            # A parameter without a value is the caller's to give; one with a value (a LIMIT) is
            # built in.
            fixed = None if bind.required else bind.effective_value
            if fixed is not None and process is not None:
                fixed = process(fixed)
            binds.append((escaped.get(name, name), bind.key, fixed, process))
        process_none = frozenset(key for _, key, _, process in binds
                                 if process is not None and process(None) is not None)
        return cls(compiled.string, bool(compiled.positional), tuple(binds), process_none)

    def arguments(self, given: Mapping[str, Any]) -> Any:
        """GIVEN ({key: value}) as the driver takes them."""
        values = []
        for _, key, fixed, process in self.binds:
            if key not in given:
                values.append(fixed)
                continue
            value = given[key]
            if process is not None and (value is not None or key in self.process_none):
                value = process(value)
            values.append(value)
        if self.positional:
            return values
        return {name: v for (name, *_), v in zip(self.binds, values, strict=True)}


@dataclass(frozen=True)
class _Compiled:
    binds: _Binds
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
        arguments = compiled.binds.arguments(params or {})
        fetched = _on_cursor(conn, compiled.binds.sql, arguments, many=False, fetch=True)
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
        binds = _Binds.of(self.statement.compile(dialect=dialect), dialect, "Prebuilt")
        processors = tuple(
            (index, process)
            for index, column in enumerate(self.statement.selected_columns)
            if (process := column.type.dialect_impl(dialect).result_processor(dialect, None))
        )
        built = _Compiled(binds, processors)
        self._by_dialect[dialect] = built
        return built


@dataclass(frozen=True)
class _CompiledWrite:
    binds: _Binds
    # (key, default) for each column the statement fills from the column's own Python default
    # when the caller leaves it out (created_at = now, version = 1).
    defaults: tuple[tuple[str, Any], ...]


class PrebuiltWrite:
    """An INSERT or UPDATE compiled once per dialect and set of columns given, run on the
    driver's cursor of the caller's connection, in its transaction (see the module): every event
    writes its case, its clocks and its audit row, and SQLAlchemy's path for each statement cost
    several times what the database does with it.

    The rows are given as {column key: value}, with the statement's own parameters (a WHERE
    clause's) beside them; a column left out takes its Python default (`default=`) as Core
    would, and one with none is left to the database. No RETURNING: the caller knows what it
    wrote, and `run` returns the rows matched (an UPDATE's version check)."""

    def __init__(self, statement: Insert | Update) -> None:
        # An INSERT fetches no generated key (PostgreSQL's compiler would add RETURNING).
        self.statement = statement.inline() if isinstance(statement, Insert) else statement
        self._by_dialect: weakref.WeakKeyDictionary[
            Dialect, dict[frozenset[str], _CompiledWrite]
        ] = weakref.WeakKeyDictionary()

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Write ROWS (each with the same keys) on CONN; the number of rows matched."""
        if not rows:
            return 0
        dialect = conn.dialect
        keys = frozenset(rows[0])
        compiled = (self._by_dialect.get(dialect) or {}).get(keys) or self._compile(dialect, keys)
        arguments = [self._arguments(compiled, row) for row in rows]
        many = len(arguments) > 1
        matched: int = _on_cursor(conn, compiled.binds.sql,
                                  arguments if many else arguments[0], many=many, fetch=False)
        return matched

    @staticmethod
    def _arguments(compiled: _CompiledWrite, row: Mapping[str, Any]) -> Any:
        if compiled.defaults:
            # The columns left out of this set of keys; Core wraps a zero-argument function to
            # take the execution context.
            row = {**row, **{key: default.arg(None) if default.is_callable else default.arg
                             for key, default in compiled.defaults}}
        return compiled.binds.arguments(row)

    def _compile(self, dialect: Dialect, keys: frozenset[str]) -> _CompiledWrite:
        table = self.statement.table
        columns = {c.key for c in table.columns}
        compiled = self.statement.compile(
            dialect=dialect, column_keys=sorted(keys & columns)
        )
        binds = _Binds.of(compiled, dialect, "PrebuiltWrite")
        defaults = []
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if compiled.isinsert else column.onupdate
            if default is None or not (default.is_scalar or default.is_callable):
                raise ValueError(f"PrebuiltWrite cannot fill column {column.key}'s default")
            defaults.append((column.key, default))
        if compiled.postfetch and compiled.isupdate:
            # A server-side onupdate would change what the caller believes it wrote.
            raise ValueError("PrebuiltWrite takes no column the database changes on UPDATE")
        built = _CompiledWrite(binds, tuple(defaults))
        self._by_dialect.setdefault(dialect, {})[keys] = built
        return built


_MAPPED: dict[type[Any], tuple[Mapper[Any], tuple[str, ...]]] = {}


def _mapped(cls: type[Any]) -> tuple[Mapper[Any], tuple[str, ...]]:
    """CLS's mapper and the attribute keys of its primary key (looked up once per class)."""
    found = _MAPPED.get(cls)
    if found is None:
        mapper = class_mapper(cls)
        found = _MAPPED[cls] = (
            mapper, tuple(mapper.get_property_by_column(c).key for c in mapper.primary_key)
        )
    return found


def attach(session: Session, cls: type[_T], values: dict[str, Any]) -> _T:
    """The persistent CLS object with VALUES ({attribute key: value}, its primary key among
    them) as a query's load would give it, built without the ORM's loading (which cost an event
    more than its SQL): the session's own object if it holds that identity already, as a query
    would return it. VALUES are what is stored, as read in the caller's transaction; an
    attribute not given (a relationship) loads when first used.

    This is what SQLAlchemy's own loading does for a new row (orm/loading.py, `_instance`): the
    identity key set, the state put in the session's identity map, the values as loaded
    (nothing to commit: a loaded value has no history). tests/integration/test_prebuilt.py
    holds it to an ORM load's behaviour (changes flushed, relationships loaded, rollback)."""
    mapper, primary_key = _mapped(cls)
    key = mapper.identity_key_from_primary_key(tuple(values[k] for k in primary_key))
    identity_map = session.identity_map
    existing = identity_map.get(key)
    if existing is not None:
        found: _T = existing
        return found
    obj: _T = mapper.class_manager.new_instance()
    state = instance_state(obj)
    state.key = key
    state.session_id = session.hash_key
    identity_map._add_unpresent(state, key)
    state.dict.update(values)
    return obj
