"""Evidence that holds in a dispute (issue 18, docs/evidence.md).

- The hub's identity: a signing key and certificate (`HubKeys`), every certificate it ever used
  kept in `evidence_certs` so old evidence stays verifiable after a rotation.
- Signed receipts: each fact a client is told about (a package accepted, an acknowledgement)
  gets a receipt, canonical JSON signed as a detached CMS by the hub (signing/receipts.py).
- A tamper-evident log: each fact of an exchange is an `evidence_log` entry written by an event
  subscriber in the transaction of the fact (it commits or rolls back with it), carrying the
  canonical content of the row written and its SHA-256. No lock is taken: entries get their
  `seq` from the database (SQLite writers take turns anyway; PostgreSQL: a sequence). A sealing
  pass (`seal`, run by `axis worker` every T seconds, or N entries) puts the entries committed
  since the last head under a Merkle tree (RFC 6962) and appends a head: root, previous head's
  hash, signed by the hub and timestamped by an RFC 3161 TSA. A TSA that is down never blocks
  anything: the head waits for its token, and the gap shows in `verify_log`.
- `verify_log` rechecks the heads, the entries and the live rows of messages, deliveries, status
  lines of the timeline and archival records, and the objects in the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, text, update
from sqlalchemy import event as sa_event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import catalog
from archive.store import StoreError
from axis.adapters.evidence_tables import EvidenceCert, EvidenceEntry, EvidenceHead
from axis.adapters.tables import Delivery, Message, TimelineEvent
from axis.config import Settings
from axis.domain import utcnow
from axis.service.context import Hub
from axis.service.events import Acknowledged, MessageAccepted, StatusRecorded
from signing import receipts as rc

log = logging.getLogger("axis.evidence")

GENESIS = "0" * 64
_ISSUED = threading.local()  # receipts signed in a unit of work, for the caller to hand out
_ISSUED_MAX = 256

# --- the hub's key --------------------------------------------------------------------------


class HubKeys:
    """The hub's signer and the certificates it is known by.

    Configured: AXIS_HUB_KEY (a PKCS#12 or a signer-shaped spec file, PKCS#11 included).
    Managed (the default): <data_dir>/hub-key/current.p12, made on first use; `rotate` makes a
    new one and keeps every old certificate under <data_dir>/hub-key/certs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.hub_key_dir
        self._signer: rc.HubSigner | None = None
        self._lock = threading.Lock()

    @property
    def managed(self) -> bool:
        return not self.settings.hub_key

    @property
    def current_path(self) -> Path:
        return self.dir / "current.p12"

    def spec(self) -> dict[str, Any]:
        configured = self.settings.hub_key
        if not configured:
            return {"p12": str(self.current_path)}
        path = Path(configured)
        if path.suffix.lower() in (".p12", ".pfx"):
            spec: dict[str, Any] = {"p12": str(path)}
            if self.settings.hub_key_password:
                os.environ.setdefault("AXIS_HUB_KEY_PASSWORD", self.settings.hub_key_password)
                spec["password_env"] = "AXIS_HUB_KEY_PASSWORD"
            return spec
        from formats.rules.policy import parse_file

        data = parse_file(path)
        table = data.get("hub_key", data) if isinstance(data, dict) else None
        if not isinstance(table, dict):
            raise rc.EvidenceError(f"{path}: expected a hub key spec (p12, pem_key, pkcs11_…)")
        return dict(table)

    @property
    def signer(self) -> rc.HubSigner:
        if self._signer is None:
            with self._lock:
                if self._signer is None:
                    if self.managed and not self.current_path.exists():
                        self.create(replace=False)
                    self._signer = rc.load_hub_signer(self.spec())
                    self._keep_cert(self._signer.cert_der)
        return self._signer

    def create(self, *, replace: bool) -> Path:
        """A new managed key (self-signed ECDSA P-256), made aside then linked in place, so
        that processes starting together end up with one key."""
        self.dir.mkdir(parents=True, exist_ok=True)
        name = f"axis hub {socket.gethostname()}"
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".new-", suffix=".p12")
        os.close(fd)
        os.unlink(tmp)
        cert = rc.create_test_key(Path(tmp), name)
        der = cert.public_bytes(rc.serialization.Encoding.DER)
        try:
            if replace and self.current_path.exists():
                stamp = utcnow().strftime("%Y%m%dT%H%M%S")
                os.replace(self.current_path, self.dir / f"retired-{stamp}.p12")
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(tmp, self.current_path)
        finally:
            os.unlink(tmp)
        self._keep_cert(der)
        self._signer = None
        return self.current_path

    def _keep_cert(self, der: bytes) -> None:
        certs = self.dir / "certs"
        certs.mkdir(parents=True, exist_ok=True)
        path = certs / f"{rc.sha256_hex(der)}.pem"
        if not path.exists():
            path.write_bytes(rc.pem(der))

    def known_certs(self) -> dict[str, bytes]:
        """The certificates kept under <data_dir>/hub-key/certs (sha256 -> DER)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        out = {}
        for path in sorted((self.dir / "certs").glob("*.pem")):
            der = x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(
                serialization.Encoding.DER
            )
            out[rc.sha256_hex(der)] = der
        return out


# --- the content of the rows the log covers -----------------------------------------------------


def _g(row: Any, name: str) -> Any:
    """A column of a dict, a Core row, or a mapped object (read from its __dict__: an
    attribute it was not given is None, never a lazy load)."""
    if isinstance(row, dict):
        return row.get(name)
    if isinstance(row, Row):  # before __dict__, which a Row looks up by raising: 15 µs
        return getattr(row, name, None)
    d = getattr(row, "__dict__", None)
    if d is not None and "_sa_instance_state" in d:
        return d.get(name)
    return getattr(row, name, None)


def message_content(m: Any) -> dict[str, Any]:
    """A message row as the log records it (NULL-or-default columns normalised, so a row made
    in memory and the same row read back give the same content)."""
    inline = _g(m, "inline_body")
    return {
        "id": _g(m, "id"),
        "kind": _g(m, "kind"),
        "sender": _g(m, "sender_code"),
        "document_id": _g(m, "document_id"),
        "sha256": _g(m, "sha256"),
        "size": int(_g(m, "size") or 0),
        "received_at": rc.utc_text(_g(m, "received_at")),
        "recipients": list(_g(m, "recipients") or []),
        "subject": _g(m, "subject") or "",
        "code": _g(m, "code") or "",
        "business_type": int(_g(m, "business_type") or 0),
        "status_code": _g(m, "status_code"),
        "about": _g(m, "about_message_id"),
        "inline_sha256": rc.sha256_hex(bytes(inline)) if inline is not None else None,
    }


def delivery_content(message_id: str, recipient: str, created_at: datetime, acked_at: Any) -> dict:
    """A delivery as the log records it: its creation and acknowledgement (fetched_at and the
    pending flag follow from them or are not evidence)."""
    return {
        "message_id": message_id,
        "recipient": recipient,
        "created_at": rc.utc_text(created_at),
        "acked_at": rc.utc_text(acked_at),
    }


def timeline_content(t: Any) -> dict[str, Any]:
    return {
        "document_id": _g(t, "document_id"),
        "message_id": _g(t, "message_id"),
        "agency": _g(t, "agency_code"),
        "event": _g(t, "event"),
        "status_code": _g(t, "status_code"),
        "description": _g(t, "description") or "",
        "staff": _g(t, "staff"),
        "at": rc.utc_text(_g(t, "at")),
    }


def record_content(message_id: str, document_id: str, sha256: str, accepted_at: Any) -> dict:
    """An archival record's identity: which package, of which document, accepted when."""
    return {
        "message_id": message_id,
        "document_id": document_id,
        "package_sha256": sha256,
        "accepted_at": rc.utc_text(accepted_at),
    }


