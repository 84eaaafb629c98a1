"""The migrations form one line: several people add revisions, and two heads would leave a
database half-upgraded."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from concerns.db.engine import alembic_config


def test_the_migrations_have_exactly_one_head() -> None:
    engine = create_engine("sqlite://")
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert len(script.get_heads()) == 1, script.get_heads()
