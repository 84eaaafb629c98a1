"""Access: drop `users.failed_logins` and `users.locked_until`, the old hard lock-out's columns.

Sign-in throttling keeps its own shared table (`sign_in_failures`); nothing reads these since.
Batch mode, so SQLite (which cannot drop a column in older versions) rebuilds the table.

Revision ID: i11_drop_lockout_columns
Revises: i12_letter_previews
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import concerns.db.models

revision: str = "i11_drop_lockout_columns"
down_revision: str | None = "i12_letter_previews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("locked_until",
                                      concerns.db.models.UTCDateTime(timezone=True),
                                      nullable=True))
