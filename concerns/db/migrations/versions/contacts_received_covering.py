"""Scrutiny for part of the register: the contacts of a period read from an index alone.

A report for a year or a quarter counts the period's contacts per person and, with each case's
children, per child. Through the index on received_at alone each of those contacts' rows was
read for its person and its case: over one year of a 1,000,000-contact register that took longer
than the report for the whole register. With the person and the case in the index, neither pass
reads a row (on SQLite about 0.66 and 0.42 s to 0.43 and 0.20 s). The old index is the new one's
first column, so it goes: a contact is still written to as many indexes as before.

Revision ID: contacts_received_covering
Revises: scrutiny_findings_cases
Create Date: 2026-11-30
"""
from collections.abc import Sequence

from alembic import op

revision: str = "contacts_received_covering"
down_revision: str | None = "scrutiny_findings_cases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contacts_received_cover", "contacts",
                    ["received_at", "respondent_id", "case_id"])
    op.drop_index("ix_contacts_received_at", table_name="contacts")


def downgrade() -> None:
    op.create_index("ix_contacts_received_at", "contacts", ["received_at"])
    op.drop_index("ix_contacts_received_cover", table_name="contacts")
