"""deliveries.fetch_failed_at: when the recipient's system last reported updateStatus fail

Items a connected system reported `fail` for are listed after the others (getReceivedEdocList is
capped at AXIS_INBOX_PAGE_MAX): a page full of packages a downstream hub refused no longer hides
everything newer.

Revision ID: 0010_federation2
Revises: 0008_evidence
Create Date: 2026-12-03 11:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_federation2"
down_revision = "0008_evidence"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("fetch_failed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("fetch_failed_at")
