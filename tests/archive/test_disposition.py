"""Disposition: past retention only, explicit approval, never under legal hold."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Connection

from archive import catalog as c
from archive.disposition import dispose, due_for_disposition
from archive.records import ArchiveError, get_record, set_legal_hold

TODAY = date(2030, 6, 1)


def test_candidates_are_records_past_retention(conn: Connection, make_record) -> None:
    old = make_record(promulgation_date=date(2015, 5, 1), retention_years=5)  # until 2021-01-01
    make_record(promulgation_date=date(2024, 5, 1), retention_years=10)  # until 2035
    make_record(promulgation_date=date(2010, 5, 1), permanent=True)
    held = make_record(promulgation_date=date(2012, 5, 1), retention_years=2)
    ids = [x.record_id for x in due_for_disposition(conn, today=TODAY)]
    assert ids == [held, old]  # ordered by retain_until: 2015-01-01, then 2021-01-01


def test_dispose_needs_approval_and_respects_hold(conn: Connection, store, make_record) -> None:
    due = make_record(
        store=store,
        promulgation_date=date(2012, 5, 1),
        retention_years=2,
        attachments=[("a.pdf", b"%PDF-1.4 due", "application/pdf")],
    )
    held = make_record(
        store=store,
        promulgation_date=date(2012, 5, 1),
        retention_years=2,
        attachments=[("h.pdf", b"%PDF-1.4 held", "application/pdf")],
    )
    young = make_record(store=store, promulgation_date=date(2029, 5, 1), retention_years=10)
    forever = make_record(store=store, promulgation_date=date(2012, 5, 1), permanent=True)
    set_legal_hold(conn, store, held, True, actor="archivist", reason="thanh tra")

    with pytest.raises(ArchiveError):
        dispose(conn, store, [due], approved_by="", approval_ref="")
    assert get_record(conn, due).record["state"] == c.ACTIVE

    result = dispose(
        conn,
        store,
        [due, held, young, forever, 999999],
        approved_by="Giám đốc Lưu trữ",
        approval_ref="45/QĐ-LT",
        today=TODAY,
    )
    assert result.disposed == [due]
    assert result.refused == {
        held: "under legal hold",
        young: "retained until 2040-01-01",
        forever: "kept permanently",
        999999: "no such record",
    }
    view = get_record(conn, due)
    assert view.record["state"] == c.DISPOSED
    assert all(o["destroyed_at"] is not None for o in view.objects)
    for o in view.objects:
        # The identical validation report is shared with live records: it stays.
        assert store.exists(o["sha256"]) == (o["name"] == "validation-report.json"), o["name"]
    event = view.events[-1]
    assert event["kind"] == "disposition"
    assert event["detail"]["approval_ref"] == "45/QĐ-LT"
    assert event["detail"]["approved_by"] == "Giám đốc Lưu trữ"
    for o in get_record(conn, held).objects:
        assert store.exists(o["sha256"])
    # Disposed records stay in the register but are no longer candidates.
    assert due not in [x.record_id for x in due_for_disposition(conn, today=TODAY)]
    assert dispose(conn, store, [due], approved_by="x", approval_ref="y", today=TODAY).refused == {
        due: "already disposed of"
    }


def test_shared_object_survives_disposition(conn: Connection, local_store, make_record) -> None:
    shared = ("chung.pdf", b"%PDF-1.4 shared annex", "application/pdf")
    old = make_record(promulgation_date=date(2012, 5, 1), retention_years=2, attachments=[shared])
    keep = make_record(promulgation_date=date(2024, 5, 1), retention_years=10, attachments=[shared])
    key = next(o["sha256"] for o in get_record(conn, keep).objects if o["name"] == "chung.pdf")
    result = dispose(conn, local_store, [old], approved_by="a", approval_ref="b", today=TODAY)
    assert result.disposed == [old]
    assert local_store.exists(key)
    # The annex, and the identical validation report, are shared with the live record.
    assert get_record(conn, old).events[-1]["detail"]["objects_kept_shared"] == 2
