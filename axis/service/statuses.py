"""Statuses: acknowledgements and processing statuses relayed between recipients and senders.

A recipient's status about a document becomes a status package in the sender's inbox and a line
in the document's timeline. The sender's recall request (13) goes the other way, to each recipient.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from axis.adapters.database import insert_new, new_row
from axis.adapters.tables import Agency, Delivery, Document, Message, TimelineEvent
from axis.domain import (
    VIETNAM,
    Forbidden,
    NotFound,
    Principal,
    Receipt,
    Rejected,
    is_message_id,
    new_id,
    nfc,
    show_time,
    utcnow,
)
from axis.service.context import Hub
from axis.service.events import Acknowledged, MessageAccepted, StatusRecorded
from formats import edxml
from formats.findings import Finding
from formats.model import STATUS_CODES, Organization, ResponseFor, StaffInfo, StatusPackage

RECALL_REQUESTED = "13"
# Where a status package's fields are, in the shape the hub writes (the national SDK's).
STATUS_PATH = "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader"
_SHAPE_PATHS = {"edxml": STATUS_PATH, "status": "/Status", "soap": "/Envelope/*/Status"}


def status_path(pkg: StatusPackage) -> str:
    """The path of a received status package's MessageHeader (or Status element)."""
    return _SHAPE_PATHS.get(pkg.shape, STATUS_PATH)


_D = Delivery.__table__.c
_M = Message.__table__.c
# The caller's deliveries of the messages acknowledged, with what acknowledging reads of each
# message (read before the write turn: _ACK_DELIVERIES decides which acks win).
_ACK_ROWS = (
    select(
        _D.seq,
        _D.recipient_code,
        _D.pending,
        _D.acked_at,
        _D.created_at,
        _M.id,
        _M.sha256,
        _M.kind,
        _M.sender_code,
        _M.document_id,
        _M.received_at,
        _M.code,
        _M.promulgation_date,
    )
    .join_from(Delivery.__table__, Message.__table__, _M.id == _D.message_id)
    .where(
        _D.message_id.in_(bindparam("ids", expanding=True)),
        _D.recipient_code == bindparam("agency"),
    )
)
# Marks the deliveries still pending and says which: of two acks of one delivery at once (a
# pull racing a push), only the one that changed it sends status 01. On PostgreSQL the second
# UPDATE waits for the first to commit, then finds the row no longer pending.
_ACK_DELIVERIES = (
    update(Delivery.__table__)
    .where(_D.seq.in_(bindparam("seqs", expanding=True)), _D.pending.is_(True))
    .values(
        pending=False,
        acked_at=bindparam("now"),
        fetched_at=func.coalesce(_D.fetched_at, bindparam("now")),
    )
    .returning(_D.seq)
)
_ACKED_AT = select(_D.seq, _D.acked_at).where(_D.seq.in_(bindparam("seqs", expanding=True)))


def _require_agency(principal: Principal) -> str:
    if principal.role != "agency" or not principal.agency_code:
        raise Forbidden("only agency keys send statuses", code="ROLE_NOT_AGENCY")
    return principal.agency_code


def _check_code(code: str, path: str) -> None:
    if code not in STATUS_CODES:
        known = ", ".join(STATUS_CODES)
        raise Rejected(
            f"status code {code!r} is not one of {known}",
            findings=[Finding.error("STATUS_UNKNOWN_CODE", path, f"unknown status {code!r}")],
        )


def unknown_document(doc_id: str, path: str) -> Rejected:
    return Rejected(
        f"status about a document the hub does not know: {doc_id!r}",
        findings=[
            Finding.error(
                "STATUS_DOCUMENT_UNKNOWN",
                f"{path}/ResponseFor/DocumentId",
                f"no document {doc_id!r}",
            )
        ],
    )


