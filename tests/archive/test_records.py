"""Archival records: created from packages in the hub's transaction, revoked, sealed, held."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, func, select

from archive import catalog as c
from archive.localstore import LocalStore
from archive.records import (
    ArchiveError,
    RecordNotFound,
    add_record,
    archive_package,
    get_record,
    open_object,
    record_from_package,
    retention_deadline,
    revoke_document,
    seal_history,
    set_legal_hold,
)
from archive.store import ObjectLocked, sha256_hex
from tests.factories import make_document


def test_record_carries_the_archival_metadata(conn: Connection, make_record) -> None:
    rid = make_record(
        subject="Về việc điều động cán bộ",
        attachments=[
            ("QĐ 15.pdf", b"%PDF-1.4 one", "application/pdf"),
            ("phu-luc.docx", b"docx bytes", "application/octet-stream"),
        ],
    )
    view = get_record(conn, rid)
    r = view.record
    assert r["agency_id"] == "000.00.00.G22"
    assert r["agency_name"] == "Văn phòng Chính phủ"
    assert (r["code_number"], r["code_notation"]) == ("15", "QĐ-UBND")
    assert r["document_id"] == "000.00.00.G22,2024/03/05,15/QĐ-UBND"
    assert r["file_code"] == "000.00.00.G22.2024.QĐ-UBND"
    assert r["issued_date"] == date(2024, 3, 5)
    assert r["type_name"] == "Quyết định"
    assert r["subject"] == "Về việc điều động cán bộ"
    assert r["language"] == "vi" and r["page_amount"] == 2
    assert r["signer_name"] == "Nguyễn Văn An" and r["signer_position"] == "Chủ tịch"
    assert r["retention_years"] == 10 and r["permanent"] is False
    assert r["retain_until"] == date(2035, 1, 1)  # from 1 January after the document's year
    assert r["access"] == "public" and r["state"] == c.ACTIVE and r["legal_hold"] is False
    assert r["accepted_at"].tzinfo is not None
    assert [x["organ_id"] for x in view.recipients] == ["000.00.00.G06", "000.00.00.H26"]
    roles = sorted((o["role"], o["name"]) for o in view.objects)
    assert roles == [
        ("attachment", "QĐ 15.pdf"),
        ("attachment", "phu-luc.docx"),
        ("package", "package.edxml"),
        ("report", "validation-report.json"),
    ]
    att = next(o for o in view.objects if o["name"] == "QĐ 15.pdf")
    assert att["sha256"] == sha256_hex(b"%PDF-1.4 one") and att["size"] == 12
    assert [e["kind"] for e in view.events] == ["create"]


def test_objects_are_in_the_store_under_retention(
    conn: Connection, local_store: LocalStore, make_record
) -> None:
    rid = make_record(promulgation_date=date.today())
    view = get_record(conn, rid)
    for o in view.objects:
        info = local_store.stat(o["sha256"])
        assert info.size == o["size"]
        assert info.retain_until is not None and info.retain_until > datetime.now(UTC)
        with pytest.raises(ObjectLocked):
            local_store.delete(o["sha256"])


def test_add_record_is_idempotent_on_message_id(conn: Connection, local_store) -> None:
    pkg = make_document()
    draft = archive_package(local_store, pkg, package=b"<x/>", message_id="m-1", retention_years=5)
    first = add_record(conn, draft)
    assert add_record(conn, draft) == first
    assert conn.execute(select(func.count()).select_from(c.records)).scalar_one() == 1


def test_record_is_written_in_the_callers_transaction(engine, local_store) -> None:
    """The hub's transaction fails after add_record: no half-written record is visible."""
    pkg = make_document(subject="Giao dịch bị hủy")
    draft = archive_package(
        local_store,
        pkg,
        package=b"<rolled-back/>",
        message_id=f"m-rollback-{engine.dialect.name}",
        retention_years=5,
    )
    with pytest.raises(RuntimeError), engine.begin() as tx:
        add_record(tx, draft)
        raise RuntimeError("the hub's own insert failed")
    with engine.connect() as other:
        found = other.execute(
            select(c.records.c.id).where(c.records.c.message_id == draft.message_id)
        ).first()
        assert found is None
        assert other.execute(select(func.count()).select_from(c.objects)).scalar_one() == 0


def test_draft_requires_the_package_and_a_retention(local_store) -> None:
    pkg = make_document()
    with pytest.raises(ValueError):
        record_from_package(
            pkg, message_id="m", package_sha256="0" * 64, objects=[], retention_years=5
        )
    with pytest.raises(ValueError):
        archive_package(local_store, pkg, package=b"<x/>", message_id="m")
    with pytest.raises(ValueError):
        archive_package(
            local_store, pkg, package=b"<x/>", message_id="m", retention_years=5, permanent=True
        )


def test_retention_deadline() -> None:
    assert retention_deadline(date(2024, 12, 31), 10, False) == date(2035, 1, 1)
    assert retention_deadline(date(2024, 1, 1), 0, False) == date(2025, 1, 1)
    assert retention_deadline(date(2024, 1, 1), None, True) is None


def test_permanent_record(conn: Connection, local_store, make_record) -> None:
    rid = make_record(permanent=True)
    r = get_record(conn, rid).record
    assert r["permanent"] is True and r["retain_until"] is None
    key = r["package_sha256"]
    assert local_store.stat(key).retain_until > datetime.now(UTC) + timedelta(days=365 * 50)


