"""What the store reaper removed, one row per run (axis.service.reaper): /metrics sums them, so
the counts survive restarts and agree between processes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime

_ID = BigInteger().with_variant(Integer, "sqlite")


class StoreReap(Base):
    __tablename__ = "store_reaps"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(100))  # "cli", or the worker's name
    objects: Mapped[int] = mapped_column(BigInteger, default=0)
    temp_files: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
