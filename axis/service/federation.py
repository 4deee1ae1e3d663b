"""Federation: the hub above this one (the national axis, or an axis) spoken to with the national
protocol, as one of its connected systems (AXIS_UPSTREAM_URL, _SYSTEM_ID, _SECRET).

The walk:
1. Directory. `sync_directory` caches the upstream's directory (getSynchronizeUnit, else
   getAgenciesList) in `upstream_agencies`; workers refresh it every AXIS_UPSTREAM_SYNC_S, and
   `axis upstream sync` on demand. A package to an agency that is neither local nor in that
   directory is refused as before (RECIPIENT_UNKNOWN). Local agencies always win.
2. Forwarding. `MessageAccepted` with recipients that are not local agencies -> one
   `ForwardJob` for the message, in the same transaction (a job exists iff the message does).
   Workers claim jobs as push jobs are claimed (leases, SKIP LOCKED, backoff with jitter, dead
   letters past the deadline: axis.service.push's settings) and sendEdoc the stored bytes as the
   sender, naming the far recipients in `to`. The upstream's resend detection makes the same
   bytes from the same sender one package, so a retry after a lost answer delivers nothing twice.
   Done: the far deliveries are marked taken (fetched_at) and the timeline says `forwarded`.
3. Pulling. `pull` lists what waits upstream for this system (documents, then statuses), fetches
   each, submits it through `messages.submit` as a package from its sender, for the local
   recipients the upstream named (the same parsing, checks, routing, archive and timeline as a
   native send), records it in `upstream_inbound`, then acknowledges it upstream (updateStatus
   done). A crash between the two: the row is there, so the next pull only acknowledges; a
   crash before the row: the local resend detection (sender + SHA-256) finds the message.
4. Statuses travel as any status: a local recipient's status about a far sender's document has a
   non-local target and is forwarded (step 2); an upstream status about a local sender's
   document is pulled (step 3) into the sender's inbox and timeline. The first 01 of a far
   recipient also sets its delivery's acked_at; a second 01 for the same recipient (the upstream's
   own transport acknowledgement and the far hub's relayed one) is acknowledged and dropped.
"""

from __future__ import annotations

import logging
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from archive.store import ObjectMissing
from axis.adapters.database import Database
from axis.adapters.tables import Agency, Delivery, Message, TimelineEvent
from axis.adapters.upstream import UpstreamError, VxpClient
from axis.adapters.upstream_tables import ForwardJob, UpstreamAgency, UpstreamInbound
from axis.config import Settings
from axis.domain import HubError, Principal, nfc, show_time, utcnow
from axis.service import failures
from axis.service.context import Hub
from axis.service.events import Acknowledged, MessageAccepted
from axis.service.push import PushSettings, backoff, due_job_ids

log = logging.getLogger("axis.federation")

ARRIVED = "01"


def client_for(settings: Settings) -> VxpClient | None:
    if not settings.upstream_enabled:
        return None
    return VxpClient(
        settings.upstream_url or "",
        settings.upstream_system_id or "",
        settings.upstream_secret or "",
        timeout_s=settings.upstream_timeout_s,
        connect_timeout_s=settings.upstream_connect_timeout_s,
    )


# -- directory --------------------------------------------------------------------------------


def far_codes(session: Session, codes: list[str]) -> set[str]:
    """Which of these codes (not local agencies) the upstream directory knows."""
    if not codes:
        return set()
    return set(
        session.scalars(
            select(UpstreamAgency.code).where(
                UpstreamAgency.code.in_(codes), UpstreamAgency.deleted.is_(False)
            )
        )
    )


def _unit(item: dict) -> tuple[str, dict] | None:
    code = nfc(str(item.get("code") or "")).upper()
    if not code or len(code) > 35:
        return None
    deleted = item.get("deleted")
    if isinstance(deleted, str):
        deleted = deleted.strip().lower() == "true"
    version = item.get("version")
    try:
        version = int(version) if version is not None else None
    except (TypeError, ValueError):
        version = None
    parent = nfc(str(item.get("pid") or "")).upper() or None
    return code, {
        "name": nfc(str(item.get("name") or ""))[:500],
        "parent_code": parent if parent and len(parent) <= 35 else None,
        "deleted": bool(deleted),
        "version": version,
    }


