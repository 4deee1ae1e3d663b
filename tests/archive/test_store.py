"""The ObjectStore port, run against both adapters: a local directory and S3 (moto over HTTP)."""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archive import open_store
from archive.localstore import LocalStore
from archive.s3store import S3Store
from archive.store import (
    ObjectLocked,
    ObjectMissing,
    StoreError,
    StoreUnavailable,
    sha256_hex,
)


def test_round_trip(store) -> None:
    data = b"Cong van so 12/UBND-VP \xe2\x80\x94 noi dung" * 100
    key = store.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert store.get(key) == data
    with store.open(key) as f:
        assert f.read() == data
    assert store.exists(key)
    info = store.stat(key)
    assert info.key == key and info.size == len(data)
    assert info.retain_until is None and info.legal_hold is False
    assert key in set(store.keys())


def test_put_is_idempotent_and_does_not_rewrite(store) -> None:
    data = os.urandom(1000)
    key = store.put(data)
    if isinstance(store, LocalStore):
        before = store.path_of(key).stat()
    assert store.put(data) == key
    assert store.put(data, key=key) == key
    assert list(store.keys()).count(key) == 1
    if isinstance(store, LocalStore):
        after = store.path_of(key).stat()
        # The same file, not rewritten; its time is touched (a new use of the bytes restarts
        # the store reaper's grace period: axis.service.reaper).
        assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
        assert after.st_mtime_ns >= before.st_mtime_ns
        assert store.get(key) == data
    else:
        versions = list(
            store.client.list_objects(
                store.bucket, prefix="sha256/", include_version=True, recursive=True
            )
        )
        assert len(versions) == 1  # a second PUT would have made a second version


def test_content_addressing_refuses_a_wrong_key(store) -> None:
    data = b"the real content"
    wrong = sha256_hex(b"something else")
    with pytest.raises(StoreError):
        store.put(data, key=wrong)
    assert not store.exists(wrong)
    assert not store.exists(sha256_hex(data))


def test_missing_key(store) -> None:
    key = sha256_hex(b"never stored")
    assert not store.exists(key)
    with pytest.raises(ObjectMissing):
        store.get(key)
    with pytest.raises(KeyError):  # ObjectMissing is also a KeyError
        store.open(key)
    with pytest.raises(ObjectMissing):
        store.stat(key)
    with pytest.raises(ObjectMissing):
        store.delete(key)


@pytest.mark.parametrize("hostile", ["../../etc/passwd", "A" * 64, "", "ab/cd", "0" * 63])
def test_malformed_keys_are_missing_not_paths(store, hostile: str) -> None:
    assert not store.exists(hostile)
    with pytest.raises(ObjectMissing):
        store.get(hostile)


def test_put_stream_multipart_over_5_mb(store) -> None:
    data = os.urandom(6 * 1024 * 1024 + 123)
    key = sha256_hex(data)
    if isinstance(store, S3Store):
        store.part_size = 5 * 1024 * 1024  # the S3 minimum: 2 parts
    assert store.put_stream(io.BytesIO(data), len(data), key=key) == key
    assert store.stat(key).size == len(data)
    assert store.get(key) == data
    if isinstance(store, S3Store):
        etag = store.client.stat_object(store.bucket, f"sha256/{key[:2]}/{key}").etag
        assert etag.endswith("-2"), etag  # really went as a 2-part multipart upload


def test_put_stream_with_a_wrong_key_stores_nothing(store) -> None:
    data = os.urandom(6 * 1024 * 1024)
    wrong = sha256_hex(b"not this")
    if isinstance(store, S3Store):
        store.part_size = 5 * 1024 * 1024
    with pytest.raises(StoreError):
        store.put_stream(io.BytesIO(data), len(data), key=wrong)
    assert not store.exists(wrong)
    assert list(store.keys()) == []


def test_retention_refuses_delete_and_cannot_be_shortened(store) -> None:
    until = (datetime.now(UTC) + timedelta(days=365)).replace(microsecond=0)
    key = store.put(b"a record kept ten years", retain_until=until)
    info = store.stat(key)
    assert info.retain_until is not None
    assert abs((info.retain_until - until).total_seconds()) < 1
    with pytest.raises(ObjectLocked):
        store.delete(key)
    with pytest.raises(ObjectLocked):
        store.set_retention(key, until - timedelta(days=30))
    later = until + timedelta(days=30)
    store.set_retention(key, later)
    assert abs((store.stat(key).retain_until - later).total_seconds()) < 1
    # A second put with an earlier date neither rewrites nor shortens.
    store.put(b"a record kept ten years", retain_until=until)
    assert abs((store.stat(key).retain_until - later).total_seconds()) < 1
    assert store.get(key) == b"a record kept ten years"


def test_delete_allowed_once_retention_expired(store) -> None:
    key = store.put(b"short-lived", retain_until=datetime.now(UTC) + timedelta(seconds=1))
    with pytest.raises(ObjectLocked):
        store.delete(key)
    time.sleep(1.2)
    store.delete(key)
    assert not store.exists(key)
    assert key not in set(store.keys())


