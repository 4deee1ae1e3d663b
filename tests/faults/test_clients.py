"""Clients that trickle or go away (issue 16, item 4), against `axis serve` over raw sockets."""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest

from tests.faults.conftest import SENDER, document

pytestmark = pytest.mark.timeout(120)


def _head(path: str, key: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: axis\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/xml\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_trickling_body_is_cut_with_408_and_the_connection_closed(served):
    hub = served(AXIS_BODY_TIMEOUT_S="2").start()
    body = document(1)
    with socket.create_connection(("127.0.0.1", int(hub.url.rsplit(":", 1)[1]))) as s:
        s.sendall(_head("/v1/messages", hub.keys[SENDER], len(body)))
        started = time.monotonic()
        s.settimeout(0.05)
        answer = b""
        sent = 0
        while time.monotonic() - started < 10:
            # one byte a second, until just before the limit: a byte landing on the socket the
            # hub has just closed would make the kernel reset it and drop the 408 unread
            if time.monotonic() - started < 1.5:
                try:
                    s.sendall(body[sent : sent + 1])
                    sent += 1
                except OSError:  # the hub closed the connection
                    break
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                time.sleep(0.95)
                continue
            if not chunk:
                break
            answer += chunk
        s.settimeout(3)
        try:
            while chunk := s.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        elapsed = time.monotonic() - started
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert b"connection: close" in head.lower()
    assert b'"BODY_TIMEOUT"' in payload
    assert 1.9 < elapsed < 10, elapsed  # cut at the limit (plus a loaded machine's delay)
    print(f"trickle: 408 after {elapsed:.2f} s with {sent} bytes sent")
    with hub.client() as c:  # the hub is fine, and counted it
        assert c.get("/v1/inbox").status_code == 200
        metrics = hub.metrics()
    assert _metric(metrics, "axis_http_body_timeouts_total") == 1
    assert 'status="408"' in metrics


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_aborted_uploads_are_quiet_and_do_not_stall_the_hub(served):
    hub = served().start()
    port = int(hub.url.rsplit(":", 1)[1])
    body = document(2)
    aborted = 200
    started = time.monotonic()
    for i in range(aborted):
        s = socket.create_connection(("127.0.0.1", port))
        # Declared 2 MB, sent a part and gone: half of them reset the connection (RST), the
        # other half close it (FIN).
        s.sendall(_head("/v1/messages", hub.keys[SENDER], 2_000_000) + body[:1000])
        if i % 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    spent = time.monotonic() - started
    health_times = []
    for _ in range(5):
        t0 = time.monotonic()
        assert httpx.get(f"{hub.url}/healthz", timeout=5).status_code == 200
        health_times.append(time.monotonic() - t0)
    with hub.client() as c:
        assert c.post(
            "/v1/messages", content=body, headers={"Content-Type": "application/xml"}
        ).status_code in (200, 202)

    def counted() -> float:
        return _metric(hub.metrics(), "axis_http_client_disconnects_total")

    deadline = time.monotonic() + 15
    while counted() < aborted and time.monotonic() < deadline:
        time.sleep(0.1)
    metrics = hub.metrics()
    log = hub.log_text()
    print(
        f"{aborted} aborted uploads in {spent:.2f} s; /healthz after them: "
        f"max {max(health_times) * 1000:.0f} ms; disconnects counted {counted():.0f}"
    )
    assert max(health_times) < 1.0, health_times
    assert counted() == aborted
    assert 'status="500"' not in metrics
    assert "Traceback" not in log and "ClientDisconnect" not in log, log[-3000:]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_bug_answers_json_500_that_says_the_connection_closes(live_hub):
    """A route that fails as a bug would (added for the test: no endpoint of the hub is
    known to fail so); the client is told the connection closes, so its next request opens a
    new one instead of dying with ECONNRESET."""
    app = live_hub.server.config.app

    @app.get("/test-bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    with httpx.Client(base_url=live_hub.url) as c:
        r = c.get("/test-bug")
        assert r.status_code == 500
        assert r.headers["connection"] == "close"
        assert r.json()["error"] == "INTERNAL_ERROR"
        assert c.get("/healthz").status_code == 200  # on a new connection, fine
