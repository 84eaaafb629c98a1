"""records management: retention schedule, restriction, erasures, an erasable audit payload

Revision ID: i13_records
Revises: 0001
Create Date: 2026-11-29

The audit chain changes form (workflows/audit.py): each row's data and note are chained through a
salted payload hash, so they can be erased. Existing rows are re-chained here, but only after the
old chain has been verified in full: a register whose trail was tampered with refuses to upgrade
rather than have the tampering sealed into a new chain.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import concerns.db.models

revision: str = "i13_records"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _rechain() -> None:
    """Verify the old chain, then give every row a salt, a payload hash and a new chain hash."""
    events = sa.table(
        "events",
        sa.column("id", sa.Integer()),
        sa.column("case_id", sa.Integer()),
        sa.column("event", sa.String()),
        sa.column("actor", sa.String()),
        sa.column("at", concerns.db.models.UTCDateTime()),
        sa.column("from_state", sa.String()),
        sa.column("to_state", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("note", sa.Text()),
        sa.column("payload_salt", sa.String()),
        sa.column("payload_hash", sa.String()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(events).order_by(events.c.id)).mappings().all()
    old_prev = GENESIS
    new_prev = GENESIS
    for row in rows:
        at = row["at"].isoformat(timespec="microseconds")
        base = {"case_id": row["case_id"], "event": row["event"], "actor": row["actor"],
                "at": at, "from": row["from_state"], "to": row["to_state"]}
        old = _sha(old_prev + _canonical(base | {"data": row["data"], "note": row["note"]}))
        if row["prev_hash"] != old_prev or row["hash"] != old:
            raise RuntimeError(
                f"the audit trail does not verify at event {row['id']}: investigate it "
                "(concerns audit verify) before upgrading"
            )
        old_prev = row["hash"]
        salt = secrets.token_hex(16)
        payload = _sha(salt + _canonical({"data": row["data"] or {}, "note": row["note"]}))
        new_hash = _sha(new_prev + _canonical(base | {"payload": payload}))
        # The unique hash index cannot clash: new hashes are fresh SHA-256 values.
        conn.execute(
            events.update().where(events.c.id == row["id"]).values(
                payload_salt=salt, payload_hash=payload, prev_hash=new_prev, hash=new_hash
            )
        )
        new_prev = new_hash


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("payload_salt", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("payload_hash", sa.String(length=64), nullable=False, server_default="")
        )
        batch.add_column(
            sa.Column("erased_at", concerns.db.models.UTCDateTime(timezone=True), nullable=True)
        )
    _rechain()
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("retention_state", sa.String(length=20), nullable=False,
                                   server_default="not_set"))
        batch.add_column(sa.Column("retention_review_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("retention_reason", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("anonymised_at", concerns.db.models.UTCDateTime(timezone=True),
                      nullable=True)
        )
        batch.create_index("ix_cases_retention_state", ["retention_state"])
        batch.create_index("ix_cases_retention_review_on", ["retention_review_on"])
    with op.batch_alter_table("respondents") as batch:
        batch.add_column(
            sa.Column("restricted_at", concerns.db.models.UTCDateTime(timezone=True),
                      nullable=True)
        )
        batch.add_column(
            sa.Column("anonymised_at", concerns.db.models.UTCDateTime(timezone=True),
                      nullable=True)
        )
    op.create_table(
        "erasures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("reference", sa.String(length=32), nullable=False),
        sa.Column("respondent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", concerns.db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["respondent_id"], ["respondents.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index("ix_erasures_respondent_id", "erasures", ["respondent_id"])


def downgrade() -> None:
    op.drop_index("ix_erasures_respondent_id", table_name="erasures")
    op.drop_table("erasures")
    with op.batch_alter_table("respondents") as batch:
        batch.drop_column("anonymised_at")
        batch.drop_column("restricted_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_retention_review_on")
        batch.drop_index("ix_cases_retention_state")
        batch.drop_column("anonymised_at")
        batch.drop_column("retention_reason")
        batch.drop_column("retention_review_on")
        batch.drop_column("retention_state")
    # The old chain form cannot be restored without the payloads' original hashes.
    with op.batch_alter_table("events") as batch:
        batch.drop_column("erased_at")
        batch.drop_column("payload_hash")
        batch.drop_column("payload_salt")