def entry_digest(
    at: str | None,
    event: str,
    subject: str,
    key: str,
    message_id: str | None,
    document_id: str,
    row_hash: str,
    receipt_sha256: str | None,
) -> str:
    """The hash of an entry: what it says, without its position (the heads' trees order it)."""
    return rc.sha256_hex(
        rc.canonical(
            {
                "at": at,
                "event": event,
                "subject": subject,
                "key": key,
                "message_id": message_id,
                "document_id": document_id,
                "row_hash": row_hash,
                "receipt_sha256": receipt_sha256,
            }
        )
    )


def entry_hash(e: dict[str, Any]) -> str:
    receipt = e.get("receipt")
    return entry_digest(
        e["at"],
        e["event"],
        e["subject"],
        e["row_key"],
        e["message_id"],
        e["document_id"],
        e["row_hash"],
        rc.sha256_hex(bytes(receipt)) if receipt else None,
    )


def head_body(h: Any) -> dict[str, Any]:
    return {
        "v": 1,
        "seq_from": int(_g(h, "seq_from")),
        "seq_to": int(_g(h, "seq_to")),
        "count": int(_g(h, "count")),
        "root": _g(h, "root"),
        "prev": _g(h, "prev_hash"),
        "made_at": rc.utc_text(_g(h, "made_at")),
    }


# --- receipts -------------------------------------------------------------------------------


def receipt_body(event: str, hub_cert: str, **facts: Any) -> bytes:
    return rc.canonical({"type": "axis.receipt", "v": 1, "event": event, "hub": hub_cert, **facts})


