"""Fixity audit: re-hash archived objects and report those missing or altered.

An audit reads every object (or a random sample, or those archived since a date) from the
store as a stream, hashes it, and compares with the SHA-256 and size the catalog recorded.
It records itself as an event (store-wide), plus one event on each record with a problem,
so the archive's own history shows when it was last proven intact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select

from archive import catalog as c
from archive.records import log_event
from archive.store import ObjectMissing, ObjectStore

CHUNK = 1024 * 1024
MISSING = "missing"
ALTERED = "altered"


@dataclass(frozen=True)
class ObjectProblem:
    record_id: int
    name: str
    sha256: str
    problem: str  # missing | altered
    detail: str = ""


@dataclass
class AuditReport:
    started_at: datetime
    finished_at: datetime | None = None
    checked: int = 0
    bytes: int = 0
    problems: list[ObjectProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict:
        return {
            "checked": self.checked,
            "bytes": self.bytes,
            "missing": sum(p.problem == MISSING for p in self.problems),
            "altered": sum(p.problem == ALTERED for p in self.problems),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def rehash(store: ObjectStore, key: str) -> tuple[str, int]:
    """SHA-256 and size of what the store returns for `key` (streamed, flat memory)."""
    digest = hashlib.sha256()
    size = 0
    with store.open(key) as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _since(value: date | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), tzinfo=UTC)


def _where(since: datetime | None, record_id: int | None) -> list:
    o, r = c.objects.c, c.records.c
    where = [o.destroyed_at.is_(None), r.state != c.DISPOSED]
    if since is not None:
        where.append(o.created_at >= since)
    if record_id is not None:
        where.append(o.record_id == record_id)
    return where


def _rows(  # type: ignore[no-untyped-def]
    conn, *, sample: int | None, since: datetime | None, record_id: int | None, batch: int = 1000
) -> Iterator:
    o, r = c.objects.c, c.records.c
    where = _where(since, record_id)
    base = select(o.id, o.record_id, o.name, o.sha256, o.size).join(c.records, r.id == o.record_id)
    if sample is not None:
        yield from conn.execute(base.where(*where).order_by(func.random()).limit(sample)).all()
        return
    after = 0
    while True:
        rows = conn.execute(base.where(*where, o.id > after).order_by(o.id).limit(batch)).all()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].id


def count_objects(  # type: ignore[no-untyped-def]
    conn,
    *,
    sample: int | None = None,
    since: date | datetime | None = None,
    record_id: int | None = None,
) -> int:
    """How many objects an audit will check (for a progress bar's total)."""
    o, r = c.objects.c, c.records.c
    where = _where(_since(since), record_id)
    n = conn.execute(
        select(func.count())
        .select_from(c.objects.join(c.records, r.id == o.record_id))
        .where(*where)
    ).scalar_one()
    return min(int(n), sample) if sample is not None else int(n)


def audit(  # type: ignore[no-untyped-def]
    conn,
    store: ObjectStore,
    *,
    sample: int | None = None,
    since: date | datetime | None = None,
    record_id: int | None = None,
    actor: str = "audit",
    progress: Callable[[int], None] | None = None,
    record_event: bool = True,
) -> AuditReport:
    """Re-hash objects (all, a random sample, those archived since a date, or one record's)
    and report problems. `StoreUnavailable` propagates: an audit that
    cannot reach the store proves nothing, and must not be recorded as one that ran."""
    if sample is not None and sample < 1:
        raise ValueError("sample must be >= 1")
    report = AuditReport(started_at=datetime.now(UTC))
    verdicts: dict[str, tuple[str, int] | None] = {}  # within a batch, hash shared keys once
    for row in _rows(conn, sample=sample, since=_since(since), record_id=record_id):
        if row.sha256 not in verdicts:
            if len(verdicts) > 10_000:
                verdicts.clear()
            try:
                verdicts[row.sha256] = rehash(store, row.sha256)
            except ObjectMissing:
                verdicts[row.sha256] = None
        found = verdicts[row.sha256]
        report.checked += 1
        if found is None:
            report.problems.append(ObjectProblem(row.record_id, row.name, row.sha256, MISSING))
        else:
            sha, size = found
            report.bytes += size
            if sha != row.sha256 or size != row.size:
                report.problems.append(
                    ObjectProblem(
                        row.record_id,
                        row.name,
                        row.sha256,
                        ALTERED,
                        f"now sha256 {sha}, {size} bytes (recorded {row.size} bytes)",
                    )
                )
        if progress:
            progress(1)
    report.finished_at = datetime.now(UTC)
    if record_event:
        record_audit(conn, report, actor=actor, sample=sample, since=since, record_id=record_id)
    return report


def record_audit(  # type: ignore[no-untyped-def]
    conn,
    report: AuditReport,
    *,
    actor: str,
    sample: int | None = None,
    since: date | datetime | None = None,
    record_id: int | None = None,
) -> None:
    """The audit's events: one store-wide, one on each record with a problem. Separate from
    `audit` so a long audit can read outside any write transaction and record in a short one."""
    detail = report.summary() | {
        "sample": sample,
        "since": _since(since).isoformat() if since is not None else None,
    }
    if record_id is not None:
        # One record verified: the event belongs to it (with or without problems).
        log_event(conn, record_id, "audit", actor, detail | _problems(report.problems))
        return
    log_event(conn, None, "audit", actor, detail)
    by_record: dict[int, list[ObjectProblem]] = {}
    for p in report.problems:
        by_record.setdefault(p.record_id, []).append(p)
    for rid, problems in by_record.items():
        log_event(conn, rid, "audit", actor, _problems(problems))


def _problems(problems: list[ObjectProblem]) -> dict:
    return {
        "problems": [{"name": p.name, "sha256": p.sha256, "problem": p.problem} for p in problems]
    }
