"""The embedded object store: a local directory, one read-only file per object.

Layout: `root/ab/<key>` where key is the lowercase hex SHA-256 of the content (the S3
store's `sha256/ab/<key>`): 256 directories in all, so a new object seldom needs a new one,
and ext4's directory index keeps lookups fast at tens of thousands of entries each. Stores
written before in `root/ab/cd/<key>` are read, listed and deduplicated as they are.

Files are written to a temporary file in the same directory, flushed, fsynced, made
read-only (0o444) and put in place, an object by a hard link (so that of two writers of the
same bytes the first stays), a sidecar by a rename; the directory is then fsynced so the new
name itself survives a power loss. A reader therefore sees a whole object or none.

Retention and legal hold are JSON: a new object carries them in its extended attribute
`user.axis.meta`, set before the fsync, so the object and its lock appear together with one
file created (a new inode can cost more CPU than writing 100 KB: ext4 without a journal
searches past the inodes freed in the last minutes). Changing them later writes a sidecar
`<key>.meta` beside the object, atomically like an object (a read-only file's attributes
cannot be changed without write permission); the sidecar's legal hold counts, and the later
of the two retention dates. Where the file system has no user attributes the sidecar is
written from the start. A backup must keep extended attributes (`cp -a`, `rsync -aX`,
`tar --xattrs`); the catalog holds every record's retention as well.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from archive.store import (
    ObjectInfo,
    ObjectLocked,
    ObjectMissing,
    StoreError,
    StoreFull,
    StoreUnavailable,
    sha256_hex,
)

_KEY = re.compile(r"^[0-9a-f]{64}$")
_META_ATTR = "user.axis.meta"
# getxattr: no such attribute, none on this file system, or the object just went away
_NO_ATTR = {errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOENT}
_TMP_PREFIX = ".tmp-"
_CHUNK = 1024 * 1024


def is_key(key: object) -> bool:
    """True when `key` is a well-formed store key (also keeps keys from naming other paths)."""
    return isinstance(key, str) and _KEY.match(key) is not None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("retain_until must be timezone-aware (UTC)")
    return value.astimezone(UTC)


def _meta_bytes(meta: dict) -> bytes:
    return json.dumps(meta, sort_keys=True).encode()


def _sidecar(path: Path) -> Path:
    """The file of later changes to the lock of the object at `path`."""
    return path.with_name(path.name + ".meta")


def _link_new(tmp: str, target: Path) -> bool:
    """Give the file `tmp` the name `target` unless that name exists; whether it did."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        os.unlink(tmp)
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
        # No hard links on this file system (vfat, some FUSE mounts): a rename, unless the
        # object arrived meanwhile (two writers of one object can then both write it).
        if target.exists():
            os.unlink(tmp)
            return False
        os.replace(tmp, target)
        return True
    os.unlink(tmp)
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _touch(path: Path) -> None:
    """A put of bytes already stored is a new use of them: its time restarts the reaper's grace
    (an orphan of a crashed submission, sent again, must not be reaped before its commit)."""
    with contextlib.suppress(FileNotFoundError):
        os.utime(path)


def _write_failed(exc: OSError) -> StoreUnavailable:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(f"local store write failed: {exc}")
    return StoreUnavailable(f"local store write failed: {exc}")