def _accepted_receipt(hub_cert: str, m: Any) -> bytes:
    return receipt_body(
        "accepted",
        hub_cert,
        message_id=_g(m, "id"),
        kind=_g(m, "kind"),
        document_id=_g(m, "document_id"),
        sha256=_g(m, "sha256"),
        sender=_g(m, "sender_code"),
        recipients=list(_g(m, "recipients") or []),
        received_at=rc.utc_text(_g(m, "received_at")),
    )


def receipt_json(body: bytes, signature: bytes) -> dict[str, str]:
    import base64

    return {
        "receipt": body.decode(),
        "signature": base64.b64encode(signature).decode("ascii"),
        "format": rc.FORMAT,
    }


def _issue(key: str, body: bytes, signature: bytes) -> None:
    issued = getattr(_ISSUED, "map", None)
    if issued is None or len(issued) > _ISSUED_MAX:
        issued = _ISSUED.map = {}
    issued[key] = (body, signature)


def take_issued(key: str) -> tuple[bytes, bytes] | None:
    issued = getattr(_ISSUED, "map", None)
    return issued.pop(key, None) if issued else None


def sign_receipt(hub: Hub, receipt: Any, sender: str) -> dict[str, str] | None:
    """The signed receipt of an accepted package, for its answer: the one signed in the unit
    of work that accepted it, or (a resend) the same canonical bytes signed again."""
    ev: Evidence | None = getattr(hub, "evidence", None)
    if ev is None:
        return None
    issued = take_issued(f"accepted:{receipt.id}")
    if issued is None:  # a resend: the receipt the log holds, byte for byte
        with hub.db.read() as session:
            row = session.execute(
                select(EvidenceEntry.receipt, EvidenceEntry.receipt_sig).where(
                    EvidenceEntry.document_id == receipt.document_id,
                    EvidenceEntry.row_key == receipt.id,
                    EvidenceEntry.event == "accepted",
                )
            ).first()
        if row is not None and row.receipt:
            issued = (bytes(row.receipt), bytes(row.receipt_sig))
    if issued is None:  # a message older than the log
        signer = ev.keys.signer
        body = receipt_body(
            "accepted",
            signer.cert_sha256,
            message_id=receipt.id,
            kind=receipt.kind,
            document_id=receipt.document_id,
            sha256=receipt.sha256,
            sender=sender,
            recipients=list(receipt.recipients),
            received_at=rc.utc_text(receipt.received_at),
        )
        issued = (body, signer.sign(body))
    return receipt_json(*issued)


def ack_receipt(hub: Hub, message_id: str, agency: str) -> dict[str, str] | None:
    if getattr(hub, "evidence", None) is None:
        return None
    issued = take_issued(f"acknowledged:{message_id}/{agency}")
    return receipt_json(*issued) if issued else None


# --- the log's writer: event subscribers ------------------------------------------------------

_INSERT_ENTRIES = insert(EvidenceEntry.__table__)
_COLUMNS = (
    "at",
    "event",
    "subject",
    "row_key",
    "message_id",
    "document_id",
    "content",
    "row_hash",
    "receipt",
    "receipt_sig",
    "entry_hash",
)
_COPY = f"COPY evidence_log ({', '.join(_COLUMNS)}) FROM STDIN"
_SQLITE_INSERT = (
    f"INSERT INTO evidence_log ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)
_AT: dict[int, Any] = {}  # the `at` column's bind processor, per dialect
_STATUS_LINES = select(TimelineEvent.__table__).where(
    TimelineEvent.message_id == bindparam("message_id"), TimelineEvent.event == "status"
)
_BUFFER = "axis.evidence.entries"  # session.info: entries of the transaction, written at commit
_PREPARED = "evidence"  # event.prepared: (receipt issued or None, entries)
_Prepared = tuple[tuple[str, bytes, bytes] | None, list[dict[str, Any]]]


def _buffer(session: Session, entries: list[dict[str, Any]]) -> None:
    """Entries are written in one INSERT at the transaction's commit (on SQLite, the group
    commit's: one statement for up to 16 units of work); a unit that fails takes its entries
    back out with the rest of session.info (axis.adapters.database._GroupCommit)."""
    buf = session.info.get(_BUFFER)
    if buf is None:
        buf = session.info[_BUFFER] = []
    buf.extend(entries)


@sa_event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if _BUFFER in session.info and not session.in_nested_transaction():
        entries = session.info.pop(_BUFFER)
        if entries:
            _write_entries(session.connection(), entries)


def _write_entries(conn: Connection, entries: list[dict[str, Any]]) -> None:
    """The transaction's entries, in one statement of the driver's own on its connection:
    PostgreSQL's COPY, SQLite's executemany. Through SQLAlchemy (its per-row parameter
    processing, the NUL check's walk, on PostgreSQL a pipelined statement per row) they cost
    about twice as much CPU (measured). Nothing in an entry can hold a NUL character: its
    content is JSON (which escapes one), its other texts come from rows already checked."""
    dbapi = conn.connection.driver_connection
    name = conn.dialect.name
    if name == "postgresql":
        with dbapi.cursor() as cur, cur.copy(_COPY) as copy:
            for e in entries:
                copy.write_row([e[c] for c in _COLUMNS])
    elif name == "sqlite":
        at = _AT.get(id(conn.dialect))
        if at is None:  # as SQLAlchemy stores a UTCDateTime there
            at = _AT[id(conn.dialect)] = EvidenceEntry.__table__.c.at.type.bind_processor(
                conn.dialect
            )
        rows = [(at(e["at"]), *[e[c] for c in _COLUMNS[1:]]) for e in entries]
        cur = dbapi.cursor()
        try:
            cur.executemany(_SQLITE_INSERT, rows)
        finally:
            cur.close()
    else:
        conn.execute(_INSERT_ENTRIES, entries)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_BUFFER, None)


