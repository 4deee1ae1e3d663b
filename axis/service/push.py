"""Push delivery: each new delivery to an agency with a webhook becomes a job that workers POST.

The walk of one push:
1. `MessageAccepted` (a document, or a status package such as the 01 an acknowledgement sends
   back) -> one `PushJob` per delivery whose recipient has an active webhook, in the same
   transaction as the message: a job exists if and only if the message does.
2. A worker (`axis worker`, axis.worker) claims due jobs with a lease: `SELECT ... FOR UPDATE SKIP
   LOCKED` on PostgreSQL (N workers never take the same job), the SQLite write lock otherwise.
3. It POSTs the package bytes, signed (`sign`), with `X-Axis-Message-Id` as the idempotency key:
   it is the same on every retry of a delivery.
4. A 2xx is the recipient's acknowledgement: `statuses.acknowledge` runs as for a pull ack (status
   01 to the sender), and the job is done in that same transaction. Anything else: retry with
   exponential backoff and jitter until `deadline_at`, then the job is a dead letter that an
   operator lists and retries (`axis deadletter`, /v1/admin/deadletters).
5. A worker killed mid-delivery leaves a lease that expires; the next claim records the lost
   attempt (`lease_expired`) and delivers again, with the same idempotency key.
Every attempt is a `PushAttempt` row, shown in the message's timeline (`annotate_timeline`).
Pull keeps working alongside: a pull ack finishes the push job too.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
import time
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from axis.adapters.database import Database
from axis.adapters.push_tables import PushAttempt, PushJob, Webhook
from axis.adapters.tables import Agency, Delivery, Message
from axis.domain import NotFound, Principal, Rejected, show_time, utcnow
from axis.service.context import Hub
from axis.service.events import Acknowledged, MessageAccepted


class PushSettings(BaseSettings):
    """AXIS_PUSH_* variables (apart from the hub's Settings: only push and workers read them)."""

    model_config = SettingsConfigDict(env_prefix="AXIS_PUSH_", env_file=None, extra="ignore")

    timeout_s: float = 10.0  # per read/write of one POST (a slow receiver past it: timeout)
    connect_timeout_s: float = 5.0
    backoff_base_s: float = 5.0  # first retry after ~this; doubled each attempt
    backoff_max_s: float = 3600.0
    give_up_after_s: float = 3 * 24 * 3600.0  # then the job is a dead letter
    lease_s: float = 120.0  # a claimed job is another worker's after this (keep >> timeout_s)
    batch: int = 32  # jobs claimed per query
    concurrency: int = 8  # POSTs in flight per worker process
    poll_s: float = 0.5  # idle wait between claims
    heartbeat_file: str | None = None  # touched at each turn of a worker's loop (health checks)


# -- signatures -------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `timestamp + "." + body` with the webhook's shared secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> bool:
    """What a receiver checks: the signature, and a timestamp recent enough to refuse replays."""
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance_s and hmac.compare_digest(sign(secret, timestamp, body), signature)


# -- webhooks (operators) ---------------------------------------------------------------------


def _check_url(url: str, allowed_networks: str = "") -> str:
    url = url.strip()
    parts = urlsplit(url)
    try:
        port = parts.port  # a port out of range raises here
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise Rejected(f"{url!r} is not an http(s) URL", code="WEBHOOK_URL_INVALID")
    if (address := _forbidden_address(parts.hostname, _networks(allowed_networks))) is not None:
        raise Rejected(
            f"{url!r} leads to {address}, an address of this machine or its cloud (loopback, "
            "link-local, metadata): the hub does not push there. Give the agency system's "
            "own address (AXIS_WEBHOOK_ALLOWED_NETWORKS lets an operator allow one)",
            code="WEBHOOK_URL_FORBIDDEN",
        )
    return url


def _networks(text: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",") if n.strip()]


def _forbidden_address(host: str, allowed: list) -> str | None:  # noqa: ANN001
    """The first address `host` names or resolves to that a webhook may not reach: the
    hub's own machine (loopback, unspecified), link-local (169.254.169.254 is the cloud's
    metadata service), multicast and reserved ranges, unless in `allowed`. Private ranges
    are allowed: agency systems often sit on a government network with the hub. A name that
    does not resolve now is left to delivery, which fails on it."""
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return None
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    for address in addresses:
        mapped = getattr(address, "ipv4_mapped", None) or address
        bad = (
            mapped.is_loopback
            or mapped.is_link_local
            or mapped.is_unspecified
            or mapped.is_multicast
            or mapped.is_reserved
        )
        if bad and not any(mapped in net for net in allowed if net.version == mapped.version):
            return str(address)
    return None


