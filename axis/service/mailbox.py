"""What a clerk looks through: every document its agency received (acknowledged or not) with
search and filters, each with its latest status, and what it sent with each recipient's
progress. The API's inbox (inbox.list_inbox) lists only what waits; this is the register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from axis.adapters.tables import Agency, Delivery, Document, Message, TimelineEvent
from axis.domain import VIETNAM, Forbidden, Principal, Rejected, show_time
from axis.service import inbox
from axis.service.context import Hub
from formats.findings import Finding
from formats.rules.doctypes import TYPE_NAMES

STATES = ("", "pending", "acked", "02", "03", "04", "05", "06", "overdue")
PAGE = 50


@dataclass
class Filters:
    sender: str = ""  # a code, or words of its name
    start: str = ""  # yyyy-mm-dd, Vietnam time, included
    end: str = ""  # yyyy-mm-dd, included
    state: str = ""  # one of STATES
    text: str = ""  # words of the subject or the number and symbol
    type_name: str = ""  # a document type of Decree 30 (doctypes.TYPE_NAMES)
    page: int = 1


def _agency(principal: Principal) -> str:
    if principal.role != "agency" or not principal.agency_code:
        raise Forbidden("only an agency's people read its documents", code="ROLE_NOT_AGENCY")
    return principal.agency_code


def filter_day(value: str, label: str) -> date | None:
    """A date typed in a filter (yyyy-mm-dd), or FILTER_INVALID saying how to write it."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Rejected(
            f"{label}: nhập ngày dạng năm-tháng-ngày (yyyy-mm-dd)",
            code="FILTER_INVALID",
            findings=[Finding.error("FILTER_INVALID", label, "yyyy-mm-dd")],
        ) from None


def _utc_bounds(f: Filters) -> tuple[datetime | None, datetime | None]:
    start, end = filter_day(f.start, "Từ ngày"), filter_day(f.end, "Đến ngày")
    lo = datetime.combine(start, time(), VIETNAM) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), VIETNAM) if end else None
    return lo, hi


def _check_type(type_name: str) -> None:
    if type_name and type_name not in TYPE_NAMES:
        raise Rejected("Loại văn bản: chọn trong danh sách", code="FILTER_INVALID")


def received(hub: Hub, principal: Principal, f: Filters) -> dict:
    """One page of documents the agency received, newest first."""
    agency = _agency(principal)
    _check_type(f.type_name)
    if f.state not in STATES:
        raise Rejected("Trạng thái: chọn trong danh sách", code="FILTER_INVALID")
    lo, hi = _utc_bounds(f)
    latest_id = (
        select(func.max(TimelineEvent.id))
        .where(
            TimelineEvent.document_id == Message.document_id,
            TimelineEvent.agency_code == agency,
            TimelineEvent.event == "status",
        )
        .scalar_subquery()
    )
    latest = aliased(TimelineEvent)
    sender = aliased(Agency)
    q = (
        select(
            Delivery.seq,
            Delivery.pending,
            Delivery.fetched_at,
            Delivery.acked_at,
            Message.id,
            Message.document_id,
            Message.sender_code,
            Message.subject,
            Message.code,
            Message.received_at,
            Message.due_date,
            Message.business_type,
            sender.name.label("sender_name"),
            latest.status_code,
            latest.at.label("status_at"),
        )
        .join(Message, Message.id == Delivery.message_id)
        .outerjoin(sender, sender.code == Message.sender_code)
        .outerjoin(latest, latest.id == latest_id)
        .where(Delivery.recipient_code == agency, Message.kind == "edoc")
    )
    if f.sender:
        words = f"%{f.sender.strip().lower()}%"
        q = q.where(
            or_(
                Message.sender_code == f.sender.strip().upper(), func.lower(sender.name).like(words)
            )
        )
    if lo is not None:
        q = q.where(Message.received_at >= lo)
    if hi is not None:
        q = q.where(Message.received_at < hi)
    if f.text:
        for word in f.text.lower().split()[:8]:
            like = f"%{word}%"
            q = q.where(
                or_(func.lower(Message.subject).like(like), func.lower(Message.code).like(like))
            )
    today = datetime.now(VIETNAM).strftime("%Y/%m/%d")
    completed = exists().where(
        TimelineEvent.document_id == Message.document_id,
        TimelineEvent.agency_code == agency,
        TimelineEvent.status_code == "06",
    )
    if f.type_name:
        q = q.where(inbox.of_type(f.type_name))
    if f.state == "pending":
        q = q.where(Delivery.pending.is_(True))
    elif f.state == "acked":
        q = q.where(Delivery.acked_at.is_not(None))
    elif f.state == "overdue":
        q = q.where(and_(Message.due_date.is_not(None), Message.due_date < today, ~completed))
    elif f.state:
        q = q.where(latest.status_code == f.state)
    page = max(1, min(f.page, 10_000))
    q = q.order_by(Delivery.seq.desc()).limit(PAGE + 1).offset((page - 1) * PAGE)
    with hub.db.read() as session:
        rows = session.execute(q).all()
    items = [
        {
            "id": r.id,
            "document_id": r.document_id,
            "from": r.sender_code,
            "from_name": r.sender_name or "",
            "subject": r.subject,
            "code": r.code,
            "received_at": r.received_at,
            "due_date": r.due_date,
            "overdue": bool(r.due_date and r.due_date < today and r.status_code != "06"),
            "pending": r.pending,
            "acked_at": r.acked_at,
            "status_code": r.status_code,
            "status_at": r.status_at,
            "business": inbox.BUSINESS_NAMES.get(r.business_type, "new"),
        }
        for r in rows[:PAGE]
    ]
    return {"items": items, "page": page, "more": len(rows) > PAGE}