def _targets(
    session: Session, doc: Document, agency: str, code: str, path: str = STATUS_PATH
) -> list[str]:
    """Who a status from `agency` goes to: the sender, or (for a recall) every recipient."""
    recipients = session.scalars(
        select(Delivery.recipient_code)
        .join(Message, Message.id == Delivery.message_id)
        .where(Message.document_id == doc.document_id, Message.kind == "edoc")
        .distinct()
    ).all()
    if agency in recipients and code != RECALL_REQUESTED:
        return [doc.sender_code]
    if agency == doc.sender_code and code == RECALL_REQUESTED:
        return list(recipients)
    if agency != doc.sender_code and agency not in recipients:
        # a stranger to the document: answered exactly as for a document that does not exist,
        # or the answer would tell which DocumentIds other agencies use
        raise unknown_document(doc.document_id, path)
    raise Rejected(
        f"{agency} is not a recipient of document {doc.document_id!r}",
        findings=[
            Finding.error(
                "STATUS_NOT_RECIPIENT",
                f"{path}/From/OrganId",
                "only a recipient may send a status about a document "
                "(and only its sender a recall request, 13)",
            )
        ],
    )


@dataclass
class _NewStatus:
    """A status package and its rows, ready to route."""

    message: Message
    deliveries: list[Delivery]
    timeline: list[TimelineEvent]
    about: Message | None
    agency: str
    code: str
    at: datetime
    events: tuple[MessageAccepted, StatusRecorded] | None = None
    answered: bool = True  # a caller gets its receipt (not so an acknowledgement's 01)

    def prepared(self, hub: Hub) -> tuple[MessageAccepted, StatusRecorded]:
        """Its events, prepared once (the evidence log hashes and signs there). A status
        built before the unit of work is prepared before it too (acknowledge); one built in
        it, in it."""
        if self.events is None:
            self.events = (
                hub.events.prepare(
                    MessageAccepted(self.message, self.deliveries, answered=self.answered)
                ),
                hub.events.prepare(
                    StatusRecorded(
                        self.about,
                        self.message,
                        self.agency,
                        self.code,
                        self.at,
                        tuple(self.timeline),
                    )
                ),
            )
        return self.events


def _new_status(
    session: Session,
    *,
    doc: Document,
    agency: str,
    code: str,
    description: str,
    staff: StaffInfo | None,
    raw: bytes | None,
    about_message_id: str | None = None,
    about: Message | None = None,
    targets: list[str] | None = None,
    agency_name: str | None = None,
    findings: list[dict] | None = None,
    resend_key: str | None = None,
    path: str = STATUS_PATH,
    answered: bool = True,
) -> _NewStatus:
    """The status package (built here when the client sent JSON) and its rows. Callers that
    already hold the document's message, targets or agency name pass them in; `resend_key` is
    the SHA-256 of what an agency sent, so that a resend finds this receipt."""
    now = utcnow()
    if targets is None:
        targets = _targets(session, doc, agency, code, path)
    if about is None:
        about = session.get(Message, about_message_id or doc.latest_message_id)
    if raw is None:
        raw = edxml.build_status(
            StatusPackage(
                response_for=ResponseFor(
                    organ_id=doc.sender_code,
                    code=about.code if about else "",
                    promulgation_date=_parse_date(about.promulgation_date if about else None),
                    document_id=doc.document_id,
                ),
                sender=Organization(
                    organ_id=agency,
                    organ_name=agency_name
                    if agency_name is not None
                    else _agency_name(session, agency),
                ),
                status_code=code,
                description=description,
                timestamp=now.astimezone(VIETNAM).replace(tzinfo=None, microsecond=0),
                staff=staff,
            )
        )
    msg = new_row(
        Message,
        id=new_id(),
        kind="status",
        sender_code=agency,
        document_id=doc.document_id,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        received_at=now,
        subject=f"{code} {STATUS_CODES[code]}",
        status_code=code,
        about_message_id=about.id if about else None,
        inline_body=raw,
        resend_key=resend_key,
        recipients=targets,
        findings=findings or [],
        report=None,
    )
    staff_dict = vars(staff) if staff else None
    return _NewStatus(
        message=msg,
        deliveries=[
            new_row(Delivery, message_id=msg.id, recipient_code=t, pending=True, created_at=now)
            for t in targets
        ],
        timeline=[
            new_row(
                TimelineEvent,
                document_id=doc.document_id,
                message_id=msg.id,
                agency_code=concerned,
                event="status",
                status_code=code,
                description=description,
                staff=staff_dict,
                at=now,
                status_message_id=msg.id,
            )
            for concerned in (targets if code == RECALL_REQUESTED else [agency])
        ],
        about=about,
        agency=agency,
        code=code,
        at=now,
        answered=answered,
    )


