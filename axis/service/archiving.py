"""Every accepted document becomes an archival record (archive/), in the hub's transaction.

Objects go to the store first (content-addressed, so a retried submission rewrites nothing),
then the record goes in with the message: a store failure answers 503 and nothing is
acknowledged; a failed transaction leaves objects no record points to, invisible to archivists.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from archive.records import (
    RecordDraft,
    RecordRows,
    add_record,
    archive_package,
    record_rows,
    revoke_document,
)
from archive.store import StoreError
from axis.service.context import Hub
from axis.service.failures import store_failed
from formats.model import DocumentPackage


def store_record_objects(
    hub: Hub,
    pkg: DocumentPackage,
    raw: bytes,
    *,
    message_id: str,
    sha256: str,
    reports: dict | None,
    accepted_at: datetime,
) -> tuple[RecordDraft, RecordRows]:
    """Put the record's objects in the store; return its draft and catalog rows for `add`
    (made here, outside the write transaction)."""
    report = json.dumps(reports, ensure_ascii=False, sort_keys=True).encode() if reports else None
    settings = hub.settings
    years = None if settings.archive_permanent else settings.archive_retention_years
    try:
        draft = archive_package(
            hub.store,
            pkg,
            package=raw,
            message_id=message_id,
            package_sha256=sha256,  # hashed once, on arrival
            report=report,
            retention_years=years,
            permanent=settings.archive_permanent,
            access=settings.archive_access,
            accepted_at=accepted_at,
        )
    except StoreError as exc:
        raise store_failed(exc, f"message {message_id}") from exc
    return draft, record_rows(draft)


def add(session: Session, record: tuple[RecordDraft, RecordRows]) -> None:
    # Core statements on the unit of work's connection: the ORM session would autoflush and
    # re-key each of the record's statements.
    draft, rows = record
    add_record(session.connection(), draft, rows=rows, new=True)  # a message id just made


def revoke(session: Session, document_id: str, sender: str, reason: str) -> None:
    """A revoke freezes the sender's record and marks the recipients' copies revoked."""
    revoke_document(session, document_id, sender, actor=f"agency:{sender}", reason=reason)
