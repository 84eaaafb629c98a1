"""Access: `public_form_sends`, the public form's rate limit kept in the database, so every web
process (`concerns serve --workers N`) counts the same sends instead of each its own.

Revision ID: lead_public_form_sends
Revises: i15_report_covering
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import concerns.db.models

revision: str = "lead_public_form_sends"
down_revision: str | None = "i15_report_covering"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "public_form_sends",
        sa.Column("id", concerns.db.models.ID, primary_key=True),
        sa.Column("at", concerns.db.models.UTCDateTime(), nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_public_form_sends_at", "public_form_sends", ["at"])
    op.create_index("ix_public_form_sends_address_key", "public_form_sends", ["address_key"])


def downgrade() -> None:
    op.drop_index("ix_public_form_sends_address_key", table_name="public_form_sends")
    op.drop_index("ix_public_form_sends_at", table_name="public_form_sends")
    op.drop_table("public_form_sends")
