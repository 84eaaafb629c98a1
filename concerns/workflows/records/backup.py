"""Backing up the whole register while it runs, and restoring a backup.

A backup FILE is a ZIP of two members:

- `manifest.json`: the database kind, when it was taken, the schema revision, the number of
  cases and the last audit row (id, time, hash), all read from the same snapshot as the data;
- `register.sqlite` (SQLite's online backup API: a consistent copy while writers carry on) or
  `register.pgdump` (`pg_dump --format=custom` of a snapshot exported by a REPEATABLE READ
  transaction that also reads the manifest).

Restoring refuses to overwrite a database whose audit trail goes on past the backup's last row
(it is newer) unless `force` is given. After a restore the schema is upgraded and every case on
the erased-people list (records.erasure_log, beside the database) that the backup still holds
unanonymised is anonymised again, so a restore never brings an erased person back.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from concerns.db.engine import create_database_if_missing
from concerns.db.models import Case, Event
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, ServiceError
from concerns.workflows.records.anonymise import clean_free_space, erase_case, read_erasure_log

MANIFEST = "manifest.json"
SQLITE_MEMBER = "register.sqlite"
PG_MEMBER = "register.pgdump"
FORMAT = "concerns-backup/1"
RESTORER = "restore"


class BackupFailed(ServiceError):
    """pg_dump/pg_restore missing or failing: the message says which, without data."""


def _state(conn: Connection) -> dict[str, Any]:
    """What the manifest records, read on CONN (inside the backup's snapshot)."""
    if not inspect(conn).has_table("events"):
        return {"revision": None, "cases": 0, "last_event": None}
    last = conn.execute(
        select(Event.id, Event.at, Event.hash).order_by(Event.id.desc()).limit(1)
    ).first()
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return {
        "revision": revision,
        "cases": int(conn.scalar(select(func.count(Case.id))) or 0),
        "last_event": None if last is None else {
            "id": last.id, "at": last.at.isoformat(), "hash": last.hash},
    }


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BadInput("database.url", "an in-memory database cannot be backed up or restored")
    return Path(database)


def _libpq_url(engine: Engine) -> str:
    # pg_dump speaks libpq URLs: the same URL without SQLAlchemy's "+driver".
    url = make_url(engine.url.render_as_string(hide_password=False)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(argv: list[str], what: str) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupFailed(f"{argv[0]} is not installed (apt-get install postgresql-client)")
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        # pg_dump's messages name objects, never row data.
        raise BackupFailed(f"{what} failed: {done.stderr.strip().splitlines()[-1:]}")


# --- backup ---------------------------------------------------------------------------------


def backup(ctx: AppContext, dest: Path) -> dict[str, Any]:
    """Write a backup of the register to DEST (a new file; an existing one is refused)."""
    if dest.exists():
        raise BadInput("file", f"{dest.name} already exists; choose a new file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    engine = ctx.engine
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        if engine.dialect.name == "sqlite":
            member, state = SQLITE_MEMBER, _backup_sqlite(engine, Path(tmp) / SQLITE_MEMBER)
        else:
            member, state = PG_MEMBER, _backup_postgres(engine, Path(tmp) / PG_MEMBER)
        manifest = {"format": FORMAT, "database": engine.dialect.name,
                    "taken_at": ctx.now().isoformat(), **state}
        partial = Path(tmp) / "backup.zip"
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(MANIFEST, json.dumps(manifest, indent=2))
            zf.write(Path(tmp) / member, member)
        os.chmod(partial, 0o600)  # the whole register: personal data
        os.replace(partial, dest)
    return manifest


def _backup_sqlite(engine: Engine, out: Path) -> dict[str, Any]:
    source = sqlite3.connect(_sqlite_path(engine), timeout=30)
    target = sqlite3.connect(out)
    try:
        # One step (pages=-1): the copy is one consistent snapshot, writers wait on busy_timeout.
        source.backup(target)
    finally:
        target.close()
        source.close()
    copy = _sqlite_engine(out)
    try:
        with copy.connect() as conn:
            return _state(conn)
    finally:
        copy.dispose()


def _sqlite_engine(path: Path) -> Engine:
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///{path}")


def _backup_postgres(engine: Engine, out: Path) -> dict[str, Any]:
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        state = _state(conn)
        # pg_dump reads the very snapshot the manifest was read in (kept open until it ends).
        _run(["pg_dump", "--format=custom", f"--snapshot={snapshot}", "--no-owner",
              f"--file={out}", f"--dbname={_libpq_url(engine)}"], "pg_dump")
        conn.rollback()
    return state


# --- restore --------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BadInput("file", f"no such file: {path.name}")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest: dict[str, Any] = json.loads(zf.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise BadInput("file", f"{path.name} is not a register backup") from None
    if manifest.get("format") != FORMAT:
        raise BadInput("file", f"{path.name} is not a register backup")
    return manifest


def _newer_than(current: dict[str, Any], manifest: dict[str, Any]) -> str | None:
    """Why the current database is newer than the backup, or None."""
    mine, theirs = current.get("last_event"), manifest.get("last_event")
    if mine is None:
        return None
    if theirs is None:
        return f"it has an audit trail up to {mine['at']} and the backup has none"
    if datetime.fromisoformat(mine["at"]) > datetime.fromisoformat(theirs["at"]) or (
        mine["at"] == theirs["at"] and mine["hash"] != theirs["hash"]
    ):
        return f"its audit trail runs to {mine['at']}, after the backup's {theirs['at']}"
    return None


def restore(ctx: AppContext, source: Path, *, force: bool = False,
            actor: str | None = None) -> dict[str, Any]:
    """Replace the register with the backup SOURCE, then re-apply the erased-people list."""
    manifest = read_manifest(source)
    engine = ctx.engine
    if manifest["database"] != engine.dialect.name:
        raise BadInput("file", f"a {manifest['database']} backup cannot be restored into "
                               f"{engine.dialect.name}")
    create_database_if_missing(engine)  # restoring onto a new machine or a new database
    with engine.connect() as conn:
        current = _state(conn)
        conn.rollback()
    why = _newer_than(current, manifest)
    if why and not force:
        raise NotAllowed(f"the database is newer than the backup: {why}; "
                         "use --force to overwrite it")
    with _extracted(source) as folder:
        if engine.dialect.name == "sqlite":
            _restore_sqlite(engine, folder / SQLITE_MEMBER)
        else:
            _restore_postgres(engine, folder / PG_MEMBER)
    ctx.migrate()
    reapplied = reapply_erasures(ctx, actor or RESTORER)
    with ctx.uow() as uow:
        append_event(uow.session, event="register_restored", actor=actor or RESTORER,
                     at=ctx.now(), data={"taken_at": manifest["taken_at"],
                                         "forced": bool(why and force),
                                         "erasures_reapplied": reapplied})
        cases = int(uow.session.scalar(select(func.count(Case.id))) or 0)
        uow.commit()
    clean_free_space(engine)
    return {"restored": source.name, "taken_at": manifest["taken_at"], "cases": cases,
            "erasures_reapplied": reapplied, "forced": bool(why and force)}


@contextmanager
def _extracted(source: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(source) as zf:
        for name in (SQLITE_MEMBER, PG_MEMBER):
            if name in zf.namelist():
                zf.extract(name, tmp)
        yield Path(tmp)


def _restore_sqlite(engine: Engine, member: Path) -> None:
    engine.dispose()
    source = sqlite3.connect(member)
    target = sqlite3.connect(_sqlite_path(engine), timeout=30)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    engine.dispose()


def _restore_postgres(engine: Engine, member: Path) -> None:
    engine.dispose()
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={_libpq_url(engine)}", str(member)], "pg_restore")
    engine.dispose()


def reapply_erasures(ctx: AppContext, actor: str) -> list[str]:
    """Anonymise again every case on the erased-people list that the database holds intact."""
    done: list[str] = []
    for entry in read_erasure_log(ctx.settings):
        with ctx.uow() as uow:
            s = uow.session
            case = s.get(Case, entry["case_id"])
            if case is None or case.reference != entry["reference"]:
                continue  # the backup predates the case
            if case.anonymised_at is not None:
                continue
            at = ctx.now()
            erase_case(s, case, at, actor)
            append_event(s, case_id=case.id, event="case_anonymised", actor=actor, at=at,
                         from_state=case.state, to_state=case.state,
                         data={"reapplied_after_restore": True, "erased_on": entry["at"]})
            done.append(case.reference)
            uow.commit()
    return done