def sync_directory(hub: Hub, client: VxpClient) -> dict:
    """Replace the cached upstream directory with the upstream's. Returns what changed."""
    try:
        items = client.synchronize_unit()
    except UpstreamError as exc:
        if not exc.code.isdigit() and exc.code.startswith("UPSTREAM_"):
            raise  # down or garbage: try again later, keep the cache
        items = client.agencies_list()  # a hub without getSynchronizeUnit
    units: dict[str, dict] = {}
    for item in items:
        if (unit := _unit(item)) is not None:
            units[unit[0]] = unit[1]
    now = utcnow()
    table = UpstreamAgency.__table__
    with hub.db.write() as session:
        conn = session.connection()
        old = {
            r.code: {
                "name": r.name,
                "parent_code": r.parent_code,
                "deleted": r.deleted,
                "version": r.version,
            }
            for r in conn.execute(select(table))
        }
        added = [{"code": c, **u, "synced_at": now} for c, u in units.items() if c not in old]
        changed = [
            {"b_code": c, **u, "synced_at": now}
            for c, u in units.items()
            if c in old and old[c] != u
        ]
        gone = [c for c in old if c not in units]
        if added:
            conn.execute(insert(table), added)
        if changed:
            from sqlalchemy import bindparam

            conn.execute(
                update(table)
                .where(table.c.code == bindparam("b_code"))
                .values(
                    name=bindparam("name"),
                    parent_code=bindparam("parent_code"),
                    deleted=bindparam("deleted"),
                    version=bindparam("version"),
                    synced_at=bindparam("synced_at"),
                ),
                changed,
            )
        for i in range(0, len(gone), 500):
            conn.execute(delete(table).where(table.c.code.in_(gone[i : i + 500])))
        _set_synced(conn, now)
    return {"total": len(units), "added": len(added), "changed": len(changed), "removed": len(gone)}


_LAST_SYNC = "~last-sync"  # a row of the cache that says when it was last synchronised


def _set_synced(conn, now: datetime) -> None:  # noqa: ANN001
    table = UpstreamAgency.__table__
    conn.execute(delete(table).where(table.c.code == _LAST_SYNC))
    conn.execute(
        insert(table),
        [{"code": _LAST_SYNC, "name": "", "deleted": True, "synced_at": now, "version": None}],
    )


# -- forwarding: enqueue (inside the unit of work that accepts a message) ---------------------


_LOCAL = "axis_local_agencies"


def subscribe(hub: Hub, settings: PushSettings | None = None) -> None:
    """Enqueue forward jobs for messages with far recipients (only when an upstream is set)."""
    if not hub.settings.upstream_enabled:
        return
    settings = settings or PushSettings()
    give_up = timedelta(seconds=settings.give_up_after_s)

    def on_accepted(session: Session, event: MessageAccepted) -> None:
        codes = [d.recipient_code for d in event.deliveries]
        if not codes:
            return
        local = set(session.connection().scalars(select(Agency.code).where(Agency.code.in_(codes))))
        far = [c for c in codes if c not in local]
        if not far:
            return
        now = utcnow()
        msg = event.message
        session.connection().execute(
            insert(ForwardJob.__table__),
            [
                {
                    "message_id": msg.id,
                    "kind": msg.kind,
                    "sender_code": msg.sender_code,
                    "recipients": far,
                    "state": "ready",
                    "attempts": 0,
                    "failures": 0,
                    "next_attempt_at": now,
                    "deadline_at": now + give_up,
                    "created_at": now,
                }
            ],
        )

    hub.events.subscribe(MessageAccepted, on_accepted)


# -- forwarding: workers ----------------------------------------------------------------------


@dataclass
class Forward:
    job_id: int
    token: str
    number: int
    message_id: str
    kind: str
    sender_code: str
    recipients: list[str]
    sha256: str
    inline_body: bytes | None
    document_id: str


def claim(hub: Hub, worker: str, limit: int, settings: PushSettings) -> list[Forward]:
    """Lease up to `limit` due forward jobs (as push.claim does for push jobs)."""
    now = utcnow()
    out: list[Forward] = []
    with hub.db.write() as session:
        ids = due_job_ids(session, ForwardJob, limit, now)
        if not ids:
            return out
        rows = session.execute(
            select(ForwardJob, Message)
            .join(Message, Message.id == ForwardJob.message_id)
            .where(ForwardJob.id.in_(ids))
        ).all()
        lease_until = now + timedelta(seconds=settings.lease_s)
        for job, msg in rows:
            if job.state == "leased":  # its worker died or stalled: that attempt is lost
                job.failures += 1
                job.last_error = "lease_expired: the worker did not finish within its lease"
                if now >= job.deadline_at:
                    _finish(job, "dead", now)
                    continue
            job.state = "leased"
            job.attempts += 1
            job.lease_token = secrets.token_hex(16)
            job.leased_by = worker
            job.lease_expires_at = lease_until
            out.append(
                Forward(
                    job_id=job.id,
                    token=job.lease_token,
                    number=job.attempts,
                    message_id=msg.id,
                    kind=msg.kind,
                    sender_code=msg.sender_code,
                    recipients=list(job.recipients),
                    sha256=msg.sha256,
                    inline_body=msg.inline_body,
                    document_id=msg.document_id,
                )
            )
    return out


