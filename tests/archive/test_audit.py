"""Fixity audit: objects altered or deleted behind the archive's back are reported."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select

from archive import catalog as c
from archive.audit import ALTERED, MISSING, audit, count_objects
from archive.records import get_record
from archive.store import StoreUnavailable


def _keys(conn: Connection, rid: int) -> dict[str, str]:
    return {o["name"]: o["sha256"] for o in get_record(conn, rid).objects}


def test_intact_archive(conn: Connection, store, make_record) -> None:
    for _ in range(3):
        make_record(store=store)
    ticks: list[int] = []
    report = audit(conn, store, actor="auditor", progress=ticks.append)
    assert report.ok and report.checked == 3 * 3 == sum(ticks)  # package, attachment, report
    assert count_objects(conn) == 9
    evt = (
        conn.execute(
            select(c.events).where(c.events.c.kind == "audit", c.events.c.record_id.is_(None))
        )
        .mappings()
        .one()
    )
    assert evt["actor"] == "auditor" and '"checked": 9' in evt["detail"]


def test_altered_and_missing_objects_are_reported(
    conn: Connection, local_store, make_record
) -> None:
    a = make_record(attachments=[("a.pdf", b"%PDF-1.4 a", "application/pdf")])
    b = make_record(attachments=[("b.pdf", b"%PDF-1.4 b", "application/pdf")])
    make_record()
    altered = local_store.path_of(_keys(conn, a)["a.pdf"])
    os.chmod(altered, 0o644)
    altered.write_bytes(b"%PDF-1.4 A")  # same size, different bytes
    local_store.path_of(_keys(conn, b)["package.edxml"]).unlink()
    report = audit(conn, local_store, actor="auditor")
    assert not report.ok and report.checked == 9
    found = {(p.record_id, p.name, p.problem) for p in report.problems}
    assert found == {(a, "a.pdf", ALTERED), (b, "package.edxml", MISSING)}
    kinds = [e["kind"] for e in get_record(conn, a).events]
    assert "audit" in kinds
    assert report.summary()["missing"] == 1 and report.summary()["altered"] == 1


def test_altered_object_on_s3_is_reported(conn: Connection, s3_store, make_record) -> None:
    """Overwrite the object behind the archive's back through the S3 API itself."""
    import io

    rid = make_record(
        store=s3_store,
        attachments=[("s.pdf", b"%PDF s3", "application/pdf")],
        promulgation_date=datetime.now(UTC).date() - timedelta(days=5000),
        retention_years=1,
    )  # retention long over: the bucket allows overwrite
    key = _keys(conn, rid)["s.pdf"]
    name = f"sha256/{key[:2]}/{key}"
    s3_store.client.put_object(s3_store.bucket, name, io.BytesIO(b"%PDF S3"), 7)
    report = audit(conn, s3_store)
    assert [(p.name, p.problem) for p in report.problems] == [("s.pdf", ALTERED)]


def test_sample_and_since(conn: Connection, local_store, make_record) -> None:
    for _ in range(4):
        make_record()
    assert audit(conn, local_store, sample=2).checked == 2
    assert audit(conn, local_store, since=datetime.now(UTC) + timedelta(days=1)).checked == 0
    assert audit(conn, local_store, since=datetime.now(UTC) - timedelta(days=1)).checked == 12
    with pytest.raises(ValueError):
        audit(conn, local_store, sample=0)


def test_unreachable_store_fails_the_audit(
    conn: Connection, local_store, make_record, closed_port: int
) -> None:
    from archive.s3store import S3Store

    make_record()
    down = S3Store(f"127.0.0.1:{closed_port}", "k", "s", "axis-down", timeout=1.0)
    with pytest.raises(StoreUnavailable):
        audit(conn, down)
