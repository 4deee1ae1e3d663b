"""An evidence bundle per document (issue 18, docs/evidence.md): one zip a court or an inspector
checks offline, with no hub, no database and no network.

Layout (`axis-evidence/1`):

    manifest.json           format, document, what it was exported for, SHA-256 of every file
    manifest.p7s            the hub's detached CMS signature over manifest.json
    README.txt              what the bundle holds and how to check it with openssl
    packages/<id>.edxml     each document package as sent (the document, its revoke/update…)
    statuses/<id>.edxml     each status package (01 arrived, 03 registered, …)
    reports/<id>.json       the findings and validation report of each document package
    log/entries.json        the log entries about the document: content of each row as written,
                            its hash, the entry's hash, its head and Merkle inclusion proof
    log/heads.json          those heads: body, hash, hub certificate
    log/heads/<id>.p7s      the hub's signature over each head's canonical body
    log/heads/<id>.tst      the RFC 3161 timestamp token over each head's hash
    receipts/<seq>.json     each signed receipt (canonical JSON) and receipts/<seq>.p7s
    certs/hub-<sha>.pem     the hub certificates; certs/tsa-<sha>.pem the TSA's

`verify_bundle` is the offline check: pure, given the bundle's bytes, the hub certificates the
verifier trusts (pinned) and the TSA roots.
"""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from archive.store import StoreError
from axis.adapters.evidence_tables import EvidenceCert, EvidenceEntry, EvidenceHead
from axis.adapters.tables import Message
from axis.domain import VIETNAM, NotFound, Principal, utcnow
from axis.service.context import Hub
from axis.service.evidence import entry_digest, evidence_of, head_body, seal
from axis.service.failures import store_failed
from formats.model import STATUS_CODES
from signing import receipts as rc

FORMAT = "axis-evidence/1"

README = """axis evidence bundle (axis-evidence/1) / Hồ sơ chứng cứ của trục axis

EN: This zip proves what the hub recorded about one document: the packages as sent, the signed
receipts, every status, and the log entries with their Merkle inclusion proofs into heads that
the hub signed and an RFC 3161 timestamp authority dated. Check it offline:
    axis evidence verify THIS.zip --hub-cert hub.pem --tsa-root tsa-root.pem
or by hand: `openssl cms -verify -binary -inform DER -in receipts/N.p7s -content receipts/N.json
-CAfile certs/hub-*.pem -purpose any` and `openssl ts -verify -digest <head_hash> -token_in
-in log/heads/ID.tst -CAfile tsa-root.pem`; the hashes are SHA-256, the Merkle tree RFC 6962's.

VI: Tệp nén này chứng minh những gì trục đã ghi nhận về một văn bản: gói tin như đã gửi, biên
nhận có chữ ký số của trục, mọi trạng thái xử lý, và các bản ghi nhật ký kèm bằng chứng thuộc
cây Merkle của các đầu chuỗi đã được trục ký và được tổ chức cấp dấu thời gian (RFC 3161) xác
nhận thời điểm. Kiểm tra không cần mạng: axis evidence verify TỆP.zip --hub-cert hub.pem
--tsa-root tsa-root.pem
"""


def _visible(hub: Hub, principal: Principal, message_id: str) -> tuple[str, Message]:
    from axis.service.inbox import _visible as visible

    return visible(hub, principal, message_id)


def for_archive(hub: Hub) -> Callable[[dict], dict[str, bytes]] | None:
    """The archive export's hook (archive.export.export_bags): each record's bundle, beside
    its objects, so that a transfer to the historical archive carries its proof. The log is
    sealed once for the whole export. None when the evidence log is off."""
    if not hub.settings.evidence_enabled:
        return None
    with contextlib.suppress(Exception):  # a bundle with unsealed entries still says so
        seal(hub, force=True)
    archivist = Principal(key_id="archive-export", role="archivist")

    def files(record: dict) -> dict[str, bytes]:
        try:
            name, data = export(hub, archivist, str(record["message_id"]), seal_first=False)
        except NotFound:
            return {}  # archived without an exchange through this hub: nothing to prove
        return {name: data}

    return files


