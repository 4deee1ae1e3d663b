"""What an agency reads: its inbox, the packages themselves, and each document's timeline."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select, update

from archive.catalog import records
from archive.store import StoreError
from archive.textfold import fold
from axis.adapters.tables import Delivery, Message, TimelineEvent
from axis.domain import (
    Forbidden,
    NotFound,
    Principal,
    is_message_id,
    show_time,
    utcnow,
)
from axis.service import push
from axis.service.context import Hub
from axis.service.failures import store_failed
from formats.model import STATUS_CODES
from formats.rules.doctypes import spellings

BUSINESS_NAMES = {0: "new", 1: "revoke", 2: "update", 3: "replace"}


def _agency(principal: Principal) -> str:
    if principal.role != "agency" or not principal.agency_code:
        raise Forbidden("only agency keys have an inbox", code="ROLE_NOT_AGENCY")
    return principal.agency_code


def list_inbox(
    hub: Hub, principal: Principal, *, limit: int = 100, cursor: int | None = None
) -> dict:
    """Items not yet acknowledged, oldest first; the cursor is the last delivery seen."""
    agency = _agency(principal)
    limit = max(1, min(limit, hub.settings.inbox_page_max))
    with hub.db.read() as session:
        m = Message.__table__.c
        q = (
            select(
                Delivery.seq,
                m.id,
                m.kind,
                m.document_id,
                m.sender_code,
                m.subject,
                m.received_at,
                m.business_type,
                m.status_code,
                m.size,
            )
            .join(Message, Message.id == Delivery.message_id)
            .where(Delivery.recipient_code == agency, Delivery.pending.is_(True))
            .order_by(Delivery.seq)
            .limit(limit + 1)
        )
        if cursor is not None:
            q = q.where(Delivery.seq > cursor)
        rows = session.connection().execute(q).all()  # rows, not entities
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        {
            "id": m.id,
            "kind": m.kind,
            "document_id": m.document_id,
            "from": m.sender_code,
            "subject": m.subject,
            "received_at": show_time(m.received_at),
            "business": BUSINESS_NAMES.get(m.business_type, "new") if m.kind == "edoc" else None,
            "status_code": m.status_code,
            "size": m.size,
        }
        for m in rows
    ]
    return {"items": items, "next_cursor": str(rows[-1].seq) if more else None}


def fetch(hub: Hub, principal: Principal, message_id: str) -> tuple[bytes, Message]:
    """The package bytes, for its sender and its recipients only (others: 404, not 403,
    so the existence of another agency's message is not disclosed)."""
    agency = _agency(principal)
    if not is_message_id(message_id):
        raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
    with hub.db.read() as session:
        msg = session.get(Message, message_id)
        if msg is None:
            raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
        delivery = session.scalar(
            select(Delivery).where(
                Delivery.message_id == message_id, Delivery.recipient_code == agency
            )
        )
        if delivery is None and msg.sender_code != agency:
            raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
    body = msg.inline_body
    if body is None:
        try:
            body = hub.store.get(msg.sha256)
        except StoreError as exc:
            raise store_failed(exc, f"message {message_id}") from exc
    if delivery is not None and delivery.fetched_at is None:
        with hub.db.write() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.seq == delivery.seq, Delivery.fetched_at.is_(None))
                .values(fetched_at=utcnow())
            )
    return body, msg


def report(hub: Hub, principal: Principal, message_id: str) -> dict:
    _, msg = _visible(hub, principal, message_id)
    return {
        "id": msg.id,
        "document_id": msg.document_id,
        "findings": msg.findings,
        **(msg.report or {}),
    }


def _visible(hub: Hub, principal: Principal, message_id: str) -> tuple[str, Message]:
    if not is_message_id(message_id):
        raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
    with hub.db.read() as session:
        msg = session.get(Message, message_id)
        if msg is not None:
            if principal.role in ("archivist", "operator"):
                return principal.role, msg
            agency = principal.agency_code if principal.role == "agency" else None
            if msg.sender_code == agency:
                return "sender", msg
            seen = session.scalar(
                select(Delivery.seq).where(
                    Delivery.message_id == message_id, Delivery.recipient_code == agency
                )
            )
            if seen is not None:
                return "recipient", msg
    raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")


