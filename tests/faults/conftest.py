"""Fault injection against real processes: `axis serve` on a real port, a real database (SQLite
file or PostgreSQL), a real store (local directory or an S3 server over HTTP), and faults caused
for real (signals, terminated backends, a full database, a store that hangs or loses its bucket).
Each scenario counts receipts, losses, duplicates and orphans."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from axis.bootstrap import build_hub
from axis.config import Settings
from axis.service import agencies
from tests.deploy.conftest import (  # noqa: E402, F401 - fixtures, shared
    HOOKED,
    PULLER,
    SENDER,
    axis_env,
    axis_process,
    deployment,
    document,
    free_port,
    receiver,
    wait_for,
)

__all__ = ["HOOKED", "PULLER", "SENDER", "document", "wait_for"]


def children_of(pid: int) -> list[int]:
    """Every process whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Served:
    """`axis serve` in its own process, with agencies and their keys made beforehand."""

    env: dict[str, str]
    url: str
    log: Path
    keys: dict[str, str]
    process: subprocess.Popen | None = None
    children: list[int] = field(default_factory=list)

    def metrics(self) -> str:
        """/metrics, read as an operator (it is not public)."""
        with self.client("operator") as c:
            return c.get("/metrics").text

    def client(self, code: str = SENDER, **kw) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.keys[code]}"},
            timeout=kw.pop("timeout", 30),
            **kw,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, workers: int = 1) -> Served:
        port = self.url.rsplit(":", 1)[1]
        self.process = axis_process(
            self.env, "serve", "--port", port, "--workers", str(workers), log=self.log
        )
        wait_for(self.up, timeout=60, what=f"axis serve\n{self.log_text()}")
        return self

    def up(self) -> bool:
        if self.process and self.process.poll() is not None:
            raise AssertionError(f"axis serve exited\n{self.log_text()}")
        try:
            httpx.get(
                f"{self.url}/healthz", timeout=10
            )  # a hanging store makes /healthz take its bound
            return True
        except httpx.HTTPError:
            return False

    def stored(self) -> dict[str, int]:
        """message id -> deliveries, read from the database (the hub may be down)."""
        from sqlalchemy import func, select

        from axis.adapters.tables import Delivery, Message

        with self.hub() as hub, hub.db.read() as session:
            rows = session.execute(
                select(Message.id, func.count(Delivery.seq))
                .outerjoin(Delivery, Delivery.message_id == Message.id)
                .where(Message.kind == "edoc")
                .group_by(Message.id)
            ).all()
        return {r[0]: r[1] for r in rows}

    @contextlib.contextmanager
    def hub(self):  # noqa: ANN201
        """The hub's database and store, opened in this process with the server's settings."""
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("AXIS_")})
        try:
            hub = build_hub(Settings(), create_schema=False)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        try:
            yield hub
        finally:
            hub.close()

    def stop(self) -> None:
        if self.process is None:
            return
        self.children = children_of(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        for pid in self.children:  # never leave a server behind, whatever the test did
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process = None


@pytest.fixture
def served(tmp_path, database_url) -> Iterator[callable]:
    """A factory: served(**AXIS_vars) -> a Served hub (not started: call .start())."""
    made: list[Served] = []

    def make(data: Path | None = None, database: str | None = None, **extra: str) -> Served:
        data = data or tmp_path / f"data{len(made)}"
        env = axis_env(database or database_url, data, **extra)
        saved = dict(os.environ)
        os.environ.update({k: v for k, v in env.items() if k.startswith("AXIS_")})
        try:
            hub = build_hub(Settings())
            try:
                keys = {
                    code: agencies.add_agency(hub.db, code, f"Cơ quan {code}")
                    for code in (SENDER, HOOKED, PULLER)
                }
                keys["operator"] = agencies.new_staff_key(hub.db, "operator")
            finally:
                hub.close()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        s = Served(env, f"http://127.0.0.1:{free_port()}", tmp_path / f"serve{len(made)}.log", keys)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def send(client: httpx.Client, number: int) -> httpx.Response:
    return client.post(
        "/v1/messages", content=document(number), headers={"Content-Type": "application/xml"}
    )


class HangingServer:
    """A TCP server that accepts connections and never answers (a hung S3 endpoint)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def close(self) -> None:
        self._stop.set()
        for c in self.conns:
            c.close()
        self.sock.close()


def timed(fn, *args, **kw) -> tuple[float, object]:  # noqa: ANN001
    started = time.monotonic()
    value = fn(*args, **kw)
    return time.monotonic() - started, value
