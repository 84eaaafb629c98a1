"""Engine, session factory and schema migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from concerns import collector

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that migrate, not here: most commands never need it and
# it is slow to load.
MIGRATIONS = Path(__file__).parent / "migrations"


SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/NAME"


class DatabaseUrlError(ValueError):
    """database.url (or $CONCERNS_DATABASE_URL) is not a database this product can use."""


class DatabaseMissing(RuntimeError):
    """The database named by the settings does not exist yet: `concerns init` makes it."""


def check_database_url(url: str) -> str:
    """URL as the engine wants it, or DatabaseUrlError naming the problem and what is supported.

    `postgresql://` and `postgres://` mean the psycopg 3 driver, the only one installed."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"database.url: {url[:40]!r} is not a database URL; expected {SUPPORTED_URLS}"
        ) from None
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif driver not in ("sqlite", "sqlite+pysqlite"):
        raise DatabaseUrlError(
            f"database.url: {driver}:// databases are not supported; expected {SUPPORTED_URLS}"
        )
    if not parsed.database:
        raise DatabaseUrlError(f"database.url: no database name or file; expected {SUPPORTED_URLS}")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for URL; SQLite gets WAL, foreign keys and writer serialisation.

    Nothing is created on disk until `migrate` runs: a command against a register that does not
    exist says so (DatabaseMissing) and leaves no empty file or folder behind."""
    url = check_database_url(url)
    parsed = make_url(url)
    # Parameters are personal data: keep them out of error messages and logs.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "factory": WriteLockConnection},
            # The pool's own reset (a rollback through SQLAlchemy's machinery at every check-in,
            # a twentieth of an event's work) is replaced by a check of the driver's flag at
            # check-in (below), which rolls back only a connection still in a transaction.
            pool_reset_on_return=None,
            **kwargs,
        )
        _configure_sqlite(engine, parsed.database)
    else:
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    weakref.finalize(engine, _let_go_at_exit, weakref.ref(engine))
    return engine


def _let_go_at_exit(engine_ref: weakref.ref[Engine]) -> None:
    """An engine still open when the process exits closes its connections. Nothing else would:
    a command keeps what it loaded out of the collector's sight (concerns.collector), the engine
    too if it was made before a later load. On SQLite the last connection to close folds the
    write-ahead log into the database file, which is then whole on its own (a copy of the file
    alone, made after a command, has everything)."""
    engine = engine_ref()
    if engine is not None:
        engine.dispose()


class WriteLockConnection(sqlite3.Connection):
    """sqlite3's connection, which holds Python's collector off from the moment its BEGIN
    IMMEDIATE has the write lock until its commit or rollback has let the lock go
    (concerns.collector; the collector runs as soon as the lock is let go), and counts the write
    transactions it has committed since the engine last checkpointed."""

    _holding = False
    commits_since_checkpoint = 0

    def hold_collector(self) -> None:
        if not self._holding:
            self._holding = True
            collector.hold()

    def let_go(self) -> None:
        if self._holding:
            self._holding = False
            collector.release()

    def commit(self) -> None:
        wrote = self._holding
        try:
            super().commit()
        finally:
            self.let_go()
        if wrote:
            self.commits_since_checkpoint += 1

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.let_go()


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives its -wal and -shm files
    the same permissions), in a folder only the owner can list."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        # Another process may have made it a moment ago.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_file(database: str | None) -> Path | None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def sqlite_path(engine: Engine) -> Path | None:
    """The SQLite file of ENGINE (None for PostgreSQL or an in-memory database)."""
    if engine.url.get_backend_name() != "sqlite":
        return None
    return _sqlite_file(engine.url.database)


# Write transactions between two checkpoints of SQLite's write-ahead log; an event writes a few
# pages (a letter a dozen more), so the log stays around SQLite's own mark of 1,000 pages.
CHECKPOINT_EVERY = 100
# The log size (pages) at which SQLite checkpoints on its own, inside a commit.
WAL_BACKSTOP_PAGES = 10_000


def _configure_sqlite(engine: Engine, database: str | None) -> None:
    path = _sqlite_file(database)

    # sqlite3 would create an empty file for a missing one; only `migrate` may create it.
    @event.listens_for(engine, "do_connect")
    def _refuse_missing(_dialect: Any, _rec: Any, _cargs: Any, _cparams: Any) -> None:
        if path is not None and not path.exists() and engine not in _MAY_CREATE:
            raise DatabaseMissing(
                f"no database at {path}: run `concerns init` first (a relative path in "
                "database.url is read from the folder that holds config.toml)"
            )

    # pysqlite's own transaction handling starts transactions lazily and lets two writers
    # collide with "database is locked"; we take the write lock up front (BEGIN IMMEDIATE)
    # so concurrent writers queue on busy_timeout instead. SQLAlchemy documents this recipe.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted or overwritten content is zeroed, not left in free space (anonymisation).
        cursor.execute("PRAGMA secure_delete=ON")
        # SQLite's own checkpoint (at 1,000 pages of log) runs inside the COMMIT call that
        # crosses the mark; the engine checkpoints at check-in instead (below). This is the
        # backstop for a connection that is never checked in.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        cursor.close()

    # The write-ahead log is folded into the database file when a connection goes back to the
    # pool, every CHECKPOINT_EVERY write transactions: after the session has let the
    # connection go, so no transaction's commit waits for it (a checkpoint took up to 6 ms).
    # PASSIVE: it copies what no reader still needs, waits for nobody and blocks nobody.
    written = [0]

    @event.listens_for(engine, "checkin")
    def _reset_and_checkpoint(dbapi_connection: Any, _record: Any) -> None:
        if not isinstance(dbapi_connection, WriteLockConnection):
            return
        # A connection goes back to the pool with no transaction open: SQLAlchemy has ended
        # every one it began, but should one still be open (a failure between the driver and
        # SQLAlchemy), rolling it back here lets the write lock, and the collector, go.
        with contextlib.suppress(sqlite3.Error):
            if dbapi_connection.in_transaction:
                dbapi_connection.rollback()
        written[0] += dbapi_connection.commits_since_checkpoint
        dbapi_connection.commits_since_checkpoint = 0
        if written[0] >= CHECKPOINT_EVERY:
            written[0] = 0
            # Should it fail, the next one (or SQLite's backstop) folds in what this did not.
            with contextlib.suppress(sqlite3.Error):
                dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A read-only unit of work (see `read_only`) begins a deferred transaction: in WAL mode
        # it reads one consistent snapshot and never takes, or waits for, the write lock.
        begin = "BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE"
        # Sent on the driver's own connection: every transaction begins here, and SQLAlchemy's
        # statement machinery (a cursor, an execution context, events) cost as much as the
        # BEGIN itself. A failure (the lock not had within busy_timeout) is raised as
        # SQLAlchemy would have raised it, an OperationalError without parameters.
        driver_error = conn.dialect.loaded_dbapi.Error
        driver = conn.connection.driver_connection
        try:
            driver.execute(begin)
        except driver_error as exc:
            raise DBAPIError.instance(begin, None, exc, driver_error,
                                      hide_parameters=True) from exc
        if begin != "BEGIN" and isinstance(driver, WriteLockConnection):
            # Once the lock is had, not before: a writer waiting for it (up to busy_timeout)
            # would keep the collector off for the whole process.
            driver.hold_collector()


# Execution option marking a connection whose transactions only read.
READ_ONLY = "concerns_read_only"


def read_only(engine: Engine) -> Engine:
    """ENGINE for transactions that only read: the same pool, without the SQLite write lock."""
    return engine.execution_options(**{READ_ONLY: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


# Engines that `migrate` has allowed to create their SQLite file.
_MAY_CREATE: weakref.WeakSet[Engine] = weakref.WeakSet()


def migrate(engine: Engine) -> None:
    """Create the database if need be (a SQLite file and its folder, or the PostgreSQL
    database when the server allows it), then create the schema or upgrade it."""
    create_database_if_missing(engine)
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def create_database_if_missing(engine: Engine) -> None:
    """Make the SQLite file (owner-only) or the PostgreSQL database if it is not there yet: for
    `migrate` and `restore` only; every other command says "run `concerns init` first"."""
    path = sqlite_path(engine)
    if path is not None:
        _private_file(path)
        _MAY_CREATE.add(engine)
    elif engine.url.get_backend_name() == "postgresql":
        create_pg_database_if_missing(engine)


def createdb_command(engine: Engine) -> str:
    url = engine.url
    parts = ["createdb"]
    if url.host:
        parts += ["-h", url.host]
    if url.port:
        parts += ["-p", str(url.port)]
    if url.username:
        parts += ["-U", url.username]
    return " ".join([*parts, str(url.database)])


def create_pg_database_if_missing(engine: Engine) -> bool:
    """CREATE DATABASE when it does not exist and the server lets this user create it.

    True when it was created; DatabaseMissing with the exact `createdb` command when refused."""
    name = engine.url.database or ""
    try:
        with engine.connect():
            return False
    except OperationalError as exc:
        if f'database "{name}" does not exist' not in str(exc.orig):
            raise
    server = create_engine(
        engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT", hide_parameters=True
    )
    try:
        with server.connect() as conn:
            quoted = conn.dialect.identifier_preparer.quote(name)
            conn.exec_driver_sql(f"CREATE DATABASE {quoted}")
    except (OperationalError, ProgrammingError):
        raise DatabaseMissing(
            f"the PostgreSQL database {name!r} does not exist and this user may not create it: "
            f"ask the database administrator to run `{createdb_command(engine)}`, "
            "then `concerns init` again"
        ) from None
    finally:
        server.dispose()
    return True


def schema_is_current(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return set(current) == set(script.get_heads())
