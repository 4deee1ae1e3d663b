"""One submission at a time per DocumentId, across the threads and processes of a hub.

Two packages with one DocumentId and different bytes used to both pass the "is it taken?"
check, both write their objects to the store (under retention: undeletable), and one then
lost at the database's unique constraint, leaving its objects orphaned (issue 16). Holding
this lock from that check to the commit, the loser sees the winner's row before it writes
anything. Locks are striped by a 64-bit hash of the DocumentId: two ids that share a stripe
only wait for each other, which is harmless.

- In a process: a striped threading lock.
- Across processes, SQLite: an fcntl record lock on one byte (the stripe) of a file beside
  the database (record locks belong to the process, hence the threading lock first).
- Across processes, PostgreSQL: a session advisory lock on the hash, taken with
  pg_try_advisory_lock on one connection per process kept for locks alone, polled while
  contended (rare), so that a waiting thread never holds a pooled connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

STRIPES = 1024
_POLL_S = 0.005


def _hash64(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class DocumentLocks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stripes = [threading.Lock() for _ in range(STRIPES)]
        self._path: str | None = None
        url = make_url(str(engine.url))
        if engine.dialect.name == "sqlite" and url.database not in (None, "", ":memory:"):
            self._path = f"{url.database}.document-locks"
        self._fd, self._pid = -1, 0
        self._pg = None  # the lock connection (PostgreSQL), the driver's own
        self._pg_pid = 0
        self._pg_lock = threading.Lock()  # one thread at a time on that connection

    @contextmanager
    def hold(self, document_id: str) -> Iterator[None]:
        key = _hash64(document_id)
        stripe = key % STRIPES
        with self._stripes[stripe]:
            if self._path is not None:
                fd = self._file()
                fcntl.lockf(fd, fcntl.LOCK_EX, 1, stripe)
                try:
                    yield
                finally:
                    fcntl.lockf(fd, fcntl.LOCK_UN, 1, stripe)
            elif self._engine.dialect.name == "postgresql":
                self._pg_acquire(key)
                try:
                    yield
                finally:
                    self._pg_release(key)
            else:
                yield

    def _file(self) -> int:
        # one open file per process for its life: closing any descriptor of a file drops
        # every record lock the process holds on it
        if self._pid != os.getpid():
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def _pg_call(self, sql: str, key: int) -> bool:
        """One lock call; a session the server dropped (restart, pg_terminate_backend) is
        replaced once, and a database still away is the hub's usual DB_UNAVAILABLE."""
        from sqlalchemy.exc import OperationalError

        try:
            return self._pg_call_once(sql, key)
        except Exception:  # noqa: BLE001 - the kept connection may be stale: a fresh one
            try:
                return self._pg_call_once(sql, key)
            except Exception as exc:
                raise OperationalError(sql, (key,), exc) from exc

    def _pg_call_once(self, sql: str, key: int) -> bool:
        with self._pg_lock:
            if self._pg is None or self._pg_pid != os.getpid():
                fairy = self._engine.raw_connection()
                conn = fairy.driver_connection
                fairy.detach()  # not the pool's: it would hand a session holding locks out
                self._pg = conn
                self._pg.autocommit = True  # no transaction around the lock calls
                self._pg_pid = os.getpid()
            try:
                with self._pg.cursor() as cur:
                    cur.execute(sql, (key,))
                    return bool(cur.fetchone()[0])
            except Exception:
                with contextlib.suppress(Exception):
                    self._pg.close()  # a dead session holds no locks: start afresh
                self._pg = None
                raise

    def _pg_acquire(self, key: int) -> None:
        while not self._pg_call("SELECT pg_try_advisory_lock(%s)", key):
            time.sleep(_POLL_S)

    def _pg_release(self, key: int) -> None:
        # failing, the session is gone, and its locks with it
        with contextlib.suppress(Exception):
            self._pg_call("SELECT pg_advisory_unlock(%s)", key)

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
            self._fd, self._pid = -1, 0
        if self._pg is not None and self._pg_pid == os.getpid():
            with contextlib.suppress(Exception):
                self._pg.close()
        self._pg = None
