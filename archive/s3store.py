"""The object store on S3-compatible storage (MinIO in deployment) through the `minio` SDK.

Object names are `sha256/<ab>/<key>`. The bucket is created with object lock when missing,
each object can carry COMPLIANCE retention and a legal hold. Retention is read back from the
object's headers (HEAD) rather than GetObjectRetention, which moto lacks and which costs an
extra request anyway. Network failures and 5xx answers become `StoreUnavailable` after short
timeouts and few retries, so the hub answers 503 instead of hanging.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention

from archive.localstore import is_key
from archive.store import (
    ObjectInfo,
    ObjectLocked,
    ObjectMissing,
    StoreError,
    StoreFull,
    StoreUnavailable,
    sha256_hex,
)

PREFIX = "sha256/"
#: Objects above this size go through put_stream as a multipart upload in parts of this size.
PART_SIZE = 16 * 1024 * 1024
_MISSING_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchVersion", "ResourceNotFound"}
_FULL_CODES = {"XMinioStorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded"}
_UNAVAILABLE_CODES = {"ServiceUnavailable", "SlowDown", "InternalError", "RequestTimeout"}


def object_name(key: str) -> str:
    return f"{PREFIX}{key[:2]}/{key}"


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("retain_until must be timezone-aware (UTC)")
    return value.astimezone(UTC)


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _checksum_headers(digest_hex: str) -> dict[str, str]:
    """Full-object SHA-256 checksum: S3 verifies it, and object-lock PUTs require a checksum."""
    b64 = base64.b64encode(bytes.fromhex(digest_hex)).decode()
    return {"x-amz-checksum-sha256": b64, "x-amz-sdk-checksum-algorithm": "SHA256"}


def _http_client(timeout: float, retries: int) -> urllib3.PoolManager:
    """Every call bounded: refused connections and 5xx answers are retried, but a read that
    timed out is not (read=0). A store that accepts and never answers then costs one timeout
    per call, not three: stuck calls held threads 15.5 s each and starved the hub."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=min(timeout, 2.0), read=timeout),
        maxsize=16,
        retries=urllib3.Retry(
            total=retries,
            read=0,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
        ),
    )


class BucketMissing(StoreUnavailable):
    """The bucket is gone: `ensure_bucket` makes it again on the next call."""


