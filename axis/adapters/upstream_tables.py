"""Tables of federation (issue 15): the upstream hub's directory, the packages to forward to it,
and the packages pulled from it.

A forward job is one accepted message (document or status) with recipients behind the upstream:
it is sent once, with all of them in `to`. Its states are push delivery's (axis.adapters.
push_tables): ready, leased (until `lease_expires_at`), done (the upstream accepted it: its DocId
in `upstream_doc_id`), dead (refused for good, or retried past `deadline_at`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class UpstreamAgency(Base):
    """An agency of the upstream directory (getSynchronizeUnit / getAgenciesList), cached.
    Local agencies win: a code in `agencies` is never routed upstream."""

    __tablename__ = "upstream_agencies"

    code: Mapped[str] = mapped_column(String(35), primary_key=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    parent_code: Mapped[str | None] = mapped_column(String(35))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int | None] = mapped_column(Integer)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ForwardJob(Base):
    __tablename__ = "forward_jobs"
    __table_args__ = (Index("ix_forward_jobs_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    # One job per message, ever: the package is sent once to all its far recipients.
    message_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(8))  # edoc | status
    sender_code: Mapped[str] = mapped_column(String(35))
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(8), default="ready")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))
    leased_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    upstream_doc_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)


class UpstreamInbound(Base):
    """A package pulled from the upstream: taken locally as `message_id`, then acknowledged
    upstream (`acked_at`). A row without acked_at is acknowledged again, never fetched again."""

    __tablename__ = "upstream_inbound"

    upstream_doc_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    message_id: Mapped[str | None] = mapped_column(String(32))
    sender_code: Mapped[str] = mapped_column(String(35), default="")
    pulled_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
