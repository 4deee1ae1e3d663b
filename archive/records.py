"""Archival records: every accepted message becomes one, with its objects and its events.

The hub's walk, for one accepted document package:

    draft = archive_package(store, pkg, package=raw_bytes, report=report_json_bytes,
                            message_id=msg_id, retention_years=10)   # objects now in the store
    with engine.begin() as conn:                                      # the hub's transaction
        add_record(conn, draft)                                       # + the hub's own rows

Objects are put first (content-addressed, so a retry after a failed transaction is harmless;
an object without a record is invisible to archivists), then the record is inserted in the
same transaction as the message, so no half-written record is ever visible.

Retention is counted, as archivists do, from 1 January of the year after the document's year:
a 10-year document of 2024 may be destroyed from 2035-01-01. Permanent records get no
`retain_until` in the catalog; their objects get `PERMANENT_STORE_YEARS` of COMPLIANCE
retention in the store (S3 needs a date), and disposition refuses them regardless.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, BinaryIO

from sqlalchemy import insert, or_, select, update
from sqlalchemy import text as sql_text

from archive import catalog as c
from archive.store import ObjectStore, sha256_hex
from archive.textfold import fold, search_form
from formats.model import DocumentPackage

PERMANENT_STORE_YEARS = 100
SEARCH_CONTENT_CHARS = 20_000  # the folded copy of Content kept for full-text search
PACKAGE_NAME = "package.edxml"
REPORT_NAME = "validation-report.json"
HISTORY_NAME = "status-history.json"


class ArchiveError(Exception):
    """A catalog operation that cannot be done (the message says why)."""


class RecordNotFound(ArchiveError, LookupError):
    pass


@dataclass(frozen=True)
class ObjectRef:
    name: str  # unique within a record: "package.edxml", an attachment's file name ...
    sha256: str
    size: int
    role: str  # catalog.PACKAGE | ATTACHMENT | REPORT | HISTORY
    content_type: str = "application/octet-stream"


@dataclass
class RecordDraft:
    """A record ready to insert: the archival metadata of Circular 02/2019 plus its objects."""

    message_id: str
    document_id: str
    agency_id: str
    package_sha256: str
    issued_date: date
    accepted_at: datetime
    file_code: str = ""
    agency_name: str = ""
    code_number: str = ""
    code_notation: str = ""
    issued_place: str = ""
    type_name: str = ""
    subject: str = ""
    content: str = ""
    language: str = "vi"
    page_amount: int | None = None
    priority: int | None = None
    promulgation_amount: int | None = None
    due_date: date | None = None
    signer_name: str = ""
    signer_position: str = ""
    signer_competence: str = ""
    recipients: list[tuple[str, str]] = field(default_factory=list)  # (organ_id, organ_name)
    retention_years: int | None = None
    permanent: bool = False
    access: str = "public"
    objects: list[ObjectRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.permanent == (self.retention_years is not None):
            raise ValueError("give exactly one of retention_years or permanent=True")
        if self.retention_years is not None and self.retention_years < 0:
            raise ValueError("retention_years must be >= 0")
        if not self.file_code:
            self.file_code = default_file_code(
                self.agency_id, self.issued_date.year, self.code_notation
            )

    @property
    def number_symbol(self) -> str:
        if self.code_notation:
            return f"{self.code_number}/{self.code_notation}"
        return self.code_number

    @property
    def retain_until(self) -> date | None:
        return retention_deadline(self.issued_date, self.retention_years, self.permanent)

    def store_retain_until(self) -> datetime:
        """The COMPLIANCE retention date to give the store for this record's objects."""
        until = self.retain_until
        if until is None:
            return self.accepted_at + timedelta(days=365 * PERMANENT_STORE_YEARS)
        return datetime.combine(until, time(), tzinfo=UTC)

    def search_text(self) -> str:
        parts = [
            self.number_symbol,
            self.type_name,
            self.subject,
            self.agency_name,
            self.signer_name,
            self.issued_place,
            self.document_id,
            self.content[:SEARCH_CONTENT_CHARS],
        ]
        return search_form(" ".join(p for p in parts if p))


def retention_deadline(issued: date, years: int | None, permanent: bool) -> date | None:
    """First day the record may be destroyed: 1 January of (document year + 1 + years)."""
    if permanent or years is None:
        return None
    return date(issued.year + 1 + years, 1, 1)


