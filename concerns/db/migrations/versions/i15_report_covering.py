"""Scrutiny: the cases' counts and the running deadlines read from an index alone.

The report's pass over the cases (opened, outside the framework, learning reviews, still open)
reads a (received_at, state, outcome, learning_review_completed) index instead of every case
row; the open-deadlines index gains the clock and the case, so what is overdue and what became
overdue are counted without reading the deadline rows (the sweep reads the same index as before).

Revision ID: i15_report_covering
Revises: i15_scrutiny_indexes
Create Date: 2026-11-29
"""
from collections.abc import Sequence

from alembic import op

revision: str = "i15_report_covering"
down_revision: str | None = "i15_scrutiny_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_received_counts", "cases",
                    ["received_at", "state", "outcome", "learning_review_completed"])
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.create_index("ix_deadlines_open_due", "deadlines",
                    ["status", "due_date", "clock", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_deadlines_open_due", table_name="deadlines")
    op.create_index("ix_deadlines_open_due", "deadlines", ["status", "due_date"])
    op.drop_index("ix_cases_received_counts", table_name="cases")
