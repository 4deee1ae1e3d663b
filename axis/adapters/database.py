"""Engine and unit of work. SQLite (WAL) is the embedded default; PostgreSQL by URL."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from axis.adapters.tables import Base


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20,
        max_overflow=20,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn, _record):  # noqa: ANN001
        # Let SQLAlchemy's "begin" event issue BEGIN, so writers can take the lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):  # noqa: ANN001
        # A deferred transaction that later writes can fail at once with SQLITE_BUSY when another
        # writer got in first; writers take the write lock at BEGIN instead and wait their turn.
        writer = conn.get_execution_options().get("axis_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


class _WriterLock:
    """The write turn of a SQLite database: threads of this process queue on a reentrant lock,
    processes sharing the file (`axis serve --workers N`, `axis worker`, the CLI) on an flock of
    a file beside it. Both wait in the kernel and wake at once, unlike SQLite's busy handler."""

    def __init__(self, path: str | None) -> None:
        self._threads = threading.RLock()
        self._path = path
        self._fd: int | None = None
        self._pid = 0  # a forked child opens its own file: flocks belong to the open file
        self._depth = 0  # nested write() calls of the holding thread take the flock once

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._depth == 0 and self._path is not None:
                if self._pid != os.getpid():
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                    self._pid = os.getpid()
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(axis_write=True), expire_on_commit=False
        )
        # SQLite has one writer at a time, and its busy handler waits by sleeping in steps of
        # up to 100 ms: writers queue on a lock instead, woken the moment it is free.
        self._write_lock: AbstractContextManager = nullcontext()
        if self.is_sqlite:
            database = make_url(url).database
            file = database if database and database != ":memory:" else None
            self._write_lock = _WriterLock(f"{file}.writer-lock" if file else None)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work that changes data: commits on success, rolls back on error."""
        with self._write_lock, self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
