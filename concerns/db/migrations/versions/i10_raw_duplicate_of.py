"""raw submissions: a resent message's own bytes, linked to the first one

Revision ID: i10_raw_duplicate_of
Revises: i13_records
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "i10_raw_duplicate_of"
down_revision: str | None = "i13_records"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("raw_submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            "duplicate_of_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ))
        batch_op.create_foreign_key(
            "fk_raw_submissions_duplicate_of", "raw_submissions", ["duplicate_of_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("raw_submissions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_raw_submissions_duplicate_of", type_="foreignkey")
        batch_op.drop_column("duplicate_of_id")