def test_server_enforces_retention_itself(s3_store: S3Store) -> None:
    """Bypass the adapter's own check: the S3 server must refuse to delete the version."""
    key = s3_store.put(b"locked", retain_until=datetime.now(UTC) + timedelta(days=1))
    with pytest.raises(ObjectLocked):
        s3_store._remove_all_versions(key)
    assert s3_store.get(key) == b"locked"


def test_legal_hold(store) -> None:
    key = store.put(b"evidence in a dispute")
    store.set_legal_hold(key, True)
    assert store.stat(key).legal_hold is True
    with pytest.raises(ObjectLocked):
        store.delete(key)
    store.set_legal_hold(key, False)
    assert store.stat(key).legal_hold is False
    store.delete(key)
    assert not store.exists(key)
    with pytest.raises(ObjectMissing):
        store.set_legal_hold(key, True)


def test_unreachable_s3_is_unavailable_quickly(closed_port: int) -> None:
    s3 = S3Store(f"127.0.0.1:{closed_port}", "k", "s", "axis-nowhere", timeout=1.0)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        s3.put(b"data")
    with pytest.raises(StoreUnavailable):
        s3.check()
    with pytest.raises(StoreUnavailable):
        s3.get(sha256_hex(b"data"))
    assert time.monotonic() - started < 10


