"""Engine and unit of work. SQLite (WAL) is the embedded default; PostgreSQL by URL."""

from __future__ import annotations

import contextlib
import copy
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, Insert, create_engine, event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, class_mapper, sessionmaker

from axis.adapters.document_locks import DocumentLocks
from axis.adapters.tables import Base
from axis.domain import Rejected


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
    """No text holding a NUL character reaches the database, from any entry point: PostgreSQL
    refuses it with an error that ended as a 500 (a cursor, an agency code, a search of the
    directory...), and no edXML, agency code or id can hold one legitimately. The caller
    gets a 422 instead, on SQLite the same as on PostgreSQL."""
    if parameters and _has_nul(parameters):
        raise Rejected(
            "a parameter holds a NUL character (\\x00), which no text here may contain",
            code="TEXT_NUL_CHARACTER",
        )


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_size=10, max_overflow=20, pool_pre_ping=True)
        event.listen(engine, "before_cursor_execute", _refuse_nul)
        return engine

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=20,
        max_overflow=20,
    )

    event.listen(engine, "before_cursor_execute", _refuse_nul)

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


_INSERTS: dict[str, Insert] = {}
R = TypeVar("R", bound=Base)
_MAKERS: dict[type, Callable[[], Any]] = {}


def new_row(cls: type[R], **values: Any) -> R:
    """An object of a mapped class holding `values`, for `insert_new`: made without the
    declarative constructor, whose instrumented set of each attribute cost ten times the rest
    of the object (34 µs for a Message, measured). It reads like any transient object."""
    make = _MAKERS.get(cls)
    if make is None:  # class_mapper configures the mappers, once
        make = _MAKERS[cls] = class_mapper(cls).class_manager.new_instance
    obj = make()
    obj.__dict__.update(values)
    return obj


def insert_new(session: Session, objects: Sequence[Base]) -> None:
    """INSERT new rows, given as ORM objects of one class, in one Core executemany on the unit
    of work's connection. On the hot paths the ORM's flush bookkeeping cost several times the
    INSERT itself. The objects stay out of the session, carriers of the values they hold;
    a server-generated key (an autoincrement seq) is not read back."""
    if not objects:
        return
    table = objects[0].__table__
    statement = _INSERTS.get(table.name)
    if statement is None:  # built once: building and keying one per call costs more than it
        statement = _INSERTS[table.name] = insert(table)
    shapes: dict[tuple[str, ...], list[dict]] = {}  # executemany wants one set of columns
    for obj in objects:
        row = {c.key: obj.__dict__[c.key] for c in table.columns if c.key in obj.__dict__}
        shapes.setdefault(tuple(row), []).append(row)
    for rows in shapes.values():
        session.connection().execute(statement, rows)