def test_revoke_freezes_sender_record_and_revokes_recipient_copies(
    conn: Connection, make_record
) -> None:
    rid = make_record()
    doc_id = get_record(conn, rid).record["document_id"]
    assert (
        revoke_document(conn, doc_id, "000.00.00.G22", actor="hub", reason="Thu hồi do sai sót")
        == rid
    )
    view = get_record(conn, rid)
    assert view.record["state"] == c.FROZEN
    assert {x["state"] for x in view.recipients} == {c.REVOKED}
    kinds = [e["kind"] for e in view.events]
    assert kinds == ["create", "freeze", "revoke"]
    revoke_event = view.events[-1]
    assert revoke_event["detail"]["reason"] == "Thu hồi do sai sót"
    assert sorted(revoke_event["detail"]["recipients"]) == ["000.00.00.G06", "000.00.00.H26"]
    # Another agency cannot revoke it, an unknown document is ignored.
    assert revoke_document(conn, doc_id, "000.00.00.G06", actor="hub") is None


def test_seal_history(conn: Connection, local_store, make_record) -> None:
    rid = make_record()
    history = [
        {"status": "01", "organ_id": "000.00.00.G06", "at": "2024-03-05T02:31:00+00:00"},
        {"status": "06", "organ_id": "000.00.00.G06", "at": "2024-03-09T08:00:00+00:00"},
    ]
    ref = seal_history(conn, local_store, rid, history)
    assert local_store.exists(ref.sha256)
    assert b'"status":"06"' in local_store.get(ref.sha256)
    view = get_record(conn, rid)
    assert view.record["sealed_at"] is not None
    assert any(o["role"] == c.HISTORY and o["sha256"] == ref.sha256 for o in view.objects)
    assert seal_history(conn, local_store, rid, history) == ref  # same history: no-op
    with pytest.raises(ArchiveError):
        seal_history(conn, local_store, rid, history[:1])


def test_access_and_download_are_logged(conn: Connection, local_store, make_record) -> None:
    rid = make_record(attachments=[("a.pdf", b"%PDF-1.4 a", "application/pdf")])
    get_record(conn, rid, actor="archivist:lan")
    row, stream = open_object(conn, local_store, rid, "a.pdf", actor="archivist:lan")
    with stream:
        assert stream.read() == b"%PDF-1.4 a"
    row, stream = open_object(conn, local_store, str(rid), actor="archivist:lan")
    with stream:
        assert stream.read().startswith(b"<edXML")
    kinds = [(e["kind"], e["actor"]) for e in get_record(conn, rid).events]
    assert ("access", "archivist:lan") in kinds
    assert kinds.count(("download", "archivist:lan")) == 2
    with pytest.raises(RecordNotFound):
        open_object(conn, local_store, rid, "nope.pdf", actor="x")
    with pytest.raises(RecordNotFound):
        get_record(conn, 987654321)


def test_record_found_by_message_or_document_id(conn: Connection, make_record) -> None:
    rid = make_record(message_id="hub-msg-42")
    assert get_record(conn, "hub-msg-42").id == rid
    assert get_record(conn, get_record(conn, rid).record["document_id"]).id == rid


def test_legal_hold_reaches_the_store(conn: Connection, local_store, make_record) -> None:
    rid = make_record(promulgation_date=date(2001, 1, 1), retention_years=1)  # long expired
    key = get_record(conn, rid).record["package_sha256"]
    set_legal_hold(conn, local_store, rid, True, actor="archivist", reason="tranh chấp")
    assert local_store.stat(key).legal_hold is True
    assert get_record(conn, rid).record["legal_hold"] is True
    with pytest.raises(ObjectLocked):
        local_store.delete(key)
    set_legal_hold(conn, local_store, rid, False, actor="archivist")
    assert local_store.stat(key).legal_hold is False


def test_add_record_with_an_orm_session(engine, local_store) -> None:
    """The hub writes records through its ORM Session, in the message's transaction."""
    from sqlalchemy.orm import Session

    from archive.search import search

    pkg = make_document(subject="Ghi qua phiên ORM")
    draft = archive_package(
        local_store,
        pkg,
        package=b"<orm/>",
        message_id=f"m-orm-{engine.dialect.name}",
        retention_years=5,
    )
    with Session(engine) as session:
        rid = add_record(session, draft)
        revoke_document(session, pkg.document_id, pkg.sender.organ_id, actor="hub")
        assert [r["id"] for r in search(session, text="phien orm").items] == [rid]
        assert get_record(session, rid).record["state"] == c.FROZEN
        session.rollback()


def test_overlong_sender_fields_do_not_fail_the_transaction(conn: Connection, local_store) -> None:
    """PostgreSQL refuses values longer than a VARCHAR; the catalog cuts them (the package
    object keeps the full text)."""
    from formats.model import Code, Organization

    pkg = make_document(
        code=Code(number="9" * 100, notation="QĐ-" + "X" * 300),
        recipients=[],
    )
    pkg.recipients = [Organization(organ_id="000.00.00.G06" + "9" * 100, organ_name="N" * 900)]
    pkg.subject = "Chủ đề " * 2000
    draft = archive_package(
        local_store, pkg, package=b"<long/>", message_id="m-long", retention_years=5
    )
    rid = add_record(conn, draft)
    view = get_record(conn, rid)
    assert len(view.record["code_number"]) == 32
    assert view.record["subject"].startswith("Chủ đề")
    assert len(view.recipients[0]["organ_id"]) == 64