def timeline(hub: Hub, principal: Principal, message_id: str) -> dict:
    """Per recipient: delivered, fetched, acknowledged, and each status with its time.
    The sender sees every recipient; a recipient sees its own line."""
    role, msg = _visible(hub, principal, message_id)
    with hub.db.read() as session:
        deliveries = session.scalars(
            select(Delivery).where(Delivery.message_id == msg.id).order_by(Delivery.seq)
        ).all()
        events = session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.document_id == msg.document_id)
            .order_by(TimelineEvent.id)
        ).all()
    if role == "recipient":
        deliveries = [d for d in deliveries if d.recipient_code == principal.agency_code]
        events = [e for e in events if e.agency_code == principal.agency_code]
    lines = {
        d.recipient_code: {
            "agency": d.recipient_code,
            "delivered_at": show_time(d.created_at),
            "fetched_at": show_time(d.fetched_at),
            "acked_at": show_time(d.acked_at),
            "events": [],
        }
        for d in deliveries
    }
    for e in events:
        line = lines.setdefault(
            e.agency_code,
            {
                "agency": e.agency_code,
                "delivered_at": None,
                "fetched_at": None,
                "acked_at": None,
                "events": [],
            },
        )
        line["events"].append(
            {
                "event": e.event,
                "code": e.status_code,
                "meaning": STATUS_CODES.get(e.status_code or "", None),
                "description": e.description,
                "staff": e.staff,
                "at": show_time(e.at),
                "message_id": e.message_id,
            }
        )
    push.annotate_timeline(hub, msg.id, lines)  # push attempts per recipient
    return {
        "id": msg.id,
        "kind": msg.kind,
        "document_id": msg.document_id,
        "from": msg.sender_code,
        "received_at": show_time(msg.received_at),
        "recipients": list(lines.values()),
    }


# For principals that receive for several agencies (a connected system, VXP) ---------------


def _pending_query(agencies: Collection[str], kind: str | None):  # noqa: ANN202
    q = (
        select(
            Delivery.seq,
            Delivery.recipient_code,
            Delivery.created_at,
            Delivery.fetched_at,
            Message.id,
            Message.kind,
            Message.document_id,
            Message.sender_code,
            Message.subject,
            Message.received_at,
            Message.status_code,
        )
        .join(Message, Message.id == Delivery.message_id)
        .where(Delivery.recipient_code.in_(list(agencies)), Delivery.pending.is_(True))
    )
    if kind is not None:
        q = q.where(Message.kind == kind)
    return q


def received(
    hub: Hub, agencies: Collection[str], *, kind: str | None = None, limit: int | None = None
) -> list[dict]:
    """What waits for any of these agencies (not yet acknowledged), oldest first: one item per
    delivery, so a message for two of them is listed twice, once for each recipient. Items the
    system reported `fail` for (statuses.report_fetch_failure) come last, the least recently
    failed first: the list is capped, and a page of packages the system cannot take (a
    downstream hub refused them for good) must not hide the ones behind them."""
    if not agencies:
        return []
    limit = max(1, min(limit or hub.settings.inbox_page_max, hub.settings.inbox_page_max))
    q = (
        _pending_query(agencies, kind)
        .order_by(Delivery.fetch_failed_at.is_not(None), Delivery.fetch_failed_at, Delivery.seq)
        .limit(limit)
    )
    with hub.db.read() as session:
        rows = session.connection().execute(q).all()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "document_id": r.document_id,
            "from": r.sender_code,
            "to": r.recipient_code,
            "subject": r.subject,
            "status_code": r.status_code,
            "received_at": show_time(r.received_at),
            "delivered_at": show_time(r.created_at),
            "fetched_at": show_time(r.fetched_at),
        }
        for r in rows
    ]