class Evidence:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.keys = HubKeys(hub.settings)

    # Each event becomes entries (and receipts, signed), made before the unit of work when the
    # use case prepared the event (EventBus.prepare), otherwise in it; the handler only buffers
    # them for the transaction's INSERT and hands the receipts to the answer.
    def prepare_accepted(self, event: MessageAccepted) -> None:
        event.prepared[_PREPARED] = self._accepted(event)

    def on_accepted(self, session: Session, event: MessageAccepted) -> None:
        self._take(session, event.prepared.pop(_PREPARED, None) or self._accepted(event))

    def prepare_acknowledged(self, event: Acknowledged) -> None:
        event.prepared[_PREPARED] = self._acknowledged(event)

    def on_acknowledged(self, session: Session, event: Acknowledged) -> None:
        self._take(session, event.prepared.pop(_PREPARED, None) or self._acknowledged(event))

    def prepare_status(self, event: StatusRecorded) -> None:
        if event.timeline:  # otherwise its lines are read in the unit of work
            event.prepared[_PREPARED] = self._status(event, None)

    def on_status(self, session: Session, event: StatusRecorded) -> None:
        self._take(session, event.prepared.pop(_PREPARED, None) or self._status(event, session))

    @staticmethod
    def _take(session: Session, prepared: _Prepared) -> None:
        issued, entries = prepared
        if issued is not None:
            _issue(*issued)
        _buffer(session, entries)

    def _accepted(self, event: MessageAccepted) -> _Prepared:
        m = event.message
        at = _g(m, "received_at")
        body = sig = None
        if event.answered:
            signer = self.keys.signer
            body = _accepted_receipt(signer.cert_sha256, m)
            sig = signer.sign(body)
        doc = m.document_id
        entries = [
            self._entry(at, "accepted", "messages", m.id, m.id, doc, message_content(m), body, sig)
        ]
        for d in event.deliveries:
            content = delivery_content(m.id, d.recipient_code, d.created_at, None)
            key = f"{m.id}/{d.recipient_code}"
            entries.append(self._entry(at, "delivered", "deliveries", key, m.id, doc, content))
        if m.kind == "edoc":
            content = record_content(m.id, doc, m.sha256, at)
            entries.append(self._entry(at, "archived", "records", m.id, m.id, doc, content))
        return (f"accepted:{m.id}", body, sig) if body else None, entries

    def _acknowledged(self, event: Acknowledged) -> _Prepared:
        row, at = event.delivery, event.at
        m = event.message
        signer = self.keys.signer
        recipient = row.recipient_code
        body = receipt_body(
            "acknowledged",
            signer.cert_sha256,
            message_id=m.id,
            kind=m.kind,
            document_id=m.document_id,
            sha256=_g(m, "sha256"),
            sender=_g(m, "sender_code"),
            recipient=recipient,
            acked_at=rc.utc_text(at),
        )
        sig = signer.sign(body)
        content = delivery_content(m.id, recipient, _g(row, "created_at"), at)
        key = f"{m.id}/{recipient}"
        entry = self._entry(
            at, "acknowledged", "deliveries", key, m.id, m.document_id, content, body, sig
        )
        return (f"acknowledged:{m.id}/{recipient}", body, sig), [entry]

    def _status(self, event: StatusRecorded, session: Session | None) -> _Prepared:
        s = event.status_message
        lines = [
            {k: _g(t, k) for k in ("document_id", "agency_code")} | {"_row": t}
            for t in event.timeline
        ]
        if not lines and session is not None:
            lines = session.connection().execute(_STATUS_LINES, {"message_id": s.id}).mappings()
        entries = [
            self._entry(
                event.at,
                "status-line",
                "timeline",
                f"{s.id}/{t['agency_code']}",
                s.id,
                t["document_id"],
                timeline_content(t.get("_row", t)),
            )
            for t in lines
        ]
        return None, entries

    @staticmethod
    def _entry(
        at: datetime,
        event: str,
        subject: str,
        key: str,
        message_id: str | None,
        document_id: str,
        content: dict,
        receipt: bytes | None = None,
        sig: bytes | None = None,
    ) -> dict[str, Any]:
        text_ = rc.canonical_text(content)
        e = {
            "at": rc.utc_text(at),
            "event": event,
            "subject": subject,
            "row_key": key,
            "message_id": message_id,
            "document_id": document_id,
            "row_hash": hashlib.sha256(text_.encode()).hexdigest(),
            "receipt": receipt,
        }
        e["entry_hash"] = entry_hash(e)
        e["at"] = at
        e["content"] = text_
        e["receipt_sig"] = sig
        return e


