"""Key rows of a SQLite hub read on a connection of their own, cheaply enough for the event
loop: a primary-key lookup in autocommit mode (each read sees the latest commit, so a key
revoked by another process fails on the very next request), with no lock wait."""

from __future__ import annotations

import sqlite3
import threading

from axis.adapters.database import Database

# The same columns as axis.service.keys._KEY_ROW, the agency's active flag last.
_SQL = (
    "SELECT k.secret_hash, k.revoked_at, k.role, k.agency_code, k.signer_id, a.active"
    " FROM api_keys k LEFT JOIN agencies a ON a.code = k.agency_code WHERE k.key_id = ?"
)

# What `read` answers when it cannot at once: the caller asks the database the usual way.
UNANSWERED = object()


class SqliteKeyRows:
    def __init__(self, db: Database) -> None:
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        path = db.engine.url.database if db.is_sqlite else None
        if path and path != ":memory:" and not path.startswith("file:"):
            try:
                conn = sqlite3.connect(
                    path, timeout=0, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA query_only=ON")
            except sqlite3.Error:
                return
            self._conn = conn

    def read(self, key_id: str) -> tuple | None | object:
        """The row of `key_id` (the columns of _SQL), None if there is none, or UNANSWERED:
        no SQLite file, the connection busy in another thread, the database locked or not
        there yet."""
        if self._conn is None or not self._lock.acquire(blocking=False):
            return UNANSWERED
        try:
            # fetchall steps the statement to its end: no read transaction stays open.
            rows = self._conn.execute(_SQL, (key_id,)).fetchall()
        except sqlite3.Error:
            return UNANSWERED
        finally:
            self._lock.release()
        return rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
