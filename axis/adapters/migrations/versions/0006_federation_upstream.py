"""upstream_agencies, forward_jobs, upstream_inbound: federation over the national protocol

Revision ID: 0006_federation
Revises: 0006_vxp (this branch carries branch vxp's migration; re-chain when merging)
Create Date: 2026-12-03 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_federation"
down_revision = "0006_vxp"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "upstream_agencies",
        sa.Column("code", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("parent_code", sa.String(length=35), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "forward_jobs",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.String(length=32), nullable=True),
        sa.Column("leased_by", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("upstream_doc_id", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index("ix_forward_jobs_due", "forward_jobs", ["state", "next_attempt_at"])
    op.create_table(
        "upstream_inbound",
        sa.Column("upstream_doc_id", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("upstream_doc_id"),
    )
    op.create_index("ix_upstream_inbound_pulled_at", "upstream_inbound", ["pulled_at"])


def downgrade() -> None:
    op.drop_index("ix_upstream_inbound_pulled_at", table_name="upstream_inbound")
    op.drop_table("upstream_inbound")
    op.drop_index("ix_forward_jobs_due", table_name="forward_jobs")
    op.drop_table("forward_jobs")
    op.drop_table("upstream_agencies")
