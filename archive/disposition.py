"""Disposition: records past their retention period, destroyed only after explicit approval.

`due_for_disposition` lists candidates (never permanent records; records under legal hold
are listed as held, for the archivist to see, but cannot be destroyed). `dispose` destroys
the objects of approved records and keeps their metadata, marked `disposed`, with the
approval recorded as an event: the catalog remains the register of what existed. An
object shared with a record that is not being disposed of is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select, update

from archive import catalog as c
from archive.records import ArchiveError, log_event
from archive.store import ObjectLocked, ObjectMissing, ObjectStore


@dataclass(frozen=True)
class Candidate:
    record_id: int
    document_id: str
    agency_id: str
    number_symbol: str
    issued_date: date
    retain_until: date
    subject: str
    legal_hold: bool
    state: str


@dataclass
class DispositionResult:
    disposed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # record id -> why
    objects_deleted: int = 0


def _today(today: date | None) -> date:
    return today or datetime.now(UTC).date()


def due_for_disposition(  # type: ignore[no-untyped-def]
    conn, *, today: date | None = None, include_held: bool = True, limit: int | None = None
) -> list[Candidate]:
    """Records whose retention has ended (retain_until <= today), not yet disposed of."""
    r = c.records.c
    where = [
        r.permanent.is_(False),
        r.retain_until.is_not(None),
        r.retain_until <= _today(today),
        r.state != c.DISPOSED,
    ]
    if not include_held:
        where.append(r.legal_hold.is_(False))
    stmt = select(c.records).where(*where).order_by(r.retain_until, r.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        Candidate(
            record_id=int(row["id"]),
            document_id=row["document_id"],
            agency_id=row["agency_id"],
            number_symbol=(
                f"{row['code_number']}/{row['code_notation']}"
                if row["code_notation"]
                else row["code_number"]
            ),
            issued_date=row["issued_date"],
            retain_until=row["retain_until"],
            subject=row["subject"],
            legal_hold=bool(row["legal_hold"]),
            state=row["state"],
        )
        for row in conn.execute(stmt).mappings()
    ]


def _refusal(row, today: date) -> str | None:  # type: ignore[no-untyped-def]
    if row is None:
        return "no such record"
    if row["state"] == c.DISPOSED:
        return "already disposed of"
    if row["legal_hold"]:
        return "under legal hold"
    if row["permanent"] or row["retain_until"] is None:
        return "kept permanently"
    if row["retain_until"] > today:
        return f"retained until {row['retain_until'].isoformat()}"
    return None


def dispose(  # type: ignore[no-untyped-def]
    conn,
    store: ObjectStore,
    record_ids: Iterable[int],
    *,
    approved_by: str,
    approval_ref: str,
    actor: str | None = None,
    today: date | None = None,
) -> DispositionResult:
    """Destroy the objects of the given records, each re-checked here: refused when under
    legal hold, permanent, or still retained. `approved_by` (who approved) and
    `approval_ref` (the decision's number, e.g. "45/QĐ-UBND") are required."""
    if not approved_by.strip() or not approval_ref.strip():
        raise ArchiveError("disposition needs an explicit approval: approved_by and approval_ref")
    day = _today(today)
    result = DispositionResult()
    ids = list(dict.fromkeys(int(i) for i in record_ids))
    for record_id in ids:
        row = conn.execute(select(c.records).where(c.records.c.id == record_id)).mappings().first()
        why = _refusal(row, day)
        if why:
            result.refused[record_id] = why
            continue
        objs = conn.execute(
            select(c.objects.c.id, c.objects.c.sha256).where(
                c.objects.c.record_id == record_id, c.objects.c.destroyed_at.is_(None)
            )
        ).all()
        keys = list(dict.fromkeys(o.sha256 for o in objs))
        # Keep bytes another live record still needs (content addressing shares them).
        shared = {
            k[0]
            for k in conn.execute(
                select(c.objects.c.sha256)
                .join(c.records, c.records.c.id == c.objects.c.record_id)
                .where(
                    c.objects.c.sha256.in_(keys),
                    c.objects.c.record_id != record_id,
                    c.objects.c.destroyed_at.is_(None),
                    c.records.c.state != c.DISPOSED,
                )
            )
        }
        to_delete = [k for k in keys if k not in shared]
        # Check every object first, so a lock on one leaves the record whole.
        try:
            for key in to_delete:
                try:
                    info = store.stat(key)
                except ObjectMissing:
                    continue
                if info.legal_hold:
                    raise ObjectLocked(f"{key} is under legal hold in the store")
                if info.retain_until is not None and info.retain_until > datetime.now(UTC):
                    raise ObjectLocked(f"{key} is retained in the store until {info.retain_until}")
        except ObjectLocked as exc:
            result.refused[record_id] = f"the store refuses: {exc}"
            continue
        deleted = 0
        for key in to_delete:
            try:
                store.delete(key)
                deleted += 1
            except ObjectMissing:
                pass
        now = datetime.now(UTC)
        conn.execute(
            update(c.objects)
            .where(c.objects.c.record_id == record_id, c.objects.c.destroyed_at.is_(None))
            .values(destroyed_at=now)
        )
        conn.execute(
            update(c.records)
            .where(c.records.c.id == record_id)
            .values(state=c.DISPOSED, state_changed_at=now)
        )
        log_event(
            conn,
            record_id,
            "disposition",
            actor or approved_by,
            {
                "approved_by": approved_by,
                "approval_ref": approval_ref,
                "objects_deleted": deleted,
                "objects_kept_shared": len(keys) - len(to_delete),
            },
        )
        result.disposed.append(record_id)
        result.objects_deleted += deleted
    return result
