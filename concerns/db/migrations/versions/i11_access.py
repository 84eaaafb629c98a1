"""Access: conflicts of interest found by name, server-side sessions, sign-in throttling, and the
last sign-in of each account.

Revision ID: i11_access
Revises: i10_raw_duplicate_of
Create Date: 2026-11-29
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import concerns.db.models
from concerns.triage.conflict import check

revision: str = "i11_access"
down_revision: str | None = "i10_raw_duplicate_of"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = concerns.db.models.UTCDateTime()


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("last_sign_in_at", UTC, nullable=True))
    op.create_table(
        "case_conflicts",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("finding", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("mention", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTC, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "user_id", name="uq_case_conflict"),
    )
    op.create_index("ix_case_conflicts_case_id", "case_conflicts", ["case_id"])
    op.create_index("ix_case_conflicts_user_id", "case_conflicts", ["user_id"])
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_seen_at", UTC, nullable=False),
        sa.Column("ended_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_index("ix_staff_sessions_last_seen_at", "staff_sessions", ["last_seen_at"])
    op.create_table(
        "sign_in_failures",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("address_key", sa.String(length=64), nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_failures_at", "sign_in_failures", ["at"])
    op.create_index("ix_sign_in_failures_address_key", "sign_in_failures", ["address_key"])
    op.create_index("ix_sign_in_failures_account_key", "sign_in_failures", ["account_key"])
    _find_existing_conflicts()


def _find_existing_conflicts() -> None:
    """Registers upgraded from before this check: every case against every member of staff."""
    from datetime import UTC as utc
    from datetime import datetime

    conn = op.get_bind()
    staff = conn.execute(sa.text("SELECT id, full_name FROM users")).all()
    if not staff:
        return
    cases = conn.execute(sa.text("SELECT id, staff_named FROM cases")).all()
    table = sa.table(
        "case_conflicts", sa.column("case_id"), sa.column("user_id"), sa.column("finding"),
        sa.column("source"), sa.column("mention"), sa.column("status"),
        sa.column("created_at", UTC),
    )
    now = datetime.now(utc)
    for case_id, staff_named in cases:
        named = staff_named if isinstance(staff_named, list) else []
        if isinstance(staff_named, str):
            import json

            named = json.loads(staff_named)
        texts = [row[0] for row in conn.execute(
            sa.text("SELECT concern FROM contacts WHERE case_id = :c"), {"c": case_id})]
        rows = []
        for user_id, full_name in staff:
            found = check(full_name or "", [str(n) for n in named], texts)
            if found is not None:
                rows.append({"case_id": case_id, "user_id": user_id, "finding": found.finding,
                             "source": found.source, "mention": found.mention[:300],
                             "status": "open", "created_at": now})
        if rows:
            op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_table("sign_in_failures")
    op.drop_table("staff_sessions")
    op.drop_table("case_conflicts")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("last_sign_in_at")
