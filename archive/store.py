"""The object store port: content-addressed, write-once storage of bytes.

Keys are the lowercase hex SHA-256 of the content, so a put of the same bytes twice is a no-op
and any reader can verify what it got. Adapters: `archive.localstore.LocalStore` (embedded
default) and `archive.s3store.S3Store` (MinIO or any S3-compatible server).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol


class StoreError(Exception):
    """The store failed; the operation may be retried."""


class StoreUnavailable(StoreError):
    """The store could not be reached or failed mid-operation (the hub answers 503)."""


class StoreFull(StoreUnavailable):
    """The store has no space left for the object (a full disk, a quota)."""


class ObjectMissing(StoreError, KeyError):
    """No object under that key."""


class ObjectLocked(StoreError):
    """The object is under retention or legal hold and cannot be deleted."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    retain_until: datetime | None = None  # UTC
    legal_hold: bool = False
    modified: datetime | None = None  # UTC: when it was last written (the reaper's grace)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore(Protocol):
    def put(
        self, data: bytes, *, key: str | None = None, retain_until: datetime | None = None
    ) -> str:
        """Store data under its SHA-256 (pass `key` when already computed); return the key.
        Durable when it returns. Idempotent."""
        ...

    def put_stream(
        self, stream: BinaryIO, size: int, *, key: str, retain_until: datetime | None = None
    ) -> str:
        """Store a large object from a stream (multipart on S3). `key` is its SHA-256."""
        ...

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object (caller closes it)."""
        ...

    def exists(self, key: str) -> bool: ...

    def stat(self, key: str) -> ObjectInfo: ...

    def keys(self) -> Iterator[str]: ...

    def set_retention(self, key: str, retain_until: datetime) -> None: ...

    def set_legal_hold(self, key: str, on: bool) -> None: ...

    def delete(self, key: str) -> None:
        """Delete (disposition); raises ObjectLocked under retention or legal hold."""
        ...

    def check(self) -> None:
        """Raise StoreUnavailable if the store cannot be used (health check)."""
        ...