class _FileLock:
    """An flock of a file beside the database: SQLite writers of several processes (`axis serve
    --workers N`, `axis worker`, the CLI) wait for their turn in the kernel and wake at once,
    where SQLite's busy handler sleeps in steps of up to 100 ms."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._fd = -1
        self._pid = 0  # a forked child opens its own file: flocks belong to the open file

    def acquire(self) -> None:
        if self._path is None:
            return
        if self._pid != os.getpid():
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._path is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0 and self._pid == os.getpid():
            os.close(self._fd)
            self._fd, self._pid = -1, 0  # a later acquire opens it again


@dataclass
class _Group:
    session: Session
    units: int = 0
    broken: bool = False
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class _GroupCommit:
    """Group commit of SQLite units of work. SQLite has one writer at a time and each commit
    waits for its fsync: while writers of this process queue for the turn, each unit runs in a
    SAVEPOINT of one shared transaction, and the last of the group commits for all (one fsync).
    A unit that fails rolls back its savepoint alone; every unit returns only once the group's
    commit is durable, and raises if it failed."""

    max_units = 16

    def __init__(self, sessions: sessionmaker, lock_path: str | None) -> None:
        self._sessions = sessions
        self._file = _FileLock(lock_path)
        self._turn = threading.RLock()
        self._counting = threading.Lock()
        self._waiting = 0  # threads queued for the turn
        self._depth = 0  # nested units of the thread holding the turn
        self._group: _Group | None = None

    @contextmanager
    def unit(self) -> Iterator[Session]:
        with self._counting:
            self._waiting += 1
        self._turn.acquire()
        with self._counting:
            self._waiting -= 1
        if self._depth:  # a nested write() of the thread holding the turn: a savepoint
            self._depth += 1
            try:
                with self._group.session.begin_nested():
                    yield self._group.session
            finally:
                self._depth -= 1
                self._turn.release()
            return
        try:
            group = self._group or self._open()
        except BaseException:
            self._turn.release()
            raise
        failure: BaseException | None = None
        session = group.session
        # What subscribers keep in session.info (buffered figures, seals to make) is written at
        # the group's commit; a unit that fails puts it back as it found it.
        info = {key: copy.copy(value) for key, value in session.info.items()}
        self._depth = 1
        try:
            savepoint = session.begin_nested()
            try:
                yield session
                savepoint.commit()
            except BaseException:
                try:
                    # Also after a failed flush in savepoint.commit(): the savepoint is then
                    # inactive, and the shared transaction unusable until it is rolled back.
                    savepoint.rollback()
                except BaseException:
                    group.broken = True
                session.info.clear()
                session.info.update(info)
                raise
        except BaseException as exc:
            failure = exc
        finally:
            self._depth = 0
            group.broken = group.broken or not session.in_transaction()
            # The unit's objects leave the session, as they did when each unit had its own.
            session.expunge_all()
        group.units += 1
        with self._counting:
            more = self._waiting > 0
        if more and group.units < self.max_units and not group.broken:
            self._turn.release()
            group.done.wait()
        else:
            self._commit(group)
            self._turn.release()
        if failure is not None:
            raise failure
        if group.error is not None:
            raise group.error

    def _open(self) -> _Group:
        self._file.acquire()
        session = self._sessions()
        try:
            session.begin()
            session.connection()  # BEGIN IMMEDIATE: the write lock, now that the turn is ours
        except BaseException:
            session.close()
            self._file.release()
            raise
        self._group = _Group(session)
        return self._group

    def _commit(self, group: _Group) -> None:
        try:
            if group.broken:
                group.session.rollback()
                group.error = RuntimeError("the shared transaction of a group commit failed")
            else:
                group.session.commit()
        except BaseException as exc:
            group.error = exc
            with contextlib.suppress(Exception):
                group.session.rollback()
        finally:
            group.session.close()
            self._group = None
            self._file.release()
            group.done.set()


def _writer_lock_path(url: str) -> str | None:
    """The flock file SQLite writers of every process take turns at (None: not SQLite, or a
    database in memory, which no other process sees)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return f"{parsed.database}.writer-lock"


@contextmanager
def writer_turn(url: str) -> Iterator[None]:
    """Hold the SQLite writers' turn for a whole command, from before its first connection:
    two `axis db upgrade` of a new database at once would otherwise both switch it to WAL,
    and SQLite can answer one of them "database is locked" at once rather than wait. Not to be
    taken by a process whose hub writes meanwhile (a second open file of the lock waits on
    the first). A no-op off SQLite (PostgreSQL migrations take an advisory lock)."""
    lock = _FileLock(_writer_lock_path(url))
    lock.acquire()
    try:
        yield
    finally:
        lock.release()
        lock.close()


class Database:
    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(axis_write=True), expire_on_commit=False
        )
        self._group_commit: _GroupCommit | None = None
        if self.is_sqlite:
            self._group_commit = _GroupCommit(self._writer, _writer_lock_path(url))
        self.document_locks = DocumentLocks(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def create_all(self) -> None:
        Base.metadata.create_all(self.engine)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One unit of work that changes data: commits on success, rolls back on error.
        On SQLite, concurrent units share a commit (see _GroupCommit)."""
        if self._group_commit is not None:
            with self._group_commit.unit() as session:
                yield session
            return
        with self._writer() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.document_locks.close()
        self.engine.dispose()