def _finish(job: ForwardJob, state: str, now: datetime) -> None:
    job.state = state
    job.finished_at = now
    job.lease_token = None
    job.lease_expires_at = None


def _fenced(session: Session, job: Forward) -> ForwardJob | None:
    row = session.get(ForwardJob, job.job_id, with_for_update=True)
    if row is not None and row.state == "leased" and row.lease_token == job.token:
        return row
    return None


def forward_one(hub: Hub, client: VxpClient, job: Forward, settings: PushSettings) -> str:
    """Send one leased job upstream and record the outcome. Returns the job's new state."""
    try:
        body = job.inline_body if job.inline_body is not None else hub.store.get(job.sha256)
        doc_id = client.send_edoc(body, sender=job.sender_code, kind=job.kind, to=job.recipients)
    except UpstreamError as exc:
        return fail(hub, job, f"{exc.code}: {exc.message}", exc.permanent, settings)
    except ObjectMissing as exc:  # permanent, and an operator is alerted (axis.service.failures)
        failures.store_failed(exc, f"forward of message {job.message_id}")
        return fail(hub, job, "STORE_OBJECT_MISSING: the package is missing", True, settings)
    except Exception as exc:  # noqa: BLE001 - the store away, say: retried like the upstream
        return fail(hub, job, f"{type(exc).__name__}: {exc}", False, settings)
    complete(hub, job, doc_id)
    return "done"


def complete(hub: Hub, job: Forward, upstream_doc_id: str) -> None:
    """The upstream accepted the package: the far deliveries are taken, the timeline says so."""
    now = utcnow()
    with hub.db.write() as session:
        row = _fenced(session, job)
        if row is None:
            return  # a late worker: the job's new holder records it
        _finish(row, "done", now)
        row.upstream_doc_id = upstream_doc_id
        row.last_error = None
        session.execute(
            update(Delivery)
            .where(
                Delivery.message_id == job.message_id,
                Delivery.recipient_code.in_(job.recipients),
                Delivery.pending.is_(True),
            )
            .values(pending=False, fetched_at=now)
        )
        upstream = hub.settings.upstream_url or "upstream"
        session.add_all(
            TimelineEvent(
                document_id=job.document_id,
                message_id=job.message_id,
                agency_code=code,
                event="forwarded",
                description=f"Đã chuyển lên trục cấp trên {upstream} (DocId {upstream_doc_id})",
                at=now,
            )
            for code in job.recipients
            if job.kind == "edoc"
        )


def fail(hub: Hub, job: Forward, error: str, permanent: bool, settings: PushSettings) -> str:
    now = utcnow()
    result = "lost"
    with hub.db.write() as session:
        row = _fenced(session, job)
        if row is None:
            return result
        row.failures += 1
        row.last_error = error[:1000]
        if permanent or now >= row.deadline_at:
            _finish(row, "dead", now)
            result = "dead"
            if job.kind == "edoc":
                session.add_all(
                    TimelineEvent(
                        document_id=job.document_id,
                        message_id=job.message_id,
                        agency_code=code,
                        event="forward_failed",
                        description=f"Trục cấp trên không nhận gói tin: {error}"[:2000],
                        at=now,
                    )
                    for code in job.recipients
                )
        else:
            row.state = "ready"
            row.next_attempt_at = min(
                now + timedelta(seconds=backoff(row.attempts, settings)), row.deadline_at
            )
            row.lease_token = None
            row.lease_expires_at = None
            result = "ready"
    if result == "dead":
        log.warning("forwarding %s upstream is a dead letter: %s", job.message_id, error)
    return result


def retry_dead(db: Database, settings: PushSettings | None = None) -> int:
    settings = settings or PushSettings()
    now = utcnow()
    with db.write() as session:
        return session.execute(
            update(ForwardJob)
            .where(ForwardJob.state == "dead")
            .values(
                state="ready",
                next_attempt_at=now,
                deadline_at=now + timedelta(seconds=settings.give_up_after_s),
                finished_at=None,
            )
        ).rowcount


