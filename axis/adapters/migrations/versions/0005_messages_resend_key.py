"""messages.resend_key: resends are found by the bytes a client sent, not by every package

Packages the hub builds itself (the automatic 01, statuses sent as JSON) may have the same
bytes twice in one second; only what an agency sent must be unique per sender.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("resend_key", sa.String(length=64), nullable=True))
    # Every package received so far came from a client, except the statuses the hub built.
    op.execute("UPDATE messages SET resend_key = sha256 WHERE kind = 'edoc' OR status_code <> '01'")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_sender_sha256", type_="unique")
        batch.create_unique_constraint(
            "uq_messages_sender_resend_key", ["sender_code", "resend_key"]
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_sender_resend_key", type_="unique")
        batch.drop_column("resend_key")
        batch.create_unique_constraint("uq_messages_sender_sha256", ["sender_code", "sha256"])
