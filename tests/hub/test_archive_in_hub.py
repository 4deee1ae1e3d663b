"""Every accepted document becomes an archival record an archivist finds, verifies and
exports from the CLI; a revoke freezes it. Real SQLite/PostgreSQL, real local store."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import bagit
from sqlalchemy import select

from archive import catalog
from tests.hub.conftest import document


def _archive(live_hub, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(live_hub.hub.settings.data_dir),
        "AXIS_DATABASE_URL": live_hub.hub.settings.resolved_database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
    }
    return subprocess.run(
        [sys.executable, "-m", "axis.cli", "archive", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_accepted_document_is_found_verified_and_exported_by_an_archivist(
    live_hub, sender, recipients, tmp_path
):
    receipt = sender.send(document(subject="Về việc phê duyệt kế hoạch chuyển đổi số")).json()
    with live_hub.hub.db.read() as session:
        [row] = session.execute(select(catalog.records)).mappings().all()
    assert row["message_id"] == receipt["id"]
    assert row["document_id"] == receipt["document_id"]
    assert row["agency_id"] == sender.code

    found = _archive(
        live_hub, "search", "--agency", sender.code, "--text", "chuyen doi so", "--json"
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["items"]
    assert [h["document_id"] for h in hits] == [receipt["document_id"]]

    audit = _archive(live_hub, "audit")
    assert audit.returncode == 0, audit.stdout + audit.stderr

    out = tmp_path / "export"
    exported = _archive(live_hub, "export", "--agency", sender.code, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    [bag_dir] = [p for p in out.iterdir() if p.is_dir()]
    bag = bagit.Bag(str(bag_dir))
    assert bag.is_valid()
    payload = {p.name for p in (bag_dir / "data").rglob("*") if p.is_file()}
    assert any(name.endswith(".pdf") for name in payload)


def test_a_revoke_freezes_the_senders_record(live_hub, sender, recipients):
    sender.send(document())
    assert sender.send(document(business=1)).status_code == 202
    with live_hub.hub.db.read() as session:
        states = session.execute(
            select(catalog.records.c.message_id, catalog.records.c.state).order_by(
                catalog.records.c.id
            )
        ).all()
        copies = session.execute(select(catalog.recipients.c.state)).scalars().all()
    assert states[0].state == catalog.FROZEN, states
    assert set(copies) >= {"revoked"}, copies


def test_an_object_altered_behind_the_archives_back_fails_the_audit(live_hub, sender):
    receipt = sender.send(document()).json()
    path = live_hub.hub.store.path_of(receipt["sha256"])
    os.chmod(path, 0o644)
    path.write_bytes(path.read_bytes().replace(b"edXML", b"edXYZ", 1))
    audit = _archive(live_hub, "audit")
    assert audit.returncode != 0
    assert receipt["sha256"][:12] in audit.stdout + audit.stderr


def test_a_store_that_fails_gets_503_with_retry_after_and_nothing_is_acknowledged(
    tmp_path, database_url
):
    """The store is an S3 endpoint that refuses connections: nothing to mock."""
    import socket

    from tests.support.live import LiveHub

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_STORE_URL": f"s3://minio:minio123@127.0.0.1:{closed_port}/archive",
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
    }
    with LiveHub.start(env) as hub:
        key = hub.add_agency("000.00.00.G22")
        for code in ("000.00.00.G06", "000.00.00.H26"):
            hub.add_agency(code)
        with hub.client(key) as c:
            r = c.post(
                "/v1/messages", content=document(), headers={"Content-Type": "application/xml"}
            )
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "STORE_UNAVAILABLE"
            assert int(r.headers["retry-after"]) > 0
            assert c.get("/healthz").status_code == 503
        with hub.hub.db.read() as session:
            assert session.execute(select(catalog.records)).first() is None
