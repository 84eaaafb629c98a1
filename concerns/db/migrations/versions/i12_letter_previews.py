"""Letter previews held in the database, so every web worker can show the one being checked.

Revision ID: i12_letter_previews
Revises: i11_second_factor
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import concerns.db.models

revision: str = "i12_letter_previews"
down_revision: str | None = "i11_second_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = concerns.db.models.UTCDateTime()


def upgrade() -> None:
    op.create_table(
        "letter_previews",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_letter_previews_case_id", "letter_previews", ["case_id"])
    op.create_index("ix_letter_previews_user_id", "letter_previews", ["user_id"])
    op.create_index("ix_letter_previews_expires_at", "letter_previews", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_letter_previews_expires_at", table_name="letter_previews")
    op.drop_index("ix_letter_previews_user_id", table_name="letter_previews")
    op.drop_index("ix_letter_previews_case_id", table_name="letter_previews")
    op.drop_table("letter_previews")