def install(hub: Hub) -> None:
    """Subscribe the log to the hub's events (AXIS_EVIDENCE_ENABLED) and register the hub's
    certificate. The key is loaded (or, managed, made) now: a hub that cannot sign stops here."""
    if not hub.settings.evidence_enabled:
        return
    ev = Evidence(hub)
    hub.evidence = ev  # type: ignore[attr-defined]
    hub.events.subscribe(MessageAccepted, ev.on_accepted, ev.prepare_accepted)
    hub.events.subscribe(Acknowledged, ev.on_acknowledged, ev.prepare_acknowledged)
    hub.events.subscribe(StatusRecorded, ev.on_status, ev.prepare_status)
    register_cert(hub, ev.keys.signer.cert_der)


def register_cert(hub: Hub, der: bytes) -> None:
    sha = rc.sha256_hex(der)
    with contextlib.suppress(IntegrityError), hub.db.write() as session:
        if session.get(EvidenceCert, sha) is None:
            session.add(EvidenceCert(sha256=sha, der=der, added_at=utcnow()))


def evidence_of(hub: Hub) -> Evidence:
    ev = getattr(hub, "evidence", None)
    if ev is None:
        from axis.domain import HubError

        raise HubError("the evidence log is off (AXIS_EVIDENCE_ENABLED=false)", code="EVIDENCE_OFF")
    return ev


# --- sealing: heads over the entries ------------------------------------------------------------


@dataclass
class SealResult:
    head_id: int | None = None
    count: int = 0
    timestamped: int = 0
    tsa_error: str | None = None
    pending: int = 0  # entries left for a later head


def _committed_upto(hub: Hub, wait_s: float = 10.0) -> int | None:
    """The highest seq below which every entry that will ever commit has committed.

    SQLite: writers take turns, so what a reader sees is a prefix. PostgreSQL: seqs are taken
    before commit, so a later seq may be visible while an earlier one is still in flight. Every
    transaction that may still commit an entry at or below the highest visible seq M had its
    transaction id before M was read (entries are written after the fact's rows, so the id is
    assigned first): once the oldest transaction still running is newer than the snapshot's
    xmax, all of them have finished."""
    with hub.db.engine.connect() as conn:
        if hub.db.is_sqlite:
            return conn.execute(select(func.max(EvidenceEntry.seq))).scalar()
        row = conn.execute(
            text(
                "SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax, "
                "(SELECT max(seq) FROM evidence_log) AS upto"
            )
        ).one()
        conn.commit()
        deadline = time.monotonic() + wait_s
        while True:
            done = conn.execute(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot()) >= CAST(:x AS xid8)"),
                {"x": row.xmax},
            ).scalar()
            conn.commit()
            if done:
                return row.upto
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)


def _last_head(session: Session) -> EvidenceHead | None:
    return session.scalars(select(EvidenceHead).order_by(EvidenceHead.id.desc()).limit(1)).first()


