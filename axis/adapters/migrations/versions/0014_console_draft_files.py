"""console_draft_files: the attachments of a draft awaiting a leader's signature (issue 19)

Revision ID: console_draft_files
Revises: 0013_console
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "console_draft_files"
down_revision = "0013_console"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "console_draft_files",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("draft_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["draft_id"], ["console_drafts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_console_draft_files_draft_id", "console_draft_files", ["draft_id"])


def downgrade() -> None:
    op.drop_table("console_draft_files")