class LocalStore:
    """ObjectStore on a local directory (see module docstring).

    `fsync_dir=False` skips the directory fsync after the rename: faster, but a power loss
    may then lose an object the caller was told is durable. Keep the default in production.
    """

    def __init__(self, root: Path | str, *, fsync_dir: bool = True) -> None:
        self.root = Path(root)
        self.fsync_dir = fsync_dir
        self._attrs: bool | None = None  # whether its file system keeps user attributes
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- paths -----------------------------------------------------------------------------
    def path_of(self, key: str) -> Path:
        """The file holding `key`: where it is, or where a new one goes."""
        path, legacy = self._places(key)
        if not path.exists() and legacy.exists():
            return legacy
        return path

    def _places(self, key: str) -> tuple[Path, Path]:
        """Where `key` goes, and where the earlier `ab/cd/` layout put it."""
        if not is_key(key):
            raise ObjectMissing(key)
        return self.root / key[:2] / key, self.root / key[:2] / key[2:4] / key

    def _has_attrs(self) -> bool:
        if self._attrs is None:
            probe = self.root / f"{_TMP_PREFIX}probe-{secrets.token_hex(8)}"
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.setxattr(fd, _META_ATTR, b"{}")
                self._attrs = True
            except OSError:  # ENOTSUP: no user attributes here (some tmpfs, some mounts)
                self._attrs = False
            finally:
                os.close(fd)
                probe.unlink()
        return self._attrs

    def _ensure_dir(self, directory: Path) -> None:
        if os.path.isdir(directory):
            return
        with contextlib.suppress(FileExistsError):
            directory.mkdir()
        if self.fsync_dir:  # the new directory entry itself must survive a power loss
            _fsync_dir(directory.parent)

    # -- writing ---------------------------------------------------------------------------
    def _write_atomic(
        self,
        target: Path,
        chunks: Iterator[bytes] | list[bytes],
        *,
        sync_dir: bool = True,
        meta: dict | None = None,
        exclusive: bool = False,
    ) -> bool:
        """Write `target` whole; `meta` goes in its attribute, set before the fsync.
        `exclusive`: publish only if no `target` exists yet (a hard link, not a rename, so
        that of two writers of one object the first stays); returns whether it was this one."""
        directory = target.parent
        self._ensure_dir(directory)
        # What tempfile.mkstemp does (a new file only this writer opened, mode 0600), without
        # its cost in Python (a quarter of a small put's CPU).
        tmp = os.path.join(directory, _TMP_PREFIX + secrets.token_hex(8))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as f:
                for chunk in chunks:
                    f.write(chunk)
                if meta is not None:
                    os.setxattr(f.fileno(), _META_ATTR, _meta_bytes(meta))
                os.fsync(f.fileno())
                os.fchmod(f.fileno(), 0o444)
            if not exclusive:
                os.replace(tmp, target)
            elif not _link_new(tmp, target):
                return False
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if sync_dir and self.fsync_dir:
            _fsync_dir(directory)
        return True

    def _write_new(
        self,
        key: str,
        target: Path,
        chunks: Iterator[bytes] | list[bytes],
        retain_until: datetime | None,
    ) -> None:
        """A new object and its retention, in its attribute: it is never visible without
        its lock. Without attributes, the sidecar goes in first, for the same reason, and
        one directory fsync covers both. A concurrent writer of the same object that got
        there first keeps its file; this one's retention then extends it if longer."""
        if retain_until is None:
            self._write_atomic(target, chunks, exclusive=True)
            return
        meta = {"retain_until": _utc(retain_until).isoformat()}
        if self._has_attrs():
            if not self._write_atomic(target, chunks, meta=meta, exclusive=True):
                self._extend_retention(key, retain_until)
            return
        meta_path = _sidecar(target)
        made_lock = self._write_atomic(
            meta_path, [_meta_bytes(meta)], sync_dir=False, exclusive=True
        )
        if not made_lock:  # another writer's, or one a crashed delete left: never shortened
            self._extend_retention(key, retain_until)
        try:
            self._write_atomic(target, chunks, exclusive=True)
        except BaseException:  # no lock left behind for an object never written
            if made_lock and not target.exists():
                meta_path.unlink(missing_ok=True)
            raise

    def put(
        self, data: bytes, *, key: str | None = None, retain_until: datetime | None = None
    ) -> str:
        actual = sha256_hex(data)  # ~0.1 ms for 140 KB: cheap insurance against a wrong key
        if key is not None and key != actual:
            raise StoreError(f"key {key} does not match the content's SHA-256 {actual}")
        try:
            target = self.path_of(actual)
            if not target.exists():
                self._write_new(actual, target, [data], retain_until)
            else:
                _touch(target)
                if retain_until is not None:
                    self._extend_retention(actual, retain_until)
        except OSError as exc:
            raise _write_failed(exc) from exc
        return actual

    def put_stream(
        self, stream: BinaryIO, size: int, *, key: str, retain_until: datetime | None = None
    ) -> str:
        if not is_key(key):
            raise StoreError(f"not a SHA-256 key: {key!r}")
        try:
            target = self.path_of(key)
            if not target.exists():
                digest = hashlib.sha256()
                count = 0

                def chunks() -> Iterator[bytes]:
                    nonlocal count
                    while True:
                        chunk = stream.read(_CHUNK)
                        if not chunk:
                            break
                        digest.update(chunk)
                        count += len(chunk)
                        yield chunk
                    # Checked before the rename: a mismatch leaves nothing behind.
                    if count != size:
                        raise StoreError(f"stream gave {count} bytes, expected {size}")
                    if digest.hexdigest() != key:
                        raise StoreError(
                            f"key {key} does not match the stream's SHA-256 {digest.hexdigest()}"
                        )

                self._write_new(key, target, chunks(), retain_until)
            else:
                _touch(target)
                if retain_until is not None:
                    self._extend_retention(key, retain_until)
        except OSError as exc:
            raise _write_failed(exc) from exc
        return key

    # -- reading ---------------------------------------------------------------------------
    def get(self, key: str) -> bytes:
        try:
            return self.path_of(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"local store read failed: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path_of(key), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"local store read failed: {exc}") from exc

    def exists(self, key: str) -> bool:
        return is_key(key) and self.path_of(key).is_file()

    def _read_meta(self, key: str, path: Path | None = None) -> dict:
        """The object's lock: its attribute, and the sidecar of later changes. Retention is
        the later of the two, so a sidecar a crashed delete left (its retention past, as
        delete requires) cannot shorten the lock of the same bytes put again."""
        path = path or self.path_of(key)
        try:
            meta = json.loads(_sidecar(path).read_text())
        except FileNotFoundError:
            meta = {}
        except OSError as exc:
            raise StoreUnavailable(f"local store read failed: {exc}") from exc
        try:
            given = json.loads(os.getxattr(path, _META_ATTR))
        except OSError as exc:
            if exc.errno not in _NO_ATTR:
                raise StoreUnavailable(f"local store read failed: {exc}") from exc
            return meta
        merged = {**given, **meta}
        dates = [meta.get("retain_until"), given.get("retain_until")]
        if found := [datetime.fromisoformat(d) for d in dates if d]:
            merged["retain_until"] = max(found).isoformat()
        return merged

    def stat(self, key: str) -> ObjectInfo:
        try:
            st = self.path_of(key).stat()
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        meta = self._read_meta(key)
        until = meta.get("retain_until")
        return ObjectInfo(
            key=key,
            size=st.st_size,
            retain_until=datetime.fromisoformat(until) if until else None,
            legal_hold=bool(meta.get("legal_hold", False)),
            modified=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def keys(self) -> Iterator[str]:
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or len(first.name) != 2:
                continue
            found: set[str] = set()  # an object in both layouts is listed once
            for entry in os.scandir(first):
                if is_key(entry.name):
                    found.add(entry.name)
                elif entry.is_dir() and len(entry.name) == 2:  # the earlier ab/cd/ layout
                    found.update(name for name in os.listdir(entry.path) if is_key(name))
            yield from sorted(found)

    # -- retention -------------------------------------------------------------------------
    def _write_meta(self, key: str, meta: dict) -> None:
        self._write_atomic(_sidecar(self.path_of(key)), [_meta_bytes(meta)])

    def _extend_retention(self, key: str, retain_until: datetime) -> None:
        meta = self._read_meta(key)
        new = _utc(retain_until)
        old = meta.get("retain_until")
        if old and datetime.fromisoformat(old) >= new:
            return
        meta["retain_until"] = new.isoformat()
        self._write_meta(key, meta)

    def set_retention(self, key: str, retain_until: datetime) -> None:
        """COMPLIANCE semantics, as on S3: retention can be extended, never shortened."""
        if not self.exists(key):
            raise ObjectMissing(key)
        meta = self._read_meta(key)
        old = meta.get("retain_until")
        if old and datetime.fromisoformat(old) > _utc(retain_until):
            raise ObjectLocked(f"{key}: retention until {old} cannot be shortened")
        self._extend_retention(key, retain_until)

    def set_legal_hold(self, key: str, on: bool) -> None:
        if not self.exists(key):
            raise ObjectMissing(key)
        meta = self._read_meta(key)
        if bool(meta.get("legal_hold", False)) == on:
            return
        meta["legal_hold"] = on
        self._write_meta(key, meta)

    def delete(self, key: str) -> None:
        # A copy in each layout (writers of both versions at once): both must be unlocked,
        # and both go, or the older one would come back.
        copies = [path for path in self._places(key) if path.exists()]
        if not copies:
            raise ObjectMissing(key)
        for path in copies:
            meta = self._read_meta(key, path)
            if meta.get("legal_hold"):
                raise ObjectLocked(f"{key} is under legal hold")
            until = meta.get("retain_until")
            if until and datetime.fromisoformat(until) > datetime.now(UTC):
                raise ObjectLocked(f"{key} is retained until {until}")
        for path in copies:  # unlinking needs write permission on the directory, not the file
            path.unlink()
            _sidecar(path).unlink(missing_ok=True)
            if self.fsync_dir:
                _fsync_dir(path.parent)

    def remove_orphan(self, key: str) -> None:
        """Remove an object no record references, lock or not (axis.service.reaper): its lock
        is that of a record never committed. Never call it for an object a record names."""
        copies = [path for path in self._places(key) if path.exists()]
        if not copies:
            raise ObjectMissing(key)
        for path in copies:
            path.unlink(missing_ok=True)
            _sidecar(path).unlink(missing_ok=True)
            if self.fsync_dir:
                _fsync_dir(path.parent)

    def check(self) -> None:
        if not self.root.is_dir() or not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"local store {self.root} is not a writable directory")

    def temp_files(self) -> list[Path]:
        """Leftovers of interrupted writes (a crash between mkstemp and rename)."""
        return [p for p in self.root.rglob(_TMP_PREFIX + "*") if p.is_file()]