def seal(
    hub: Hub,
    *,
    force: bool = False,
    timestamp: bool = True,
    wait_s: float = 10.0,
    _retries: int = 3,
) -> SealResult:
    """Append a head over the entries committed since the last one, when N are waiting or the
    oldest waited T seconds (or `force`); then timestamp the heads still without a token."""
    ev = evidence_of(hub)
    s = hub.settings
    result = SealResult()
    upto = _committed_upto(hub, wait_s)
    with hub.db.read() as session:
        last = _last_head(session)
        start = int(last.seq_to) + 1 if last else 1
        rows = (
            session.execute(
                select(EvidenceEntry.seq, EvidenceEntry.entry_hash, EvidenceEntry.at)
                .where(EvidenceEntry.seq >= start, EvidenceEntry.seq <= (upto or 0))
                .order_by(EvidenceEntry.seq)
            ).all()
            if upto
            else []
        )
    due = rows and (
        force
        or len(rows) >= s.evidence_seal_every
        or utcnow() - rows[0].at >= timedelta(seconds=s.evidence_seal_interval_s)
    )
    if due:
        leaves = [rc.leaf_hash(bytes.fromhex(r.entry_hash)) for r in rows]
        values = {
            "seq_from": start,
            "seq_to": rows[-1].seq,
            "count": len(rows),
            "root": rc.merkle_root(leaves).hex(),
            "prev_hash": last.head_hash if last else GENESIS,
            "made_at": utcnow(),
        }
        body = rc.canonical(head_body(values))
        signer = ev.keys.signer
        values.update(
            head_hash=rc.sha256_hex(body),
            signature=signer.sign(body),
            cert_sha256=signer.cert_sha256,
        )
        try:
            with hub.db.write() as session:
                session.add(head := EvidenceHead(**values))
                session.flush()
                result.head_id, result.count = head.id, len(rows)
        except IntegrityError:
            log.info("another sealer appended the head over seq %s first", start)
            if force and _retries > 0:
                # what it sealed may stop short of what this caller must see sealed
                return seal(
                    hub, force=True, timestamp=timestamp, wait_s=wait_s, _retries=_retries - 1
                )
    else:
        result.pending = len(rows)
    if timestamp:
        _timestamp_pending(hub, result)
    return result


def _timestamp_pending(hub: Hub, result: SealResult) -> None:
    url = hub.settings.evidence_tsa_url
    if not url:
        return
    with hub.db.read() as session:
        pending = session.execute(
            select(EvidenceHead.id, EvidenceHead.head_hash)
            .where(EvidenceHead.tst.is_(None))
            .order_by(EvidenceHead.id)
            .limit(1000)
        ).all()
    for head_id, head_hash in pending:
        try:
            token = rc.request_timestamp(url, bytes.fromhex(head_hash))
        except rc.EvidenceError as exc:
            result.tsa_error = str(exc)
            log.warning("evidence head %s not timestamped (retried later): %s", head_id, exc)
            # tsa_error stays after a later success: the gap remains visible
            with hub.db.write() as session:
                session.execute(
                    update(EvidenceHead)
                    .where(EvidenceHead.id == head_id)
                    .values(tsa_error=str(exc)[:1000])
                )
            return
        gen_time, _, _ = rc.timestamp_info(token)
        with hub.db.write() as session:
            session.execute(
                update(EvidenceHead)
                .where(EvidenceHead.id == head_id, EvidenceHead.tst.is_(None))
                .values(tst=token, tst_at=gen_time)
            )
        result.timestamped += 1


# --- verify-log ----------------------------------------------------------------------------


@dataclass
class LogReport:
    findings: list[dict[str, Any]] = field(default_factory=list)
    heads: int = 0
    entries: int = 0
    rows: int = 0
    unsealed: int = 0
    not_timestamped: int = 0
    objects: int = 0
    pre_evidence: int = 0

    def add(self, code: str, severity: str, path: str, message: str) -> None:
        self.findings.append({"code": code, "severity": severity, "path": path, "message": message})

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "first_break": self.errors[0] if self.errors else None,
            "heads": self.heads,
            "entries": self.entries,
            "rows": self.rows,
            "objects": self.objects,
            "unsealed": self.unsealed,
            "not_timestamped": self.not_timestamped,
            "pre_evidence": self.pre_evidence,
            "findings": self.findings,
        }


def tsa_roots(settings: Settings) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = []
    for p in [x for x in settings.evidence_tsa_roots.replace(",", ":").split(":") if x.strip()]:
        data = Path(p).read_bytes()
        cert = (
            x509.load_pem_x509_certificate(data)
            if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data)
        )
        out.append(cert.public_bytes(serialization.Encoding.DER))
    return out


def hub_certs(hub: Hub) -> dict[str, bytes]:
    """Certificates the hub signed with: the database's list and the key directory's."""
    with hub.db.read() as session:
        certs = {c.sha256: c.der for c in session.scalars(select(EvidenceCert))}
    with contextlib.suppress(OSError):
        certs.update(HubKeys(hub.settings).known_certs())
    return certs


LATE_AFTER = timedelta(minutes=5)


