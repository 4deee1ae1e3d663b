"""Tables of push delivery: webhooks, the job of each delivery to push, and every attempt.

A job is one delivery (message x recipient) to POST to the recipient's webhook. Its states:
  ready   waiting for `next_attempt_at`
  leased  a worker holds it until `lease_expires_at` (a killed worker's job is claimed again
          once the lease expires)
  done    the endpoint answered 2xx (the recipient's acknowledgement), or the delivery was
          acknowledged by pull first
  dead    retried until `deadline_at` without success: a dead letter, for an operator to retry
  dropped the recipient no longer has a webhook; pull still works
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime

JOB_STATES = ("ready", "leased", "done", "dead", "dropped")

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid


class Webhook(Base):
    """Where an agency wants its packages pushed, and the secret the hub signs them with."""

    __tablename__ = "webhooks"

    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    # Kept in clear: the hub must compute HMACs with it (shown once to the agency, like a key).
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PushJob(Base):
    __tablename__ = "push_jobs"
    __table_args__ = (
        # The claim query: due jobs by state and time.
        Index("ix_push_jobs_due", "state", "next_attempt_at"),
        Index("ix_push_jobs_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    # One job per delivery, ever: a second enqueue of the same delivery fails.
    delivery_seq: Mapped[int] = mapped_column(ForeignKey("deliveries.seq"), unique=True)
    message_id: Mapped[str] = mapped_column(String(32))
    recipient_code: Mapped[str] = mapped_column(String(35))
    state: Mapped[str] = mapped_column(String(8), default="ready")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)  # dead letter after this
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(32))  # fences a late, expired worker
    leased_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class PushAttempt(Base):
    """One POST to a webhook (or a lease lost by a worker that died), for the timeline."""

    __tablename__ = "push_attempts"
    __table_args__ = (Index("ix_push_attempts_message", "message_id", "id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("push_jobs.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(32))
    recipient_code: Mapped[str] = mapped_column(String(35))
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per job
    worker: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(2000))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    http_status: Mapped[int | None] = mapped_column(Integer)
    # delivered | http_error | timeout | connection | lease_expired | error
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
