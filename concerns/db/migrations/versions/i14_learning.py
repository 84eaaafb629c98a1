"""learning: review findings by theme, actions arising, and what timeliness needs on deadlines

Revision ID: i14_learning
Revises: i11_access
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import concerns.db.models

revision: str = "i14_learning"
down_revision: str | None = "i11_access"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = concerns.db.models.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_findings",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("theme", sa.String(length=60), nullable=False),
        sa.Column("finding", sa.String(length=300), nullable=False),
        sa.Column("recorded_by_id", ID, nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("authorised_at", UTC, nullable=True),
        sa.Column("superseded_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_findings") as batch_op:
        batch_op.create_index("ix_review_findings_case_id", ["case_id"])
        batch_op.create_index("ix_review_findings_theme", ["theme"])
        batch_op.create_index("ix_review_findings_recorded_at", ["recorded_at"])

    op.create_table(
        "learning_actions",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("theme", sa.String(length=60), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("owner_service", sa.String(length=200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("deadline_id", ID, nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("created_by_id", ID, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("authorised_at", UTC, nullable=True),
        sa.Column("completed_by_id", ID, nullable=True),
        sa.Column("completed_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["deadline_id"], ["deadlines.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["completed_by_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("learning_actions") as batch_op:
        batch_op.create_index("ix_learning_actions_case_id", ["case_id"])
        batch_op.create_index("ix_learning_actions_theme", ["theme"])
        batch_op.create_index("ix_learning_actions_status", ["status"])

    with op.batch_alter_table("deadlines") as batch_op:
        batch_op.add_column(sa.Column("met_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("working_days_taken", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("extended_days", sa.Integer(), nullable=False, server_default="0")
        )
    # Extensions made before this revision: their working days are in the stored working-out.
    deadlines = sa.table(
        "deadlines", sa.column("id", ID), sa.column("explanation", sa.JSON()),
        sa.column("extended_days", sa.Integer()), sa.column("extended_reason", sa.Text()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(deadlines.c.id, deadlines.c.explanation)
        .where(deadlines.c.extended_reason.is_not(None))
    ).all()
    for row in rows:
        extra = int((row.explanation or {}).get("extra_days", 0) or 0)
        bind.execute(
            deadlines.update().where(deadlines.c.id == row.id).values(extended_days=extra)
        )


def downgrade() -> None:
    with op.batch_alter_table("deadlines") as batch_op:
        batch_op.drop_column("extended_days")
        batch_op.drop_column("working_days_taken")
        batch_op.drop_column("met_on")
    op.drop_table("learning_actions")
    op.drop_table("review_findings")
