"""How the hub's own failures read to a client: one mapping, used by every use case and by the
HTTP app's exception handlers (issue 16, items 10 and 16).

- A transient failure of the database or the store (a PostgreSQL backend terminated, SQLite
  "database or disk is full", the store unreachable or out of space) is `Unavailable`: 503 with
  Retry-After and a stable code (DB_UNAVAILABLE, DB_BUSY, DISK_FULL, STORE_UNAVAILABLE).
  Retrying later can succeed.
- An object a record names that the store no longer has is permanent: retrying never helps,
  so it is 410 STORE_OBJECT_MISSING (never 503, which a client would retry forever), logged at
  ERROR and counted (`axis_store_objects_missing_total`) so that an operator is alerted.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading

from archive.store import ObjectMissing, StoreError, StoreFull
from axis.domain import Gone, HubError, Unavailable

log = logging.getLogger("axis.failures")

DB_UNAVAILABLE = "DB_UNAVAILABLE"
DB_BUSY = "DB_BUSY"
DISK_FULL = "DISK_FULL"
STORE_UNAVAILABLE = "STORE_UNAVAILABLE"
STORE_OBJECT_MISSING = "STORE_OBJECT_MISSING"

_FULL = ("database or disk is full", "disk is full", "no space left")


class Alerts:
    """Counters of events an operator must hear about, per process (exported on /metrics)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] = self.counts.get(name, 0) + n

    def get(self, name: str) -> int:
        return self.counts.get(name, 0)


ALERTS = Alerts()


def store_failed(exc: StoreError, what: str = "") -> HubError:
    """The client's answer to a store failure."""
    if isinstance(exc, ObjectMissing):
        key = str(exc.args[0]) if exc.args else ""
        log.error(
            "object %s%s is missing from the store: restore it from a backup "
            "(`axis archive audit` lists every missing object)",
            key,
            f" ({what})" if what else "",
        )
        ALERTS.count("store_objects_missing")
        return Gone(
            "Tệp của văn bản không còn trong kho lưu trữ; đã báo cho quản trị viên "
            f"(object {key} is missing from the store; the operator is alerted)",
            code=STORE_OBJECT_MISSING,
        )
    if isinstance(exc, StoreFull):
        return Unavailable(
            f"Kho lưu trữ đã hết dung lượng; hãy gửi lại sau (the store is full: {exc})",
            code=DISK_FULL,
            retry_after=60,
        )
    return Unavailable(
        f"Kho lưu trữ tạm thời không truy cập được; hãy gửi lại sau "
        f"(the document store is unavailable: {exc})",
        code=STORE_UNAVAILABLE,
    )


def database_failed(exc: BaseException) -> Unavailable | None:
    """The client's answer to a database failure that retrying can cure; None for the rest
    (a programming error stays a 500)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, sqlite3.OperationalError):  # raw, from a connection of our own
        orig, invalidated, operational = exc, False, True
    elif isinstance(exc, DBAPIError):
        orig, invalidated = exc.orig, exc.connection_invalidated
        operational = isinstance(exc, OperationalError)
    else:
        return None
    text = str(orig).lower()
    if any(s in text for s in _FULL) or _sqlstate(orig) == "53100":  # PostgreSQL disk_full
        return Unavailable(
            "Máy chủ đã hết dung lượng đĩa; hãy gửi lại sau (the database's disk is full)",
            code=DISK_FULL,
            retry_after=60,
        )
    if isinstance(orig, sqlite3.OperationalError) and "locked" in text:
        return Unavailable(
            "Cơ sở dữ liệu đang bận; hãy gửi lại sau (the database is busy)",
            code=DB_BUSY,
            retry_after=2,
        )
    if invalidated or operational or _is_psycopg_lost(orig):
        return Unavailable(
            "Cơ sở dữ liệu tạm thời không truy cập được; hãy gửi lại sau "
            f"(the database is unavailable: {type(orig).__name__})",
            code=DB_UNAVAILABLE,
        )
    return None


def os_failed(exc: OSError) -> Unavailable | None:
    """A file the hub writes (SQLite's journal, a temp file) on a full or failing disk."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Unavailable(
            "Máy chủ đã hết dung lượng đĩa; hãy gửi lại sau (no space left on device)",
            code=DISK_FULL,
            retry_after=60,
        )
    if exc.errno in (errno.EIO, errno.EROFS):
        return Unavailable(f"the hub's disk failed: {exc.strerror}", code=DB_UNAVAILABLE)
    return None


def known(exc: BaseException) -> HubError | None:
    """The answer to a failure of the database, the store or the disk; None for the rest."""
    if isinstance(exc, StoreError):
        return store_failed(exc)
    if isinstance(exc, OSError):
        return os_failed(exc)
    return database_failed(exc)


def _sqlstate(orig: object) -> str | None:
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def _is_psycopg_lost(orig: object) -> bool:
    # Class 08 connection exceptions, 57P01..03 admin/crash shutdown, cannot connect now.
    state = _sqlstate(orig) or ""
    return state.startswith("08") or state in ("57P01", "57P02", "57P03")
