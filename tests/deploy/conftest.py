"""Deployment tests: migrations, push delivery through real webhook receivers, workers as
threads and as processes, on SQLite and a real PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from axis.service import push
from axis.worker import Worker
from formats.edxml import build_document
from tests.factories import make_document, minimal_pdf
from tests.support.live import LiveHub

ROOT = Path(__file__).resolve().parents[2]
SENDER = "000.00.00.G22"
HOOKED = "000.00.00.G06"  # has a webhook
PULLER = "000.00.00.H26"  # pulls its inbox

# Short timings so that retries, timeouts and dead letters happen within a test.
FAST = {
    "AXIS_PUSH_TIMEOUT_S": "0.6",
    "AXIS_PUSH_CONNECT_TIMEOUT_S": "0.6",
    "AXIS_PUSH_BACKOFF_BASE_S": "0.05",
    "AXIS_PUSH_BACKOFF_MAX_S": "0.3",
    "AXIS_PUSH_LEASE_S": "5",
    "AXIS_PUSH_POLL_S": "0.05",
}


def fast_settings(**kw) -> push.PushSettings:
    values = {k.removeprefix("AXIS_PUSH_").lower(): float(v) for k, v in FAST.items()}
    values.update(kw)
    return push.PushSettings(**values)


_SMALL_PDF = minimal_pdf(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], size=2_000)


def document(number: int, sender: str = SENDER, recipients: list[str] | None = None) -> bytes:
    return build_document(
        make_document(
            sender=sender,
            recipients=recipients or [HOOKED, PULLER],
            number=f"{number:05d}",
            attachments=[("van-ban.pdf", _SMALL_PDF, "application/pdf")],
        )
    )


# -- a webhook receiver -----------------------------------------------------------------------


@dataclass
class Received:
    message_id: str
    attempt: str
    timestamp: str
    signature: str
    kind: str
    body: bytes
    answered: str  # what the receiver did: 200, 500, slow, timeout, close


# A behaviour decides, from the message id and how many times it was seen, what to do.
Behaviour = Callable[[str, int], str]


@dataclass
class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that answers as its behaviour says:
    "ok" 200, "500", "slow" (0.3 s then 200), "timeout" (sleeps past the worker's timeout, then
    200 to nobody), "close" (reads the request, closes the connection without answering),
    "hang" (blocks until released; for killing a worker mid-delivery)."""

    behaviour: Behaviour = lambda _id, _n: "ok"  # noqa: E731
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # 2xx per id
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mid = self.headers.get("X-Axis-Message-Id", "")
                with receiver.lock:
                    receiver.seen[mid] += 1
                    action = receiver.behaviour(mid, receiver.seen[mid])
                    receiver.requests.append(
                        Received(
                            mid,
                            self.headers.get("X-Axis-Attempt", ""),
                            self.headers.get("X-Axis-Timestamp", ""),
                            self.headers.get("X-Axis-Signature", ""),
                            self.headers.get("X-Axis-Kind", ""),
                            body,
                            action,
                        )
                    )
                receiver.arrived.set()
                if action == "close":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action == "hang":
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                if action == "timeout":
                    time.sleep(1.2)
                elif action == "slow":
                    time.sleep(0.3)
                if action == "500":
                    self._answer(500, b"internal error")
                    return
                if action != "timeout":  # a timed-out answer reaches nobody: not accepted
                    with receiver.lock:
                        receiver.accepted[mid] += 1
                self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/axis/push"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def of(self, message_id: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.message_id == message_id]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


# -- a hub, its agencies, a worker thread -----------------------------------------------------


@dataclass
class Deployment:
    live: LiveHub
    keys: dict[str, str]
    operator: httpx.Client

    def client(self, code: str) -> httpx.Client:
        return self.live.client(self.keys[code])

    def send(self, body: bytes, sender: str = SENDER) -> dict:
        with self.client(sender) as c:
            r = c.post("/v1/messages", content=body, headers={"Content-Type": "application/xml"})
        assert r.status_code == 202, r.text
        return r.json()

    def hook(self, code: str, url: str) -> str:
        r = self.operator.put(f"/v1/admin/webhooks/{code}", json={"url": url})
        assert r.status_code == 200, r.text
        return r.json()["secret"]

    def timeline(self, message_id: str, as_code: str = SENDER) -> dict:
        with self.client(as_code) as c:
            r = c.get(f"/v1/messages/{message_id}/timeline")
        assert r.status_code == 200, r.text
        return {line["agency"]: line for line in r.json()["recipients"]}


def pytest_configure(config) -> None:  # noqa: ANN001
    config.addinivalue_line("markers", "hub_env(**vars): extra AXIS_* variables for the hub")


@pytest.fixture
def deployment(request, tmp_path, database_url):
    marker = request.node.get_closest_marker("hub_env")
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",  # the test receivers listen there
        **(marker.kwargs if marker else {}),
    }
    with LiveHub.start(env) as live:
        keys = {code: live.add_agency(code) for code in (SENDER, HOOKED, PULLER)}
        operator = live.client(live.staff_key("operator"))
        yield Deployment(live, keys, operator)
        operator.close()


class WorkerThread:
    def __init__(self, deployment: Deployment, settings: push.PushSettings) -> None:
        self.worker = Worker(deployment.live.hub, settings, name=f"test-{id(self):x}")
        self.thread = threading.Thread(target=self.worker.run, daemon=True)

    def __enter__(self) -> Worker:
        self.thread.start()
        return self.worker

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.worker.stop.set()
        self.thread.join(15)


def wait_for(predicate: Callable[[], object], timeout: float = 20, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or predicate}")


# -- processes --------------------------------------------------------------------------------


def axis_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AXIS_DATA_DIR": str(data_dir),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        **FAST,
        **extra,
    }


def axis_process(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-c", "from axis.cli.main import app; app()", *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


def axis_run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from axis.cli.main import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
