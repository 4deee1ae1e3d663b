"""Connected systems (the national model: one document-management system hosts many agencies)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime


class System(Base):
    __tablename__ = "systems"

    system_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    # The shared HMAC secret, Fernet-encrypted under the hub's master key (never in clear).
    secret_enc: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SystemAgency(Base):
    """An agency hosted by a system: the system sends as it and receives for it. An agency is
    hosted by one system at most."""

    __tablename__ = "system_agencies"

    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"), primary_key=True)
    system_id: Mapped[str] = mapped_column(ForeignKey("systems.system_id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