def default_file_code(agency_id: str, year: int, notation: str) -> str:
    """A hồ sơ per agency, year and kind of document (notation without its number)."""
    kind = notation.split("/")[-1].strip() or "VB"
    return f"{agency_id}.{year}.{kind}"


# -- objects ---------------------------------------------------------------------------------
def package_objects(
    pkg: DocumentPackage,
    *,
    package: bytes,
    report: bytes | None = None,
    package_sha256: str | None = None,
) -> tuple[list[ObjectRef], dict[str, bytes]]:
    """The objects of one package (refs, and their bytes by SHA-256) — hashing only what the
    parser and the caller did not already hash (pass `package_sha256` when it is known)."""
    digest = package_sha256 or sha256_hex(package)
    refs = [ObjectRef(PACKAGE_NAME, digest, len(package), c.PACKAGE, "application/xml")]
    blobs = {refs[0].sha256: package}
    used = {PACKAGE_NAME, REPORT_NAME, HISTORY_NAME}
    for i, att in enumerate(pkg.attachments, start=1):
        name = att.name or f"attachment-{i}"
        content_type = att.content_type or "application/octet-stream"
        if att.entries:
            # Zipped the SDK's way ("x.doc" holding a zip): the bytes as sent, named for what
            # they are, then each file inside with its own name, type and digest.
            if not name.lower().endswith(".zip"):
                name += ".zip"
            content_type = "application/zip"
        refs.append(
            ObjectRef(
                _unique_name(name, used), att.sha256, len(att.data), c.ATTACHMENT, content_type
            )
        )
        blobs[att.sha256] = att.data
        for n, entry in enumerate(att.entries, start=1):
            refs.append(
                ObjectRef(
                    _unique_name(entry.name or f"{name}-{n}", used),
                    entry.sha256,
                    len(entry.data),
                    c.ENTRY,
                    entry.content_type or "application/octet-stream",
                )
            )
            blobs[entry.sha256] = entry.data
    if report is not None:
        ref = ObjectRef(REPORT_NAME, sha256_hex(report), len(report), c.REPORT, "application/json")
        refs.append(ref)
        blobs[ref.sha256] = report
    return refs, blobs


def _unique_name(name: str, used: set[str]) -> str:
    # Attachment names come from the sender: keep them readable but never path-like.
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".") or "attachment"
    base = base[:200]
    candidate, n = base, 1
    while candidate in used:
        n += 1
        stem, dot, ext = base.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot and stem else f"{base}-{n}"
    used.add(candidate)
    return candidate


def put_objects(store: ObjectStore, draft: RecordDraft, blobs: Mapping[str, bytes]) -> None:
    """Put every object of a draft in the store under the record's COMPLIANCE retention."""
    until: datetime | None = draft.store_retain_until()
    if until is not None and until <= datetime.now(UTC):
        until = None  # already past (an old document archived late): S3 refuses past dates
    for ref in draft.objects:
        store.put(blobs[ref.sha256], key=ref.sha256, retain_until=until)


# -- drafts ----------------------------------------------------------------------------------
def record_from_package(
    pkg: DocumentPackage,
    *,
    message_id: str,
    package_sha256: str,
    objects: Sequence[ObjectRef],
    retention_years: int | None = None,
    permanent: bool = False,
    access: str = "public",
    accepted_at: datetime | None = None,
    file_code: str = "",
    language: str = "vi",
) -> RecordDraft:
    """The archival record of an accepted document package (metadata of Circular 02/2019)."""
    accepted_at = accepted_at or datetime.now(UTC)
    if not any(o.role == c.PACKAGE and o.sha256 == package_sha256 for o in objects):
        raise ValueError("objects must include the package itself (role 'package')")
    issued = pkg.promulgation.date or accepted_at.astimezone(UTC).date()
    return RecordDraft(
        message_id=message_id,
        document_id=pkg.document_id,
        agency_id=pkg.sender.organ_id,
        agency_name=pkg.sender.organ_name,
        package_sha256=package_sha256,
        issued_date=issued,
        accepted_at=accepted_at,
        file_code=file_code,
        code_number=pkg.code.number,
        code_notation=pkg.code.notation,
        issued_place=pkg.promulgation.place,
        type_name=pkg.document_type.type_name,
        subject=pkg.subject,
        content=pkg.content,
        language=language,
        page_amount=pkg.other.page_amount,
        priority=pkg.other.priority,
        promulgation_amount=pkg.other.promulgation_amount,
        due_date=pkg.due_date,
        signer_name=pkg.signer.full_name,
        signer_position=pkg.signer.position,
        signer_competence=pkg.signer.competence,
        recipients=[(r.organ_id, r.organ_name) for r in pkg.recipients],
        retention_years=retention_years,
        permanent=permanent,
        access=access,
        objects=list(objects),
    )