def test_local_store_unavailable_when_its_directory_is_gone(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    s = LocalStore(root)
    s.check()
    root.rmdir()
    root.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        s.check()
    with pytest.raises(StoreUnavailable):
        s.put(b"data")


def test_local_files_are_read_only_and_carry_their_retention(local_store: LocalStore) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    key = local_store.put(b"read only", retain_until=until)
    path = local_store.path_of(key)
    assert path == local_store.root / key[:2] / key
    assert path.stat().st_mode & 0o777 == 0o444
    # One file per new object: its lock travels in its attribute, no sidecar beside it.
    assert json.loads(os.getxattr(path, "user.axis.meta")) == {"retain_until": until.isoformat()}
    assert sorted(p.name for p in path.parent.iterdir()) == [key]
    assert local_store.temp_files() == []


def test_local_retention_changed_later_goes_in_a_read_only_sidecar(
    local_store: LocalStore,
) -> None:
    until = datetime.now(UTC) + timedelta(days=1)
    key = local_store.put(b"held", retain_until=until)
    local_store.set_legal_hold(key, True)
    sidecar = local_store.path_of(key).with_name(key + ".meta")
    assert sidecar.stat().st_mode & 0o777 == 0o444
    assert LocalStore(local_store.root).stat(key).legal_hold is True  # read back from disk
    assert LocalStore(local_store.root).stat(key).retain_until == until
    local_store.set_legal_hold(key, False)
    assert local_store.stat(key).legal_hold is False
    assert list(local_store.keys()) == [key]


def _kernel_refuses(monkeypatch: pytest.MonkeyPatch, call: str, code: int) -> None:
    def refuse(*_args: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, call, refuse)


def test_local_store_without_user_attributes_writes_sidecars(
    local_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file system without user attributes (some tmpfs and network mounts) cannot be made
    # here without mount privileges: setxattr is made to refuse as such a kernel does.
    _kernel_refuses(monkeypatch, "setxattr", errno.ENOTSUP)
    until = datetime.now(UTC) + timedelta(days=1)
    key = local_store.put(b"no attributes here", retain_until=until)
    path = local_store.path_of(key)
    assert path.with_name(key + ".meta").stat().st_mode & 0o777 == 0o444
    assert local_store.stat(key).retain_until == until
    with pytest.raises(ObjectLocked):
        local_store.delete(key)
    assert local_store.temp_files() == []


def test_local_store_reads_the_earlier_two_level_layout(local_store: LocalStore) -> None:
    """Stores written before the one-level layout keep working: read, listed, locked,
    deduplicated in place (a put of the same bytes writes no second copy)."""
    data, until = b"an object of an older store", datetime.now(UTC) + timedelta(days=1)
    key = sha256_hex(data)
    legacy = local_store.root / key[:2] / key[2:4] / key
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(data)
    legacy.with_name(key + ".meta").write_text(json.dumps({"retain_until": until.isoformat()}))
    newer = local_store.put(b"an object of today")

    assert local_store.put(data, retain_until=until) == key
    assert not (local_store.root / key[:2] / key).exists()
    assert local_store.path_of(key) == legacy
    assert local_store.get(key) == data and local_store.exists(key)
    assert local_store.stat(key).retain_until == until
    with pytest.raises(ObjectLocked):
        local_store.delete(key)
    assert list(local_store.keys()) == sorted([key, newer])


def test_local_write_failing_mid_stream_leaves_nothing(local_store: LocalStore) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            if self.sent > 2 * 1024 * 1024:
                raise OSError("client disconnected")
            self.sent += 1024 * 1024
            return b"x" * (1024 * 1024)

    key = sha256_hex(b"x" * (4 * 1024 * 1024))
    until = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(StoreError):
        local_store.put_stream(Broken(), 4 * 1024 * 1024, key=key, retain_until=until)
    assert not local_store.exists(key)
    assert local_store.temp_files() == []
    assert list(local_store.root.rglob("*.meta")) == []  # no orphan lock either
    assert list(local_store.keys()) == []


def test_local_short_stream_leaves_nothing(local_store: LocalStore) -> None:
    data = b"y" * 1000
    with pytest.raises(StoreError):
        local_store.put_stream(io.BytesIO(data[:500]), len(data), key=sha256_hex(data))
    assert local_store.temp_files() == []
    assert list(local_store.keys()) == []


def test_open_store_urls(tmp_path: Path, moto_endpoint: str) -> None:
    local = open_store(f"file://{tmp_path}/a")
    assert isinstance(local, LocalStore) and local.root == tmp_path / "a"
    plain = open_store(str(tmp_path / "b"))
    assert isinstance(plain, LocalStore) and plain.root == tmp_path / "b"
    s3 = open_store(f"s3://AK%3Ax:S%2FK@{moto_endpoint}/axis-url-test?secure=false")
    assert isinstance(s3, S3Store) and s3.bucket == "axis-url-test"
    key = s3.put(b"via url")
    assert s3.get(key) == b"via url"
    with pytest.raises(ValueError):
        open_store("ftp://host/x")
    with pytest.raises(ValueError):
        open_store(f"s3://{moto_endpoint}/bucket")


def test_s3_server_answering_5xx_is_unavailable_quickly() -> None:
    """A real HTTP server that answers 503 to everything (an S3 gateway whose backend is down)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Down(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = b"<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>"
            self.send_response(503)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _answer

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        for retries in (2, 0):  # retried until exhausted, or the 503 answer itself
            s3 = S3Store(
                f"127.0.0.1:{server.server_port}",
                "k",
                "s",
                "axis-down",
                timeout=2.0,
                retries=retries,
            )
            with pytest.raises(StoreUnavailable):
                s3.put(b"never acknowledged")
            with pytest.raises(StoreUnavailable):
                s3.check()
        assert time.monotonic() - started < 10
    finally:
        server.shutdown()
        server.server_close()


def test_local_second_writer_of_an_object_never_shortens_its_lock(local_store: LocalStore) -> None:
    """Two writers of the same bytes, both having seen no object yet: the first one's file
    stays, and the second one's retention only ever extends it. The race is played out by
    calling the write both make once they found no object (`_write_new`)."""
    data, now = b"sent twice at once", datetime.now(UTC)
    key = local_store.put(data, retain_until=now + timedelta(days=3650))
    first = local_store.path_of(key).stat().st_ino
    local_store._write_new(key, local_store.path_of(key), [data], None)
    local_store._write_new(key, local_store.path_of(key), [data], now + timedelta(days=1))
    assert local_store.stat(key).retain_until == now + timedelta(days=3650)
    local_store._write_new(key, local_store.path_of(key), [data], now + timedelta(days=4000))
    assert local_store.stat(key).retain_until == now + timedelta(days=4000)
    assert local_store.path_of(key).stat().st_ino == first
    assert local_store.temp_files() == []


def test_local_sidecar_left_by_a_crashed_delete_cannot_unlock_the_object_put_again(
    local_store: LocalStore,
) -> None:
    data, now = b"deleted, then received again", datetime.now(UTC)
    key = sha256_hex(data)
    stale = local_store.root / key[:2] / (key + ".meta")  # its object was unlinked, then a crash
    stale.parent.mkdir(parents=True)
    stale.write_text(json.dumps({"retain_until": (now - timedelta(days=1)).isoformat()}))
    local_store.put(data, retain_until=now + timedelta(days=30))
    assert local_store.stat(key).retain_until == now + timedelta(days=30)
    with pytest.raises(ObjectLocked):
        local_store.delete(key)
    assert local_store.get(key) == data


def test_local_object_in_both_layouts_is_listed_once_and_deleted_whole(
    local_store: LocalStore,
) -> None:
    data, now = b"written by two versions at once", datetime.now(UTC)
    key = local_store.put(data)
    legacy = local_store.root / key[:2] / key[2:4] / key
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(data)
    legacy.with_name(key + ".meta").write_text(
        json.dumps({"retain_until": (now + timedelta(days=1)).isoformat()})
    )
    assert list(local_store.keys()) == [key]
    with pytest.raises(ObjectLocked):  # the older copy's lock counts too
        local_store.delete(key)
    assert local_store.exists(key)
    legacy.with_name(key + ".meta").unlink()
    local_store.delete(key)
    assert not local_store.exists(key) and not legacy.exists()
    assert list(local_store.keys()) == []


def test_local_store_without_hard_links_renames_objects_into_place(
    local_store: LocalStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file system without hard links (vfat, some FUSE mounts) cannot be mounted here
    # without privileges: link is made to refuse as such a kernel does.
    _kernel_refuses(monkeypatch, "link", errno.EPERM)
    data, until = b"no hard links here", datetime.now(UTC) + timedelta(days=1)
    key = local_store.put(data, retain_until=until)
    assert local_store.get(key) == data and local_store.stat(key).retain_until == until
    assert local_store.put(data) == key  # again: nothing rewritten, nothing left behind
    assert local_store.temp_files() == []