def export(
    hub: Hub, principal: Principal, message_id: str, *, seal_first: bool = True
) -> tuple[str, bytes]:
    """The bundle of the document of `message_id`, for its sender, its recipients, an
    archivist or an operator (others: 404). Seals the log first so the entries have proofs
    (and timestamps, when the TSA answers)."""
    role, msg = _visible(hub, principal, message_id)
    ev = evidence_of(hub)
    if seal_first:
        with contextlib.suppress(Exception):  # a bundle with unsealed entries still says so
            seal(hub, force=True)
    agency = principal.agency_code if role == "recipient" else None
    doc_id = msg.document_id
    with hub.db.read() as session:
        entries = [
            e
            for e in session.scalars(
                select(EvidenceEntry)
                .where(EvidenceEntry.document_id == doc_id)
                .order_by(EvidenceEntry.seq)
            )
        ]
        if agency is not None:
            entries = _for_recipient(entries, agency)
        heads = list(session.scalars(select(EvidenceHead).order_by(EvidenceHead.id)))
        messages = list(
            session.scalars(
                select(Message).where(Message.document_id == doc_id).order_by(Message.received_at)
            )
        )
        certs = {c.sha256: c.der for c in session.scalars(select(EvidenceCert))}
        files: dict[str, bytes] = {}
        leaves_of: dict[int, list[bytes]] = {}
        out_entries = []
        used_heads: dict[int, EvidenceHead] = {}
        for e in entries:
            head = next((h for h in heads if h.seq_from <= e.seq <= h.seq_to), None)
            item: dict[str, Any] = {
                "seq": e.seq,
                "at": rc.utc_text(e.at),
                "event": e.event,
                "subject": e.subject,
                "key": e.row_key,
                "message_id": e.message_id,
                "document_id": e.document_id,
                "content": e.content,
                "row_hash": e.row_hash,
                "receipt_sha256": rc.sha256_hex(e.receipt) if e.receipt else None,
                "entry_hash": e.entry_hash,
                "head": None,
            }
            if head is not None:
                if head.id not in leaves_of:
                    hashes = session.scalars(
                        select(EvidenceEntry.entry_hash)
                        .where(EvidenceEntry.seq.between(head.seq_from, head.seq_to))
                        .order_by(EvidenceEntry.seq)
                    ).all()
                    leaves_of[head.id] = [rc.leaf_hash(bytes.fromhex(h)) for h in hashes]
                seqs = session.scalars(
                    select(EvidenceEntry.seq)
                    .where(EvidenceEntry.seq.between(head.seq_from, e.seq - 1))
                    .order_by(EvidenceEntry.seq)
                ).all()
                index = len(seqs)
                leaves = leaves_of[head.id]
                item.update(
                    head=head.id,
                    index=index,
                    size=len(leaves),
                    path=[p.hex() for p in rc.audit_path(leaves, index)],
                )
                used_heads[head.id] = head
            if e.receipt:
                files[f"receipts/{e.seq}.json"] = bytes(e.receipt)
                files[f"receipts/{e.seq}.p7s"] = bytes(e.receipt_sig or b"")
            out_entries.append(item)
    listed = {e.message_id for e in entries if e.subject == "messages"}
    for m in messages:
        if m.id not in listed:
            continue
        if m.kind == "edoc":
            try:
                files[f"packages/{m.id}.edxml"] = hub.store.get(m.sha256)
            except StoreError as exc:
                raise store_failed(exc, f"message {m.id}") from exc
            files[f"reports/{m.id}.json"] = rc.canonical(
                {"findings": m.findings or [], "report": m.report}
            )
        elif m.inline_body is not None:
            files[f"statuses/{m.id}.edxml"] = bytes(m.inline_body)
    head_list = []
    for h in used_heads.values():
        head_list.append(
            {
                "id": h.id,
                "body": head_body(h),
                "head_hash": h.head_hash,
                "cert_sha256": h.cert_sha256,
                "tsa_error": h.tsa_error,
            }
        )
        files[f"log/heads/{h.id}.p7s"] = bytes(h.signature)
        if h.tst:
            files[f"log/heads/{h.id}.tst"] = bytes(h.tst)
            with contextlib.suppress(Exception):
                for der in rc.timestamp_info(bytes(h.tst))[2]:
                    files[f"certs/tsa-{rc.sha256_hex(der)}.pem"] = rc.pem(der)
    for sha, der in certs.items():
        files[f"certs/hub-{sha}.pem"] = rc.pem(der)
    files["log/entries.json"] = _pretty(out_entries)
    files["log/heads.json"] = _pretty(head_list)
    files["README.txt"] = README.encode()
    manifest = {
        "format": FORMAT,
        "document_id": doc_id,
        "message_id": msg.id,
        "exported_at": rc.utc_text(utcnow()),
        "exported_for": principal.agency_code or principal.role,
        "hub_cert": ev.keys.signer.cert_sha256,
        "files": {name: rc.sha256_hex(data) for name, data in sorted(files.items())},
    }
    manifest_bytes = _pretty(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", manifest_bytes)
        z.writestr("manifest.p7s", ev.keys.signer.sign(manifest_bytes))
        for name, data in sorted(files.items()):
            z.writestr(name, data)
    return f"evidence-{msg.id}.zip", buf.getvalue()


def _for_recipient(entries: list[EvidenceEntry], agency: str) -> list[EvidenceEntry]:
    """A recipient's bundle: the document's packages, the statuses it sent or received, and
    the deliveries and status lines that concern it (not the other recipients')."""
    contents = [json.loads(e.content) for e in entries]
    sent = {
        c["id"]
        for e, c in zip(entries, contents, strict=True)
        if e.subject == "messages" and c["sender"] == agency
    }
    kept = []
    for e, c in zip(entries, contents, strict=True):
        if e.subject == "messages":
            keep = c["kind"] == "edoc" or agency in (c["sender"], *c["recipients"])
        elif e.subject == "deliveries":
            keep = c["recipient"] == agency or c["message_id"] in sent
        elif e.subject == "timeline":
            keep = c["agency"] == agency
        else:
            keep = True
        if keep:
            kept.append(e)
    return kept


def _pretty(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True).encode()


# --- the offline check ------------------------------------------------------------------------


@dataclass
class BundleReport:
    findings: list[dict[str, Any]] = field(default_factory=list)
    facts_vi: list[str] = field(default_factory=list)
    facts_en: list[str] = field(default_factory=list)
    document_id: str | None = None

    def add(self, code: str, severity: str, path: str, message: str) -> None:
        self.findings.append({"code": code, "severity": severity, "path": path, "message": message})

    @property
    def verdict(self) -> str:
        """valid: every check passed against pinned keys; incomplete: nothing found wrong
        but something could not be proven (key not pinned, TSA not checked, entries not
        sealed or not timestamped); invalid: something is wrong."""
        if any(f["severity"] == "error" for f in self.findings):
            return "invalid"
        if any(f["severity"] == "warning" for f in self.findings):
            return "incomplete"
        return "valid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "document_id": self.document_id,
            "facts": {"vi": self.facts_vi, "en": self.facts_en},
            "findings": self.findings,
        }