def sent(hub: Hub, principal: Principal, *, limit: int = 100, type_name: str = "") -> list[dict]:
    """Documents the agency sent, newest first, each with one line per recipient (the same
    rows as the national protocol's sent list: inbox.sent_states); of one type if named."""
    agency = _agency(principal)
    _check_type(type_name)
    rows = inbox.sent_states(hub, [agency], limit=limit, type_name=type_name)
    out: dict[str, dict] = {}
    for r in rows:
        doc = out.setdefault(
            r["id"],
            {
                "id": r["id"],
                "document_id": r["document_id"],
                "subject": r["subject"],
                "code": r["code"],
                "sent_at": r["sent_at"],
                "recipients": [],
            },
        )
        doc["recipients"].append(r)
    return list(out.values())


def agency_names(hub: Hub, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    with hub.db.read() as session:
        return dict(
            session.execute(select(Agency.code, Agency.name).where(Agency.code.in_(codes))).all()
        )


def document(hub: Hub, principal: Principal, message_id: str) -> dict:
    """A document as its sender or a recipient reads it: the package (fetched: the recipient's
    delivery shows it opened), the envelope, the files, the reports and the timeline."""
    from formats import edxml

    _agency(principal)
    raw, msg = inbox.fetch(hub, principal, message_id)
    parsed = edxml.parse(raw, max_bytes=hub.settings.max_body_bytes).package
    report = inbox.report(hub, principal, message_id)
    timeline = inbox.timeline(hub, principal, message_id)
    codes = [msg.sender_code, *[line["agency"] for line in timeline["recipients"]]]
    with hub.db.read() as session:
        record = session.get(Document, msg.document_id)
    return {
        "revoked": bool(record is not None and record.revoked),
        "message": msg,
        "package": parsed,
        "report": report,
        "timeline": timeline,
        "names": agency_names(hub, codes),
        "is_sender": msg.sender_code == principal.agency_code,
        "received_at": show_time(msg.received_at),
    }


def attachment(hub: Hub, principal: Principal, message_id: str, index: int):  # noqa: ANN201
    """One file of a document (1-based, in package order), for its sender and recipients."""
    from axis.domain import NotFound
    from formats import edxml

    _agency(principal)
    raw, _ = inbox.fetch(hub, principal, message_id)
    pkg = edxml.parse(raw, max_bytes=hub.settings.max_body_bytes).package
    atts = getattr(pkg, "attachments", [])
    if not 1 <= index <= len(atts):
        raise NotFound(f"no file {index} in message {message_id}", code="ATTACHMENT_NOT_FOUND")
    return atts[index - 1]
