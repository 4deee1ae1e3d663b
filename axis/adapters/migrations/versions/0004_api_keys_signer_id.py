"""api_keys.signer_id: a signer key names the configured signer (AXIS_SIGNERS) it signs as

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("signer_id", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("signer_id")
