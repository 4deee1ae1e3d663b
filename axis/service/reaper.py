"""The store reaper (issue 16, item 15): objects no record references, and temp files of writes
a crash interrupted.

Objects go to the store before the transaction that records them (archive.records): a crash or a
failed transaction in between leaves an object no row names, invisible but taking space. The
reaper removes such an object once it is older than the grace period (a submission in flight
has put its objects and not yet committed: the grace must be far longer than a submission), and
never an object any archival record or message names, whatever that record's state.

An orphan carries the retention its record would have had (the lock is written with the object,
so that a committed record's object is never visible unlocked). That lock belonged to a record
that does not exist: the local store removes such orphans anyway (`LocalStore.remove_orphan`).
An S3 bucket's COMPLIANCE lock cannot be lifted by anyone: those orphans are reported as
`locked`, with the date until which they stay (docs/operations.md).

Every run that removed something adds a row to `store_reaps`; /metrics sums them
(`axis_store_reaped_objects_total`, ...).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from sqlalchemy import func, select

from archive import catalog
from archive.store import ObjectLocked, ObjectMissing
from axis.adapters.reaper_tables import StoreReap
from axis.adapters.tables import Message
from axis.domain import utcnow
from axis.service.context import Hub

log = logging.getLogger("axis.reaper")

BATCH = 500


@dataclass
class ReapReport:
    dry_run: bool
    grace_s: float
    scanned: int = 0  # objects listed
    objects: list[str] = field(default_factory=list)  # orphans removed (or, dry run, to remove)
    bytes: int = 0
    young: int = 0  # orphans inside the grace period: kept for now
    locked: list[dict] = field(default_factory=list)  # orphans the store will not delete yet
    temp_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "grace_s": self.grace_s,
            "scanned": self.scanned,
            "orphans_removed" if not self.dry_run else "orphans_to_remove": len(self.objects),
            "objects": self.objects,
            "bytes": self.bytes,
            "young": self.young,
            "locked": self.locked,
            "temp_files": self.temp_files,
            "seconds": round(self.seconds, 3),
        }


def referenced(hub: Hub, keys: Iterable[str]) -> set[str]:
    """Which of `keys` an archival record's object or a message names."""
    keys = list(keys)
    if not keys:
        return set()
    with hub.db.read() as session:
        found = set(
            session.scalars(
                select(catalog.objects.c.sha256).where(catalog.objects.c.sha256.in_(keys))
            )
        )
        rest = [k for k in keys if k not in found]
        if rest:  # few: only the candidates go to the (unindexed) messages column
            found.update(session.scalars(select(Message.sha256).where(Message.sha256.in_(rest))))
    return found


def _batches(it: Iterator[str], n: int) -> Iterator[list[str]]:
    while batch := list(islice(it, n)):
        yield batch


def reap(
    hub: Hub, *, grace_s: float = 3600.0, dry_run: bool = False, by: str = "cli"
) -> ReapReport:
    started = time.monotonic()
    report = ReapReport(dry_run=dry_run, grace_s=grace_s)
    store = hub.store
    now = utcnow()
    cutoff = now - timedelta(seconds=grace_s)
    remove = getattr(store, "remove_orphan", None)
    for batch in _batches(iter(store.keys()), BATCH):
        report.scanned += len(batch)
        known = referenced(hub, batch)
        for key in batch:
            if key in known:
                continue
            try:
                info = store.stat(key)
            except ObjectMissing:
                continue
            if info.modified is None or info.modified > cutoff:
                report.young += 1
                continue
            # Checked again just before: a submission of the same bytes may have committed.
            if key in referenced(hub, [key]):
                continue
            locked = {"key": key, "retain_until": _iso(info.retain_until)}
            if dry_run:
                if remove is None and (info.legal_hold or (info.retain_until or now) > now):
                    report.locked.append(locked)  # what store.delete would refuse
                else:
                    report.objects.append(key)
                    report.bytes += info.size
                continue
            try:
                if remove is not None:
                    remove(key)
                else:
                    store.delete(key)
            except ObjectMissing:
                continue
            except ObjectLocked:
                report.locked.append(locked)
                continue
            report.objects.append(key)
            report.bytes += info.size
    temp_files = getattr(store, "temp_files", None)
    if temp_files is not None:
        horizon = time.time() - grace_s
        for path in temp_files():
            try:
                if path.stat().st_mtime > horizon:
                    continue  # a write in progress
                if not dry_run:
                    os.unlink(path)
            except FileNotFoundError:
                continue
            report.temp_files.append(str(path))
    report.seconds = time.monotonic() - started
    if not dry_run and (report.objects or report.temp_files):
        with hub.db.write() as session:
            session.add(
                StoreReap(
                    at=utcnow(),
                    by=by[:100],
                    objects=len(report.objects),
                    temp_files=len(report.temp_files),
                    bytes=report.bytes,
                )
            )
        log.warning(
            "store reaper removed %d orphan objects (%d bytes) and %d temp files",
            len(report.objects),
            report.bytes,
            len(report.temp_files),
        )
    if report.locked:
        log.warning(
            "store reaper: %d orphan objects are under a retention lock the store keeps",
            len(report.locked),
        )
    return report


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def totals(hub: Hub) -> dict[str, int]:
    with hub.db.read() as session:
        row = session.execute(
            select(
                func.coalesce(func.sum(StoreReap.objects), 0),
                func.coalesce(func.sum(StoreReap.temp_files), 0),
                func.coalesce(func.sum(StoreReap.bytes), 0),
            )
        ).one()
    return {"objects": int(row[0]), "temp_files": int(row[1]), "bytes": int(row[2])}


def parse_duration(text: str) -> float:
    """'90s', '30m', '1h', '2d' or plain seconds."""
    text = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text and text[-1] in units:
        return float(text[:-1]) * units[text[-1]]
    return float(text)
