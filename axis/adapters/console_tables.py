"""Tables of the web console (issue 19): people, their sessions, failed sign-ins, and drafts
waiting for a leader's signature."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class User(Base):
    """A person: a clerk or leader of one agency, an archivist, or an operator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16))  # clerk | leader | archivist | operator
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), index=True)
    signer_id: Mapped[str | None] = mapped_column(String(100))  # a leader's AXIS_SIGNERS entry
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters
    # The TOTP second factor's secret (RFC 6238), encrypted under the hub's master key.
    totp_secret: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    password_set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
    copy of the database does not sign anyone in."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SignInFailure(Base):
    """A failed sign-in, counted per name and per address to slow down password guessing."""

    __tablename__ = "console_sign_in_failures"
    __table_args__ = (
        Index("ix_console_failures_name", "name", "at"),
        Index("ix_console_failures_address", "address", "at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Draft(Base):
    """A document on its way out: `checked` (a clerk saw the hub's findings; `pdf` holds the
    edXML package built, sent as it is), or `awaiting` a leader's signature (`pdf` holds the
    main PDF, `fields` the envelope), then `sent` or `refused`."""

    __tablename__ = "console_drafts"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), index=True)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # checked | awaiting | sent | refused
    fields: Mapped[dict] = mapped_column(JSON)  # the envelope fields of the compose form
    pdf_name: Mapped[str] = mapped_column(String(255))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(32))  # once sent


class DraftFile(Base):
    """An attachment of a draft awaiting a leader (the main PDF is the draft's own `pdf`):
    sent with it, in this order, once the leader signs."""

    __tablename__ = "console_draft_files"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("console_drafts.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    data: Mapped[bytes] = mapped_column(LargeBinary)