def _show(text_: str | None) -> str:
    if not text_:
        return "?"
    at = datetime.fromisoformat(text_.replace("Z", "+00:00")).astimezone(VIETNAM)
    return at.strftime("%d/%m/%Y %H:%M:%S (+07:00)")


def verify_bundle(
    data: bytes, hub_certs: list[bytes] | None = None, tsa_roots: list[bytes] | None = None
) -> BundleReport:
    """Check a bundle offline. `hub_certs`: the hub certificates (DER) the verifier trusts;
    None trusts the bundle's own (reported: the verdict is then at best incomplete).
    `tsa_roots`: roots the TSA must chain to (None: timestamps not trusted, reported)."""
    rep = BundleReport()
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = set(z.namelist())
        manifest_bytes = z.read("manifest.json")
        manifest = json.loads(manifest_bytes)
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}, not {FORMAT}")
        manifest_sig = z.read("manifest.p7s")
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        rep.add("BUNDLE_MALFORMED", "error", "/", f"not a readable evidence bundle: {exc}")
        return rep
    rep.document_id = manifest.get("document_id")
    files: dict[str, bytes] = {}
    for name, sha in manifest.get("files", {}).items():
        if name not in names:
            rep.add("BUNDLE_FILE_MISSING", "error", name, f"{name} is listed but missing")
            continue
        files[name] = z.read(name)
        if rc.sha256_hex(files[name]) != sha:
            rep.add("BUNDLE_FILE_CHANGED", "error", name, f"{name} is not the file exported")
    for name in sorted(names - set(manifest.get("files", {})) - {"manifest.json", "manifest.p7s"}):
        rep.add("BUNDLE_FILE_EXTRA", "error", name, f"{name} was added after export")
    own = {
        n.removeprefix("certs/hub-").removesuffix(".pem"): _der_of(files[n])
        for n in files
        if n.startswith("certs/hub-")
    }
    if hub_certs is None:
        trusted = list(own)
        rep.add(
            "BUNDLE_HUB_NOT_PINNED",
            "warning",
            "certs/",
            "no hub certificate given (--hub-cert): the bundle's own certificates were used; "
            f"compare their SHA-256 with the hub's: {', '.join(sorted(own))}",
        )
    else:
        trusted = [rc.sha256_hex(c) for c in hub_certs]
    check = rc.verify_cms(manifest_bytes, manifest_sig, trusted)
    if not check.ok:
        rep.add(f"BUNDLE_MANIFEST_{check.code}", "error", "manifest.p7s", check.message)
    if tsa_roots is None:
        rep.add(
            "BUNDLE_TSA_NOT_CHECKED",
            "warning",
            "log/heads/",
            "no TSA root given (--tsa-root): the timestamps' authority is not checked",
        )
    try:
        entries = json.loads(files["log/entries.json"])
        heads = {h["id"]: h for h in json.loads(files["log/heads.json"])}
    except (KeyError, ValueError) as exc:
        rep.add("BUNDLE_MALFORMED", "error", "log/", f"the log is unreadable: {exc}")
        return rep
    good_heads = _check_heads(rep, heads, files, trusted, tsa_roots)
    _check_entries(rep, entries, heads, good_heads, files, trusted)
    _facts(rep, entries, heads, files)
    return rep