def set_webhook(
    db: Database,
    agency_code: str,
    url: str,
    *,
    rotate_secret: bool = False,
    allowed_networks: str = "",
) -> dict:
    """Register (or change) an agency's webhook. Returns it with its shared secret, which a
    new registration or `rotate_secret` creates; otherwise the secret is kept.
    `allowed_networks` (AXIS_WEBHOOK_ALLOWED_NETWORKS): CIDRs allowed although they are this
    machine's or link-local (a receiver on the hub's host)."""
    url = _check_url(url, allowed_networks)
    code = agency_code.strip().upper()
    now = utcnow()
    with db.write() as session:
        if session.get(Agency, code) is None:
            raise NotFound(f"no agency {code}", code="AGENCY_NOT_FOUND")
        hook = session.get(Webhook, code)
        if hook is None:
            hook = Webhook(agency_code=code, created_at=now, secret=secrets.token_hex(32))
            session.add(hook)
        elif rotate_secret:
            hook.secret = secrets.token_hex(32)
        hook.url = url
        hook.active = True
        hook.updated_at = now
        session.info.pop(_HOOKS, None)  # units after this one in its transaction see it
        return {"agency": code, "url": url, "secret": hook.secret, "active": True}


def remove_webhook(db: Database, agency_code: str) -> None:
    """Stop pushing to an agency (pending jobs are dropped when claimed; pull still works)."""
    with db.write() as session:
        hook = session.get(Webhook, agency_code.strip().upper())
        if hook is None:
            raise NotFound(f"agency {agency_code} has no webhook", code="WEBHOOK_NOT_FOUND")
        session.delete(hook)
        session.info.pop(_HOOKS, None)


def list_webhooks(db: Database) -> list[dict]:
    with db.read() as session:
        return [
            {
                "agency": h.agency_code,
                "url": h.url,
                "active": h.active,
                "updated_at": show_time(h.updated_at),
            }
            for h in session.scalars(select(Webhook).order_by(Webhook.agency_code))
        ]


# -- enqueueing (inside the unit of work that accepts a message) ------------------------------


_HOOKS = "axis_push_hooks"


def _webhooks(session: Session) -> dict[str, bool]:
    """Every agency with a webhook row → whether it is active: read once per unit of work, so
    the events of a batch (an ack of 200 items) cost no query each."""
    hooks = session.info.get(_HOOKS)
    if hooks is None:
        rows = session.connection().execute(select(Webhook.agency_code, Webhook.active))
        hooks = session.info[_HOOKS] = {code: bool(active) for code, active in rows}
    return hooks


def subscribe(hub: Hub, settings: PushSettings | None = None) -> None:
    settings = settings or PushSettings()
    give_up = timedelta(seconds=settings.give_up_after_s)

    def on_accepted(session: Session, event: MessageAccepted) -> None:
        hooks = _webhooks(session)
        pushed = [d for d in event.deliveries if hooks.get(d.recipient_code)]
        if not pushed:
            return
        # The deliveries were inserted without reading their seq back (insert_new).
        rows = session.connection().execute(
            select(Delivery.recipient_code, Delivery.seq).where(
                Delivery.message_id == event.message.id
            )
        )
        seqs = {code: seq for code, seq in rows}
        now = utcnow()
        session.add_all(
            PushJob(
                delivery_seq=seqs[d.recipient_code],
                message_id=d.message_id,
                recipient_code=d.recipient_code,
                state="ready",
                attempts=0,
                next_attempt_at=now,
                deadline_at=now + give_up,
                created_at=now,
            )
            for d in pushed
        )

    hub.events.subscribe(MessageAccepted, on_accepted)
    hub.events.subscribe(Acknowledged, _on_acknowledged)


@dataclass
class _Success:
    """A 2xx the worker is turning into an acknowledgement (see `complete`)."""

    job: Claimed
    attempt: PushAttempt
    consumed: bool = False


