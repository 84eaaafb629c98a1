"""Alembic environment: runs against the engine the application hands over."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine

from concerns.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        raise RuntimeError("migrations run through concerns.db.engine.migrate(engine)")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying it and dropping the old one; with foreign
            # keys on, dropping a table others refer to fails, or deletes what cascades from it
            # (every account's roles with `users`). The pragma is ignored inside a transaction,
            # so it is set on the driver's connection before one begins; the keys are checked
            # before the upgrade commits instead.
            _driver(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(
                            f"the upgrade would leave {len(broken)} rows pointing at rows that "
                            f"are not there (in {sorted({str(r[0]) for r in broken})}); "
                            "nothing was changed"
                        )
            connection.commit()
        finally:
            if sqlite:
                _driver(connection).execute("PRAGMA foreign_keys=ON")


def _driver(connection: Connection) -> Any:
    return connection.connection.driver_connection


run_migrations_online()