def _der_of(pem_bytes: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_certificate(pem_bytes).public_bytes(serialization.Encoding.DER)


def _check_heads(
    rep: BundleReport,
    heads: dict[int, dict],
    files: dict[str, bytes],
    trusted: list[str],
    tsa_roots: list[bytes] | None,
) -> set[int]:
    good = set()
    for hid, h in heads.items():
        path = f"log/heads/{hid}"
        body = rc.canonical(h["body"])
        ok = True
        if rc.sha256_hex(body) != h["head_hash"]:
            rep.add("BUNDLE_HEAD_ALTERED", "error", path, f"head {hid} was changed")
            ok = False
        sig = files.get(f"{path}.p7s")
        check = rc.verify_cms(body, sig or b"", trusted)
        if not check.ok:
            rep.add(f"BUNDLE_HEAD_{check.code}", "error", f"{path}.p7s", check.message)
            ok = False
        token = files.get(f"{path}.tst")
        if token is None:
            rep.add(
                "BUNDLE_HEAD_NOT_TIMESTAMPED",
                "warning",
                path,
                f"head {hid} has no timestamp ({h.get('tsa_error') or 'TSA not configured'}): "
                "its time rests on the hub's word alone",
            )
        else:
            tcheck = rc.verify_timestamp(token, bytes.fromhex(h["head_hash"]), tsa_roots or [])
            if not tcheck.ok and not (tcheck.code == "TST_UNTRUSTED" and tsa_roots is None):
                rep.add(f"BUNDLE_HEAD_{tcheck.code}", "error", f"{path}.tst", tcheck.message)
                ok = False
            elif tcheck.at is not None:
                h["_tst_at"] = rc.utc_text(tcheck.at)
        if ok:
            good.add(hid)
    return good


def _check_entries(
    rep: BundleReport,
    entries: list[dict],
    heads: dict[int, dict],
    good_heads: set[int],
    files: dict[str, bytes],
    trusted: list[str],
) -> None:
    last = 0
    for e in entries:
        path = f"log/entries.json#{e.get('seq')}"
        if not isinstance(e.get("seq"), int) or e["seq"] <= last:
            rep.add(
                "BUNDLE_ENTRIES_REORDERED",
                "error",
                path,
                f"entry {e.get('seq')} comes after entry {last}: the log was re-ordered",
            )
        last = max(last, e.get("seq") or 0)
        receipt_file = files.get(f"receipts/{e['seq']}.json")
        if rc.sha256_hex(e["content"].encode()) != e["row_hash"]:
            rep.add("BUNDLE_ENTRY_ALTERED", "error", path, f"entry {e['seq']}: content changed")
        digest = entry_digest(
            e["at"],
            e["event"],
            e["subject"],
            e["key"],
            e["message_id"],
            e["document_id"],
            e["row_hash"],
            e.get("receipt_sha256"),
        )
        if digest != e["entry_hash"]:
            rep.add("BUNDLE_ENTRY_ALTERED", "error", path, f"entry {e['seq']} was changed")
        if e.get("receipt_sha256"):
            if receipt_file is None:
                rep.add("BUNDLE_RECEIPT_MISSING", "error", path, f"receipt {e['seq']} missing")
            elif rc.sha256_hex(receipt_file) != e["receipt_sha256"]:
                rep.add(
                    "BUNDLE_RECEIPT_CHANGED",
                    "error",
                    f"receipts/{e['seq']}.json",
                    "the receipt is not the one the log recorded",
                )
            else:
                check = rc.verify_cms(
                    receipt_file, files.get(f"receipts/{e['seq']}.p7s", b""), trusted
                )
                if not check.ok:
                    rep.add(
                        f"BUNDLE_RECEIPT_{check.code}",
                        "error",
                        f"receipts/{e['seq']}.p7s",
                        check.message,
                    )
        head = heads.get(e.get("head")) if e.get("head") is not None else None
        if head is None:
            rep.add(
                "BUNDLE_ENTRY_UNSEALED",
                "warning",
                path,
                f"entry {e['seq']} is not under a sealed head yet: proven by the hub's word only",
            )
        else:
            root = rc.root_from_path(
                rc.leaf_hash(bytes.fromhex(e["entry_hash"])),
                int(e["index"]),
                int(e["size"]),
                [bytes.fromhex(p) for p in e["path"]],
            )
            body = head["body"]
            if (
                root is None
                or root.hex() != body["root"]
                or int(e["size"]) != body["count"]
                or not body["seq_from"] <= e["seq"] <= body["seq_to"]
            ):
                rep.add(
                    "BUNDLE_PROOF_INVALID",
                    "error",
                    path,
                    f"entry {e['seq']} is not in head {e['head']}'s tree",
                )
        _check_package(rep, e, files)


def _check_package(rep: BundleReport, e: dict, files: dict[str, bytes]) -> None:
    if e["subject"] != "messages":
        return
    content = json.loads(e["content"])
    if content["kind"] == "edoc":
        name = f"packages/{content['id']}.edxml"
        expected = content["sha256"]
    else:
        name = f"statuses/{content['id']}.edxml"
        expected = content.get("inline_sha256")
    data = files.get(name)
    if data is None:
        rep.add("BUNDLE_PACKAGE_MISSING", "error", name, f"{name} is not in the bundle")
    elif rc.sha256_hex(data) != expected:
        rep.add(
            "BUNDLE_PACKAGE_MISMATCH",
            "error",
            name,
            f"{name} is not the package the hub accepted (SHA-256 differs)",
        )


def _facts(rep: BundleReport, entries: list[dict], heads: dict[int, dict], files: dict) -> None:
    for e in entries:
        c = json.loads(e["content"])
        if e["subject"] == "messages" and c["kind"] == "edoc":
            to = ", ".join(c["recipients"])
            at = _show(c["received_at"])
            rep.facts_vi.append(
                f"{c['sender']} đã gửi văn bản {c['code'] or c['document_id']} "
                f"(DocumentId {c['document_id']}, SHA-256 {c['sha256']}) tới {to}; "
                f"trục nhận lúc {at}."
            )
            rep.facts_en.append(
                f"{c['sender']} sent document {c['code'] or c['document_id']} "
                f"(DocumentId {c['document_id']}, SHA-256 {c['sha256']}) to {to}; "
                f"the hub accepted it at {at}."
            )
        elif e["subject"] == "messages":
            meaning = STATUS_CODES.get(c["status_code"] or "", "")
            at = _show(c["received_at"])
            rep.facts_vi.append(
                f"{c['sender']} gửi trạng thái {c['status_code']} ({meaning}) lúc {at}."
            )
            rep.facts_en.append(f"{c['sender']} sent status {c['status_code']} at {at}.")
        elif e["subject"] == "deliveries" and c["acked_at"]:
            at = _show(c["acked_at"])
            rep.facts_vi.append(f"{c['recipient']} xác nhận đã nhận lúc {at}.")
            rep.facts_en.append(f"{c['recipient']} acknowledged receipt at {at}.")
    stamped = sorted({h["_tst_at"] for h in heads.values() if h.get("_tst_at")})
    if stamped:
        rep.facts_vi.append(
            f"Nhật ký được đóng dấu thời gian (RFC 3161) lúc {', '.join(map(_show, stamped))}."
        )
        rep.facts_en.append(
            f"The log was timestamped (RFC 3161) at {', '.join(map(_show, stamped))}."
        )
    if rep.verdict == "invalid":
        rep.facts_vi.append("CÓ THAY ĐỔI hoặc sai lệch: xem các lỗi bên dưới.")
        rep.facts_en.append("SOMETHING WAS CHANGED or does not check: see the findings.")
    elif rep.verdict == "valid":
        rep.facts_vi.append("Không có gì bị thay đổi kể từ khi trục ghi nhận.")
        rep.facts_en.append("Nothing was changed since the hub recorded it.")
