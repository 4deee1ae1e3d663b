"""What an archivist does over HTTP: search records, view one, download its objects, export bags.

Read-only on records: the only rows written are the archive's own events — every view and
download of a record is logged under `archivist:<key id>` (`archive.records.get_record` /
`open_object` with `actor=`), every export and audit too. Only archivist and operator keys.

Everything a caller sends reaches the catalog as bound parameters (see `archive.search`);
what the catalog cannot take (NUL bytes, ids past 64 bits, malformed cursors) is refused here
with a 4xx before it reaches an engine that would answer with a 500.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import quote

from archive import audit as audit_mod
from archive import catalog, records
from archive.export import count_matching, export_bags
from archive.search import Query, decode_cursor, search
from archive.store import StoreError, StoreUnavailable
from axis.domain import Forbidden, Gone, HubError, NotFound, Principal, Rejected
from axis.service import evidence_bundle
from axis.service.context import Hub
from axis.service.failures import store_failed
from axis.service.sealing import document_history

log = logging.getLogger("axis.archivist")

ROLES = ("archivist", "operator")
CHUNK = 256 * 1024
MAX_IDENT = 300  # DocumentId's column length
MAX_AUDIT_SAMPLE = 1000  # larger audits: `axis archive audit` on the hub's host


def actor_of(principal: Principal) -> str:
    """The caller as archive events name it; refuses keys that are not archivists'."""
    if principal.role not in ROLES:
        raise Forbidden(
            "only archivist (and operator) keys read the archive", code="ROLE_NOT_ARCHIVIST"
        )
    return f"{principal.role}:{principal.key_id}"


def _check_ident(ident: str) -> str:
    """A record id, message id or DocumentId the catalog can be asked about."""
    bad = (
        not ident
        or len(ident) > MAX_IDENT
        or any(ord(ch) < 32 for ch in ident)  # NUL: PostgreSQL refuses it outright
        or (ident.isdigit() and (not ident.isascii() or len(ident) > 18))  # past BIGINT
    )
    if bad:
        raise NotFound(f"no archival record {ident[:80]!r}", code="RECORD_NOT_FOUND")
    return ident


def _store_failed(exc: StoreError) -> HubError:
    return store_failed(exc, "archival record")


# -- search ------------------------------------------------------------------------------------
def search_records(
    hub: Hub,
    principal: Principal,
    query: Query,
    *,
    limit: int = 50,
    cursor: str | None = None,
) -> dict[str, Any]:
    actor_of(principal)
    if cursor:
        try:
            _, last_id = decode_cursor(cursor)
        except ValueError:
            last_id = -1
        if not 0 <= last_id < 2**63:
            raise Rejected("the cursor is not one this hub gave", code="CURSOR_INVALID")
    with hub.db.read() as session:
        page = search(
            session,
            agency=query.agency,
            date_from=query.date_from,
            date_to=query.date_to,
            type_name=query.type_name,
            number=query.number,
            text=query.text,
            file_code=query.file_code,
            state=query.state,
            limit=limit,
            cursor=cursor,
        )
    return {"items": page.items, "next_cursor": page.next_cursor}


# -- one record --------------------------------------------------------------------------------
def _object_url(record_id: int, name: str) -> str:
    return f"/v1/archive/records/{record_id}/objects/{quote(name, safe='')}"


def show_record(hub: Hub, principal: Principal, ident: str) -> dict[str, Any]:
    """A record with its objects, recipients, events (this access among them), its status
    history (the sealed one, or the live one until it is sealed) and validation report."""
    actor = actor_of(principal)
    _check_ident(ident)
    with hub.db.write() as session:
        try:
            view = records.get_record(session, ident, actor=actor)
        except records.RecordNotFound as exc:
            raise NotFound(str(exc), code="RECORD_NOT_FOUND") from exc
        sealed = view.record["sealed_at"] is not None
        live = None if sealed else document_history(session, view.record["message_id"])
    # The store is read after the commit: never while holding the database's write lock.
    report = _json_object(hub, view, catalog.REPORT)
    entries = _json_object(hub, view, catalog.HISTORY) if sealed else live
    data = view.to_dict()
    for obj in data["objects"]:
        obj["url"] = _object_url(view.id, obj["name"])
    return data | {
        "history": {"sealed": sealed, "sealed_at": view.record["sealed_at"], "entries": entries},
        "validation_report": report,
    }


def _json_object(hub: Hub, view: records.RecordView, role: str) -> Any:
    obj = next((o for o in view.objects if o["role"] == role), None)
    if obj is None or obj["destroyed_at"] is not None:
        return None
    try:
        data = hub.store.get(obj["sha256"])
    except StoreError as exc:
        raise _store_failed(exc) from exc
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


@dataclass
class Download:
    name: str
    sha256: str
    size: int
    content_type: str
    chunks: Iterator[bytes]


