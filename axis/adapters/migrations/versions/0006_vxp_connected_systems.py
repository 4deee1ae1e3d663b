"""systems and system_agencies: connected systems (VXP systemid + encrypted shared secret)

Revision ID: 0006_vxp
Revises: 0005
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_vxp"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "systems",
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("secret_enc", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("system_id"),
    )
    op.create_table(
        "system_agencies",
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("system_id", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_code"], ["agencies.code"]),
        sa.ForeignKeyConstraint(["system_id"], ["systems.system_id"]),
        sa.PrimaryKeyConstraint("agency_code"),
    )
    op.create_index("ix_system_agencies_system_id", "system_agencies", ["system_id"])


def downgrade() -> None:
    op.drop_index("ix_system_agencies_system_id", table_name="system_agencies")
    op.drop_table("system_agencies")
    op.drop_table("systems")
