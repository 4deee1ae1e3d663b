"""Sealing a document's status history into its archival record.

A record is archived when its document is accepted; what happens to it afterwards (deliveries,
acknowledgements, processing statuses) keeps changing until the document is completed. The
history is sealed — written once as a `status-history.json` object under the record's retention
and recorded as a "seal" event — when every recipient has reported status 06 (completed), or,
for documents that never complete, `archive_seal_after_days` after acceptance (`seal_due`,
run by `axis archive seal`).

The completion seal runs inside the status's own transaction, so the record is sealed if and
only if the status that completed it is committed. It runs just before the commit (not in the
event handler itself): the status's timeline line is added after its event is published, and
the sealed history must include it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import catalog
from archive.records import records_to_seal, seal_history
from archive.store import StoreError
from axis.adapters.tables import Delivery, Message, TimelineEvent
from axis.service.context import Hub
from axis.service.events import StatusRecorded
from formats.model import STATUS_CODES

log = logging.getLogger("axis.sealing")

COMPLETED = "06"
_PENDING = "axis.sealing.pending"  # session.info key: document messages to check at commit


def subscribe(hub: Hub) -> None:
    """Seal a record's history in the transaction of the status that completes its document."""
    hub.events.subscribe(StatusRecorded, partial(_on_status, hub))


def _on_status(hub: Hub, session: Session, event: StatusRecorded) -> None:
    about = event.document_message
    if event.code != COMPLETED or about is None or about.kind != "edoc":
        return
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        sa_event.listen(session, "before_commit", partial(_before_commit, hub), once=True)
    pending.append(about.id)


def _before_commit(hub: Hub, session: Session) -> None:
    message_ids = session.info.pop(_PENDING, [])
    if not message_ids:
        return
    session.flush()  # the status's timeline line, added after its event was published
    for message_id in dict.fromkeys(message_ids):
        seal_if_completed(hub, session, message_id)


def is_completed(session: Session, message_id: str) -> bool:
    """Every recipient of the document message has reported status 06 about its document."""
    msg = session.get(Message, message_id)
    if msg is None:
        return False
    recipients = set(
        session.scalars(select(Delivery.recipient_code).where(Delivery.message_id == message_id))
    )
    if not recipients:
        return False
    done = set(
        session.scalars(
            select(TimelineEvent.agency_code).where(
                TimelineEvent.document_id == msg.document_id,
                TimelineEvent.event == "status",
                TimelineEvent.status_code == COMPLETED,
                TimelineEvent.agency_code.in_(recipients),
            )
        )
    )
    return done == recipients


def seal_if_completed(hub: Hub, session: Session, message_id: str) -> bool:
    """Seal the record of `message_id` when its document is completed; True when sealed now.
    A store failure leaves the record unsealed (logged; `seal_due` seals it later) rather than
    refusing the recipient's status."""
    # The record's row is locked before completion is checked: two last statuses committed
    # at once on PostgreSQL would otherwise each miss the other's 06 and neither would seal.
    # The second to take the lock reads after the first has committed.
    record_id = _unsealed_record(session, message_id)
    if record_id is None or not is_completed(session, message_id):
        return False
    try:
        seal_history(
            session,
            hub.store,
            record_id,
            document_history(session, message_id),
            actor="hub:completed",
        )
    except StoreError as exc:
        log.warning("record %s: history not sealed, the store failed: %s", record_id, exc)
        return False
    return True


def seal_due(hub: Hub, now: datetime | None = None, *, limit: int = 1000) -> list[int]:
    """Seal the histories of records accepted more than `archive_seal_after_days` ago and not
    sealed yet (documents never completed). One short transaction per record; returns the ids
    sealed. A store failure propagates (`StoreUnavailable`): what was sealed stays sealed."""
    older_than = timedelta(days=hub.settings.archive_seal_after_days)
    with hub.db.read() as session:
        due = records_to_seal(session, older_than=older_than, now=now, limit=limit)
    sealed = []
    for record_id in due:
        with hub.db.write() as session:
            row = session.execute(
                select(catalog.records.c.message_id, catalog.records.c.sealed_at)
                .where(catalog.records.c.id == record_id)
                .with_for_update(key_share=True)  # FOR NO KEY UPDATE: event inserts pass
            ).first()
            if row is None or row.sealed_at is not None:
                continue  # sealed meanwhile (its document completed)
            seal_history(
                session,
                hub.store,
                record_id,
                document_history(session, row.message_id),
                actor="hub:due",
            )
        sealed.append(record_id)
    return sealed


def _unsealed_record(session: Session, message_id: str) -> int | None:
    row = session.execute(
        select(catalog.records.c.id, catalog.records.c.sealed_at)
        .where(catalog.records.c.message_id == message_id)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE: event inserts pass
    ).first()
    if row is None or row.sealed_at is not None:
        return None
    return int(row.id)


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def document_history(session: Session, message_id: str) -> list[dict[str, Any]]:
    """The status history of a document message, oldest first (UTC times): its delivery to,
    fetch and acknowledgement by each recipient, then every status and recall about its
    document from the hub's timeline."""
    msg = session.get(Message, message_id)
    if msg is None:
        return []
    entries: list[tuple[datetime, int, dict[str, Any]]] = []
    deliveries = session.scalars(
        select(Delivery).where(Delivery.message_id == message_id).order_by(Delivery.seq)
    ).all()
    for d in deliveries:
        for order, (kind, when) in enumerate(
            (("delivered", d.created_at), ("fetched", d.fetched_at), ("acknowledged", d.acked_at))
        ):
            if when is not None:
                entries.append((when, order, {"event": kind, "agency": d.recipient_code}))
    for e in session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.document_id == msg.document_id)
        .order_by(TimelineEvent.id)
    ):
        entry: dict[str, Any] = {"event": e.event, "agency": e.agency_code}
        if e.status_code:
            entry["code"] = e.status_code
            entry["meaning"] = STATUS_CODES.get(e.status_code)
        if e.description:
            entry["description"] = e.description
        if e.staff:
            entry["staff"] = e.staff
        if e.status_message_id or e.message_id:
            entry["message_id"] = e.status_message_id or e.message_id
        entries.append((e.at, 3, entry))
    entries.sort(key=lambda t: (t[0], t[1]))
    return [{"at": _at(when), **entry} for when, _, entry in entries]
