"""`axis serve --workers N`: API processes that each listen on their own SO_REUSEPORT socket.

uvicorn's own supervisor hands one listening socket to every worker. An agency system keeps
its connection open, and on a shared socket the first process to wake accepts a whole burst of
new connections at once (asyncio accepts up to the backlog per wake-up): measured here, one of
two workers served 80% of the requests and ran out of CPU while the other idled. With a socket
per process the kernel spreads the connections over the processes by their addresses."""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import socket
import sys
import time
from types import FrameType

APP = "axis.api.main:app"


def default_workers() -> int:
    """API processes when none are asked for: two per CPU core (at most 8) where the kernel
    spreads connections over SO_REUSEPORT sockets (Linux), else one. Measured on 2 cores,
    embedded default: 4-6 processes accepted 10-20% more than 2 (fewer request threads
    contend for each process's GIL with the thread holding the SQLite write turn); 10 fewer
    (smaller group commits, more hand-overs of the write lock between processes)."""
    if not sys.platform.startswith("linux"):
        return 1
    return min(8, 2 * (os.cpu_count() or 1))


def serve(host: str, port: int, workers: int) -> int:
    """Run `workers` API processes on host:port until SIGINT or SIGTERM; a worker that dies is
    started again. Returns the exit status: non-zero when a worker could not start."""
    import uvicorn

    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(
            APP, host=host, port=port, workers=workers, log_level="warning", access_log=False
        )
        return 0
    spawn = _context()
    ready = spawn.Queue()
    processes = [_start(spawn, host, port, ready) for _ in range(workers)]
    for _ in processes:  # each says whether it could bind, before the hub counts as started
        if error := _started(ready, processes):
            print(f"axis serve: {error}", file=sys.stderr)
            _stop(processes)
            return 1
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stopping:
            time.sleep(0.2)
            for i, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    print(
                        f"axis serve: worker {process.pid} exited; starting another",
                        file=sys.stderr,
                    )
                    processes[i] = _start(spawn, host, port, ready)
                    if error := _started(ready, [processes[i]]):
                        print(f"axis serve: {error}", file=sys.stderr)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _stop(processes)
    return 0


def _context():  # noqa: ANN202
    """Linux: import the app once here and fork the API processes from it. Each spawned process
    imported everything itself (~2.5 s of CPU): 4 at once on 2 busy cores took 20-60 s before
    the hub answered, and as long again to replace a worker that died. Forked after the import
    (no thread runs here, the hub built above is closed), a worker starts in well under a
    second; it builds its own hub (connections, locks) in the app's lifespan."""
    if not sys.platform.startswith("linux"):
        return multiprocessing.get_context("spawn")
    import importlib

    importlib.import_module(APP.split(":")[0])
    return multiprocessing.get_context("fork")


def _started(ready, processes: list[multiprocessing.Process]) -> str:  # noqa: ANN001
    """What a new worker says about its socket: "" once it listens, else why not."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            return ready.get(timeout=0.5)
        except queue.Empty:
            # A worker that listens never exits on its own: one gone now failed to start.
            if dead := [p for p in processes if p.exitcode is not None]:
                return f"a worker exited with status {dead[0].exitcode} before listening"
    return "a worker did not start within 60 s"


def _start(spawn, host: str, port: int, ready) -> multiprocessing.Process:  # noqa: ANN001
    process = spawn.Process(target=_worker, args=(host, port, ready, os.getpid()))
    process.start()
    return process


def _stop(processes: list[multiprocessing.Process]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # uvicorn finishes the requests in flight on SIGTERM
    for process in processes:
        process.join(30)
        if process.is_alive():
            process.kill()


def die_with_parent(parent: int) -> None:
    """Make this process get SIGTERM when its parent dies (a supervisor killed with SIGKILL
    must not leave API processes serving as orphans, beside which a new `axis serve` would
    bind through SO_REUSEPORT). Linux: prctl(PR_SET_PDEATHSIG); elsewhere a thread watches
    the parent's pid."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        if os.getppid() != parent:  # it died before the prctl
            os.kill(os.getpid(), signal.SIGTERM)
        return
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="axis-parent-watch").start()


def _worker(host: str, port: int, ready, parent: int) -> None:  # noqa: ANN001
    import uvicorn

    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the supervisor's handler, if forked
    die_with_parent(parent)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        ready.put(f"cannot listen on {host}:{port}: {exc.strerror}")
        return
    ready.put("")
    # uvicorn shuts down gracefully on SIGINT (Ctrl+C reaches the whole process group) and then
    # raises it again to the handler it found: ignored, rather than a KeyboardInterrupt trace.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A bound on the graceful shutdown: a parent gone (SIGTERM above) must not wait on a
    # client that keeps its request open.
    config = uvicorn.Config(
        APP, log_level="warning", access_log=False, timeout_graceful_shutdown=10
    )
    uvicorn.Server(config).run(sockets=[sock])
