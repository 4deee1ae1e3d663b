"""The hub's tables (SQLAlchemy 2 ORM), in portable SQL: SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Stores aware UTC datetimes; SQLite drops tzinfo, so put it back on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    pass


class Agency(Base):
    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(35), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    parent_code: Mapped[str | None] = mapped_column(String(35), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the secret part
    role: Mapped[str] = mapped_column(String(16))  # agency | operator | archivist | signer
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), index=True)
    signer_id: Mapped[str | None] = mapped_column(String(100))  # see AXIS_SIGNERS
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Document(Base):
    """One official document, across its versions (update/replace) and its revoke."""

    __tablename__ = "documents"

    document_id: Mapped[str] = mapped_column(String(300), primary_key=True)
    sender_code: Mapped[str] = mapped_column(String(35), index=True)
    first_message_id: Mapped[str] = mapped_column(String(32))
    latest_message_id: Mapped[str] = mapped_column(String(32))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Message(Base):
    """A package the hub accepted: a document (edoc) or a status package."""

    __tablename__ = "messages"
    __table_args__ = (
        # A package an agency sends twice is found by its bytes; packages the hub builds itself
        # (automatic 01, statuses sent as JSON) may repeat bytes and carry no resend key.
        UniqueConstraint("sender_code", "resend_key", name="uq_messages_sender_resend_key"),
        Index("ix_messages_document", "document_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # edoc | status
    sender_code: Mapped[str] = mapped_column(String(35), index=True)
    document_id: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    resend_key: Mapped[str | None] = mapped_column(String(64))  # sha256 of what a client sent
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    business_type: Mapped[int] = mapped_column(Integer, default=0)
    # For a status: its code and the document message it speaks about.
    status_code: Mapped[str | None] = mapped_column(String(2))
    about_message_id: Mapped[str | None] = mapped_column(String(32), index=True)
    # Small packages (statuses) live in the row; documents live in the object store by sha256.
    inline_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    findings: Mapped[list] = mapped_column(JSON, default=list)
    report: Mapped[dict | None] = mapped_column(JSON)
    code: Mapped[str] = mapped_column(String(100), default="")  # number and symbol, 15/QĐ-UBND
    promulgation_date: Mapped[str | None] = mapped_column(String(10))  # yyyy/MM/dd as sent
    due_date: Mapped[str | None] = mapped_column(String(10))
    # Declared so one flush inserts a message before the deliveries that reference it.
    deliveries: Mapped[list[Delivery]] = relationship(
        lazy="raise", viewonly=False, back_populates=None
    )


class Delivery(Base):
    """One message waiting for (or acknowledged by) one recipient agency."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("message_id", "recipient_code", name="uq_delivery_message_recipient"),
        Index("ix_deliveries_inbox", "recipient_code", "pending", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id"))
    recipient_code: Mapped[str] = mapped_column(String(35))
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the recipient's system last reported updateStatus `fail` (VXP): listed after the rest.
    fetch_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TimelineEvent(Base):
    """What happened to a document for one recipient, beyond its deliveries: statuses, recalls.

    Keyed by document, not message: statuses name the document (ResponseFor/DocumentId), and a
    revoke or update is another message of the same document.
    """

    __tablename__ = "timeline"
    __table_args__ = (Index("ix_timeline_document", "document_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    document_id: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(32))  # the message it concerns
    agency_code: Mapped[str] = mapped_column(String(35))  # the recipient it concerns
    event: Mapped[str] = mapped_column(String(16))  # status | revoke | update | replace
    status_code: Mapped[str | None] = mapped_column(String(2))
    description: Mapped[str] = mapped_column(Text, default="")
    staff: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    status_message_id: Mapped[str | None] = mapped_column(String(32))