def archive_package(
    store: ObjectStore,
    pkg: DocumentPackage,
    *,
    package: bytes,
    message_id: str,
    report: bytes | None = None,
    retention_years: int | None = None,
    permanent: bool = False,
    access: str = "public",
    accepted_at: datetime | None = None,
    file_code: str = "",
    package_sha256: str | None = None,
) -> RecordDraft:
    """Put a package's objects in the store and return the draft to `add_record`.
    Raises `StoreUnavailable` (the hub answers 503 and acknowledges nothing)."""
    refs, blobs = package_objects(
        pkg, package=package, report=report, package_sha256=package_sha256
    )
    draft = record_from_package(
        pkg,
        message_id=message_id,
        package_sha256=refs[0].sha256,
        objects=refs,
        retention_years=retention_years,
        permanent=permanent,
        access=access,
        accepted_at=accepted_at,
        file_code=file_code,
    )
    put_objects(store, draft, blobs)
    return draft


# -- writing to the catalog ------------------------------------------------------------------
def draft_row(draft: RecordDraft) -> dict[str, Any]:
    """The archive_records row of a draft (also used by bulk loaders)."""
    return {
        "message_id": draft.message_id,
        "document_id": draft.document_id,
        "file_code": draft.file_code,
        "agency_id": draft.agency_id,
        "agency_name": draft.agency_name,
        "code_number": draft.code_number,
        "code_notation": draft.code_notation,
        "number_key": fold(draft.number_symbol),
        "issued_date": draft.issued_date,
        "issued_place": draft.issued_place,
        "type_name": draft.type_name,
        "type_key": fold(draft.type_name),
        "subject": draft.subject,
        "content": draft.content,
        "language": draft.language,
        "page_amount": draft.page_amount,
        "priority": draft.priority,
        "promulgation_amount": draft.promulgation_amount,
        "due_date": draft.due_date,
        "signer_name": draft.signer_name,
        "signer_position": draft.signer_position,
        "signer_competence": draft.signer_competence,
        "retention_years": draft.retention_years,
        "permanent": draft.permanent,
        "retain_until": draft.retain_until,
        "access": draft.access,
        "state": c.ACTIVE,
        "legal_hold": False,
        "package_sha256": draft.package_sha256,
        "accepted_at": draft.accepted_at,
        "search_text": draft.search_text(),
    }