def count_pending(hub: Hub, agencies: Collection[str], *, kind: str | None = None) -> int:
    if not agencies:
        return 0
    q = select(func.count()).select_from(_pending_query(agencies, kind).subquery())
    with hub.db.read() as session:
        return int(session.connection().scalar(q) or 0)


def holders(hub: Hub, message_id: str, agencies: Collection[str]) -> list[str]:
    """Which of these agencies receive message `message_id` (its sender first, if among them:
    a sender may read back what it sent). Empty if none, or no such message."""
    if not is_message_id(message_id) or not agencies:
        return []
    with hub.db.read() as session:
        sender = session.scalar(select(Message.sender_code).where(Message.id == message_id))
        if sender is None:
            return []
        recipients = session.scalars(
            select(Delivery.recipient_code)
            .where(Delivery.message_id == message_id, Delivery.recipient_code.in_(list(agencies)))
            .order_by(Delivery.seq)
        ).all()
    return [*recipients, *([sender] if sender in agencies and sender not in recipients else [])]


def of_type(type_name: str):  # noqa: ANN201 - an SQL condition on Message
    """Messages whose document is of this type (its TypeName, or another name systems send
    for it), as the archive's catalog records it for every accepted document (archive_records
    is unique by message id: a lookup per message, no parsing)."""
    keys = {fold(name.strip()) for name in spellings(type_name.strip())}
    # A correlated scalar subquery, not EXISTS: PostgreSQL turns EXISTS into a semi-join over
    # every record of the type and sorts them all (100 ms at 500 documents, growing); this
    # stays a per-row index lookup while the inbox's newest-first index scan fills a page.
    key = select(records.c.type_key).where(records.c.message_id == Message.id)
    return key.scalar_subquery().in_(keys)


def sent_states(
    hub: Hub,
    senders: Collection[str],
    *,
    message_id: str | None = None,
    kind: str | None = "edoc",
    limit: int = 200,
    type_name: str = "",
) -> list[dict]:
    """Messages these agencies sent (the newest first, or the one named), one row per recipient:
    delivered, fetched, acknowledged, and the latest status the recipient reported."""
    if not senders or (message_id is not None and not is_message_id(message_id)):
        return []
    with hub.db.read() as session:
        q = select(Message).where(Message.sender_code.in_(list(senders)))
        if type_name:
            q = q.where(of_type(type_name))
        if message_id is not None:
            q = q.where(Message.id == message_id)
        elif kind is not None:
            q = q.where(Message.kind == kind)
        msgs = session.scalars(q.order_by(Message.received_at.desc()).limit(limit)).all()
        if not msgs:
            return []
        deliveries = session.scalars(
            select(Delivery)
            .where(Delivery.message_id.in_([m.id for m in msgs]))
            .order_by(Delivery.seq)
        ).all()
        events = session.scalars(
            select(TimelineEvent)
            .where(
                TimelineEvent.document_id.in_({m.document_id for m in msgs}),
                TimelineEvent.event == "status",
            )
            .order_by(TimelineEvent.id)
        ).all()
    latest: dict[tuple[str, str], TimelineEvent] = {}
    for e in events:  # the recipient's own statuses (not the sender's recall requests)
        if e.status_code != "13":
            latest[(e.document_id, e.agency_code)] = e
    by_message: dict[str, list[Delivery]] = {}
    for d in deliveries:
        by_message.setdefault(d.message_id, []).append(d)
    rows = []
    for m in msgs:
        for d in by_message.get(m.id, []):
            e = latest.get((m.document_id, d.recipient_code))
            rows.append(
                {
                    "id": m.id,
                    "kind": m.kind,
                    "document_id": m.document_id,
                    "from": m.sender_code,
                    "to": d.recipient_code,
                    "subject": m.subject,
                    "code": m.code,
                    "sent_at": show_time(m.received_at),
                    "fetched_at": show_time(d.fetched_at),
                    "acked_at": show_time(d.acked_at),
                    "status_code": e.status_code if e else None,
                    "status_meaning": STATUS_CODES.get(e.status_code or "") if e else None,
                    "status_description": e.description if e else None,
                    "status_at": show_time(e.at) if e else None,
                }
            )
    return rows
