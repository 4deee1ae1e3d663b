"""`axis worker`: a process that delivers push jobs, any number of them against one database.
With an upstream hub configured (AXIS_UPSTREAM_*), the same loop forwards packages upstream
(forward jobs, claimed like push jobs), pulls what waits upstream for this hub's agencies every
AXIS_UPSTREAM_POLL_S, and refreshes the upstream directory every AXIS_UPSTREAM_SYNC_S.

Workers coordinate only through the database (leases, SKIP LOCKED), so they can run on several
machines. A worker survives the database going away (a restart, a failover): every database
step is retried with backoff, the pool re-checks connections before use (pool_pre_ping), and a
job whose outcome could not be recorded is delivered again after its lease expires, with the
same idempotency key. SIGTERM/SIGINT stop claiming and let the POSTs in flight finish.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import httpx
from sqlalchemy.exc import DBAPIError, OperationalError

from archive.store import ObjectMissing, StoreError
from axis import __version__
from axis.domain import utcnow
from axis.service import failures, federation, push, sealing
from axis.service.context import Hub

log = logging.getLogger("axis.worker")
T = TypeVar("T")

# Errors worth waiting out: the database or its network is away for a while.
TRANSIENT = (OperationalError, DBAPIError, OSError)


class Worker:
    def __init__(self, hub: Hub, settings: push.PushSettings | None = None, name: str = "") -> None:
        self.hub = hub
        self.settings = settings or push.PushSettings()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stop = threading.Event()
        self.delivered = 0
        self.failed = 0
        self._beat = float("-inf")
        self._sealed = float("-inf")
        self._pulled = float("-inf")
        self._synced = float("-inf")
        self._upstream_busy = threading.Lock()
        self.forwarded = 0
        self.upstream = federation.client_for(hub.settings)
        self._evidence_sealed = float("-inf")
        self._reaped = time.monotonic()  # the first run waits one interval (not at each start)
        timeout = httpx.Timeout(self.settings.timeout_s, connect=self.settings.connect_timeout_s)
        limits = httpx.Limits(
            max_connections=self.settings.concurrency * 2,
            max_keepalive_connections=self.settings.concurrency,
        )
        self.http = httpx.Client(
            timeout=timeout,
            limits=limits,
            follow_redirects=False,  # a redirect is not an acknowledgement
            headers={"User-Agent": f"axis-push/{__version__}"},
        )

    # -- the loop -------------------------------------------------------------------------

    def run(self, *, until_idle: bool = False) -> None:
        """Claim and deliver until stopped (or, with until_idle, until nothing is due)."""
        in_flight: set[Future] = set()
        slots = self.settings.concurrency
        with ThreadPoolExecutor(slots, thread_name_prefix="axis-push") as pool:
            while not self.stop.is_set():
                self._heartbeat()
                self._seal_due()
                self._seal_evidence()
                self._reap_store()
                in_flight = {f for f in in_flight if not f.done()}
                if self.upstream is not None:
                    in_flight |= self._upstream_turn(
                        pool, force=until_idle and self._pulled == float("-inf")
                    )
                asked = min(slots - len(in_flight), self.settings.batch)
                jobs: list = []
                if asked > 0:
                    jobs = self._retrying(
                        lambda n=asked: push.claim(self.hub, self.name, n, self.settings)
                    )
                    if jobs is None:  # stopped while the database was away
                        break
                for job in jobs:
                    in_flight.add(pool.submit(self._deliver_one, job))
                asked = min(slots - len(in_flight), self.settings.batch)
                if self.upstream is not None and asked > 0:
                    forwards = self._retrying(
                        lambda n=asked: federation.claim(self.hub, self.name, n, self.settings)
                    )
                    if forwards is None:
                        break
                    for fwd in forwards:
                        in_flight.add(pool.submit(self._forward_one, fwd))
                    jobs = [*jobs, *forwards]
                if not jobs and until_idle and not in_flight:
                    break
                if not in_flight:
                    self.stop.wait(self.settings.poll_s)
                elif len(jobs) < asked or asked <= 0:
                    # Full, or nothing more is due for now: wait for a POST to finish.
                    _wait_any(in_flight, self.settings.poll_s)
        self.http.close()
        if self.upstream is not None:
            self.upstream.close()

    # -- the upstream hub -----------------------------------------------------------------

    def _upstream_turn(self, pool: ThreadPoolExecutor, force: bool = False) -> set[Future]:
        """Start a pull (and a directory sync when due) unless one is running."""
        now = time.monotonic()
        s = self.hub.settings
        if not force and now - self._pulled < s.upstream_poll_s:
            return set()
        if not self._upstream_busy.acquire(blocking=False):
            return set()
        self._pulled = now
        sync = now - self._synced >= s.upstream_sync_s
        if sync:
            self._synced = now
        return {pool.submit(self._upstream_work, sync)}

    def _upstream_work(self, sync: bool) -> None:
        try:
            if sync:
                try:
                    result = federation.sync_directory(self.hub, self.upstream)
                    log.info("upstream directory: %s", result)
                except Exception as exc:  # noqa: BLE001 - the cache stays; again in 30 s
                    self._synced = time.monotonic() - self.hub.settings.upstream_sync_s + 30
                    log.warning("upstream directory sync failed: %s", _short(exc))
            result = federation.pull(self.hub, self.upstream)
            for error in result.errors:
                log.warning("upstream pull: %s", error)
            for refused in result.refused:
                log.warning("upstream package refused: %s", refused)
        except TRANSIENT as exc:
            log.warning("upstream pull: database unavailable (%s)", _short(exc))
        except Exception:  # noqa: BLE001 - never kill the loop; the next pull tries again
            log.exception("upstream pull failed")
        finally:
            self._upstream_busy.release()

    def _forward_one(self, job: federation.Forward) -> None:
        try:
            state = self._retrying(
                lambda: federation.forward_one(self.hub, self.upstream, job, self.settings)
            )
            if state == "done":
                self.forwarded += 1
            else:
                self.failed += 1
        except Exception:  # noqa: BLE001 - a worker thread must never die silently
            log.exception("forwarding %s upstream failed", job.message_id)

    def _seal_due(self) -> None:
        """Seal the status histories of records past AXIS_ARCHIVE_SEAL_AFTER_DAYS, hourly."""
        now = time.monotonic()
        if now - self._sealed < 3600:
            return
        self._sealed = now
        try:
            sealed = sealing.seal_due(self.hub)
        except Exception:  # noqa: BLE001 - sealing waits for the next hour, delivery goes on
            log.exception("sealing status histories failed")
            return
        if sealed:
            log.info("sealed the status history of %d records", len(sealed))

    def _seal_evidence(self) -> None:
        """Append a head to the evidence log every AXIS_EVIDENCE_SEAL_INTERVAL_S (or N
        entries), timestamped when the TSA answers; a TSA away never stops delivery."""
        if self.hub.evidence is None:
            return
        now = time.monotonic()
        if now - self._evidence_sealed < min(self.hub.settings.evidence_seal_interval_s, 60):
            return
        self._evidence_sealed = now
        from axis.service import evidence

        try:
            evidence.seal(self.hub, wait_s=1.0)
        except Exception:  # noqa: BLE001 - sealing waits for the next turn
            log.exception("sealing the evidence log failed")

    def _reap_store(self) -> None:
        """Remove crash leftovers every AXIS_STORE_REAP_INTERVAL_S (axis.service.reaper)."""
        s = self.hub.settings
        now = time.monotonic()
        if s.store_reap_interval_s <= 0 or now - self._reaped < s.store_reap_interval_s:
            return
        self._reaped = now
        from axis.service import reaper

        try:
            reaper.reap(self.hub, grace_s=s.store_reap_grace_s, by=self.name)
        except Exception:  # noqa: BLE001 - the next interval tries again; delivery goes on
            log.exception("reaping the store failed")

    def _heartbeat(self) -> None:
        path = self.settings.heartbeat_file
        now = time.monotonic()
        if path and now - self._beat >= 5:
            self._beat = now
            with open(path, "a"):
                os.utime(path)

    def _retrying(self, step: Callable[[], T]) -> T | None:
        """Run a database step until it succeeds or the worker stops."""
        delay = 0.2
        while True:
            try:
                return step()
            except TRANSIENT as exc:
                log.warning("database unavailable (%s); retrying in %.1fs", _short(exc), delay)
                if self.stop.wait(delay):
                    return None
                delay = min(delay * 2, 10.0)

    # -- one delivery ---------------------------------------------------------------------

    def _deliver_one(self, job: push.Claimed) -> None:
        try:
            self._deliver(job)
        except Exception:  # noqa: BLE001 - a worker thread must never die silently
            log.exception("delivery of %s to %s failed", job.message_id, job.recipient_code)

    def _deliver(self, job: push.Claimed) -> None:
        started = utcnow()
        t0 = time.monotonic()
        status: int | None = None
        try:
            body = (
                job.inline_body if job.inline_body is not None else self.hub.store.get(job.sha256)
            )
        except ObjectMissing as exc:
            # Lost from the store: retrying for days cannot bring it back. A dead letter now,
            # and an alert; `axis deadletter retry` once the object is restored.
            failures.store_failed(exc, f"push of message {job.message_id}")
            self._fail(job, started, t0, "error", None, "store: object missing", permanent=True)
            return
        except StoreError as exc:
            self._fail(job, started, t0, "error", None, f"store: {exc}")
            return
        try:
            response = self.http.post(job.url, content=body, headers=push.headers_for(job, body))
            status = response.status_code
        except httpx.TimeoutException as exc:
            self._fail(job, started, t0, "timeout", None, f"{type(exc).__name__}: {exc}")
            return
        except httpx.HTTPError as exc:  # refused, reset, closed mid-answer, bad URL...
            self._fail(job, started, t0, "connection", None, f"{type(exc).__name__}: {exc}")
            return
        if 200 <= status < 300:
            ms = _ms(t0)
            self._retrying(lambda: push.complete(self.hub, job, self.name, started, ms, status))
            self.delivered += 1
        else:
            self._fail(job, started, t0, "http_error", status, response.text[:200])

    def _fail(
        self,
        job: push.Claimed,
        started,  # noqa: ANN001
        t0: float,
        outcome: str,
        status: int | None,
        error: str,
        permanent: bool = False,
    ) -> None:
        ms = _ms(t0)
        self.failed += 1
        state = self._retrying(
            lambda: push.fail(
                self.hub,
                job,
                self.name,
                started,
                ms,
                outcome,
                status,
                error,
                self.settings,
                permanent=permanent,
            )
        )
        if state == "dead":
            log.warning(
                "message %s to %s is a dead letter after %d attempts: %s",
                job.message_id,
                job.recipient_code,
                job.number,
                error,
            )


def _ms(t0: float) -> int:
    return int((time.monotonic() - t0) * 1000)


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def _wait_any(futures: set[Future], timeout: float) -> None:
    from concurrent.futures import FIRST_COMPLETED, wait

    if futures:
        wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)


def run_worker(hub: Hub, settings: push.PushSettings | None = None) -> Worker:
    """Run a worker in this process until SIGTERM or SIGINT (the `axis worker` command)."""
    worker = Worker(hub, settings)

    def _stop(signum, _frame):  # noqa: ANN001
        log.info("signal %s: finishing the deliveries in flight", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.run()
    return worker
