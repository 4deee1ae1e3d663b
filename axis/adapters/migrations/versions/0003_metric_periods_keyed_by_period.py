"""metrics: metric_periods keyed by (grain, period, agency_code), WITHOUT ROWID on SQLite

The totals of every agency over a range read the rows of that range of periods: keyed period
first, they lie together (2-3x faster for a year of 500 agencies than through an index on
(grain, period) into a rowid table). One agency's rows go through ix_metric_periods_agency.
The table is rebuilt: a new one, the rows copied, the old one dropped, the new one renamed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COUNTERS = (
    "sent",
    "received",
    "accepted",
    "rejected",
    "bytes_sent",
    "bytes_received",
    "acknowledged",
    "ack_ms",
    "completed",
    "done_ms",
    "statuses",
    "revokes",
    "due",
    "on_time",
    "late",
)
COLUMNS = ("agency_code", "grain", "period", *COUNTERS)


def _columns() -> list[sa.Column]:
    return [
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in COUNTERS),
    ]


def _copy(source: str, target: str) -> None:
    cols = ", ".join(COLUMNS)
    op.execute(f"INSERT INTO {target} ({cols}) SELECT {cols} FROM {source}")


def upgrade() -> None:
    op.create_table(
        "metric_periods_v3",
        *_columns(),
        sa.PrimaryKeyConstraint("grain", "period", "agency_code", name="pk_metric_periods"),
        sqlite_with_rowid=False,
    )
    _copy("metric_periods", "metric_periods_v3")
    op.drop_index("ix_metric_periods_grain_period", table_name="metric_periods")
    op.drop_table("metric_periods")
    op.rename_table("metric_periods_v3", "metric_periods")
    op.create_index(
        "ix_metric_periods_agency",
        "metric_periods",
        ["agency_code", "grain", "period"],
        unique=False,
    )


def downgrade() -> None:
    op.create_table(
        "metric_periods_v2",
        *_columns(),
        sa.PrimaryKeyConstraint("agency_code", "grain", "period", name="metric_periods_v2_pkey"),
    )
    _copy("metric_periods", "metric_periods_v2")
    op.drop_index("ix_metric_periods_agency", table_name="metric_periods")
    op.drop_table("metric_periods")
    op.rename_table("metric_periods_v2", "metric_periods")
    op.create_index(
        "ix_metric_periods_grain_period", "metric_periods", ["grain", "period"], unique=False
    )