def verify_log(hub: Hub, *, objects: bool = True, roots: list[bytes] | None = None) -> LogReport:
    """Recheck the whole log: heads (chain, signature, timestamp), entries (hashes, Merkle roots),
    the live rows against the last entry of each, and the stored packages. Findings ordered as
    found, head by head: the first error is the first break."""
    rep = LogReport()
    roots = tsa_roots(hub.settings) if roots is None else roots
    certs = hub_certs(hub)
    latest: dict[tuple[str, str], tuple[str, int, str]] = {}  # (subject, key) -> hash, seq, sha
    with hub.db.read() as session:
        # The log and the live rows are read in one snapshot: on PostgreSQL's default READ
        # COMMITTED, a fact committed between the two reads looked like a row never logged.
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        heads = list(session.scalars(select(EvidenceHead).order_by(EvidenceHead.id)))
        first_at = session.scalar(select(func.min(EvidenceEntry.at)))
        entries = session.execute(select(EvidenceEntry.__table__).order_by(EvidenceEntry.seq))
        _check_heads_and_entries(rep, heads, entries, certs, roots, latest)
        if first_at is not None:
            _check_rows(session, rep, latest, first_at)
    if objects:
        _check_objects(hub, rep, latest)
    return rep


def _check_heads_and_entries(
    rep: LogReport,
    heads: list[EvidenceHead],
    entries: Iterable[Any],
    certs: dict[str, bytes],
    roots: list[bytes],
    latest: dict[tuple[str, str], tuple[str, int, str]],
) -> None:
    prev_hash, prev_to = GENESIS, 0
    for h in heads:
        rep.heads += 1
        path = f"evidence_heads/{h.id}"
        body = rc.canonical(head_body(h))
        if h.prev_hash != prev_hash or h.seq_from != prev_to + 1:
            rep.add(
                "EVIDENCE_HEAD_CHAIN_BROKEN",
                "error",
                path,
                f"head {h.id} does not follow the head before it (a head removed or inserted)",
            )
        if rc.sha256_hex(body) != h.head_hash:
            rep.add("EVIDENCE_HEAD_ALTERED", "error", path, f"head {h.id} was changed")
        check = rc.verify_cms(body, h.signature, list(certs))
        if not check.ok:
            rep.add(f"EVIDENCE_HEAD_{check.code}", "error", path, f"head {h.id}: {check.message}")
        if h.tst is None:
            rep.not_timestamped += 1
            rep.add(
                "EVIDENCE_HEAD_NOT_TIMESTAMPED",
                "warning",
                path,
                f"head {h.id} (seq {h.seq_from}-{h.seq_to}, made {rc.utc_text(h.made_at)}) has "
                f"no timestamp yet: {h.tsa_error or 'no TSA configured'}",
            )
        else:
            tcheck = rc.verify_timestamp(h.tst, bytes.fromhex(h.head_hash), roots)
            if not tcheck.ok and not (tcheck.code == "TST_UNTRUSTED" and not roots):
                rep.add(f"EVIDENCE_HEAD_{tcheck.code}", "error", path, tcheck.message)
            elif not roots:
                rep.add(
                    "EVIDENCE_TSA_NOT_CHECKED",
                    "warning",
                    path,
                    "no TSA root configured (AXIS_EVIDENCE_TSA_ROOTS): the TSA is not checked",
                )
            if tcheck.at is not None and (h.tsa_error or tcheck.at - h.made_at > LATE_AFTER):
                rep.add(
                    "EVIDENCE_HEAD_TIMESTAMP_LATE",
                    "warning",
                    path,
                    f"head {h.id} made {rc.utc_text(h.made_at)}, timestamped "
                    f"{rc.utc_text(tcheck.at)} (the TSA was away: {h.tsa_error or 'late'})",
                )
        prev_hash, prev_to = h.head_hash, h.seq_to
    # entries, in seq order, against the heads' roots
    it = iter(heads)
    head = next(it, None)
    leaves: list[bytes] = []

    def close(h: EvidenceHead) -> None:
        root = rc.merkle_root(leaves).hex()
        if root != h.root or len(leaves) != h.count:
            rep.add(
                "EVIDENCE_ROOT_MISMATCH",
                "error",
                f"evidence_heads/{h.id}",
                f"the entries seq {h.seq_from}-{h.seq_to} are not those head {h.id} sealed "
                f"({len(leaves)} found, {h.count} sealed): an entry deleted, inserted, "
                "changed or re-ordered",
            )

    for e in entries:
        rep.entries += 1
        while head is not None and e.seq > head.seq_to:
            close(head)
            leaves = []
            head = next(it, None)
        d = dict(e._mapping)
        path = f"evidence_log/{e.seq}"
        if rc.sha256_hex(e.content.encode()) != e.row_hash:
            rep.add("EVIDENCE_ENTRY_ALTERED", "error", path, f"entry {e.seq}: content changed")
        d["at"] = rc.utc_text(e.at)
        if entry_hash(d) != e.entry_hash:
            rep.add("EVIDENCE_ENTRY_ALTERED", "error", path, f"entry {e.seq} was changed")
        if e.receipt:
            # The receipt's bytes are in the entry's hash, its signature is not: a signature
            # replaced (by another the hub made, or garbage) shows here, not only in a bundle.
            check = rc.verify_cms(bytes(e.receipt), bytes(e.receipt_sig or b""), list(certs))
            if not check.ok:
                rep.add(
                    f"EVIDENCE_RECEIPT_{check.code}",
                    "error",
                    path,
                    f"entry {e.seq}: the receipt's signature: {check.message}",
                )
        if head is not None:
            leaves.append(rc.leaf_hash(bytes.fromhex(e.entry_hash)))
        else:
            rep.unsealed += 1
        sha = ""
        if e.subject == "messages" and '"kind":"edoc"' in e.content:
            import json

            sha = json.loads(e.content)["sha256"]
        latest[(e.subject, e.row_key)] = (e.row_hash, e.seq, sha)
    while head is not None:
        close(head)
        leaves = []
        head = next(it, None)


