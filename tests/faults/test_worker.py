"""The worker meets a lost object and crash leftovers (issue 16, items 15 and 16): a push of a
document whose object is gone is a dead letter at once (not retried for days) and alerts; the
worker runs the store reaper every AXIS_STORE_REAP_INTERVAL_S."""

from __future__ import annotations

import os
import threading
import time

import pytest

from axis.service import reaper
from axis.service.failures import ALERTS
from axis.worker import Worker
from tests.deploy.conftest import HOOKED, document, fast_settings, wait_for

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_push_of_a_lost_object_is_a_dead_letter_at_once(deployment, receiver):
    deployment.hook(HOOKED, receiver.url)
    receipt = deployment.send(document(1))
    store = deployment.live.hub.store
    path = store.path_of(receipt["sha256"])
    os.chmod(path.parent, 0o755)
    path.unlink()  # lost behind the hub's back (a disk replaced without its backup)
    before = ALERTS.get("store_objects_missing")
    worker = Worker(deployment.live.hub, fast_settings(), name="test-lost")
    worker.run(until_idle=True)
    attempts = deployment.timeline(receipt["id"])[HOOKED]["push"]["attempts"]
    assert len(attempts) == 1 and attempts[0]["outcome"] == "error"
    dead = deployment.operator.get("/v1/admin/deadletters").json()
    assert receipt["id"] in str(dead)
    assert ALERTS.get("store_objects_missing") == before + 1
    assert receiver.of(receipt["id"]) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_worker_reaps_the_store_periodically(deployment):
    hub = deployment.live.hub
    receipt = deployment.send(document(2))
    orphan = hub.store.put(f"orphan {time.time_ns()}".encode())
    old = time.time() - 10
    os.utime(hub.store.path_of(orphan), (old, old))
    hub.settings.store_reap_interval_s = 0.2
    hub.settings.store_reap_grace_s = 5
    worker = Worker(hub, fast_settings(), name="test-reaper")
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: not hub.store.exists(orphan), timeout=20, what="the periodic reap")
    finally:
        worker.stop.set()
        thread.join(15)
    assert hub.store.exists(receipt["sha256"])
    assert reaper.totals(hub)["objects"] == 1
