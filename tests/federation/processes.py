"""Hubs as real processes, for killing them: `axis serve` and `axis worker` subprocesses on a
fixed port, database and store, each in a session (process group) of its own so that SIGKILL
takes the whole hub (the serve supervisor and its API processes) at once, as a machine that
loses power would; then started again on the same port and data.

And a TCP relay between a hub's worker and its upstream that can hold the upstream's answers:
the upstream has done the work, the worker has not heard it, and is then killed."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

# Short timings so that retries and lease expiries happen within a test.
FAST_ENV = {
    "AXIS_PUSH_TIMEOUT_S": "5",
    "AXIS_PUSH_CONNECT_TIMEOUT_S": "1",
    "AXIS_PUSH_BACKOFF_BASE_S": "0.1",
    "AXIS_PUSH_BACKOFF_MAX_S": "0.5",
    "AXIS_PUSH_LEASE_S": "4",
    "AXIS_PUSH_POLL_S": "0.05",
    "AXIS_UPSTREAM_POLL_S": "0.2",
    "AXIS_UPSTREAM_TIMEOUT_S": "5",
    "AXIS_UPSTREAM_CONNECT_TIMEOUT_S": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_env(settings, **extra: str) -> dict[str, str]:  # noqa: ANN001 - axis.config.Settings
    """The environment of an `axis` process serving the hub these settings describe."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AXIS_") or k == "AXIS_VXP_SDK_DIR"
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "AXIS_DATA_DIR": str(settings.data_dir),
            "AXIS_DATABASE_URL": settings.database_url,
            "AXIS_SIGNATURE_POLICY": settings.signature_policy,
            "AXIS_RULES": settings.rules,
            **FAST_ENV,
        }
    )
    if settings.upstream_enabled:
        env.update(
            {
                "AXIS_UPSTREAM_URL": settings.upstream_url,
                "AXIS_UPSTREAM_SYSTEM_ID": settings.upstream_system_id,
                "AXIS_UPSTREAM_SECRET": settings.upstream_secret,
            }
        )
    env.update(extra)
    return env


def _spawn(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - the child holds it
    try:
        return subprocess.Popen(
            [sys.executable, "-c", "from axis.cli.main import app; app()", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,  # its own process group: killpg reaches its children
        )
    finally:
        out.close()


def _killpg(process: subprocess.Popen | None, sig: int, wait_s: float = 30) -> int | None:
    if process is None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        return process.wait(wait_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.wait(10)


def _reap_group(pgid: int, timeout: float = 10) -> None:
    """Wait until no process of the group is left (the API processes after SIGKILL)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


@dataclass
class WorkerProcess:
    """`axis worker` for a hub, in a process group of its own."""

    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    starts: int = 0

    def start(self) -> WorkerProcess:
        self.starts += 1
        self.process = _spawn(self.env, self.log, "worker", "--log-level", "info")
        return self

    def kill(self) -> None:
        """SIGKILL: whatever it was doing is cut off mid-way."""
        if self.process is not None:
            pid = self.process.pid
            code = _killpg(self.process, signal.SIGKILL)
            assert code == -signal.SIGKILL, f"worker exited {code} before it was killed"
            _reap_group(pid)
            self.process = None

    def stop(self) -> None:
        """SIGTERM: it finishes what is in flight."""
        if self.process is not None:
            _killpg(self.process, signal.SIGTERM)
            self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class HubProcess:
    """A hub as `axis serve --workers N` plus one `axis worker`, on a fixed port."""

    name: str
    settings: object  # axis.config.Settings
    log_dir: Path
    port: int = field(default_factory=free_port)
    api_processes: int = 2
    serve: subprocess.Popen | None = None
    worker: WorkerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return hub_env(self.settings)

    def start(self, timeout: float = 120) -> HubProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.serve = _spawn(
            self.env,
            self.log_dir / f"{self.name}-serve.log",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.api_processes),
        )
        self.worker = WorkerProcess(self.env, self.log_dir / f"{self.name}-worker.log").start()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if self.serve.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"hub {self.name} did not start:\n{self.logs()}")
            time.sleep(0.1)
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL the whole hub: the serve supervisor, its API processes and its worker."""
        pid = self.serve.pid if self.serve else None
        code = _killpg(self.serve, signal.SIGKILL)
        assert code == -signal.SIGKILL, f"{self.name} exited {code} before it was killed"
        if pid is not None:
            _reap_group(pid)
        self.serve = None
        if self.worker is not None:
            self.worker.kill()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.serve is not None:
            _killpg(self.serve, signal.SIGTERM)
            self.serve = None

    def logs(self, tail: int = 4000) -> str:
        out = []
        for log in sorted(self.log_dir.glob(f"{self.name}-*.log")):
            out.append(f"--- {log.name}\n{log.read_text(errors='replace')[-tail:]}")
        return "\n".join(out)


class HoldingRelay:
    """A TCP relay 127.0.0.1:port -> target. While `hold` is set, the target's answers are
    read but not passed on: the request reached the target and was done there, the client is
    still waiting. `connections` counts the connections made through it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.hold = threading.Event()
        self.held = threading.Event()  # an answer is being held back
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                upstream.settimeout(None)
            except OSError:  # the target is down: the client sees its connection closed
                client.close()
                continue
            with self._lock:
                self.connections += 1
                self._socks += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, answers: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if answers and self.hold.is_set():
                    self.held.set()
                    while self.hold.is_set() and not self._stop.is_set():
                        time.sleep(0.02)
                    # Released: the client that waited may be gone (killed); pass it on anyway.
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def close(self) -> None:
        self._stop.set()
        self.hold.clear()
        self._listener.close()
        with self._lock:
            for s in self._socks:
                with contextlib.suppress(OSError):
                    s.close()
