"""Export records as BagIt bags (the `bagit` library) for transfer to a historical archive.

One bag per record, or per file code (hồ sơ). Each bag holds the record's objects, streamed
from the store in chunks and verified against their SHA-256 on the way, plus `metadata.xml`
with the fields of Circular 02/2019 (file and document level). Records are read in keyset
batches and one bag is written at a time, so memory stays flat whatever the export's size.
A bag is built in a hidden `.partial-*` directory and renamed when complete: a bag directory
that exists is a whole bag.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import bagit
from lxml import etree
from sqlalchemy import func, select

from archive import catalog as c
from archive.records import log_event
from archive.search import Query, conditions, iter_ids
from archive.store import ObjectMissing, ObjectStore

CHUNK = 1024 * 1024
MAX_LISTED_BAGS = 1000
NOT_IN_METADATA = {"access", "download", "export"}  # reading it is not part of its history


@dataclass
class ExportProblem:
    bag: str
    record_id: int
    name: str
    problem: str  # missing | altered | evidence
    detail: str = ""


# record (a row of `records`, as a dict) -> {file name: bytes}; see export_bags
EvidenceFiles = Callable[[dict], dict[str, bytes]]


@dataclass
class ExportResult:
    bag_count: int = 0
    bags: list[Path] = field(default_factory=list)  # the first MAX_LISTED_BAGS, memory stays flat
    records: int = 0
    objects: int = 0
    bytes: int = 0
    problems: list[ExportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _safe(name: str) -> str:
    """A file or directory name that cannot escape its parent."""
    cleaned = re.sub(r"[^\w.\-]+", "_", name, flags=re.UNICODE).strip("._")
    return cleaned[:150] or "unnamed"


def _load(conn, record_id: int) -> tuple[dict, list[dict], list[dict], list[dict]]:  # type: ignore[no-untyped-def]
    rec = dict(conn.execute(select(c.records).where(c.records.c.id == record_id)).mappings().one())
    rec.pop("search_tsv", None)
    objs = [
        dict(r)
        for r in conn.execute(
            select(c.objects).where(c.objects.c.record_id == record_id).order_by(c.objects.c.id)
        ).mappings()
    ]
    recips = [
        dict(r)
        for r in conn.execute(
            select(c.recipients).where(c.recipients.c.record_id == record_id)
        ).mappings()
    ]
    evts = [
        dict(r)
        for r in conn.execute(
            select(c.events)
            .where(c.events.c.record_id == record_id, c.events.c.kind.not_in(NOT_IN_METADATA))
            .order_by(c.events.c.id)
        ).mappings()
    ]
    return rec, objs, recips, evts


def _text(parent: etree._Element, tag: str, value: Any) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if value is not None:
        el.text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return el


def _maintenance(rec: dict) -> str:
    return "permanent" if rec["permanent"] else f"{rec['retention_years']} years"


def _document_element(
    root: etree._Element,
    ordinal: int,
    rec: dict,
    objs: list[dict],
    recips: list[dict],
    evts: list[dict],
    paths: dict[int, str],
) -> None:
    doc = etree.SubElement(root, "Document")
    _text(doc, "FileCode", rec["file_code"])
    _text(doc, "DocOrdinal", ordinal)
    _text(doc, "Identifier", rec["document_id"])
    _text(doc, "TypeName", rec["type_name"])
    _text(doc, "CodeNumber", rec["code_number"])
    _text(doc, "CodeNotation", rec["code_notation"])
    _text(doc, "IssuedDate", rec["issued_date"])
    _text(doc, "IssuedPlace", rec["issued_place"])
    _text(doc, "OrganId", rec["agency_id"])
    _text(doc, "OrganName", rec["agency_name"])
    _text(doc, "Subject", rec["subject"])
    _text(doc, "Language", rec["language"])
    _text(doc, "PageAmount", rec["page_amount"])
    _text(doc, "Description", rec["content"])
    signer = etree.SubElement(doc, "SignerInfo")
    _text(signer, "Competence", rec["signer_competence"])
    _text(signer, "Position", rec["signer_position"])
    _text(signer, "FullName", rec["signer_name"])
    to = etree.SubElement(doc, "To")
    for r in recips:
        el = _text(to, "Organ", r["organ_name"] or r["organ_id"])
        el.set("id", r["organ_id"])
        el.set("state", r["state"])
    _text(doc, "Priority", rec["priority"])
    _text(doc, "IssuedAmount", rec["promulgation_amount"])
    _text(doc, "DueDate", rec["due_date"])
    _text(doc, "Maintenance", _maintenance(rec))
    _text(doc, "Rights", rec["access"])
    _text(doc, "RetainUntil", rec["retain_until"])
    _text(doc, "State", rec["state"])
    _text(doc, "LegalHold", "true" if rec["legal_hold"] else "false")
    _text(doc, "MessageId", rec["message_id"])
    _text(doc, "AcceptedAt", rec["accepted_at"])
    objects_el = etree.SubElement(doc, "Objects")
    for o in objs:
        el = etree.SubElement(objects_el, "Object")
        for attr in ("name", "role", "sha256", "size", "content_type"):
            el.set(attr.replace("_", "-"), str(o[attr]))
        if o["id"] in paths:
            el.set("path", paths[o["id"]])
        if o["destroyed_at"] is not None:
            el.set("destroyed-at", o["destroyed_at"].isoformat())
    history = etree.SubElement(doc, "Events")
    for e in evts:
        el = _text(history, "Event", e["detail"] or None)
        el.set("kind", e["kind"])
        el.set("actor", e["actor"])
        el.set("at", e["at"].isoformat())


def _copy_verified(store: ObjectStore, key: str, target: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with store.open(key) as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            dst.write(chunk)
    return size, digest.hexdigest()


def _write_bag(
    conn,  # type: ignore[no-untyped-def]
    store: ObjectStore,
    out_dir: Path,
    bag_name: str,
    record_ids: Iterable[int],
    *,
    file_code: str | None,
    actor: str,
    result: ExportResult,
    progress: Callable[[int], None] | None,
    on_bag: Callable[[str, list[int]], None] | None,
    evidence: EvidenceFiles | None = None,
) -> None:
    final = out_dir / bag_name
    partial = out_dir / f".partial-{bag_name}"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    root = etree.Element("ArchivalPackage", standard="Circular 02/2019/TT-BNV; Decree 30/2020")
    file_el = etree.SubElement(root, "File")
    ordinal, pages, start, end, first = 0, 0, None, None, None
    problems_before = len(result.problems)
    exported: list[int] = []
    try:
        for record_id in record_ids:
            rec, objs, recips, evts = _load(conn, record_id)
            ordinal += 1
            first = first or rec
            pages += rec["page_amount"] or 0
            start = min(start or rec["issued_date"], rec["issued_date"])
            end = max(end or rec["issued_date"], rec["issued_date"])
            prefix = f"objects/{record_id}" if file_code is not None else "objects"
            (partial / prefix).mkdir(parents=True, exist_ok=True)
            paths: dict[int, str] = {}
            for o in objs:
                if o["destroyed_at"] is not None:
                    continue
                rel = f"{prefix}/{_safe(o['name'])}"
                try:
                    size, sha = _copy_verified(store, o["sha256"], partial / rel)
                except ObjectMissing:
                    result.problems.append(
                        ExportProblem(bag_name, record_id, o["name"], "missing", o["sha256"])
                    )
                    continue
                if sha != o["sha256"] or size != o["size"]:
                    result.problems.append(
                        ExportProblem(
                            bag_name,
                            record_id,
                            o["name"],
                            "altered",
                            f"expected {o['sha256']}, got {sha}",
                        )
                    )
                    (partial / rel).unlink()
                    continue
                paths[o["id"]] = "data/" + rel
                result.objects += 1
                result.bytes += size
            if evidence is not None:
                try:
                    extra = evidence(rec)
                except Exception as exc:  # noqa: BLE001 - reported, the bag is not written
                    result.problems.append(
                        ExportProblem(bag_name, record_id, "evidence", "evidence", str(exc)[:300])
                    )
                    extra = {}
                for name, data in extra.items():
                    rel = f"{prefix}/evidence/{_safe(name)}"
                    (partial / rel).parent.mkdir(parents=True, exist_ok=True)
                    (partial / rel).write_bytes(data)
            _document_element(root, ordinal, rec, objs, recips, evts, paths)
            exported.append(record_id)
            if progress:
                progress(1)
        if first is None:
            shutil.rmtree(partial)
            return
        _text(file_el, "FileCode", first["file_code"] if file_code is not None else None)
        _text(file_el, "Title", f"Hồ sơ {file_code}" if file_code is not None else first["subject"])
        _text(file_el, "Maintenance", _maintenance(first))
        _text(file_el, "Rights", first["access"])
        _text(file_el, "Creator", first["agency_name"] or first["agency_id"])
        _text(file_el, "Language", first["language"])
        _text(file_el, "StartDate", start)
        _text(file_el, "EndDate", end)
        _text(file_el, "DocTotal", ordinal)
        _text(file_el, "PageTotal", pages)
        _text(file_el, "Description", f"exported by axis on {datetime.now(UTC).isoformat()}")
        (partial / "metadata.xml").write_bytes(
            etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        )
        if len(result.problems) > problems_before:
            # An incomplete bag would be handed over as if whole: keep nothing of it.
            shutil.rmtree(partial)
            return
        bagit.make_bag(
            str(partial),
            bag_info={
                "Source-Organization": first["agency_name"] or first["agency_id"],
                "External-Identifier": file_code if file_code is not None else first["document_id"],
                "External-Description": "axis archival export (metadata.xml: Circular 02/2019)",
                "Bag-Group-Identifier": first["file_code"],
            },
            checksums=["sha256"],
            processes=1,
        )
        if final.exists():
            shutil.rmtree(final)
        partial.rename(final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    result.bag_count += 1
    if len(result.bags) < MAX_LISTED_BAGS:
        result.bags.append(final)
    result.records += len(exported)
    if on_bag is not None:
        on_bag(bag_name, exported)
    else:
        for record_id in exported:
            log_event(conn, record_id, "export", actor, {"bag": bag_name})


def export_bags(
    conn,  # type: ignore[no-untyped-def]
    store: ObjectStore,
    out_dir: Path | str,
    *,
    query: Query | None = None,
    record_ids: Iterable[int] | None = None,
    per: Literal["record", "file_code"] = "record",
    actor: str,
    progress: Callable[[int], None] | None = None,
    on_bag: Callable[[str, list[int]], None] | None = None,
    evidence: EvidenceFiles | None = None,
) -> ExportResult:
    """Write one BagIt bag per record (`record-<id>`) or per file code into `out_dir`.
    Records are those listed, else those matching `query` (default: all). A bag with a
    missing or altered object is not written; the problem is reported in the result.

    Each exported record gets an "export" event: on `conn` by default, or through
    `on_bag(bag_name, record_ids)` — give that to write each bag's events in a short
    transaction of its own, so a long export never holds the database's write lock (SQLite)
    while the hub is accepting documents.

    `evidence(record)` gives files proving the record's exchange (the hub's evidence bundle),
    written under `evidence/` in the record's bag; if it fails, the bag is not written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult()
    if per == "record":
        ids: Iterator[int] | Iterable[int] = (
            record_ids if record_ids is not None else iter_ids(conn, query or Query())
        )
        for record_id in ids:
            _write_bag(
                conn,
                store,
                out,
                f"record-{record_id}",
                [record_id],
                file_code=None,
                actor=actor,
                result=result,
                progress=progress,
                on_bag=on_bag,
                evidence=evidence,
            )
        return result
    if per != "file_code":
        raise ValueError("per must be 'record' or 'file_code'")
    r = c.records.c
    if record_ids is not None:
        wanted = list(record_ids)
        rows = conn.execute(select(r.id, r.file_code).where(r.id.in_(wanted))).all()
        groups: dict[str, list[int]] = {}
        for row in rows:
            groups.setdefault(row.file_code, []).append(int(row.id))
        items = sorted(groups.items())
        for code, members in items:
            _write_bag(
                conn,
                store,
                out,
                _safe(code),
                sorted(members),
                file_code=code,
                actor=actor,
                result=result,
                progress=progress,
                on_bag=on_bag,
                evidence=evidence,
            )
        return result
    where = conditions(conn, query or Query())
    codes = [
        row[0]
        for row in conn.execute(select(r.file_code).where(*where).distinct().order_by(r.file_code))
    ]
    for code in codes:
        members = iter_ids(conn, _with_file_code(query or Query(), code))
        _write_bag(
            conn,
            store,
            out,
            _safe(code),
            members,
            file_code=code,
            actor=actor,
            result=result,
            progress=progress,
            on_bag=on_bag,
            evidence=evidence,
        )
    return result


def _with_file_code(q: Query, code: str) -> Query:
    return replace(q, file_code=code)


def validate_bag(path: Path | str) -> bool:
    """True when the bag at `path` is complete and its checksums hold (bagit's validation)."""
    try:
        bagit.Bag(str(path)).validate(processes=1)
    except bagit.BagError:
        return False
    return True


def count_matching(conn, query: Query | None = None) -> int:  # type: ignore[no-untyped-def]
    """How many records an export of `query` will write (for a progress bar's total)."""
    where = conditions(conn, query or Query())
    return int(conn.execute(select(func.count()).select_from(c.records).where(*where)).scalar_one())


__all__ = ["ExportProblem", "ExportResult", "count_matching", "export_bags", "validate_bag"]