def fit(table, row: dict[str, Any]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A row that the table accepts on every engine: text without NUL, cut to the column's
    length (PostgreSQL refuses both; a sender's over-long field must not fail the hub's
    transaction — the package object keeps the full value)."""
    out = dict(row)
    for col in table.columns:
        value = out.get(col.name)
        if isinstance(value, str):
            value = value.replace("\x00", "")
            length = getattr(col.type, "length", None)
            out[col.name] = value[:length] if length else value
    return out


# Built once: on the hub's hot path, building and keying a statement per call cost more than
# executing it.
_INSERT_RECORD = insert(c.records).returning(c.records.c.id)
_INSERT_RECIPIENT = insert(c.recipients)
_INSERT_OBJECT = insert(c.objects)
_INSERT_EVENT = insert(c.events)
_INDEX_TEXT = sql_text(f"INSERT INTO {c.FTS_TABLE}(rowid, search_text) VALUES (:id, :t)")


def index_text(conn, record_id: int, text: str) -> None:  # type: ignore[no-untyped-def]
    """Keep SQLite's FTS5 index in step (PostgreSQL's tsvector column is generated)."""
    if c.dialect_of(conn) == "sqlite":
        conn.execute(_INDEX_TEXT, {"id": record_id, "t": text})


@dataclass(frozen=True)
class RecordRows:
    """The catalog rows of a draft, computed before the transaction that inserts them (folding
    the search text and fitting the columns is the costly part of `add_record`)."""

    record: dict[str, Any]
    recipients: list[dict[str, Any]]  # without record_id
    objects: list[dict[str, Any]]  # without record_id


def record_rows(draft: RecordDraft) -> RecordRows:
    unique: dict[str, dict[str, Any]] = {}
    for organ_id, organ_name in draft.recipients:
        rec = fit(
            c.recipients,
            {"record_id": None, "organ_id": organ_id, "organ_name": organ_name, "state": c.ACTIVE},
        )
        unique.setdefault(rec["organ_id"], rec)
    objects = [
        fit(
            c.objects,
            {
                "record_id": None,
                "name": o.name,
                "role": o.role,
                "sha256": o.sha256,
                "size": o.size,
                "content_type": o.content_type,
                "created_at": draft.accepted_at,
            },
        )
        for o in draft.objects
    ]
    return RecordRows(fit(c.records, draft_row(draft)), list(unique.values()), objects)


def add_record(  # type: ignore[no-untyped-def]
    conn,
    draft: RecordDraft,
    *,
    actor: str = "hub",
    rows: RecordRows | None = None,
    new: bool = False,
) -> int:
    """Insert a record, its recipients and objects, in the caller's transaction (a Connection
    or an ORM Session); `rows` are the draft's `record_rows`, if already made. Idempotent on
    message_id: returns the existing record's id (`new`: the caller knows there is none)."""
    if not new:
        existing = conn.execute(
            select(c.records.c.id).where(c.records.c.message_id == draft.message_id)
        ).scalar()
        if existing is not None:
            return int(existing)
    rows = rows or record_rows(draft)
    record_id = int(conn.execute(_INSERT_RECORD, rows.record).scalar_one())
    index_text(conn, record_id, rows.record["search_text"])
    if rows.recipients:
        conn.execute(_INSERT_RECIPIENT, [{**r, "record_id": record_id} for r in rows.recipients])
    if rows.objects:
        conn.execute(_INSERT_OBJECT, [{**o, "record_id": record_id} for o in rows.objects])
    log_event(conn, record_id, "create", actor, {"message_id": draft.message_id})
    return record_id