def _route_statuses(hub: Hub, session: Session, statuses: list[_NewStatus]) -> None:
    """Insert the rows of the statuses, one statement a table for all of them (a batch of
    acknowledgements sends one 01 each), then tell the subscribers, in order."""
    insert_new(session, [s.message for s in statuses])
    insert_new(session, [d for s in statuses for d in s.deliveries])
    insert_new(session, [t for s in statuses for t in s.timeline])
    for s in statuses:
        for event in s.prepared(hub):
            hub.events.publish(session, event)


def _agency_name(session: Session, code: str) -> str:
    agency = session.get(Agency, code)
    return agency.name if agency else ""


def _parse_date(value: str | None):  # noqa: ANN202
    return datetime.strptime(value, "%Y/%m/%d").date() if value else None


def submit_status_package(
    hub: Hub,
    principal: Principal,
    pkg: StatusPackage,
    raw: bytes,
    sha256: str,
    warnings: list[Finding],
) -> Receipt:
    """A status package sent by an agency: routed to the sender of the document it answers
    (ResponseFor/DocumentId; for a recall, 13, from that sender to its recipients). Relayed as
    sent when it is in the national SDK's shape; otherwise rewritten in that shape, which is
    what the recipients' systems read (the sent bytes stay the resend key)."""
    agency = _require_agency(principal)
    path = status_path(pkg)
    _check_code(pkg.status_code, f"{path}/StatusCode")
    doc_id = nfc(pkg.response_for.document_id)
    relayed = raw if pkg.shape == "edxml" else edxml.build_status(pkg)
    with hub.db.write() as session:
        doc = session.get(Document, doc_id)
        if doc is None:
            raise unknown_document(doc_id, path)
        if principal.system_id == "<upstream>" and pkg.status_code == "01":
            from axis.service.federation import first_arrival

            if not first_arrival(hub, session, doc_id, agency):
                raise Rejected(
                    f"{agency} already reported 01 for {doc_id!r}",
                    code="STATUS_DUPLICATE_ARRIVAL",
                )
        new = _new_status(
            session,
            doc=doc,
            agency=agency,
            code=pkg.status_code,
            description=pkg.description,
            staff=pkg.staff,
            raw=relayed,
            findings=[f.to_dict() for f in warnings],
            resend_key=sha256,  # the agency's own bytes: a resend finds this receipt
            path=path,
        )
        _route_statuses(hub, session, [new])
    return Receipt.of(new.message)


def post_status(
    hub: Hub,
    principal: Principal,
    message_id: str,
    code: str,
    description: str = "",
    staff: StaffInfo | None = None,
) -> Receipt:
    """A status sent as JSON about the document of message `message_id`."""
    agency = _require_agency(principal)
    _check_code(code, "code")
    if not is_message_id(message_id):
        raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
    with hub.db.write() as session:
        about = session.get(Message, message_id)
        if about is None or about.kind != "edoc" or not _may_see(session, about, agency):
            raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
        doc = session.get(Document, about.document_id)
        new = _new_status(
            session,
            doc=doc,
            agency=agency,
            code=code,
            description=nfc(description),
            staff=staff,
            raw=None,
            about_message_id=about.id,
        )
        _route_statuses(hub, session, [new])
    receipt = Receipt.of(new.message)
    if hub.evidence is not None:
        from axis.service import evidence

        receipt.evidence = evidence.sign_receipt(hub, receipt, agency)
    return receipt


def _may_see(session: Session, msg: Message, agency: str) -> bool:
    if msg.sender_code == agency:
        return True
    return (
        session.scalar(
            select(Delivery.seq).where(
                Delivery.message_id == msg.id, Delivery.recipient_code == agency
            )
        )
        is not None
    )


