"""Three real hubs for federation tests: province A <-> national <-> province B, each its own
database and store, each served over real HTTP by uvicorn in a thread of the test process. The
national hub can be stopped and started again on the same port with the same data (a restart),
and A's and B's workers run in threads (axis.worker.Worker, the `axis worker` loop)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import uvicorn

from axis.api.app import create_app
from axis.bootstrap import build_hub
from axis.config import Settings
from axis.service import agencies, systems
from axis.service.context import Hub
from axis.service.push import PushSettings
from axis.worker import Worker

# Fast retries for tests: the rules are push delivery's, the figures shorter.
FAST = PushSettings(
    backoff_base_s=0.2, backoff_max_s=1.0, poll_s=0.05, lease_s=30, concurrency=4, timeout_s=10
)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@dataclass
class Served:
    """One hub on a fixed port, which can be stopped and started again on its data."""

    name: str
    settings: Settings
    port: int = field(default_factory=free_port)
    hub: Hub | None = None
    server: uvicorn.Server | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Served:
        self.hub = build_hub(self.settings)
        app = create_app(self.settings, hub=self.hub)
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"hub {self.name} did not start")
            time.sleep(0.01)
        self._sock = sock
        return self

    def stop(self) -> None:
        """Stop serving (the hub's database is closed by the app's lifespan)."""
        if self.server is not None:
            self.server.should_exit = True
            self.thread.join(15)
            self._sock.close()
            self.server = None

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )


@dataclass
class WorkerThread:
    worker: Worker
    thread: threading.Thread

    @classmethod
    def start(cls, hub: Hub) -> WorkerThread:
        worker = Worker(hub, FAST, name=f"test-{id(hub)}")
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        return cls(worker, thread)

    def stop(self) -> None:
        self.worker.stop.set()
        self.thread.join(30)


def settings_for(tmp, name: str, database_url: str, **upstream: object) -> Settings:
    return Settings(
        data_dir=tmp / name,
        database_url=database_url,
        signature_policy="off",
        rules="off",
        upstream_poll_s=0.2,
        **upstream,
    )


def wait_for(what: str, check: Callable[[], object], timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def host(hub: Hub, system_id: str, name: str, codes: list[str]) -> str:
    """Register a connected system hosting these agencies; returns its secret."""
    secret = systems.add_system(hub.db, hub.secret_box, system_id, name)
    for code in codes:
        agencies.add_hosted_agency(hub.db, code, f"Cơ quan {code}", system_id)
    return secret