def log_event(  # type: ignore[no-untyped-def]
    conn,
    record_id: int | None,
    kind: str,
    actor: str,
    detail: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> None:
    if kind not in c.EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    conn.execute(
        _INSERT_EVENT,
        {
            "record_id": record_id,
            "kind": kind,
            "actor": actor,
            "at": at or c.utcnow(),
            "detail": json.dumps(dict(detail or {}), ensure_ascii=False, default=str),
        },
    )


def _record_row(conn, record_id: int):  # type: ignore[no-untyped-def]
    row = conn.execute(select(c.records).where(c.records.c.id == record_id)).mappings().first()
    if row is None:
        raise RecordNotFound(f"no archival record {record_id}")
    return row


def resolve_id(conn, ident: str | int) -> int:  # type: ignore[no-untyped-def]
    """A record id from its number, or the hub's message id, or a DocumentId (newest)."""
    if isinstance(ident, int) or (isinstance(ident, str) and ident.isdigit()):
        found = conn.execute(select(c.records.c.id).where(c.records.c.id == int(ident))).scalar()
        if found is not None:
            return int(found)
    found = conn.execute(
        select(c.records.c.id)
        .where(or_(c.records.c.message_id == str(ident), c.records.c.document_id == str(ident)))
        .order_by(c.records.c.id.desc())
        .limit(1)
    ).scalar()
    if found is None:
        raise RecordNotFound(f"no archival record {ident!r}")
    return int(found)


# -- revocation, sealing, legal hold ---------------------------------------------------------
def freeze(conn, record_id: int, *, actor: str, reason: str = "") -> None:  # type: ignore[no-untyped-def]
    """A revoke freezes the sender's record: kept whole, marked as no longer in force."""
    row = _record_row(conn, record_id)
    if row["state"] == c.DISPOSED:
        raise ArchiveError(f"record {record_id} was disposed of")
    if row["state"] != c.FROZEN:
        conn.execute(
            update(c.records)
            .where(c.records.c.id == record_id)
            .values(state=c.FROZEN, state_changed_at=c.utcnow())
        )
    log_event(conn, record_id, "freeze", actor, {"reason": reason})


def mark_revoked(  # type: ignore[no-untyped-def]
    conn, record_id: int, *, actor: str, reason: str = "", organ_ids: Iterable[str] | None = None
) -> list[str]:
    """Mark the recipients' copies (all, or those named) as revoked; returns the organ ids."""
    _record_row(conn, record_id)
    cond = c.recipients.c.record_id == record_id
    if organ_ids is not None:
        cond = cond & c.recipients.c.organ_id.in_(list(organ_ids))
    changed = [
        r[0]
        for r in conn.execute(
            select(c.recipients.c.organ_id).where(cond, c.recipients.c.state != c.REVOKED)
        )
    ]
    if changed:
        conn.execute(
            update(c.recipients)
            .where(cond, c.recipients.c.organ_id.in_(changed))
            .values(state=c.REVOKED, state_changed_at=c.utcnow())
        )
    log_event(conn, record_id, "revoke", actor, {"reason": reason, "recipients": changed})
    return changed


def revoke_document(  # type: ignore[no-untyped-def]
    conn, document_id: str, agency_id: str, *, actor: str, reason: str = ""
) -> int | None:
    """Apply a revoke package: freeze the sender's record of `document_id` and revoke the
    recipients' copies. Returns the record id, or None when no such record exists."""
    record_id = conn.execute(
        select(c.records.c.id)
        .where(c.records.c.document_id == document_id, c.records.c.agency_id == agency_id)
        .order_by(c.records.c.id.desc())
        .limit(1)
    ).scalar()
    if record_id is None:
        return None
    freeze(conn, int(record_id), actor=actor, reason=reason)
    mark_revoked(conn, int(record_id), actor=actor, reason=reason)
    return int(record_id)


def records_to_seal(  # type: ignore[no-untyped-def]
    conn, *, older_than: timedelta, now: datetime | None = None, limit: int = 1000
) -> list[int]:
    """Records whose status history is not sealed yet and that are older than `older_than`."""
    cutoff = (now or c.utcnow()) - older_than
    rows = conn.execute(
        select(c.records.c.id)
        .where(c.records.c.sealed_at.is_(None), c.records.c.accepted_at <= cutoff)
        .order_by(c.records.c.id)
        .limit(limit)
    )
    return [int(r[0]) for r in rows]


def history_bytes(entries: Sequence[Mapping[str, Any]]) -> bytes:
    """Canonical JSON of a status history (stable bytes, so the same history hashes the same)."""
    return json.dumps(
        list(entries), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def seal_history(  # type: ignore[no-untyped-def]
    conn,
    store: ObjectStore,
    record_id: int,
    entries: Sequence[Mapping[str, Any]],
    *,
    actor: str = "hub",
    at: datetime | None = None,
) -> ObjectRef:
    """Seal a record's status history (when the document is completed, or after a configured
    time) as a `history` object under the record's retention. Sealing twice returns the first
    seal if the history is the same, and refuses a different one."""
    row = _record_row(conn, record_id)
    data = history_bytes(entries)
    ref = ObjectRef(HISTORY_NAME, sha256_hex(data), len(data), c.HISTORY, "application/json")
    if row["sealed_at"] is not None:
        prior = conn.execute(
            select(c.objects.c.sha256, c.objects.c.size).where(
                c.objects.c.record_id == record_id, c.objects.c.role == c.HISTORY
            )
        ).first()
        if prior is not None and prior.sha256 == ref.sha256:
            return ref
        raise ArchiveError(f"record {record_id}: the status history is already sealed")
    until = row["retain_until"]
    retain = (
        datetime.combine(until, time(), tzinfo=UTC)
        if until is not None
        else c.utcnow() + timedelta(days=365 * PERMANENT_STORE_YEARS)
    )
    store.put(data, key=ref.sha256, retain_until=retain if retain > c.utcnow() else None)
    when = at or c.utcnow()
    conn.execute(
        insert(c.objects),
        {
            "record_id": record_id,
            "name": ref.name,
            "role": ref.role,
            "sha256": ref.sha256,
            "size": ref.size,
            "content_type": ref.content_type,
            "created_at": when,
        },
    )
    conn.execute(update(c.records).where(c.records.c.id == record_id).values(sealed_at=when))
    log_event(conn, record_id, "seal", actor, {"sha256": ref.sha256, "entries": len(entries)})
    return ref


def set_legal_hold(  # type: ignore[no-untyped-def]
    conn, store: ObjectStore, record_id: int, on: bool, *, actor: str, reason: str = ""
) -> None:
    """Put a record (and its objects in the store) under legal hold, or lift it."""
    row = _record_row(conn, record_id)
    if row["state"] == c.DISPOSED:
        raise ArchiveError(f"record {record_id} was disposed of")
    keys = [
        r[0]
        for r in conn.execute(
            select(c.objects.c.sha256).where(
                c.objects.c.record_id == record_id, c.objects.c.destroyed_at.is_(None)
            )
        )
    ]
    if not on:
        # An object shared with another record under hold must stay held.
        held = {
            r[0]
            for r in conn.execute(
                select(c.objects.c.sha256)
                .join(c.records, c.records.c.id == c.objects.c.record_id)
                .where(
                    c.objects.c.sha256.in_(keys),
                    c.records.c.legal_hold.is_(True),
                    c.records.c.id != record_id,
                )
            )
        }
        keys = [k for k in keys if k not in held]
    for key in dict.fromkeys(keys):
        store.set_legal_hold(key, on)
    conn.execute(update(c.records).where(c.records.c.id == record_id).values(legal_hold=on))
    log_event(conn, record_id, "legal_hold", actor, {"on": on, "reason": reason})


# -- reading ---------------------------------------------------------------------------------
@dataclass
class RecordView:
    record: dict[str, Any]
    objects: list[dict[str, Any]]
    recipients: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def id(self) -> int:
        return int(self.record["id"])

    def to_dict(self) -> dict[str, Any]:
        rec = {k: v for k, v in self.record.items() if k not in ("search_text", "search_tsv")}
        return {
            "record": rec,
            "objects": self.objects,
            "recipients": self.recipients,
            "events": self.events,
        }


def get_record(conn, ident: str | int, *, actor: str | None = None) -> RecordView:  # type: ignore[no-untyped-def]
    """A record with its objects, recipients and events. Every access by a person is logged:
    pass `actor` (the archivist's key or name)."""
    record_id = resolve_id(conn, ident)
    row = dict(_record_row(conn, record_id))
    row.pop("search_tsv", None)
    objs = [
        dict(r)
        for r in conn.execute(
            select(c.objects).where(c.objects.c.record_id == record_id).order_by(c.objects.c.id)
        ).mappings()
    ]
    recs = [
        dict(r)
        for r in conn.execute(
            select(c.recipients)
            .where(c.recipients.c.record_id == record_id)
            .order_by(c.recipients.c.organ_id)
        ).mappings()
    ]
    if actor is not None:
        log_event(conn, record_id, "access", actor)
    evts = []
    for r in conn.execute(
        select(c.events).where(c.events.c.record_id == record_id).order_by(c.events.c.id)
    ).mappings():
        e = dict(r)
        with contextlib.suppress(ValueError):
            e["detail"] = json.loads(e["detail"]) if e["detail"] else {}
        evts.append(e)
    return RecordView(row, objs, recs, evts)


def open_object(  # type: ignore[no-untyped-def]
    conn, store: ObjectStore, ident: str | int, name: str | None = None, *, actor: str
) -> tuple[dict[str, Any], BinaryIO]:
    """Open one object of a record (default: the package) and log the download.
    Returns (object row, stream); the caller closes the stream."""
    record_id = resolve_id(conn, ident)
    cond = c.objects.c.record_id == record_id
    cond = cond & (c.objects.c.name == name if name else c.objects.c.role == c.PACKAGE)
    row = conn.execute(select(c.objects).where(cond).limit(1)).mappings().first()
    if row is None:
        raise RecordNotFound(f"record {record_id} has no object {name or PACKAGE_NAME!r}")
    if row["destroyed_at"] is not None:
        raise ArchiveError(f"object {row['name']!r} was destroyed by disposition")
    stream = store.open(row["sha256"])
    log_event(conn, record_id, "download", actor, {"name": row["name"], "sha256": row["sha256"]})
    return dict(row), stream
