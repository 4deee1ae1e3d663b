"""Archive: object store port and adapters, archival records, fixity, export. No import from axis.

`open_store(url)` builds the object store named by a URL:

- `file:///var/lib/axis/objects` or a plain path `axis-data/objects` -> `LocalStore`
  (`file:` URLs accept `?fsync_dir=false` for throwaway benchmarks only).
- `s3://ACCESS:SECRET@host:port/bucket?secure=false&region=us-east-1` -> `S3Store`
  (MinIO or any S3-compatible server; percent-encode `:`/`@`/`/` inside the keys;
  `secure` defaults to false, `region` to us-east-1, `timeout` seconds to 5).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from archive.store import ObjectStore

_TRUE = {"1", "true", "yes", "on"}


def open_store(url: str) -> ObjectStore:
    """The ObjectStore a URL names (see the module docstring for the forms)."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and url[1:3] in (":\\", ":/")):
        from archive.localstore import LocalStore

        path = unquote(parts.path) if scheme == "file" else url.split("?", 1)[0]
        if not path:
            raise ValueError(f"store URL has no path: {url!r}")
        fsync_dir = query.get("fsync_dir", "true").lower() in _TRUE
        return LocalStore(Path(path), fsync_dir=fsync_dir)
    if scheme == "s3":
        from archive.s3store import S3Store

        bucket = parts.path.strip("/")
        if not parts.hostname or not bucket or "/" in bucket:
            raise ValueError("s3 store URL must look like s3://ACCESS:SECRET@host:port/bucket")
        if parts.username is None or parts.password is None:
            raise ValueError("s3 store URL needs ACCESS:SECRET@ credentials")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        return S3Store(
            host,
            unquote(parts.username),
            unquote(parts.password),
            bucket,
            secure=query.get("secure", "false").lower() in _TRUE,
            region=query.get("region", "us-east-1"),
            timeout=float(query.get("timeout", "5")),
        )
    raise ValueError(f"unsupported store URL scheme {parts.scheme!r} (use file:// or s3://)")


__all__ = ["ObjectStore", "open_store"]