_success: ContextVar[_Success | None] = ContextVar("axis_push_success", default=None)
_FINISH = (
    update(PushJob.__table__)
    .where(
        PushJob.__table__.c.delivery_seq == bindparam("seq"),
        PushJob.__table__.c.state.in_(("ready", "leased")),
    )
    .values(state="done", finished_at=bindparam("now"), lease_token=None, lease_expires_at=None)
)


def _on_acknowledged(session: Session, event: Acknowledged) -> None:
    """A delivery acknowledged (by a 2xx push or by a pull): its push job is finished, and the
    successful attempt is recorded, in the acknowledgement's own transaction."""
    pending = _success.get()
    if pending is not None and pending.job.delivery_seq == event.delivery.seq:
        session.add(pending.attempt)
        pending.consumed = True
    # Jobs exist only for recipients with a webhook (a removed one's are dropped when claimed).
    if event.delivery.recipient_code not in _webhooks(session):
        return
    # A Core statement on the connection: no autoflush, none of the ORM's bulk-update work.
    session.connection().execute(_FINISH, {"seq": event.delivery.seq, "now": utcnow()})


# -- workers ----------------------------------------------------------------------------------


@dataclass
class Claimed:
    """A leased job with what its POST needs."""

    job_id: int
    delivery_seq: int
    token: str
    number: int  # this attempt's number
    message_id: str
    recipient_code: str
    url: str
    secret: str
    kind: str
    sender_code: str
    sha256: str
    inline_body: bytes | None


