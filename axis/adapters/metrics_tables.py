"""Tables of the per-agency figures, on the hub's `Base` so migrations and create_all see them.

Counters are kept per agency and per period of the Asia/Ho_Chi_Minh calendar, at four grains:
month 'YYYY-MM', day 'YYYY-MM-DD', hour 'YYYY-MM-DDTHH', minute 'YYYY-MM-DDTHH:MM'. Each label
is a prefix of the finer ones, so a range is answered exactly by a few range scans (full months,
then the days, hours and minutes at its edges) and any grain rolls up by truncating the label.
The agency '' holds the whole hub, so hub-wide series and percentiles read few rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime

HUB = ""  # the pseudo-agency of hub-wide totals

# Columns of MetricPeriod that count (all summed by the queries, in this order).
COUNTERS = (
    "sent",  # documents accepted from the agency (not its revoke or update packages)
    "received",  # documents delivered to the agency
    "accepted",  # every package accepted from the agency (documents and statuses)
    "rejected",  # packages refused with a 4xx
    "bytes_sent",  # size of the packages accepted from the agency
    "bytes_received",  # size of the documents delivered to the agency
    "acknowledged",  # documents the agency acknowledged
    "ack_ms",  # sum of submission → acknowledgement times of those, in ms
    "completed",  # documents the agency completed (first status 06 per document)
    "done_ms",  # sum of submission → completion times, in ms
    "statuses",  # status packages the agency sent (any code)
    "revokes",  # revoke packages the agency sent
    # Counted at the due instant (the last minute of the DueDate day), per recipient:
    "due",  # documents due then (revoked ones taken back out)
    "on_time",  # ... completed (06) by then
    "late",  # ... completed after it
)


class MetricPeriod(Base):
    """Keyed period first: the rows of every agency for a range of periods lie together, so a
    year's totals for 500 agencies read 6,000 adjacent rows (on SQLite the table is the key's
    B-tree, WITHOUT ROWID). One agency's rows are found through ix_metric_periods_agency."""

    __tablename__ = "metric_periods"
    __table_args__ = (
        PrimaryKeyConstraint("grain", "period", "agency_code", name="pk_metric_periods"),
        Index("ix_metric_periods_agency", "agency_code", "grain", "period"),
        {"sqlite_with_rowid": False},
    )

    agency_code: Mapped[str] = mapped_column(String(35))
    grain: Mapped[str] = mapped_column(String(1))  # M d h m
    period: Mapped[str] = mapped_column(String(16))
    sent: Mapped[int] = mapped_column(BigInteger, default=0)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_sent: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_received: Mapped[int] = mapped_column(BigInteger, default=0)
    acknowledged: Mapped[int] = mapped_column(BigInteger, default=0)
    ack_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    completed: Mapped[int] = mapped_column(BigInteger, default=0)
    done_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    statuses: Mapped[int] = mapped_column(BigInteger, default=0)
    revokes: Mapped[int] = mapped_column(BigInteger, default=0)
    due: Mapped[int] = mapped_column(BigInteger, default=0)
    on_time: Mapped[int] = mapped_column(BigInteger, default=0)
    late: Mapped[int] = mapped_column(BigInteger, default=0)


class MetricCode(Base):
    """Counts by code per period: rejections by finding code (kind 'R'), statuses by code ('S')."""

    __tablename__ = "metric_codes"
    __table_args__ = (Index("ix_metric_codes_grain_period", "grain", "period"),)

    agency_code: Mapped[str] = mapped_column(String(35), primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class MetricLatency(Base):
    """Latency histograms per period: kind 'A' submission → ack, 'C' submission → completion (06).

    Bucket b holds times in [B**b, B**(b+1)) ms with B = 2**(1/8), bucket 0 also everything
    below 1 ms: a percentile read at a bucket's geometric middle is within ±4.4% of the truth.
    """

    __tablename__ = "metric_latency"

    agency_code: Mapped[str] = mapped_column(String(35), primary_key=True)
    grain: Mapped[str] = mapped_column(String(1), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    bucket: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, default=0)


class MetricDocument(Base):
    """One document delivered to one recipient, with its times: the list behind every figure
    (and the exact latencies the histograms approximate)."""

    __tablename__ = "metric_documents"
    __table_args__ = (
        Index("ix_metric_documents_sender", "sender_code", "sent_at"),
        Index("ix_metric_documents_recipient", "recipient_code", "sent_at"),
        Index("ix_metric_documents_sent", "sent_at"),
        Index("ix_metric_documents_due", "recipient_code", "due_at"),
    )

    document_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    recipient_code: Mapped[str] = mapped_column(String(35), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32))
    sender_code: Mapped[str] = mapped_column(String(35))
    code: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_date: Mapped[str | None] = mapped_column(String(10))  # yyyy/MM/dd as sent
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # end of that day, +07:00
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(2))
    last_status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    statuses: Mapped[str] = mapped_column(String(200), default="")  # "01,03,06" in order
    n_statuses: Mapped[int] = mapped_column(Integer, default=0)
