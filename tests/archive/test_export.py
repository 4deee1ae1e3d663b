"""BagIt export: valid bags with the objects and Circular 02/2019 metadata, never a partial."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import bagit
from lxml import etree
from sqlalchemy import Connection

from archive.export import count_matching, export_bags, validate_bag
from archive.localstore import LocalStore
from archive.records import get_record
from archive.search import Query


def test_one_valid_bag_per_record(conn: Connection, store, make_record, tmp_path) -> None:
    rid = make_record(
        store=store,
        subject="Về việc phê duyệt đề án",
        attachments=[("QĐ-15.pdf", b"%PDF-1.4 body", "application/pdf")],
    )
    other = make_record(store=store, sender="000.00.00.G06", subject="Khác")
    ticks: list[int] = []
    result = export_bags(
        conn,
        store,
        tmp_path / "out",
        record_ids=[rid],
        actor="archivist",
        progress=ticks.append,
    )
    assert result.ok and result.records == 1 and sum(ticks) == 1
    bag_dir = tmp_path / "out" / f"record-{rid}"
    assert result.bags == [bag_dir] and result.bag_count == 1
    assert validate_bag(bag_dir)
    bag = bagit.Bag(str(bag_dir))
    assert "sha256" in bag.algorithms
    assert bag.info["External-Identifier"] == get_record(conn, rid).record["document_id"]
    assert (bag_dir / "data/objects/QĐ-15.pdf").read_bytes() == b"%PDF-1.4 body"
    assert (bag_dir / "data/objects/package.edxml").exists()
    assert (bag_dir / "data/objects/validation-report.json").exists()
    xml = etree.parse(str(bag_dir / "data/metadata.xml"))
    doc = xml.find("Document")
    assert doc.findtext("CodeNumber") == "15" and doc.findtext("CodeNotation") == "QĐ-UBND"
    assert doc.findtext("TypeName") == "Quyết định"
    assert doc.findtext("IssuedDate") == "2024-03-05"
    assert doc.findtext("Subject") == "Về việc phê duyệt đề án"
    assert doc.findtext("OrganName") == "Văn phòng Chính phủ"
    assert doc.findtext("SignerInfo/FullName") == "Nguyễn Văn An"
    assert doc.findtext("Maintenance") == "10 years" and doc.findtext("Rights") == "public"
    assert {o.get("name") for o in doc.find("Objects")} >= {"QĐ-15.pdf", "package.edxml"}
    assert xml.findtext("File/DocTotal") == "1"
    assert not (tmp_path / "out" / f"record-{other}").exists()
    assert "export" in [e["kind"] for e in get_record(conn, rid).events]


def test_bag_per_file_code(conn: Connection, local_store, make_record, tmp_path) -> None:
    a = make_record(number="1", promulgation_date=date(2024, 1, 2))
    b = make_record(number="2", promulgation_date=date(2024, 2, 3))
    c2023 = make_record(number="3", promulgation_date=date(2023, 5, 6))
    result = export_bags(
        conn,
        local_store,
        tmp_path / "out",
        query=Query(agency="000.00.00.G22"),
        per="file_code",
        actor="archivist",
    )
    assert result.ok and result.records == 3
    names = sorted(p.name for p in result.bags)
    assert names == ["000.00.00.G22.2023.QĐ-UBND", "000.00.00.G22.2024.QĐ-UBND"]
    bag2024 = tmp_path / "out" / "000.00.00.G22.2024.QĐ-UBND"
    assert validate_bag(bag2024)
    xml = etree.parse(str(bag2024 / "data/metadata.xml"))
    assert xml.findtext("File/FileCode") == "000.00.00.G22.2024.QĐ-UBND"
    assert xml.findtext("File/DocTotal") == "2"
    assert xml.findtext("File/StartDate") == "2024-01-02"
    assert xml.findtext("File/EndDate") == "2024-02-03"
    assert {d.findtext("CodeNumber") for d in xml.findall("Document")} == {"1", "2"}
    assert (bag2024 / f"data/objects/{a}/package.edxml").exists()
    assert (bag2024 / f"data/objects/{b}/package.edxml").exists()
    assert count_matching(conn, Query(agency="000.00.00.G22")) == 3
    assert c2023


def test_altered_object_gives_no_bag(
    conn: Connection, local_store: LocalStore, make_record, tmp_path: Path
) -> None:
    rid = make_record(attachments=[("x.pdf", b"%PDF-1.4 original", "application/pdf")])
    key = next(o["sha256"] for o in get_record(conn, rid).objects if o["name"] == "x.pdf")
    path = local_store.path_of(key)
    os.chmod(path, 0o644)
    path.write_bytes(b"%PDF-1.4 tampered")
    out = tmp_path / "out"
    result = export_bags(conn, local_store, out, record_ids=[rid], actor="archivist")
    assert not result.ok
    assert [(p.name, p.problem) for p in result.problems] == [("x.pdf", "altered")]
    assert result.bags == []
    assert list(out.iterdir()) == []  # no partial bag left behind


def test_validate_bag_detects_tampering(
    conn: Connection, local_store, make_record, tmp_path: Path
) -> None:
    rid = make_record()
    export_bags(conn, local_store, tmp_path / "out", record_ids=[rid], actor="archivist")
    bag_dir = tmp_path / "out" / f"record-{rid}"
    assert validate_bag(bag_dir)
    (bag_dir / "data/objects/package.edxml").write_bytes(b"changed")
    assert not validate_bag(bag_dir)
