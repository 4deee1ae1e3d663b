"""evidence_log, evidence_heads, evidence_certs: the tamper-evident log (issue 18)

Revision ID: 0008_evidence
Revises: 0006_federation
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_evidence"
down_revision = "0006_federation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("row_key", sa.String(length=400), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("document_id", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_sig", sa.LargeBinary(), nullable=True),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_evidence_log_document", "evidence_log", ["document_id", "seq"])
    op.create_table(
        "evidence_heads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("seq_from", sa.BigInteger(), nullable=False),
        sa.Column("seq_to", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("cert_sha256", sa.String(length=64), nullable=False),
        sa.Column("tst", sa.LargeBinary(), nullable=True),
        sa.Column("tst_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tsa_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq_from"),
        sa.UniqueConstraint("prev_hash"),
        sa.UniqueConstraint("head_hash"),
    )
    op.create_table(
        "evidence_certs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )


def downgrade() -> None:
    op.drop_table("evidence_certs")
    op.drop_table("evidence_heads")
    op.drop_index("ix_evidence_log_document", table_name="evidence_log")
    op.drop_table("evidence_log")
