"""The database or the disk fails under a running `axis serve` (issue 16, items 10 and 14):
every failure answers 503 + Retry-After + a code, the keep-alive connection stays usable, and
once the fault is gone everything resumes; receipts, losses and duplicates are counted."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.faults.conftest import PULLER, send

pytestmark = pytest.mark.timeout(180)


def _fill(path: Path) -> int:
    """Write zeros into `path` until the disk is full; the bytes written."""
    written = 0
    block = b"\0" * (256 * 1024)
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                written += f.write(block)
            except OSError:
                break
        with contextlib.suppress(OSError):
            while f.write(b"\0" * 4096):
                written += 4096
    return written


def _assert_unavailable(r: httpx.Response, codes: set[str]) -> None:
    assert r.status_code == 503, (r.status_code, r.text)
    assert r.json()["error"] in codes, r.text
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith("application/json")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 MB tmpfs: a disk that really fills up (the tests run as root in CI)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)])
    if done.returncode:
        pytest.skip("cannot mount a tmpfs (not root)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_full_disk_answers_503_disk_full_everywhere_and_heals(served, tiny_disk):
    data = tiny_disk / "data"
    hub = served(
        data=data,
        database=f"sqlite:///{data / 'axis.db'}",
        AXIS_HEALTH_MIN_FREE_BYTES=str(2 * 1024 * 1024),
    ).start()
    try:
        receipts = []
        with hub.client() as sender, hub.client(PULLER) as puller:
            for n in range(6):
                r = send(sender, n)
                assert r.status_code == 202, r.text
                receipts.append(r.json()["id"])
            assert httpx.get(f"{hub.url}/healthz").status_code == 200
            filled = _fill(tiny_disk / "filler")
            health = httpx.get(f"{hub.url}/healthz")
            assert health.status_code == 503, health.text
            assert "DISK_LOW" in {p["code"] for p in health.json()["problems"]}
            refused = send(sender, 100)
            _assert_unavailable(refused, {"DISK_FULL"})
            # acks and statuses write to the database: the same answer, never a 500
            failures = {}
            for i, mid in enumerate(receipts[:4]):
                if i % 2:
                    r = puller.post(f"/v1/messages/{mid}/status", json={"code": "03"})
                else:
                    r = puller.post(f"/v1/messages/{mid}/ack")
                failures[mid] = r
                assert r.status_code in (200, 202, 503), (r.status_code, r.text)
                if r.status_code == 503:
                    _assert_unavailable(r, {"DISK_FULL"})
            # the same keep-alive connection still answers (no reset after the failure)
            assert puller.get("/v1/inbox").status_code == 200
            os.unlink(tiny_disk / "filler")
            assert httpx.get(f"{hub.url}/healthz").status_code == 200
            again = send(sender, 100)
            assert again.status_code == 202, again.text
            receipts.append(again.json()["id"])
            for i, (mid, r) in enumerate(failures.items()):
                if r.status_code == 503:
                    path = f"/v1/messages/{mid}/status" if i % 2 else f"/v1/messages/{mid}/ack"
                    done = puller.post(path, **({"json": {"code": "03"}} if i % 2 else {}))
                    assert done.status_code in (200, 202), done.text
        log = hub.log_text()
        refused_acks = sum(r.status_code == 503 for r in failures.values())
        print(
            f"disk full after {filled} bytes of filler: document 503 DISK_FULL, "
            f"{refused_acks}/4 acks/statuses 503 DISK_FULL, healed"
        )
    finally:
        stored = hub.stored() if hub.process else {}
        hub.stop()
    assert sorted(stored) == sorted(receipts)  # nothing receipted lost, nothing refused kept
    assert set(stored.values()) == {2}
    assert "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgresql_backends_terminated_answer_503_db_unavailable_and_heal(
    served, database_url, database_factory
):
    name = database_url.rsplit("/", 1)[1]
    hub = served().start()
    receipts = []
    with hub.client() as sender, hub.client(PULLER) as puller:
        for n in range(4):
            r = send(sender, n)
            assert r.status_code == 202, r.text
            receipts.append(r.json()["id"])
        with psycopg.connect(database_factory.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            try:
                answers = [
                    send(sender, 50),
                    puller.post(f"/v1/messages/{receipts[0]}/ack"),
                    puller.post(f"/v1/messages/{receipts[1]}/status", json={"code": "03"}),
                    puller.get("/v1/inbox"),
                    puller.get(f"/v1/messages/{receipts[2]}"),
                ]
                for r in answers:
                    _assert_unavailable(r, {"DB_UNAVAILABLE"})
                health = httpx.get(f"{hub.url}/healthz")
                assert health.status_code == 503
                assert "DB_UNAVAILABLE" in {p["code"] for p in health.json()["problems"]}
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        # the same connections go on: the next requests succeed
        again = send(sender, 50)
        assert again.status_code == 202, again.text
        receipts.append(again.json()["id"])
        assert puller.post(f"/v1/messages/{receipts[0]}/ack").status_code == 200
        status = puller.post(f"/v1/messages/{receipts[1]}/status", json={"code": "03"})
        assert status.status_code == 202, status.text
    stored = hub.stored()
    assert sorted(stored) == sorted(receipts)
    assert set(stored.values()) == {2}
    assert "Traceback" not in hub.log_text(), hub.log_text()[-3000:]
