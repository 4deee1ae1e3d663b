"""`axis serve --workers N`: real processes on a real port. Connections are spread over the
API processes, a worker that dies is replaced, and SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import httpx
import pytest

from axis.cli.serving import default_workers
from tests.deploy.conftest import axis_env, axis_process, axis_run, free_port, wait_for


def _children(pid: int) -> list[int]:
    """The supervisor's API processes (not multiprocessing's resource tracker)."""
    tasks = Path(f"/proc/{pid}/task")
    found = []
    for task in tasks.iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except FileNotFoundError:  # it exited between the listing and this read
                continue
            if b"resource_tracker" not in cmdline:
                found.append(int(child))
    return found


def _established_on(pid: int, port: int) -> int:
    """How many of the TCP connections to `port` the process `pid` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "01" and fields[9] in inodes:  # ESTABLISHED
                count += 1
    return count


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def hub_with_two_workers(tmp_path):
    port = free_port()
    env = axis_env(f"sqlite:///{tmp_path / 'data' / 'axis.db'}", tmp_path / "data")
    assert axis_run(env, "db", "upgrade").returncode == 0
    supervisor = axis_process(
        env, "serve", "--port", str(port), "--workers", "2", log=tmp_path / "serve.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), timeout=60, what="the hub")
        wait_for(lambda: len(_children(supervisor.pid)) == 2, what="two API processes")
        yield supervisor, port, url
    finally:
        if supervisor.poll() is None:
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(30)


@pytest.mark.timeout(180)
def test_keep_alive_connections_are_spread_over_the_api_processes(hub_with_two_workers):
    supervisor, port, url = hub_with_two_workers
    # Agency systems keep their connections open; 24 opened at once, as a burst.
    connections = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(24)]
    try:
        for conn in connections:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: axis\r\n\r\n")
        for conn in connections:
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")
        held = [_established_on(pid, port) for pid in _children(supervisor.pid)]
        assert sum(held) == 24
        # On one shared socket the first process awake accepted the whole burst (24 and 0);
        # spread by the kernel, each holds some (fewer than 4 of 24: odds under 1 in 5,000).
        assert min(held) >= 4, held
    finally:
        for conn in connections:
            conn.close()


@pytest.mark.timeout(180)
def test_a_worker_that_dies_is_replaced_and_sigterm_stops_them_all(hub_with_two_workers):
    supervisor, _port, url = hub_with_two_workers
    first, second = _children(supervisor.pid)
    os.kill(first, signal.SIGKILL)
    wait_for(
        lambda: first not in _children(supervisor.pid) and len(_children(supervisor.pid)) == 2,
        what="a new API process",
    )
    for _ in range(20):  # new connections each time: both processes answer
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    workers = _children(supervisor.pid)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(30) == 0
    time.sleep(0.2)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()], "a worker outlived it"
    assert second in workers


def test_a_port_in_use_is_refused_with_a_clear_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = axis_env(f"sqlite:///{tmp_path / 'data' / 'axis.db'}", tmp_path / "data")
        assert axis_run(env, "db", "upgrade").returncode == 0
        result = axis_run(env, "serve", "--port", str(port), "--workers", "2")
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


@pytest.mark.timeout(180)
def test_serve_without_workers_starts_two_api_processes_per_core(tmp_path):
    port = free_port()
    env = axis_env(f"sqlite:///{tmp_path / 'data' / 'axis.db'}", tmp_path / "data")
    assert axis_run(env, "db", "upgrade").returncode == 0
    supervisor = axis_process(env, "serve", "--port", str(port), log=tmp_path / "serve.log")
    expected = default_workers()
    assert expected >= 2  # Linux: several processes, each on its own SO_REUSEPORT socket
    try:
        wait_for(lambda: _healthy(f"http://127.0.0.1:{port}"), timeout=60, what="the hub")
        wait_for(lambda: len(_children(supervisor.pid)) == expected, what="the API processes")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(30) == 0
