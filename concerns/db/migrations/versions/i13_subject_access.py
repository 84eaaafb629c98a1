"""subject access requests

Revision ID: i13_subject_access
Revises: i14_learning
Create Date: 2026-11-29
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import concerns.db.models

revision: str = "i13_subject_access"
down_revision: str | None = "i14_learning"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subject_access_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("respondent_id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("redactions", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", concerns.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=True),
        sa.Column("released_at", concerns.db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["respondent_id"], ["respondents.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_subject_access_requests_respondent_id", "subject_access_requests",
                    ["respondent_id"])
    op.create_index("ix_subject_access_requests_case_id", "subject_access_requests", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_subject_access_requests_case_id", table_name="subject_access_requests")
    op.drop_index("ix_subject_access_requests_respondent_id",
                  table_name="subject_access_requests")
    op.drop_table("subject_access_requests")
