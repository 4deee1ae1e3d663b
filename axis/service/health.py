"""What /healthz reports (issue 16, item 14): whether the database answers, whether the store
answers, and whether the disks the hub writes to have room. Each check says what would fail."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from axis.service.context import Hub


def _timed(fn) -> tuple[float, str | None]:  # noqa: ANN001
    started = time.monotonic()
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - health reports any failure, with its text
        return time.monotonic() - started, f"{type(exc).__name__}: {exc}"
    return time.monotonic() - started, None


def _ping(hub: Hub) -> None:
    with hub.db.engine.connect() as conn:  # a pooled connection, no ORM session
        conn.exec_driver_sql("SELECT 1")


def disk_paths(hub: Hub) -> dict[str, Path]:
    """The directories the hub writes to on this host, by role."""
    paths = {"data_dir": Path(hub.settings.data_dir)}
    url = make_url(hub.settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        paths["database"] = Path(url.database).parent
    root = getattr(hub.store, "root", None)
    if root is not None:
        paths["store"] = Path(root)
    return paths


def check(hub: Hub) -> dict:
    checks: dict[str, dict] = {}
    problems: list[dict] = []
    for name, fn, code in (
        ("database", lambda: _ping(hub), "DB_UNAVAILABLE"),
        ("store", hub.store.check, "STORE_UNAVAILABLE"),
    ):
        seconds, error = _timed(fn)
        checks[name] = {"ok": error is None, "ms": round(seconds * 1000, 1)}
        if error:
            checks[name]["error"] = error
            problems.append({"code": code, "message": f"{name}: {error}"})
    least = hub.settings.health_min_free_bytes
    for role, path in disk_paths(hub).items():
        try:
            usage = shutil.disk_usage(path)
        except OSError as exc:
            problems.append({"code": "DISK_UNREADABLE", "message": f"{role} {path}: {exc}"})
            continue
        checks[f"disk_{role}"] = {"path": str(path), "free_bytes": usage.free}
        if usage.free < least:
            problems.append(
                {
                    "code": "DISK_LOW",
                    "message": f"{role} {path}: {usage.free} bytes free, "
                    f"less than AXIS_HEALTH_MIN_FREE_BYTES={least}",
                }
            )
    return {"checks": checks, "problems": problems}
