"""The schema the migrations make is the one the models declare, on SQLite and PostgreSQL: a
column, a constraint or an index added to one and not the other would leave a register that
`concerns init` made unlike the one the code (and the next migration) expects."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from concerns.db.engine import alembic_config
from concerns.db.models import Base
from concerns.workflows.context import AppContext

# Made by a migration only, on purpose (see the comment on Case in db/models.py).
MIGRATION_ONLY_INDEXES = {"ix_cases_closed_unscheduled"}


def _differences(ctx: AppContext) -> list[Any]:
    with ctx.engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    return [
        diff for diff in found
        if not (isinstance(diff, tuple) and diff[0] == "remove_index"
                and diff[1].name in MIGRATION_ONLY_INDEXES)
    ]


def test_the_migrated_schema_is_the_models_schema(ctx: AppContext) -> None:
    assert _differences(ctx) == []


def _contact_indexes(ctx: AppContext) -> dict[str, list[str]]:
    return {index["name"]: list(index["column_names"])
            for index in inspect(ctx.engine).get_indexes("contacts") if index["name"]}


def test_the_contacts_covering_index_comes_and_goes_with_its_migration(ctx: AppContext) -> None:
    config = alembic_config(ctx.engine)
    assert _contact_indexes(ctx)["ix_contacts_received_cover"] == [
        "received_at", "respondent_id", "case_id"]
    assert "ix_contacts_received_at" not in _contact_indexes(ctx)

    command.downgrade(config, "scrutiny_findings_cases")
    ctx.engine.dispose()
    assert _contact_indexes(ctx)["ix_contacts_received_at"] == ["received_at"]
    assert "ix_contacts_received_cover" not in _contact_indexes(ctx)

    command.upgrade(config, "head")
    ctx.engine.dispose()
    assert "ix_contacts_received_cover" in _contact_indexes(ctx)
    assert _differences(ctx) == []