def due_job_ids(session: Session, job: Any, limit: int, now: datetime) -> list[str]:
    """Ids of up to `limit` jobs of a lease-worked queue (push jobs, forward jobs) that are due:
    ready and due, or leased by a worker whose lease expired. Locked rows are skipped."""
    due = or_(
        and_(job.state == "ready", job.next_attempt_at <= now),
        and_(job.state == "leased", job.lease_expires_at <= now),
    )
    return list(
        session.scalars(
            select(job.id)
            .where(due)
            .order_by(job.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's write lock is enough
        )
    )


def claim(hub: Hub, worker: str, limit: int, settings: PushSettings) -> list[Claimed]:
    """Lease up to `limit` due jobs (ready and due, or leased by a worker whose lease expired)."""
    now = utcnow()
    out: list[Claimed] = []
    with hub.db.write() as session:
        ids = due_job_ids(session, PushJob, limit, now)
        if not ids:
            return out
        rows = session.execute(
            select(PushJob, Message, Webhook, Delivery.pending)
            .join(Message, Message.id == PushJob.message_id)
            .join(Delivery, Delivery.seq == PushJob.delivery_seq)
            .outerjoin(Webhook, Webhook.agency_code == PushJob.recipient_code)
            .where(PushJob.id.in_(ids))
        ).all()
        lease_until = now + timedelta(seconds=settings.lease_s)
        for job, msg, hook, pending in rows:
            if job.state == "leased":
                # Its worker died or stalled past the lease: that attempt is lost, say so.
                session.add(
                    PushAttempt(
                        job_id=job.id,
                        message_id=job.message_id,
                        recipient_code=job.recipient_code,
                        number=job.attempts,
                        worker=job.leased_by or "",
                        url=hook.url if hook else "",
                        started_at=job.lease_expires_at - timedelta(seconds=settings.lease_s),
                        duration_ms=0,
                        outcome="lease_expired",
                        error="the worker did not finish within its lease (killed or stalled)",
                    )
                )
                if now >= job.deadline_at:  # a package that kills its workers: give up too
                    _finish(job, "dead", now, "lease_expired: the worker did not finish")
                    continue
            if not pending:  # acknowledged by pull meanwhile
                _finish(job, "done", now)
                continue
            if hook is None or not hook.active:
                _finish(job, "dropped", now, "the recipient has no webhook any more")
                continue
            job.state = "leased"
            job.attempts += 1
            job.lease_token = secrets.token_hex(16)
            job.leased_by = worker
            job.lease_expires_at = lease_until
            out.append(
                Claimed(
                    job_id=job.id,
                    delivery_seq=job.delivery_seq,
                    token=job.lease_token,
                    number=job.attempts,
                    message_id=msg.id,
                    recipient_code=job.recipient_code,
                    url=hook.url,
                    secret=hook.secret,
                    kind=msg.kind,
                    sender_code=msg.sender_code,
                    sha256=msg.sha256,
                    inline_body=msg.inline_body,
                )
            )
    return out


def _finish(job: PushJob, state: str, now: datetime, error: str | None = None) -> None:
    job.state = state
    job.finished_at = now
    job.lease_token = None
    job.lease_expires_at = None
    if error:
        job.last_error = error


def headers_for(job: Claimed, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        "Content-Type": "application/xml",
        "X-Axis-Message-Id": job.message_id,  # the idempotency key: stable across retries
        "X-Axis-Timestamp": timestamp,
        "X-Axis-Signature": sign(job.secret, timestamp, body),
        "X-Axis-Attempt": str(job.number),
        "X-Axis-Kind": job.kind,
        "X-Axis-Sender": job.sender_code,
        "X-Axis-Sha256": job.sha256,
    }


def _attempt(
    job: Claimed,
    worker: str,
    started: datetime,
    duration_ms: int,
    outcome: str,
    http_status: int | None,
    error: str | None,
) -> PushAttempt:
    return PushAttempt(
        job_id=job.job_id,
        message_id=job.message_id,
        recipient_code=job.recipient_code,
        number=job.number,
        worker=worker,
        url=job.url,
        started_at=started,
        duration_ms=duration_ms,
        http_status=http_status,
        outcome=outcome,
        error=error,
    )


def complete(
    hub: Hub, job: Claimed, worker: str, started: datetime, duration_ms: int, http_status: int
) -> None:
    """The endpoint answered 2xx: acknowledge for the recipient (status 01 to the sender),
    recording the attempt and finishing the job in that same transaction."""
    from axis.service.statuses import acknowledge

    attempt = _attempt(job, worker, started, duration_ms, "delivered", http_status, None)
    success = _Success(job, attempt)
    token = _success.set(success)
    try:
        principal = Principal(key_id="push", role="agency", agency_code=job.recipient_code)
        acknowledge(hub, principal, [job.message_id])
    finally:
        _success.reset(token)
    if not success.consumed:  # the delivery was already acknowledged (pull, or a twin worker)
        with hub.db.write() as session:
            session.add(_attempt(job, worker, started, duration_ms, "delivered", http_status, None))
            _fenced(session, job, lambda row: _finish(row, "done", utcnow()))


def fail(
    hub: Hub,
    job: Claimed,
    worker: str,
    started: datetime,
    duration_ms: int,
    outcome: str,
    http_status: int | None,
    error: str,
    settings: PushSettings,
    *,
    permanent: bool = False,
) -> str:
    """Record a failed attempt and schedule the next one, or make the job a dead letter
    (at once when `permanent`: retrying cannot help). Returns the job's new state."""
    now = utcnow()
    result = "lost"

    def reschedule(row: PushJob) -> None:
        nonlocal result
        row.last_error = _summary(outcome, http_status, error)
        if permanent or now >= row.deadline_at:
            _finish(row, "dead", now)
            result = "dead"
            return
        delay = backoff(row.attempts, settings)
        row.state = "ready"
        row.next_attempt_at = min(now + timedelta(seconds=delay), row.deadline_at)
        row.lease_token = None
        row.lease_expires_at = None
        result = "ready"

    with hub.db.write() as session:
        session.add(_attempt(job, worker, started, duration_ms, outcome, http_status, error))
        _fenced(session, job, reschedule)
    return result


def _fenced(session: Session, job: Claimed, change) -> None:  # noqa: ANN001
    """Change the job only while this worker still holds its lease (a late worker whose lease
    expired must not undo what the job's new holder did)."""
    row = session.get(PushJob, job.job_id, with_for_update=True)
    if row is not None and row.state == "leased" and row.lease_token == job.token:
        change(row)


def backoff(attempts: int, settings: PushSettings) -> float:
    """Exponential, capped, with jitter ("equal jitter": half fixed, half random) so that the
    retries of a burst that failed together spread out instead of failing together again."""
    delay = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** max(0, attempts - 1))
    return delay / 2 + random.uniform(0, delay / 2)


def _summary(outcome: str, http_status: int | None, error: str | None) -> str:
    head = f"{outcome} {http_status}" if http_status else outcome
    return f"{head}: {error}"[:1000] if error else head


# -- dead letters and figures (operators) -----------------------------------------------------