def open_object(hub: Hub, principal: Principal, ident: str, name: str) -> Download:
    """One object of a record, as chunks; the download is logged before the first byte."""
    actor = actor_of(principal)
    _check_ident(ident)
    if not name or len(name) > 500 or any(ord(ch) < 32 for ch in name):
        raise NotFound(f"no object {name[:80]!r}", code="OBJECT_NOT_FOUND")
    try:
        with hub.db.write() as session:
            row, stream = records.open_object(session, hub.store, ident, name, actor=actor)
    except records.RecordNotFound as exc:
        code = "OBJECT_NOT_FOUND" if "has no object" in str(exc) else "RECORD_NOT_FOUND"
        raise NotFound(str(exc), code=code) from exc
    except records.ArchiveError as exc:
        raise Gone(str(exc), code="OBJECT_DESTROYED") from exc
    except StoreError as exc:
        raise _store_failed(exc) from exc
    return Download(
        name=row["name"],
        sha256=row["sha256"],
        size=int(row["size"]),
        content_type=row["content_type"] or "application/octet-stream",
        chunks=verified_chunks(stream, row["sha256"]),
    )


def verified_chunks(stream: BinaryIO, sha256: str) -> Iterator[bytes]:
    """The object's bytes, hashed on the way; the last chunk is held back until the hash
    matches, so an object altered in the store never reaches the client whole (the
    connection breaks instead)."""
    digest = hashlib.sha256()
    held: bytes | None = None
    try:
        while True:
            chunk = stream.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        if digest.hexdigest() != sha256:
            log.error("object %s altered in the store (now %s)", sha256, digest.hexdigest())
            raise StoreError(f"object {sha256} does not match its SHA-256")
        if held is not None:
            yield held
    finally:
        stream.close()


# -- export ------------------------------------------------------------------------------------
@dataclass
class ExportZip:
    path: Path  # the zip; remove `workdir` when it has been sent
    workdir: Path
    records: int
    problems: int

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def export_zip(
    hub: Hub,
    principal: Principal,
    query: Query,
    *,
    per: Literal["record", "file_code"] = "record",
) -> ExportZip:
    """A zip of BagIt bags (one per record, or per file code) for the records of `query`.
    Bounded by `archive_export_max_records`: a larger transfer is a job for the CLI."""
    actor = actor_of(principal)
    cap = hub.settings.archive_export_max_records
    with hub.db.read() as session:
        total = count_matching(session, query)
    if total > cap:
        raise Rejected(
            f"{total} records match; an export over HTTP takes at most {cap}: narrow the query, "
            "or run `axis archive export ... --out DIR` on the hub's host",
            code="EXPORT_TOO_LARGE",
        )
    if total == 0:
        raise NotFound("no record matches the query", code="NOTHING_TO_EXPORT")

    def logged(bag: str, ids: list[int]) -> None:
        # One short write per bag: the export reads for a while, the hub keeps writing.
        with hub.db.write() as w:
            for rid in ids:
                records.log_event(w, rid, "export", actor, {"bag": bag, "via": "http"})

    workdir = Path(tempfile.mkdtemp(prefix="axis-export-"))
    try:
        bags = workdir / "bags"
        with hub.db.read() as session:
            result = export_bags(
                session,
                hub.store,
                bags,
                query=query,
                per=per,
                actor=actor,
                on_bag=logged,
                evidence=evidence_bundle.for_archive(hub),
            )
        zip_path = workdir / "export.zip"
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(bags.rglob("*")):
                if path.is_file():
                    zf.write(path, path.relative_to(bags).as_posix())
            zf.writestr(
                "export-report.json",
                json.dumps(
                    {
                        "bags": result.bag_count,
                        "records": result.records,
                        "objects": result.objects,
                        "bytes": result.bytes,
                        "problems": [vars(p) for p in result.problems],
                    },
                    ensure_ascii=False,
                    indent=2,
                ),
            )
    except StoreUnavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise _store_failed(exc) from exc
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return ExportZip(zip_path, workdir, result.records, len(result.problems))


# -- audit -------------------------------------------------------------------------------------
def audit_records(
    hub: Hub, principal: Principal, *, sample: int | None = None, record: str | None = None
) -> dict[str, Any]:
    """Re-hash a sample of objects (or one record's), record the audit, report problems."""
    actor = actor_of(principal)
    if sample is None and record is None:
        raise Rejected(
            f"give sample=N (at most {MAX_AUDIT_SAMPLE}) or record=ID; "
            "a full audit is `axis archive audit`",
            code="AUDIT_UNBOUNDED",
        )
    record_id = None
    with hub.db.read() as session:
        if record is not None:
            _check_ident(record)
            try:
                record_id = records.resolve_id(session, record)
            except records.RecordNotFound as exc:
                raise NotFound(str(exc), code="RECORD_NOT_FOUND") from exc
        try:
            report = audit_mod.audit(
                session,
                hub.store,
                sample=sample,
                record_id=record_id,
                actor=actor,
                record_event=False,
            )
        except StoreError as exc:
            raise _store_failed(exc) from exc
    with hub.db.write() as session:
        audit_mod.record_audit(session, report, actor=actor, sample=sample, record_id=record_id)
    return report.summary() | {
        "ok": report.ok,
        "problems": [vars(p) for p in report.problems],
    }
