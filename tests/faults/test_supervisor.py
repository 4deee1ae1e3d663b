"""Killing the `axis serve` supervisor with SIGKILL (issue 16, item 13): its API processes die
with it, and nothing receipted is lost."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from tests.faults.conftest import alive, children_of, send, wait_for

pytestmark = pytest.mark.timeout(120)


def _api_processes(pid: int) -> list[int]:
    return [
        child
        for child in children_of(pid)
        if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_api_processes_die_with_a_killed_supervisor(served):
    hub = served().start(workers=2)
    supervisor = hub.process
    wait_for(lambda: len(_api_processes(supervisor.pid)) == 2, what="two API processes")
    children = _api_processes(supervisor.pid)
    receipts = []
    with hub.client() as c:
        for n in range(10):
            r = send(c, n)
            assert r.status_code == 202, r.text
            receipts.append(r.json()["id"])
    hub.children = children  # the fixture kills them if this test fails
    os.kill(supervisor.pid, signal.SIGKILL)
    supervisor.wait(10)
    started = time.monotonic()
    wait_for(lambda: not any(alive(p) for p in children), timeout=15, what="orphans to exit")
    gone_after = time.monotonic() - started
    port = int(hub.url.rsplit(":", 1)[1])
    with socket.socket() as s:  # nothing listens on the port any more
        assert s.connect_ex(("127.0.0.1", port)) != 0
    print(f"API processes gone {gone_after:.2f} s after SIGKILL of the supervisor")
    assert gone_after < 5
    hub.process = None
    stored = hub.stored()  # every receipt is there, once, with its two deliveries
    assert sorted(stored) == sorted(receipts)
    assert set(stored.values()) == {2}