def _live_rows(session: Session, since: datetime) -> Iterator[tuple[str, str, dict, bool]]:
    """(subject, key, content, older than the log) of every row the log covers."""
    m = Message.__table__
    for row in session.execute(select(m)).mappings():
        yield "messages", row["id"], message_content(row), row["received_at"] < since
    d = Delivery.__table__
    for row in session.execute(select(d)).mappings():
        key = f"{row['message_id']}/{row['recipient_code']}"
        content = delivery_content(
            row["message_id"], row["recipient_code"], row["created_at"], row["acked_at"]
        )
        yield "deliveries", key, content, row["created_at"] < since
    t = TimelineEvent.__table__
    for row in session.execute(select(t).where(t.c.event == "status")).mappings():
        key = f"{row['message_id']}/{row['agency_code']}"
        yield "timeline", key, timeline_content(row), row["at"] < since
    r = catalog.records.c
    for row in session.execute(
        select(r.message_id, r.document_id, r.package_sha256, r.accepted_at)
    ).mappings():
        content = record_content(
            row["message_id"], row["document_id"], row["package_sha256"], row["accepted_at"]
        )
        yield "records", row["message_id"], content, row["accepted_at"] < since


_TABLE_VI = {
    "messages": "message",
    "deliveries": "delivery",
    "timeline": "status line",
    "records": "archival record",
}


def _check_rows(
    session: Session,
    rep: LogReport,
    latest: dict[tuple[str, str], tuple[str, int, str]],
    since: datetime,
) -> None:
    seen: set[tuple[str, str]] = set()
    for subject, key, content, old in _live_rows(session, since):
        if old and (subject, key) not in latest:
            rep.pre_evidence += 1  # written before the log began (a hub upgraded)
            continue
        rep.rows += 1
        seen.add((subject, key))
        logged = latest.get((subject, key))
        path = f"{subject}/{key}"
        what = _TABLE_VI[subject]
        if logged is None:
            rep.add(
                "EVIDENCE_ROW_NOT_LOGGED",
                "error",
                path,
                f"{what} {key} is in the database but not in the log (inserted by hand?)",
            )
        elif rc.sha256_hex(rc.canonical(content)) != logged[0]:
            rep.add(
                "EVIDENCE_ROW_CHANGED",
                "error",
                path,
                f"{what} {key} differs from what the log recorded at seq {logged[1]}",
            )
    if rep.pre_evidence:
        rep.add(
            "EVIDENCE_ROWS_BEFORE_LOG",
            "warning",
            "/",
            f"{rep.pre_evidence} rows dated before the log began ({rc.utc_text(since)}) are "
            "not covered by it",
        )
    for (subject, key), (_, seq, _sha) in latest.items():
        if (subject, key) not in seen:
            rep.add(
                "EVIDENCE_ROW_DELETED",
                "error",
                f"{subject}/{key}",
                f"{_TABLE_VI[subject]} {key}, logged at seq {seq}, is no longer in the database",
            )


def _check_objects(
    hub: Hub, rep: LogReport, latest: dict[tuple[str, str], tuple[str, int, str]]
) -> None:
    for (subject, key), (_, _seq, sha) in latest.items():
        if subject != "messages" or not sha:
            continue
        rep.objects += 1
        try:
            data = hub.store.get(sha)
        except StoreError as exc:
            rep.add("EVIDENCE_OBJECT_MISSING", "error", f"store/{sha}", f"package of {key}: {exc}")
            continue
        if hashlib.sha256(data).hexdigest() != sha:
            rep.add(
                "EVIDENCE_OBJECT_CHANGED",
                "error",
                f"store/{sha}",
                f"the stored package of message {key} is not the one accepted (SHA-256 differs)",
            )


def subscribe(hub: Hub) -> None:  # the bootstrap's name for it
    install(hub)
