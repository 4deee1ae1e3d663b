"""The evidence log (issue 18): entries written in the transaction of the fact they record,
heads sealing them in batches (Merkle root, hub signature, RFC 3161 timestamp), and every
certificate the hub ever signed with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from axis.adapters.tables import Base, UTCDateTime


class EvidenceEntry(Base):
    """One fact: a row of the hub as it was written (its canonical content and hash), and the
    receipt signed for it, if any. `seq` orders the leaves of the heads' Merkle trees."""

    __tablename__ = "evidence_log"
    __table_args__ = (Index("ix_evidence_log_document", "document_id", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    event: Mapped[str] = mapped_column(String(32))  # accepted | delivered | acknowledged | ...
    subject: Mapped[str] = mapped_column(String(32))  # the table: messages | deliveries | ...
    row_key: Mapped[str] = mapped_column(String(400))
    message_id: Mapped[str | None] = mapped_column(String(32))
    document_id: Mapped[str] = mapped_column(String(300))
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the row as written
    row_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of content
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)  # canonical receipt bytes
    receipt_sig: Mapped[bytes | None] = mapped_column(LargeBinary)  # detached CMS (DER)
    entry_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the entry's canonical form


class EvidenceHead(Base):
    """A batch of entries (seq_from..seq_to, `count` present) sealed: Merkle root, the previous
    head's hash, the hub's signature over the canonical head, and a TSA's token over its hash
    (None while the TSA is away: timestamped later, the gap visible)."""

    __tablename__ = "evidence_heads"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    seq_from: Mapped[int] = mapped_column(BigInteger, unique=True)
    seq_to: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    root: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)
    head_hash: Mapped[str] = mapped_column(String(64), unique=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    cert_sha256: Mapped[str] = mapped_column(String(64))
    tst: Mapped[bytes | None] = mapped_column(LargeBinary)
    tst_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tsa_error: Mapped[str | None] = mapped_column(Text)


class EvidenceCert(Base):
    """Every certificate the hub signed evidence with (rotation keeps the old ones)."""

    __tablename__ = "evidence_certs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
