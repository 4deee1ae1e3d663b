"""Crash leftovers are reclaimed (issue 16, item 15): `axis serve` killed with SIGKILL under load,
orphan objects (some under a retention lock) and temp files of interrupted writes, then
`axis store reap`. Receipts, losses, duplicates and orphans are counted."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from axis.service import reaper
from tests.deploy.conftest import axis_run
from tests.faults.conftest import send

pytestmark = pytest.mark.timeout(180)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_kill_9_under_load_then_the_reaper_removes_only_orphans(served):
    hub = served().start()
    receipts: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(offset: int) -> None:
        n = offset
        with hub.client(timeout=10) as c:
            while not stop.is_set():
                n += 4
                try:
                    r = send(c, n)
                except httpx.HTTPError:  # the server died under this request
                    return
                if r.status_code == 202:
                    with lock:
                        receipts.append(r.json()["id"])

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    time.sleep(3)
    os.kill(hub.process.pid, signal.SIGKILL)  # in the middle of submissions
    hub.process.wait(10)
    stop.set()
    for t in threads:
        t.join(15)
    hub.process = None
    stored = hub.stored()
    lost = set(receipts) - set(stored)
    assert not lost, f"{len(lost)} receipted documents lost"
    assert set(stored.values()) == {2}  # each with its two deliveries, no duplicates

    # Leftovers as a crash leaves them, made through the store adapter: objects no record
    # names (half of them under the retention lock a record would have given them), and
    # temp files of writes cut short; all older than the grace period.
    old = time.time() - 2 * 3600
    with hub.hub() as h:
        store = h.store
        injected = []
        for i in range(6):
            until = datetime.now(UTC) + timedelta(days=3650) if i % 2 else None
            key = store.put(f"orphan {i} {time.time_ns()}".encode(), retain_until=until)
            os.utime(store.path_of(key), (old, old))
            injected.append(key)
        temps = []
        for i in range(3):
            tmp = store.root / f"{injected[i][:2]}" / f".tmp-crash{i}"
            tmp.write_bytes(b"half written")
            os.utime(tmp, (old, old))
            temps.append(tmp)
        young = store.put(f"in flight {time.time_ns()}".encode())  # a submission not yet done
        referenced = set(stored)
        keys_before = set(store.keys())
    with hub.hub() as h:
        planned = reaper.reap(h, grace_s=3600, dry_run=True)
    assert set(planned.objects) == set(injected)
    done = axis_run(hub.env, "store", "reap", "--grace", "1h", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    with hub.hub() as h:
        keys_after = set(h.store.keys())
        totals = reaper.totals(h)
        # every receipted document still has its object, and its record
        from sqlalchemy import select

        from archive import catalog

        with h.db.read() as session:
            named = set(session.scalars(select(catalog.objects.c.sha256)))
    crash_orphans = keys_before - named - set(injected) - {young}
    assert set(report["objects"]) == set(injected)
    assert len(report["temp_files"]) == len(temps) and not any(t.exists() for t in temps)
    assert young in keys_after  # inside the grace period
    assert named <= keys_after  # nothing a record names was touched
    assert keys_after == keys_before - set(injected)
    assert totals["objects"] == len(injected) and totals["temp_files"] == len(temps)
    print(
        f"SIGKILL under load: {len(receipts)} receipts, {len(stored)} stored, 0 lost, "
        f"0 duplicates; {len(crash_orphans)} orphans of the crash (young, kept), "
        f"{len(referenced)} referenced; reaper removed {len(report['objects'])} orphans "
        f"(3 locked) and {len(report['temp_files'])} temp files in {report['seconds']} s"
    )
    with hub.hub() as h:  # the crash's own orphans go too once past a (here zero) grace
        late = reaper.reap(h, grace_s=0)
        assert set(late.objects) == crash_orphans | {young}
        assert set(h.store.keys()) == named