# -- pulling ----------------------------------------------------------------------------------


@dataclass
class PullResult:
    taken: int = 0  # new local messages
    acked: int = 0  # items acknowledged upstream
    refused: list[dict] = field(default_factory=list)  # refused for good (told upstream: fail)
    errors: list[str] = field(default_factory=list)  # to try again at the next pull


def pull(hub: Hub, client: VxpClient, parallel: int = 4) -> PullResult:
    """Take what waits upstream for this system: documents first, then statuses (all the
    documents listed are taken before the statuses, which may speak about them)."""
    from axis.service import messages

    result = PullResult()
    for kind in ("edoc", "status"):
        try:
            items = client.received(kind)
        except UpstreamError as exc:
            result.errors.append(f"getReceivedEdocList {kind}: {exc}")
            continue
        todo = [(str(i.get("docId") or i.get("id") or ""), i) for i in items]
        todo = [(d, i) for d, i in todo if d]

        def take(entry: tuple[str, dict], kind: str = kind) -> None:
            doc_id, item = entry
            try:
                _take(hub, client, messages, kind, doc_id, item, result)
            except UpstreamError as exc:
                result.errors.append(f"{doc_id}: {exc}")

        if len(todo) <= 1 or parallel <= 1:
            for entry in todo:
                take(entry)
        else:  # the calls are round trips: a few at once (the submits take the write turn)
            with ThreadPoolExecutor(min(parallel, len(todo))) as pool:
                list(pool.map(take, todo))
    return result


def _take(
    hub: Hub, client: VxpClient, messages, kind: str, doc_id: str, item: dict, result
) -> None:  # noqa: ANN001
    with hub.db.read() as session:
        row = session.get(UpstreamInbound, doc_id)
        seen = (row.acked_at, row.error) if row is not None else None
    if seen is not None:
        acked_at, error = seen
        if error is None:  # taken before: (again) tell the upstream
            client.update_status(doc_id, "done")
            result.acked += 1
            if acked_at is None:
                _mark_acked(hub, doc_id)
        return  # refused before: the upstream was told `fail`, nothing more to do
    raw = client.get_edoc(doc_id)
    to = nfc(str(item.get("to") or "")).upper()
    try:
        receipt, new = messages.submit(
            hub,
            raw,
            Principal(key_id="upstream", role="agency", agency_code=None, system_id="<upstream>"),
            via_upstream=True,
            only_recipients=[to] if to else None,
        )
    except HubError as exc:
        if exc.status >= 500:
            result.errors.append(f"{doc_id}: {exc.code} {exc.message}")
            return
        codes = sorted({f.code for f in exc.findings})
        error = f"{exc.code}{' (' + ', '.join(codes) + ')' if codes else ''}: {exc.message}"
        if exc.code == "STATUS_DUPLICATE_ARRIVAL":
            _record(hub, doc_id, kind, None, "", None)
            client.update_status(doc_id, "done")
            result.acked += 1
            _mark_acked(hub, doc_id)
            return
        _record(hub, doc_id, kind, None, "", error)
        client.update_status(doc_id, "fail", desc=error[:500])
        result.refused.append({"docId": doc_id, "error": exc.code, "message": exc.message})
        return
    if not new and to and kind == "edoc":
        # Pulled again for another of our agencies, perhaps at the same moment as its twin.
        messages.ensure_recipients(hub, receipt.id, [to])
    _record(hub, doc_id, kind, receipt.id, "", None)
    result.taken += int(new)
    client.update_status(doc_id, "done")
    result.acked += 1
    _mark_acked(hub, doc_id)


def _record(
    hub: Hub, doc_id: str, kind: str, message_id: str | None, sender: str, error: str | None
) -> None:
    with hub.db.write() as session:
        if session.get(UpstreamInbound, doc_id) is None:
            session.add(
                UpstreamInbound(
                    upstream_doc_id=doc_id,
                    kind=kind,
                    message_id=message_id,
                    sender_code=sender,
                    pulled_at=utcnow(),
                    error=error[:1000] if error else None,
                )
            )


def _mark_acked(hub: Hub, doc_id: str) -> None:
    with hub.db.write() as session:
        session.execute(
            update(UpstreamInbound)
            .where(UpstreamInbound.upstream_doc_id == doc_id, UpstreamInbound.acked_at.is_(None))
            .values(acked_at=utcnow())
        )


