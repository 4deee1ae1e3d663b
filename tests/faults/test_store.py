"""The object store fails under a running `axis serve` (issue 16, items 11, 12, 16): a bucket that
comes back empty heals, a lost object is a permanent 410 that alerts, a hanging store answers
503 within its bound and does not starve endpoints that never touch it."""

from __future__ import annotations

import logging
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.conftest import PULLER, HangingServer, send

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def moto():
    """A moto S3 server of this test alone (its state is reset to lose the bucket)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bucket_that_comes_back_empty_heals_and_a_lost_object_is_410(served, moto):
    hub = served(AXIS_STORE_URL=f"s3://testing:testing@{moto}/axis-archive").start()
    with hub.client() as sender, hub.client(PULLER) as puller:
        first = send(sender, 1)
        assert first.status_code == 202, first.text
        assert puller.get(f"/v1/messages/{first.json()['id']}").status_code == 200
        # The store comes back empty: every bucket and object gone (a new S3 server).
        assert httpx.post(f"http://{moto}/moto-api/reset").status_code == 200
        answers = [send(sender, n) for n in range(2, 5)]
        codes = [r.status_code for r in answers]
        # healed by the write that found the bucket gone: never 503 NoSuchBucket forever
        assert codes == [202, 202, 202], [r.text for r in answers]
        for r in answers:
            assert puller.get(f"/v1/messages/{r.json()['id']}").status_code == 200
        lost = puller.get(f"/v1/messages/{first.json()['id']}")
        assert lost.status_code == 410, lost.text
        assert lost.json()["error"] == "STORE_OBJECT_MISSING"
        assert "retry-after" not in lost.headers
        again = puller.get(f"/v1/messages/{first.json()['id']}")
        assert again.status_code == 410
    metrics = hub.metrics()
    assert _metric(metrics, "axis_store_objects_missing_total") == 2
    log = hub.log_text()
    assert f"object {first.json()['sha256']}" in log, log[-2000:]  # logged at ERROR
    assert "Traceback" not in log
    print("bucket lost: the next 3 submissions 202; the lost object 410 STORE_OBJECT_MISSING")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_hanging_store_answers_503_in_bound_and_does_not_starve_the_inbox(served):
    hanging = HangingServer()
    timeout = 2.0
    hub = served(
        AXIS_STORE_URL=f"s3://a:b@127.0.0.1:{hanging.port}/archive?timeout={timeout:g}"
    ).start()
    posts, inbox_times = 45, []  # more than the 40 threads every endpoint shares
    stop = threading.Event()
    try:
        with hub.client(timeout=60) as sender, hub.client(PULLER) as puller:
            assert puller.get("/v1/inbox").status_code == 200

            def post(n: int) -> tuple[float, httpx.Response]:
                with hub.client(timeout=60) as c:
                    t0 = time.monotonic()
                    r = send(c, n)
                    return time.monotonic() - t0, r

            def probe() -> None:
                while not stop.is_set():
                    t0 = time.monotonic()
                    assert puller.get("/v1/inbox").status_code == 200
                    assert puller.get("/v1/agencies").status_code == 200
                    inbox_times.append(time.monotonic() - t0)
                    time.sleep(0.1)

            prober = threading.Thread(target=probe, daemon=True)
            with ThreadPoolExecutor(posts) as pool:
                futures = [pool.submit(post, n) for n in range(posts)]
                time.sleep(0.5)  # the POSTs are stuck on the store now
                prober.start()
                results = [f.result() for f in futures]
            stop.set()
            prober.join(10)
            del sender
    finally:
        stop.set()
        hanging.close()
    codes = {r.status_code for _, r in results}
    slowest_post = max(t for t, _ in results)
    errors = {r.json()["error"] for _, r in results}
    print(
        f"hanging store: {posts} POSTs all {codes} {errors}, slowest {slowest_post:.1f} s; "
        f"/v1/inbox + /v1/agencies meanwhile: {len(inbox_times)} probes, "
        f"max {max(inbox_times) * 1000:.0f} ms"
    )
    assert codes == {503} and errors == {"STORE_UNAVAILABLE"}
    assert all(int(r.headers["retry-after"]) > 0 for _, r in results)
    # 32 store threads: a second round of timeouts at most, then the answer
    assert slowest_post < 3 * timeout + 3
    assert len(inbox_times) >= 5
    # was 14 s (issue 16). A probe may still wait for the GIL while 45 packages are parsed
    # at once on a loaded 2-core machine (measured up to 1.9 s, the median 35 ms)
    assert max(inbox_times) < 3.0, inbox_times
    assert sorted(inbox_times)[len(inbox_times) // 2] < 0.3, inbox_times


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_reaper_on_s3_removes_orphans_and_reports_those_the_store_locks(served, moto):
    from datetime import UTC, datetime, timedelta

    from axis.service import reaper

    hub = served(AXIS_STORE_URL=f"s3://testing:testing@{moto}/axis-reap")
    with hub.hub() as h:
        free = h.store.put(f"orphan {time.time_ns()}".encode())
        until = datetime.now(UTC) + timedelta(days=30)
        locked = h.store.put(f"locked orphan {time.time_ns()}".encode(), retain_until=until)
        assert reaper.reap(h, grace_s=3600).objects == []  # both younger than the grace
        planned = reaper.reap(h, grace_s=0, dry_run=True)
        assert planned.objects == [free] and [i["key"] for i in planned.locked] == [locked]
        report = reaper.reap(h, grace_s=0)
        assert report.objects == [free]
        assert [item["key"] for item in report.locked] == [locked]  # COMPLIANCE: kept
        assert set(h.store.keys()) == {locked}
        assert reaper.totals(h)["objects"] == 1
