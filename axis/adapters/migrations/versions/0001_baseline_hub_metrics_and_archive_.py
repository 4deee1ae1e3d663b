"""baseline: hub, metrics and archive catalog tables

Revision ID: 0001
Revises: -
Create Date: 2026-11-22 06:52:22.681326
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sa.String(length=35), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("parent_code", sa.String(length=35), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_index(op.f("ix_agencies_parent_code"), "agencies", ["parent_code"], unique=False)
    op.create_table(
        "documents",
        sa.Column("document_id", sa.String(length=300), nullable=False),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("first_message_id", sa.String(length=32), nullable=False),
        sa.Column("latest_message_id", sa.String(length=32), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_index(op.f("ix_documents_sender_code"), "documents", ["sender_code"], unique=False)
    op.create_table(
        "messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("document_id", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("business_type", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("about_message_id", sa.String(length=32), nullable=True),
        sa.Column("inline_body", sa.LargeBinary(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("promulgation_date", sa.String(length=10), nullable=True),
        sa.Column("due_date", sa.String(length=10), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sender_code", "sha256", name="uq_messages_sender_sha256"),
    )
    op.create_index(
        op.f("ix_messages_about_message_id"), "messages", ["about_message_id"], unique=False
    )
    op.create_index(
        "ix_messages_document", "messages", ["document_id", "received_at"], unique=False
    )
    op.create_index(op.f("ix_messages_received_at"), "messages", ["received_at"], unique=False)
    op.create_index(op.f("ix_messages_sender_code"), "messages", ["sender_code"], unique=False)
    op.create_table(
        "metric_codes",
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "grain", "period", "kind", "code"),
    )
    op.create_index(
        "ix_metric_codes_grain_period", "metric_codes", ["grain", "period"], unique=False
    )
    op.create_table(
        "metric_documents",
        sa.Column("document_id", sa.String(length=300), nullable=False),
        sa.Column("recipient_code", sa.String(length=35), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("sender_code", sa.String(length=35), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.String(length=10), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=2), nullable=True),
        sa.Column("last_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("statuses", sa.String(length=200), nullable=False),
        sa.Column("n_statuses", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("document_id", "recipient_code"),
    )
    op.create_index(
        "ix_metric_documents_due", "metric_documents", ["recipient_code", "due_at"], unique=False
    )
    op.create_index(
        "ix_metric_documents_recipient",
        "metric_documents",
        ["recipient_code", "sent_at"],
        unique=False,
    )
    op.create_index(
        "ix_metric_documents_sender", "metric_documents", ["sender_code", "sent_at"], unique=False
    )
    op.create_index("ix_metric_documents_sent", "metric_documents", ["sent_at"], unique=False)
    op.create_table(
        "metric_latency",
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("bucket", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "grain", "period", "kind", "bucket"),
    )
    op.create_table(
        "metric_periods",
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("grain", sa.String(length=1), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("sent", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("accepted", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("bytes_sent", sa.BigInteger(), nullable=False),
        sa.Column("bytes_received", sa.BigInteger(), nullable=False),
        sa.Column("acknowledged", sa.BigInteger(), nullable=False),
        sa.Column("ack_ms", sa.BigInteger(), nullable=False),
        sa.Column("completed", sa.BigInteger(), nullable=False),
        sa.Column("done_ms", sa.BigInteger(), nullable=False),
        sa.Column("statuses", sa.BigInteger(), nullable=False),
        sa.Column("revokes", sa.BigInteger(), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.Column("on_time", sa.BigInteger(), nullable=False),
        sa.Column("late", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "grain", "period"),
    )
    op.create_index(
        "ix_metric_periods_grain_period", "metric_periods", ["grain", "period"], unique=False
    )
    op.create_table(
        "timeline",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("document_id", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=True),
        sa.Column("agency_code", sa.String(length=35), nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.String(length=2), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("staff", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_message_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_timeline_document", "timeline", ["document_id", "id"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("agency_code", sa.String(length=35), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_code"],
            ["agencies.code"],
        ),
        sa.PrimaryKeyConstraint("key_id"),
    )
    op.create_index(op.f("ix_api_keys_agency_code"), "api_keys", ["agency_code"], unique=False)
    op.create_table(
        "deliveries",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("recipient_code", sa.String(length=35), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("message_id", "recipient_code", name="uq_delivery_message_recipient"),
    )
    op.create_index(
        "ix_deliveries_inbox", "deliveries", ["recipient_code", "pending", "seq"], unique=False
    )
    op.create_table(
        "archive_records",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("document_id", sa.String(length=128), nullable=False),
        sa.Column("file_code", sa.String(length=128), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("agency_name", sa.String(length=512), nullable=False),
        sa.Column("code_number", sa.String(length=32), nullable=False),
        sa.Column("code_notation", sa.String(length=128), nullable=False),
        sa.Column("number_key", sa.String(length=192), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=False),
        sa.Column("issued_place", sa.String(length=256), nullable=False),
        sa.Column("type_name", sa.String(length=256), nullable=False),
        sa.Column("type_key", sa.String(length=256), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("page_amount", sa.Integer(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("promulgation_amount", sa.Integer(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("signer_name", sa.String(length=256), nullable=False),
        sa.Column("signer_position", sa.String(length=256), nullable=False),
        sa.Column("signer_competence", sa.String(length=256), nullable=False),
        sa.Column("retention_years", sa.Integer(), nullable=True),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("retain_until", sa.Date(), nullable=True),
        sa.Column("access", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("package_sha256", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id"),
    )
    op.create_index(
        "ix_archive_records_agency_date",
        "archive_records",
        ["agency_id", "issued_date", "id"],
        unique=False,
    )
    op.create_index(
        "ix_archive_records_date", "archive_records", ["issued_date", "id"], unique=False
    )
    op.create_index(
        "ix_archive_records_document", "archive_records", ["document_id", "agency_id"], unique=False
    )
    op.create_index("ix_archive_records_file_code", "archive_records", ["file_code"], unique=False)
    op.create_index("ix_archive_records_number", "archive_records", ["number_key"], unique=False)
    op.create_index("ix_archive_records_retain", "archive_records", ["retain_until"], unique=False)
    op.create_index(
        "ix_archive_records_type", "archive_records", ["type_key", "issued_date"], unique=False
    )
    _create_archive_search()
    op.create_table(
        "archive_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["archive_records.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_archive_events_kind_at", "archive_events", ["kind", "at"], unique=False)
    op.create_index("ix_archive_events_record", "archive_events", ["record_id", "id"], unique=False)
    op.create_table(
        "archive_objects",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["archive_records.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_archive_objects_created", "archive_objects", ["created_at"], unique=False)
    op.create_index("ix_archive_objects_sha256", "archive_objects", ["sha256"], unique=False)
    op.create_index(
        "ux_archive_objects_record_name", "archive_objects", ["record_id", "name"], unique=True
    )
    op.create_table(
        "archive_recipients",
        sa.Column(
            "record_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("organ_id", sa.String(length=64), nullable=False),
        sa.Column("organ_name", sa.String(length=512), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["archive_records.id"],
        ),
        sa.PrimaryKeyConstraint("record_id", "organ_id"),
    )
    op.create_index("ix_archive_recipients_organ", "archive_recipients", ["organ_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_archive_recipients_organ", table_name="archive_recipients")
    op.drop_table("archive_recipients")
    op.drop_index("ux_archive_objects_record_name", table_name="archive_objects")
    op.drop_index("ix_archive_objects_sha256", table_name="archive_objects")
    op.drop_index("ix_archive_objects_created", table_name="archive_objects")
    op.drop_table("archive_objects")
    op.drop_index("ix_archive_events_record", table_name="archive_events")
    op.drop_index("ix_archive_events_kind_at", table_name="archive_events")
    op.drop_table("archive_events")
    op.drop_index("ix_archive_records_type", table_name="archive_records")
    op.drop_index("ix_archive_records_retain", table_name="archive_records")
    op.drop_index("ix_archive_records_number", table_name="archive_records")
    op.drop_index("ix_archive_records_file_code", table_name="archive_records")
    op.drop_index("ix_archive_records_document", table_name="archive_records")
    op.drop_index("ix_archive_records_date", table_name="archive_records")
    op.drop_index("ix_archive_records_agency_date", table_name="archive_records")
    _drop_archive_search()
    op.drop_table("archive_records")
    op.drop_index("ix_deliveries_inbox", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index(op.f("ix_api_keys_agency_code"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_timeline_document", table_name="timeline")
    op.drop_table("timeline")
    op.drop_index("ix_metric_periods_grain_period", table_name="metric_periods")
    op.drop_table("metric_periods")
    op.drop_table("metric_latency")
    op.drop_index("ix_metric_documents_sent", table_name="metric_documents")
    op.drop_index("ix_metric_documents_sender", table_name="metric_documents")
    op.drop_index("ix_metric_documents_recipient", table_name="metric_documents")
    op.drop_index("ix_metric_documents_due", table_name="metric_documents")
    op.drop_table("metric_documents")
    op.drop_index("ix_metric_codes_grain_period", table_name="metric_codes")
    op.drop_table("metric_codes")
    op.drop_index(op.f("ix_messages_sender_code"), table_name="messages")
    op.drop_index(op.f("ix_messages_received_at"), table_name="messages")
    op.drop_index("ix_messages_document", table_name="messages")
    op.drop_index(op.f("ix_messages_about_message_id"), table_name="messages")
    op.drop_table("messages")
    op.drop_index(op.f("ix_documents_sender_code"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(op.f("ix_agencies_parent_code"), table_name="agencies")
    op.drop_table("agencies")


def _create_archive_search() -> None:
    """Full-text search of the catalog (as archive.catalog attaches it to create_all)."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS archive_records_fts USING fts5("
            "search_text, content='archive_records', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
    elif dialect == "postgresql":
        op.execute(
            "ALTER TABLE archive_records ADD COLUMN search_tsv tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_archive_records_tsv ON archive_records "
            "USING GIN (search_tsv)"
        )


def _drop_archive_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS archive_records_fts")