def first_arrival(hub: Hub, session: Session, document_id: str, agency: str) -> bool:
    """Whether a 01 from `agency` about this document is its first (used while taking a status
    from upstream); marks the far recipient's delivery acknowledged when it is.

    The delivery's UPDATE … WHERE acked_at IS NULL decides between two 01s taken at once: on
    PostgreSQL the second waits for the first's row lock and then matches nothing (reading the
    timeline first let both through). Only where no delivery row exists does the timeline decide.
    """
    now = utcnow()
    taken = session.execute(
        update(Delivery)
        .where(
            Delivery.recipient_code == agency,
            Delivery.acked_at.is_(None),
            Delivery.message_id.in_(
                select(Message.id).where(Message.document_id == document_id, Message.kind == "edoc")
            ),
        )
        .values(acked_at=now, pending=False)
        .returning(Delivery.seq)
        .execution_options(synchronize_session=False)
    )
    if seqs := [seq for (seq,) in taken]:
        for delivery in session.scalars(select(Delivery).where(Delivery.seq.in_(seqs))):
            message = session.get(Message, delivery.message_id)
            hub.events.publish(session, Acknowledged(message, delivery, now))  # the evidence log
        return True
    delivered = session.scalar(
        select(Delivery.seq).where(
            Delivery.recipient_code == agency,
            Delivery.message_id.in_(
                select(Message.id).where(Message.document_id == document_id, Message.kind == "edoc")
            ),
        )
    )
    if delivered is not None:
        return False  # its delivery was acknowledged by an earlier 01
    seen = session.scalar(
        select(TimelineEvent.id).where(
            TimelineEvent.document_id == document_id,
            TimelineEvent.agency_code == agency,
            TimelineEvent.event == "status",
            TimelineEvent.status_code == ARRIVED,
        )
    )
    return seen is None


# -- figures ----------------------------------------------------------------------------------


def _aware(dt: datetime | None) -> datetime | None:
    if dt is not None and dt.tzinfo is None:  # SQLite aggregates: no type processing
        return dt.replace(tzinfo=UTC)
    return dt


def figures(hub: Hub) -> dict:
    """Per-upstream figures: forwarded, pending, oldest pending age, failures, pulled."""
    s = hub.settings
    now = utcnow()
    with hub.db.read() as session:
        states = dict(
            session.execute(select(ForwardJob.state, func.count()).group_by(ForwardJob.state)).all()
        )
        oldest = _aware(
            session.scalar(
                select(func.min(ForwardJob.created_at)).where(
                    ForwardJob.state.in_(("ready", "leased"))
                )
            )
        )
        failures = session.scalar(select(func.coalesce(func.sum(ForwardJob.failures), 0)))
        pulled = session.scalar(
            select(func.count()).where(
                UpstreamInbound.error.is_(None), UpstreamInbound.message_id.is_not(None)
            )
        )
        refused = session.scalar(select(func.count()).where(UpstreamInbound.error.is_not(None)))
        unacked = session.scalar(
            select(func.count()).where(
                UpstreamInbound.acked_at.is_(None), UpstreamInbound.error.is_(None)
            )
        )
        directory = session.scalar(
            select(func.count()).where(
                UpstreamAgency.deleted.is_(False), UpstreamAgency.code != _LAST_SYNC
            )
        )
        synced = _aware(
            session.scalar(
                select(UpstreamAgency.synced_at).where(UpstreamAgency.code == _LAST_SYNC)
            )
        )
    jobs = {k: states.get(k, 0) for k in ("ready", "leased", "done", "dead")}
    return {
        "upstream": s.upstream_url,
        "system_id": s.upstream_system_id,
        "enabled": s.upstream_enabled,
        "forwarded": jobs["done"],
        "pending": jobs["ready"] + jobs["leased"],
        "dead": jobs["dead"],
        "oldest_pending_s": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
        "failures": int(failures or 0),
        "pulled": int(pulled or 0),
        "pull_refused": int(refused or 0),
        "pull_unacked": int(unacked or 0),
        "directory_agencies": int(directory or 0),
        "directory_synced_at": show_time(synced),
        "jobs": jobs,
    }


def dead_letters(db: Database, limit: int = 100) -> list[dict]:
    with db.read() as session:
        rows = session.scalars(
            select(ForwardJob)
            .where(ForwardJob.state == "dead")
            .order_by(ForwardJob.id)
            .limit(limit)
        ).all()
    return [
        {
            "job_id": j.id,
            "message_id": j.message_id,
            "kind": j.kind,
            "sender": j.sender_code,
            "recipients": j.recipients,
            "attempts": j.attempts,
            "last_error": j.last_error,
            "finished_at": show_time(j.finished_at),
        }
        for j in rows
    ]