class _ResponseStream(io.RawIOBase):
    """A GET response as a file; close() returns the connection to the pool."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        try:
            data = self._response.read(len(buffer))
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailable(f"object store read failed: {exc}") from exc
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        if not self.closed:
            self._response.close()
            self._response.release_conn()
        super().close()


class S3Store:
    """ObjectStore on an S3-compatible server (see module docstring)."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str = "us-east-1",
        timeout: float = 5.0,
        retries: int = 2,
        part_size: int = PART_SIZE,
    ) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_http_client(timeout, retries),
        )
        self._bucket_ready = False

    def __repr__(self) -> str:
        return f"S3Store({self.endpoint!r}, bucket={self.bucket!r})"

    # -- plumbing --------------------------------------------------------------------------
    def _call(self, fn, *args, key: str | None = None, **kwargs):  # type: ignore[no-untyped-def]
        """Run one SDK call, translating its failures into the port's exceptions."""
        try:
            return fn(*args, **kwargs)
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                # The store came back empty (bucket deleted, a new server): the cache of
                # `ensure_bucket` is stale; the next call makes the bucket again.
                self._bucket_ready = False
                raise BucketMissing(f"object store lost its bucket {self.bucket}") from exc
            if exc.code in _MISSING_CODES:
                raise ObjectMissing(key or exc.object_name or "") from None
            if exc.code in _FULL_CODES:
                raise StoreFull(f"object store is full: {exc.code}: {exc.message}") from exc
            if exc.code in _UNAVAILABLE_CODES:
                raise StoreUnavailable(f"object store failed: {exc.code}: {exc.message}") from exc
            raise StoreError(f"object store refused: {exc.code}: {exc.message}") from exc
        except (ServerError, InvalidResponseError) as exc:
            raise StoreUnavailable(f"object store failed: {exc}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailable(f"object store unreachable: {exc}") from exc
        except MinioException as exc:
            raise StoreUnavailable(f"object store failed: {exc}") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket with object lock when missing (once per process)."""
        if self._bucket_ready:
            return
        if not self._call(self.client.bucket_exists, self.bucket):
            try:
                self._call(self.client.make_bucket, self.bucket, object_lock=True)
            except StoreError as exc:
                # Another process may have created it in between.
                if "BucketAlreadyOwnedByYou" not in str(exc) and "BucketAlreadyExists" not in str(
                    exc
                ):
                    raise
        self._bucket_ready = True

    def _head(self, key: str):  # type: ignore[no-untyped-def]
        if not is_key(key):
            raise ObjectMissing(key)
        self.ensure_bucket()
        try:
            return self._call(self.client.stat_object, self.bucket, object_name(key), key=key)
        except StoreError as exc:
            # HEAD answers carry no error body; minio reports a 404 with a generic code.
            if "ResponseCode: 404" in str(exc) or "code: NoSuchKey" in str(exc):
                raise ObjectMissing(key) from None
            raise

    # -- writing ---------------------------------------------------------------------------
    def _existing(self, key: str) -> ObjectInfo | None:
        try:
            return self.stat(key)
        except ObjectMissing:
            return None

    def put(
        self, data: bytes, *, key: str | None = None, retain_until: datetime | None = None
    ) -> str:
        actual = sha256_hex(data)
        if key is not None and key != actual:
            raise StoreError(f"key {key} does not match the content's SHA-256 {actual}")
        try:
            return self._put(data, actual, retain_until)
        except BucketMissing:  # healed here: the write that found it gone succeeds
            return self._put(data, actual, retain_until)

    def _put(self, data: bytes, actual: str, retain_until: datetime | None) -> str:
        self.ensure_bucket()
        existing = self._existing(actual)
        if existing is None:
            self._call(
                self.client.put_object,
                self.bucket,
                object_name(actual),
                io.BytesIO(data),
                len(data),
                metadata=_checksum_headers(actual),
                retention=Retention(COMPLIANCE, _utc(retain_until)) if retain_until else None,
                key=actual,
            )
        elif retain_until is not None:
            self._extend(existing, retain_until)
        return actual

    def put_stream(
        self, stream: BinaryIO, size: int, *, key: str, retain_until: datetime | None = None
    ) -> str:
        if not is_key(key):
            raise StoreError(f"not a SHA-256 key: {key!r}")
        self.ensure_bucket()
        existing = self._existing(key)
        if existing is not None:
            if retain_until is not None:
                self._extend(existing, retain_until)
            return key
        if size <= self.part_size:
            data = stream.read(size + 1)
            if len(data) != size:
                raise StoreError(f"stream gave {len(data)} bytes, expected {size}")
            return self.put(data, key=key, retain_until=retain_until)
        hashing = _HashingReader(stream)
        name = object_name(key)
        # Multipart: the SDK splits the stream into parts. S3 has no full-object SHA-256 for
        # multipart uploads, so we hash while sending and delete the object if it mismatches.
        self._call(
            self.client.put_object,
            self.bucket,
            name,
            hashing,
            size,
            part_size=self.part_size,
            num_parallel_uploads=1,
            key=key,
        )
        if hashing.count != size or hashing.hexdigest() != key:
            self._remove_all_versions(key)
            raise StoreError(f"key {key} does not match the stream's SHA-256 {hashing.hexdigest()}")
        if retain_until is not None:
            # Set after completion: CreateMultipartUpload's lock headers are not honoured by
            # every S3 implementation.
            self.set_retention(key, retain_until)
        return key

    # -- reading ---------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def open(self, key: str) -> BinaryIO:
        if not is_key(key):
            raise ObjectMissing(key)
        self.ensure_bucket()
        response = self._call(self.client.get_object, self.bucket, object_name(key), key=key)
        return io.BufferedReader(_ResponseStream(response), buffer_size=256 * 1024)  # type: ignore[return-value]

    def exists(self, key: str) -> bool:
        return self._existing(key) is not None

    def stat(self, key: str) -> ObjectInfo:
        st = self._head(key)
        headers = {k.lower(): v for k, v in (st.metadata or {}).items()}
        return ObjectInfo(
            key=key,
            size=int(st.size or 0),
            retain_until=_parse_time(headers.get("x-amz-object-lock-retain-until-date")),
            legal_hold=headers.get("x-amz-object-lock-legal-hold", "").upper() == "ON",
            modified=st.last_modified.astimezone(UTC) if st.last_modified else None,
        )

    def keys(self) -> Iterator[str]:
        self.ensure_bucket()
        objects = self._call(self.client.list_objects, self.bucket, prefix=PREFIX, recursive=True)
        try:
            for obj in objects:
                name = obj.object_name.rsplit("/", 1)[-1]
                if is_key(name):
                    yield name
        except (urllib3.exceptions.HTTPError, OSError, MinioException) as exc:
            raise StoreUnavailable(f"object store listing failed: {exc}") from exc

    # -- retention -------------------------------------------------------------------------
    def _extend(self, info: ObjectInfo, retain_until: datetime) -> None:
        if info.retain_until is None or info.retain_until < _utc(retain_until):
            self.set_retention(info.key, retain_until)

    def set_retention(self, key: str, retain_until: datetime) -> None:
        """COMPLIANCE retention: may be extended, never shortened (the server refuses)."""
        info = self.stat(key)
        until = _utc(retain_until)
        if info.retain_until is not None and info.retain_until > until:
            raise ObjectLocked(f"{key}: retention until {info.retain_until} cannot be shortened")
        self._call(
            self.client.set_object_retention,
            self.bucket,
            object_name(key),
            Retention(COMPLIANCE, until),
            key=key,
        )

    def set_legal_hold(self, key: str, on: bool) -> None:
        self.stat(key)  # ObjectMissing when absent
        fn = self.client.enable_object_legal_hold if on else self.client.disable_object_legal_hold
        self._call(fn, self.bucket, object_name(key), key=key)

    def _remove_all_versions(self, key: str) -> None:
        # The bucket is versioned (object lock implies it): a plain DELETE only adds a delete
        # marker and the bytes stay. Disposition must remove every version.
        name = object_name(key)
        versions = self._call(
            lambda: list(self.client.list_objects(self.bucket, prefix=name, include_version=True)),
            key=key,
        )
        for v in versions:
            if v.object_name != name:
                continue
            try:
                self._call(
                    self.client.remove_object, self.bucket, name, version_id=v.version_id, key=key
                )
            except StoreError as exc:
                if isinstance(exc, StoreUnavailable | ObjectMissing):
                    raise
                raise ObjectLocked(f"{key}: the store refused the deletion ({exc})") from exc

    def delete(self, key: str) -> None:
        info = self.stat(key)
        if info.legal_hold:
            raise ObjectLocked(f"{key} is under legal hold")
        if info.retain_until is not None and info.retain_until > datetime.now(UTC):
            raise ObjectLocked(f"{key} is retained until {info.retain_until.isoformat()}")
        self._remove_all_versions(key)

    def check(self) -> None:
        """A real round trip every time (health check), creating the bucket when missing."""
        self._bucket_ready = False
        self.ensure_bucket()


class _HashingReader:
    """Wraps a stream, hashing and counting what the SDK reads from it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        self._digest.update(data)
        self.count += len(data)
        return data

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
