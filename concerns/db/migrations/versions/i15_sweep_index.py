"""Sweep: a partial index of the closed cases whose retention is not yet scheduled.

The sweep looks for them every time; with only the state and retention indexes SQLite scanned
every case (both columns hold one value for most rows). The partial index holds just the few
waiting to be scheduled, so the look-up costs the same at 10,000 cases as at 1,000,000.

Revision ID: i15_sweep_index
Revises: i11_drop_lockout_columns
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i15_sweep_index"
down_revision: str | None = "i11_drop_lockout_columns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("state = 'closed' AND retention_state = 'not_set'")


def upgrade() -> None:
    op.create_index("ix_cases_closed_unscheduled", "cases", ["state", "retention_state"],
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index("ix_cases_closed_unscheduled", table_name="cases")
