"""The archive's catalog: its own SQLAlchemy `MetaData`, tables prefixed `archive_`.

The hub creates these tables in its own database (`metadata.create_all(engine)`) and writes a
record in the same transaction as the message it accepts, so a record is never visible for a
message that was not accepted, and never missing for one that was.

Full-text search is dialect-specific DDL attached to the records table, so `create_all`
builds it too:
- SQLite: an FTS5 table `archive_records_fts` over `search_text` (external content, rowid =
  record id), kept in sync by `archive.records.add_record` (records are immutable: no update
  of the searchable text ever happens after insertion).
- PostgreSQL: a stored generated `tsvector` column `search_tsv` (config 'simple') with a GIN
  index, so a search never re-parses the text of candidate rows.
`search_text` already holds accent-folded text (see `archive.textfold`), hence 'simple' and no
`unaccent`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    DDL,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
)

metadata = MetaData()

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite: INTEGER PRIMARY KEY is the rowid

# Record states.
ACTIVE = "active"
FROZEN = "frozen"  # the sender's record after a revoke: kept, read-only, never served as current
REVOKED = "revoked"  # a recipient's copy after a revoke
DISPOSED = "disposed"  # objects destroyed after an approved disposition; metadata kept
STATES = (ACTIVE, FROZEN, REVOKED, DISPOSED)

# Object roles.
PACKAGE = "package"
ATTACHMENT = "attachment"
REPORT = "report"
HISTORY = "history"
ENTRY = "entry"  # a file inside an attachment zipped the national SDK's way
ROLES = (PACKAGE, ATTACHMENT, REPORT, HISTORY, ENTRY)

# Event kinds.
EVENT_KINDS = (
    "create",
    "access",
    "download",
    "audit",
    "freeze",
    "revoke",
    "seal",
    "legal_hold",
    "disposition",
    "export",
)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which has no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive catalog; use UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


records = Table(
    "archive_records",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),  # the hub's message id
    Column("document_id", String(128), nullable=False),  # edXML DocumentId
    Column("file_code", String(128), nullable=False),  # hồ sơ: OrganId.year.notation by default
    Column("agency_id", String(64), nullable=False),  # the issuing agency (sender OrganId)
    Column("agency_name", String(512), nullable=False, default=""),
    Column("code_number", String(32), nullable=False, default=""),
    Column("code_notation", String(128), nullable=False, default=""),
    Column("number_key", String(192), nullable=False, default=""),  # fold("12/QĐ-UBND")
    Column("issued_date", Date, nullable=False),  # promulgation date (else acceptance date)
    Column("issued_place", String(256), nullable=False, default=""),
    Column("type_name", String(256), nullable=False, default=""),
    Column("type_key", String(256), nullable=False, default=""),  # fold(type_name)
    Column("subject", Text, nullable=False, default=""),
    Column("content", Text, nullable=False, default=""),  # edXML Content (summary)
    Column("language", String(16), nullable=False, default="vi"),
    Column("page_amount", Integer),
    Column("priority", Integer),
    Column("promulgation_amount", Integer),
    Column("due_date", Date),
    Column("signer_name", String(256), nullable=False, default=""),
    Column("signer_position", String(256), nullable=False, default=""),
    Column("signer_competence", String(256), nullable=False, default=""),
    Column("retention_years", Integer),  # None when permanent
    Column("permanent", Boolean, nullable=False, default=False),
    Column("retain_until", Date),  # None when permanent
    Column("access", String(32), nullable=False, default="public"),  # access regime
    Column("state", String(16), nullable=False, default=ACTIVE),
    Column("legal_hold", Boolean, nullable=False, default=False),
    Column("package_sha256", String(64), nullable=False),
    Column("accepted_at", UTCDateTime, nullable=False),
    Column("sealed_at", UTCDateTime),  # status history sealed into a history object
    Column("state_changed_at", UTCDateTime),
    Column("search_text", Text, nullable=False, default=""),  # folded; see archive.textfold
    Index("ix_archive_records_agency_date", "agency_id", "issued_date", "id"),
    Index("ix_archive_records_date", "issued_date", "id"),
    Index("ix_archive_records_document", "document_id", "agency_id"),
    Index("ix_archive_records_file_code", "file_code"),
    Index("ix_archive_records_number", "number_key"),
    Index("ix_archive_records_type", "type_key", "issued_date"),
    Index("ix_archive_records_retain", "retain_until"),
)

recipients = Table(
    "archive_recipients",
    metadata,
    Column("record_id", ID, ForeignKey("archive_records.id"), primary_key=True),
    Column("organ_id", String(64), primary_key=True),
    Column("organ_name", String(512), nullable=False, default=""),
    Column("state", String(16), nullable=False, default=ACTIVE),  # active | revoked
    Column("state_changed_at", UTCDateTime),
    Index("ix_archive_recipients_organ", "organ_id"),
)

objects = Table(
    "archive_objects",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("record_id", ID, ForeignKey("archive_records.id"), nullable=False),
    Column("name", String(512), nullable=False),  # unique within a record
    Column("role", String(16), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(128), nullable=False, default="application/octet-stream"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("destroyed_at", UTCDateTime),  # set by an approved disposition
    Index("ux_archive_objects_record_name", "record_id", "name", unique=True),
    Index("ix_archive_objects_sha256", "sha256"),
    Index("ix_archive_objects_created", "created_at"),
)

events = Table(
    "archive_events",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("record_id", ID, ForeignKey("archive_records.id")),  # None: a store-wide event
    Column("kind", String(32), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", Text, nullable=False, default=""),  # JSON
    Index("ix_archive_events_record", "record_id", "id"),
    Index("ix_archive_events_kind_at", "kind", "at"),
)

# -- full-text search DDL -------------------------------------------------------------------
FTS_TABLE = "archive_records_fts"

event.listen(
    records,
    "after_create",
    DDL(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
        "search_text, content='archive_records', content_rowid='id', "
        "tokenize='unicode61 remove_diacritics 2')"
    ).execute_if(dialect="sqlite"),
)
event.listen(
    records,
    "before_drop",
    DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"),
)
event.listen(
    records,
    "after_create",
    DDL(
        "ALTER TABLE archive_records ADD COLUMN search_tsv tsvector "
        "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    records,
    "after_create",
    DDL(
        "CREATE INDEX IF NOT EXISTS ix_archive_records_tsv ON archive_records "
        "USING GIN (search_tsv)"
    ).execute_if(dialect="postgresql"),
)


def dialect_of(conn) -> str:  # type: ignore[no-untyped-def]
    """The dialect name of a Connection or an ORM Session."""
    if hasattr(conn, "dialect"):
        return conn.dialect.name
    return conn.get_bind().dialect.name
