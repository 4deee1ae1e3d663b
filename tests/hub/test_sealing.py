"""A document's status history is sealed into its archival record: in the transaction of the
last recipient's 06 (completed), or `archive_seal_after_days` after acceptance for documents
that never complete (`seal_due`, `axis archive seal`). Live hub, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta

from sqlalchemy import select

from archive import catalog
from axis.domain import utcnow
from axis.service.sealing import seal_due
from tests.hub.conftest import document


def _status(party, message_id: str, code: str, description: str = "") -> None:
    r = party.http.post(
        f"/v1/messages/{message_id}/status", json={"code": code, "description": description}
    )
    assert r.status_code == 202, r.text


def _record(live_hub, message_id: str):
    with live_hub.hub.db.read() as session:
        query = select(catalog.records).where(catalog.records.c.message_id == message_id)
        return session.execute(query).mappings().one()


def _history(live_hub, record_id: int) -> tuple[list[dict], list[dict]]:
    """(the sealed history entries, the record's seal events)."""
    with live_hub.hub.db.read() as session:
        objs = (
            session.execute(
                select(catalog.objects).where(
                    catalog.objects.c.record_id == record_id,
                    catalog.objects.c.role == catalog.HISTORY,
                )
            )
            .mappings()
            .all()
        )
        seals = (
            session.execute(
                select(catalog.events).where(
                    catalog.events.c.record_id == record_id, catalog.events.c.kind == "seal"
                )
            )
            .mappings()
            .all()
        )
    entries = [json.loads(live_hub.hub.store.get(o["sha256"])) for o in objs]
    assert len(entries) <= 1
    return (entries[0] if entries else []), list(seals)


def test_the_last_completed_status_seals_the_history(live_hub, sender, recipients):
    receipt = sender.send(document()).json()
    first, second = recipients
    for party in recipients:
        assert party.ack(receipt["id"]).status_code == 200
    _status(first, receipt["id"], "03")
    _status(first, receipt["id"], "06")
    record = _record(live_hub, receipt["id"])
    assert record["sealed_at"] is None  # one recipient has not completed it yet
    assert _history(live_hub, record["id"]) == ([], [])

    _status(second, receipt["id"], "06")
    record = _record(live_hub, receipt["id"])
    assert record["sealed_at"] is not None
    entries, seals = _history(live_hub, record["id"])
    assert [s["actor"] for s in seals] == ["hub:completed"]
    lines = [(e["event"], e["agency"], e.get("code")) for e in entries]
    for party in recipients:
        assert ("delivered", party.code, None) in lines
        assert ("acknowledged", party.code, None) in lines
        assert ("status", party.code, "06") in lines  # the sealing status itself is in it
    assert ("status", first.code, "03") in lines
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    # A late status is still accepted; the seal stays as it was.
    _status(first, receipt["id"], "06", "bổ sung")  # same second, same code: other bytes
    assert _history(live_hub, record["id"]) == (entries, seals)

    # The archivist sees the sealed history.
    with live_hub.client(live_hub.staff_key("archivist")) as archivist:
        view = archivist.get(f"/v1/archive/records/{record['id']}").json()
    assert view["history"]["sealed"] is True
    assert view["history"]["entries"] == entries


def test_documents_that_never_complete_are_sealed_after_the_configured_days(
    live_hub, sender, recipients
):
    done = sender.send(document()).json()
    open_ = sender.send(document(number="16")).json()
    for party in recipients:
        _status(party, done["id"], "06")
    _status(recipients[0], open_["id"], "02")
    sealed_done = _record(live_hub, done["id"])["sealed_at"]
    assert sealed_done is not None
    record = _record(live_hub, open_["id"])

    days = live_hub.hub.settings.archive_seal_after_days
    assert seal_due(live_hub.hub, utcnow() + timedelta(days=days - 1)) == []
    assert seal_due(live_hub.hub, utcnow() + timedelta(days=days + 1)) == [record["id"]]
    assert seal_due(live_hub.hub, utcnow() + timedelta(days=days + 1)) == []

    entries, seals = _history(live_hub, record["id"])
    assert [s["actor"] for s in seals] == ["hub:due"]
    assert ("status", recipients[0].code, "02") in [
        (e["event"], e["agency"], e.get("code")) for e in entries
    ]
    assert _record(live_hub, done["id"])["sealed_at"] == sealed_done  # not sealed twice


def test_axis_archive_seal_on_the_command_line(live_hub, sender):
    receipt = sender.send(document()).json()
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(live_hub.hub.settings.data_dir),
        "AXIS_DATABASE_URL": live_hub.hub.settings.resolved_database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_ARCHIVE_SEAL_AFTER_DAYS": "0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "axis.cli", "archive", "seal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 record(s) sealed" in done.stdout
    record = _record(live_hub, receipt["id"])
    assert record["sealed_at"] is not None
    entries, _ = _history(live_hub, record["id"])
    assert {e["event"] for e in entries} == {"delivered"}