def acknowledge(hub: Hub, principal: Principal, message_ids: list[str]) -> list[dict]:
    """The recipient confirms receipt. For a document, the sender gets status 01 for it.
    Acknowledging twice is harmless; an id the caller never received is reported, not acked."""
    agency = _require_agency(principal)
    valid = [m for m in message_ids if is_message_id(m)]
    # What an acknowledgement writes is read and built first, outside the write turn (SQLite
    # writers take turns): the turn only marks the deliveries and inserts the rows.
    with hub.db.read() as session:
        conn = session.connection()  # Core rows: a batch of acks builds no ORM objects
        # One query for the deliveries and their messages, one for their documents. A row
        # serves as the message (id, kind, document…) and as the delivery (seq, recipient).
        found = {row.id: row for row in conn.execute(_ACK_ROWS, {"ids": valid, "agency": agency})}
        pending = {m: found[m] for m in message_ids if m in found and found[m].pending}
        doc_ids = {row.document_id for row in pending.values() if row.kind == "edoc"}
        docs = (
            {
                d.document_id: d
                for d in conn.execute(
                    select(Document.__table__).where(Document.document_id.in_(doc_ids))
                )
            }
            if doc_ids
            else {}
        )
        name = _agency_name(session, agency) if docs else ""
        now = utcnow()
        arrivals = {  # the 01 of each document, sent if this call is the one that acks it
            message_id: _new_status(
                session,
                doc=docs[row.document_id],
                agency=agency,
                code="01",
                description="Đã đến hệ thống của đơn vị nhận",
                staff=None,
                raw=None,
                about=row,
                targets=[docs[row.document_id].sender_code],  # the caller holds a delivery
                agency_name=name,
                answered=False,
            )
            for message_id, row in pending.items()
            if row.kind == "edoc"
        }
    # Prepared for every pending delivery: one acknowledged meanwhile by another call wastes
    # its signatures, rarely, where signing in the turn would hold back every writer, always.
    acks = {m: hub.events.prepare(Acknowledged(row, row, now)) for m, row in pending.items()}
    for arrival in arrivals.values():
        arrival.prepared(hub)
    acked: set[str] = set()
    if pending:
        with hub.db.write() as session:
            conn = session.connection()
            seqs = [row.seq for row in pending.values()]
            changed = set(conn.scalars(_ACK_DELIVERIES, {"seqs": seqs, "now": now}))
            acked = {m for m, row in pending.items() if row.seq in changed}
            for m in pending:
                if m in acked:
                    hub.events.publish(session, acks[m])
            _route_statuses(hub, session, [arrivals[m] for m in arrivals if m in acked])
    acked_at = {row.seq: row.acked_at for row in found.values()}
    if lost := [row.seq for m, row in pending.items() if m not in acked]:
        with hub.db.read() as session:  # acknowledged by another call at the same moment
            rows = session.connection().execute(_ACKED_AT, {"seqs": lost})
            acked_at.update((seq, at) for seq, at in rows)
    results = []
    for message_id in message_ids:
        row = found.get(message_id)
        if row is None:
            results.append({"id": message_id, "acked": False, "error": "MESSAGE_NOT_FOUND"})
            continue
        at = now if message_id in acked else acked_at[row.seq]
        result = {"id": message_id, "acked": True, "acked_at": show_time(at)}
        if message_id in acked and hub.evidence is not None:
            from axis.service import evidence

            if signed := evidence.ack_receipt(hub, message_id, agency):
                result["evidence"] = signed
        results.append(result)
    return results


def report_fetch_failure(
    hub: Hub, principal: Principal, message_id: str, description: str = ""
) -> None:
    """The recipient's system could not take a package it fetched (VXP updateStatus `fail`):
    recorded on the document's timeline for that recipient; the delivery stays pending, so the
    package is listed again and may be fetched again. The sender gets no status: nothing
    arrived. Reporting twice records twice (each is a fact: an attempt that failed). The item
    is then listed after those nobody reported failing (inbox.received), so that a page of
    packages a system cannot take (a downstream hub refused them) does not hide newer ones."""
    agency = _require_agency(principal)
    if not is_message_id(message_id):
        raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
    with hub.db.write() as session:
        row = session.execute(
            select(Message.document_id, Delivery.pending)
            .join(Delivery, Delivery.message_id == Message.id)
            .where(Message.id == message_id, Delivery.recipient_code == agency)
        ).first()
        if row is None:
            raise NotFound(f"no message {message_id}", code="MESSAGE_NOT_FOUND")
        session.add(
            TimelineEvent(
                document_id=row.document_id,
                message_id=message_id,
                agency_code=agency,
                event="fetch_failed",
                description=nfc(description)
                or "Hệ thống của đơn vị nhận báo không nhận được gói tin",
                at=utcnow(),
            )
        )
        if row.pending:
            session.execute(
                update(Delivery)
                .where(Delivery.message_id == message_id, Delivery.recipient_code == agency)
                .values(fetch_failed_at=utcnow())
            )