def _job_dict(job: PushJob) -> dict:
    return {
        "job_id": job.id,
        "message_id": job.message_id,
        "recipient": job.recipient_code,
        "state": job.state,
        "attempts": job.attempts,
        "created_at": show_time(job.created_at),
        "next_attempt_at": show_time(job.next_attempt_at) if job.state == "ready" else None,
        "deadline_at": show_time(job.deadline_at),
        "finished_at": show_time(job.finished_at),
        "last_error": job.last_error,
    }


def dead_letters(db: Database, *, agency: str | None = None, limit: int = 100) -> list[dict]:
    with db.read() as session:
        q = select(PushJob).where(PushJob.state == "dead").order_by(PushJob.id).limit(limit)
        if agency:
            q = q.where(PushJob.recipient_code == agency.strip().upper())
        return [_job_dict(j) for j in session.scalars(q)]


def retry_dead(
    db: Database,
    *,
    job_ids: list[int] | None = None,
    agency: str | None = None,
    settings: PushSettings | None = None,
) -> int:
    """Put dead letters back in the queue, due now, with a fresh deadline. Returns how many."""
    settings = settings or PushSettings()
    now = utcnow()
    q = update(PushJob).where(PushJob.state == "dead")
    if job_ids is not None:
        q = q.where(PushJob.id.in_(job_ids))
    if agency:
        q = q.where(PushJob.recipient_code == agency.strip().upper())
    with db.write() as session:
        result = session.execute(
            q.values(
                state="ready",
                next_attempt_at=now,
                deadline_at=now + timedelta(seconds=settings.give_up_after_s),
                finished_at=None,
            )
        )
        return result.rowcount


def queue_stats(db: Database) -> dict:
    """Jobs per state, and how late the oldest due job is (an alerting figure)."""
    now = utcnow()
    with db.read() as session:
        counts = dict(
            session.execute(select(PushJob.state, func.count()).group_by(PushJob.state)).all()
        )
        oldest = session.scalar(
            select(func.min(PushJob.next_attempt_at)).where(
                PushJob.state == "ready", PushJob.next_attempt_at <= now
            )
        )
    if oldest is not None and oldest.tzinfo is None:  # SQLite aggregate: no type processing
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    return {
        "jobs": {
            state: counts.get(state, 0) for state in ("ready", "leased", "done", "dead", "dropped")
        },
        "oldest_due_s": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
    }


def prune(db: Database, *, older_than_days: float) -> tuple[int, int]:
    """Delete finished jobs (done, dropped) and their attempts older than the given age, so the
    tables do not grow for years; dead letters are kept until retried. Returns (jobs, attempts).
    """
    cutoff = utcnow() - timedelta(days=older_than_days)
    with db.write() as session:
        old = (
            select(PushJob.id)
            .where(PushJob.state.in_(("done", "dropped")), PushJob.finished_at < cutoff)
            .scalar_subquery()
        )
        attempts = session.execute(delete(PushAttempt).where(PushAttempt.job_id.in_(old)))
        jobs = session.execute(
            delete(PushJob).where(
                PushJob.state.in_(("done", "dropped")), PushJob.finished_at < cutoff
            )
        )
        return jobs.rowcount, attempts.rowcount


# -- the timeline -----------------------------------------------------------------------------


def annotate_timeline(hub: Hub, message_id: str, lines: dict[str, dict]) -> None:
    """Add each recipient's push delivery (state and every attempt) to its timeline line."""
    with hub.db.read() as session:
        jobs = session.scalars(select(PushJob).where(PushJob.message_id == message_id)).all()
        if not jobs:
            return
        attempts = session.scalars(
            select(PushAttempt).where(PushAttempt.message_id == message_id).order_by(PushAttempt.id)
        ).all()
    for job in jobs:
        line = lines.get(job.recipient_code)
        if line is None:  # not visible to this caller
            continue
        line["push"] = {
            "state": job.state,
            "attempts": [
                {
                    "number": a.number,
                    "at": show_time(a.started_at),
                    "outcome": a.outcome,
                    "http_status": a.http_status,
                    "duration_ms": a.duration_ms,
                    "error": a.error,
                    "worker": a.worker,
                }
                for a in attempts
                if a.job_id == job.id
            ],
            "next_attempt_at": show_time(job.next_attempt_at) if job.state == "ready" else None,
            "last_error": job.last_error,
        }
