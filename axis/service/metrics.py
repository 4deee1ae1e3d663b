"""Recording the per-agency figures, inside the unit of work that changes the messages.

Event handlers (subscribed on `hub.events` by `install`) add increments to a buffer kept in the
session; just before that session commits, the buffer becomes one upsert statement per table
(`INSERT … ON CONFLICT DO UPDATE`, rows in key order so concurrent writers on PostgreSQL lock
them in the same order and cannot deadlock). The figures thus commit or roll back together with
the message they count, survive restarts and never disagree with the data.

Who a figure is counted for: packages sent, accepted, rejected and bytes to the sending agency;
documents received to each recipient; acknowledgements, statuses, completion (first 06) and
their latencies to the agency that acknowledged or sent the status, in the period it happened;
documents due, on time and late to the recipient, in the period of the DueDate's deadline.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, event, func, insert, select, update
from sqlalchemy.orm import Session

from axis.adapters.metrics_tables import (
    COUNTERS,
    HUB,
    MetricCode,
    MetricDocument,
    MetricLatency,
    MetricPeriod,
)
from axis.adapters.tables import Document
from axis.service.events import Acknowledged, MessageAccepted, MessageRejected, StatusRecorded
from axis.service.periods import due_deadline, labels

COMPLETED = "06"
REVOKE = 1
NEW = 0
BUCKET_BASE = 2 ** (1 / 8)
_LOG_BASE = math.log(BUCKET_BASE)
_KEY = "axis_metrics"


def bucket_of(ms: float) -> int:
    return 0 if ms < BUCKET_BASE else int(math.log(ms) / _LOG_BASE)


def bucket_value(bucket: int) -> float:
    """The geometric middle of a bucket, in ms: within ±4.4% of any time in it."""
    return BUCKET_BASE ** (bucket + 0.5)


class Pending:
    """Increments of one unit of work, merged by key before they are written."""

    def __init__(self) -> None:
        self.periods: dict[tuple[str, str, str], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(COUNTERS, 0)
        )
        self.codes: dict[tuple[str, str, str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str, str, str, int], int] = defaultdict(int)
        self.facts: list[dict] = []  # new rows of metric_documents
        # Written at flush, each list as one statement: a batch of acks costs no query each.
        self.acks: list[tuple[str, str, str, datetime, datetime]] = []  # (doc, recipient, msg…)
        self.statuses: list[dict] = []  # _STATUS parameters of statuses that cannot complete
        self._labels: dict[datetime, tuple[tuple[str, str], ...]] = {}

    def __copy__(self) -> Pending:
        """A copy to go back to if a unit of work fails (see axis.adapters.database)."""
        other = Pending()
        for key, row in self.periods.items():
            other.periods[key] = dict(row)
        other.codes.update(self.codes)
        other.latency.update(self.latency)
        other.facts = list(self.facts)
        other.acks = list(self.acks)
        other.statuses = list(self.statuses)
        other._labels = self._labels
        return other

    def labels(self, at: datetime) -> tuple[tuple[str, str], ...]:
        found = self._labels.get(at)
        if found is None:  # the events of one unit of work mostly share one instant
            found = self._labels[at] = labels(at)
        return found

    def add(self, agencies: tuple[str, ...], at: datetime, **incs: int) -> None:
        for grain, label in self.labels(at):
            for agency in agencies:
                row = self.periods[(agency, grain, label)]
                for name, n in incs.items():
                    row[name] += n

    def code(self, agencies: tuple[str, ...], at: datetime, kind: str, code: str) -> None:
        for grain, label in self.labels(at):
            for agency in agencies:
                self.codes[(agency, grain, label, kind, code[:64])] += 1

    def latency_ms(self, agencies: tuple[str, ...], at: datetime, kind: str, ms: int) -> None:
        b = bucket_of(ms)
        for grain, label in self.labels(at):
            for agency in agencies:
                self.latency[(agency, grain, label, kind, b)] += 1


def pending(session: Session) -> Pending:
    buf = session.info.get(_KEY)
    if buf is None:
        buf = session.info[_KEY] = Pending()
    return buf


def _ms(later: datetime, earlier: datetime) -> int:
    return max(0, round((later - earlier).total_seconds() * 1000))


# --- event handlers ------------------------------------------------------------------------


def on_accepted(session: Session, ev: MessageAccepted) -> None:
    msg, at = ev.message, ev.message.received_at
    buf = pending(session)
    sender = (msg.sender_code, HUB)
    buf.add(sender, at, accepted=1, bytes_sent=msg.size)
    # Rules an accepted package broke without being refused: which agencies need help with what.
    for code in dict.fromkeys(f["code"] for f in msg.findings or () if f["severity"] == "warning"):
        buf.code(sender, at, "W", code)
    if msg.kind != "edoc":
        return  # a status package: on_status counts its code
    if msg.business_type == REVOKE:
        buf.add(sender, at, revokes=1)
        _revoke_facts(session, buf, msg)
        return
    if msg.business_type != NEW and session.scalar(
        select(MetricDocument.document_id).where(MetricDocument.document_id == msg.document_id)
    ):
        return  # an update of a document already counted: its figures stay those of the first
    # A document: sent, received, and one row per recipient in the list behind the figures, so
    # every document figure (sent, received, acknowledged, completed, due) has its rows there.
    buf.add(sender, at, sent=1)
    deadline = due_deadline(msg.due_date)
    for d in ev.deliveries:
        buf.add((d.recipient_code, HUB), at, received=1, bytes_received=msg.size)
        buf.facts.append(
            {
                "document_id": msg.document_id,
                "recipient_code": d.recipient_code,
                "message_id": msg.id,
                "sender_code": msg.sender_code,
                "code": msg.code or "",
                "subject": msg.subject or "",
                "size": msg.size,
                "sent_at": at,
                "due_date": msg.due_date,
                "due_at": deadline,
                "acked_at": None,
                "last_status": None,
                "last_status_at": None,
                "completed_at": None,
                "revoked": False,
                "statuses": "",
                "n_statuses": 0,
            }
        )
        if deadline is not None:
            buf.add((d.recipient_code, HUB), _due_instant(deadline), due=1)


def _due_instant(deadline: datetime) -> datetime:
    """Due figures sit in the last minute of the DueDate day, so 'due on 22/11' is in its day."""
    return deadline - timedelta(minutes=1)


def _revoke_facts(session: Session, buf: Pending, msg) -> None:  # noqa: ANN001
    # The revoked document is the one the service just marked revoked in this unit of work (the
    # event does not name it); its facts stop counting as due unless already completed.
    revoked_ids = {
        obj.document_id
        for obj in list(session.identity_map.values())
        if isinstance(obj, Document) and obj.revoked and obj.sender_code == msg.sender_code
    }
    revoked_ids.add(msg.document_id)
    facts = session.scalars(
        select(MetricDocument).where(
            MetricDocument.document_id.in_(revoked_ids), MetricDocument.revoked.is_(False)
        )
    ).all()
    for fact in facts:
        fact.revoked = True
        if fact.due_at is not None and fact.completed_at is None:
            buf.add((fact.recipient_code, HUB), _due_instant(fact.due_at), due=-1)


def on_rejected(session: Session, ev: MessageRejected) -> None:
    if not ev.sender_code:
        return  # not an agency's package (an operator key posting): only Prometheus sees it
    buf = pending(session)
    who = (ev.sender_code, HUB)
    buf.add(who, ev.at, rejected=1)
    for code in dict.fromkeys(ev.finding_codes):
        buf.code(who, ev.at, "R", code)


_F = MetricDocument.__table__.c
_FACT = and_(_F.document_id == bindparam("d"), _F.recipient_code == bindparam("r"))
# Built once: executing a ready statement skips building and keying it on every event.
_ACK = (
    update(MetricDocument.__table__)
    .where(_FACT, _F.message_id == bindparam("m"), _F.acked_at.is_(None))
    .values(acked_at=bindparam("at"))
)
_CODE = bindparam("status_code")
_DONE = bindparam("done", type_=_F.completed_at.type)
# One statement per status: the status appended to the row (the list shows them in order), the
# first 06 of a document not revoked sets completed_at, and the row's times come back.
_APPEND_STATUS = (
    update(MetricDocument.__table__)
    .where(_FACT)
    .values(
        last_status=_CODE,
        last_status_at=bindparam("at"),
        n_statuses=_F.n_statuses + 1,
        statuses=case(
            (func.length(_F.statuses) >= 190, _F.statuses),
            (_F.statuses == "", _CODE),
            else_=_F.statuses + "," + _CODE,
        ),
        completed_at=case(
            (and_(_F.completed_at.is_(None), _F.revoked.is_(False)), _DONE),
            else_=_F.completed_at,
        ),
    )
)
_STATUS = _APPEND_STATUS.returning(_F.sent_at, _F.due_at, _F.completed_at)


def on_acknowledged(session: Session, ev: Acknowledged) -> None:
    msg = ev.message
    if msg.kind != "edoc":
        return
    pending(session).acks.append(
        (msg.document_id, ev.delivery.recipient_code, msg.id, ev.at, msg.received_at)
    )


def _write_acks(session: Session, buf: Pending) -> None:
    """The facts of the acknowledged documents get their acked_at, and each first
    acknowledgement of a counted document is counted (not a revoke or update package, nor a
    document from before the figures: those have no fact with that message id)."""
    docs = {a[0] for a in buf.acks}
    recipients = {a[1] for a in buf.acks}
    open_facts = set(
        session.connection().execute(
            select(_F.document_id, _F.recipient_code, _F.message_id).where(
                _F.document_id.in_(docs), _F.recipient_code.in_(recipients), _F.acked_at.is_(None)
            )
        )
    )
    params = []
    for doc, recipient, message_id, at, sent_at in buf.acks:
        if (doc, recipient, message_id) not in open_facts:
            continue
        open_facts.discard((doc, recipient, message_id))
        params.append({"d": doc, "r": recipient, "m": message_id, "at": at})
        who = (recipient, HUB)
        ms = _ms(at, sent_at)  # the fact's own message: sent_at is its received_at
        buf.add(who, at, acknowledged=1, ack_ms=ms)
        buf.latency_ms(who, at, "A", ms)
    if params:
        session.connection().execute(_ACK, params)
    buf.acks.clear()


def on_status(session: Session, ev: StatusRecorded) -> None:
    buf = pending(session)
    who = (ev.agency_code, HUB)
    buf.add(who, ev.at, statuses=1)
    buf.code(who, ev.at, "S", ev.code)
    if ev.document_message is None:
        return
    done = ev.at if ev.code == COMPLETED else None
    params = {
        "d": ev.document_message.document_id,
        "r": ev.agency_code,
        "status_code": ev.code,
        "at": ev.at,
        "done": done,
    }
    if done is None:  # it cannot complete: the row is only appended to, at flush
        buf.statuses.append(params)
        return
    _write_statuses(session, buf)  # the row's statuses stay in the order they came
    fact = session.connection().execute(_STATUS, params).one_or_none()
    if fact is None:
        return  # a recall (13) from the sender, or a document from before the figures
    # Only the first 06 completes (and a revoked document no longer counts).
    completes = done is not None and fact.completed_at == done
    if not completes:
        return
    ms = _ms(ev.at, fact.sent_at)
    buf.add(who, ev.at, completed=1, done_ms=ms)
    buf.latency_ms(who, ev.at, "C", ms)
    if fact.due_at is not None:
        on_time = ev.at < fact.due_at
        buf.add(who, _due_instant(fact.due_at), on_time=int(on_time), late=int(not on_time))


# --- writing the buffer --------------------------------------------------------------------


_SQL: dict[tuple[str, str], str] = {}


def _upsert(session: Session, table, keys: list[str], rows: list[tuple], add) -> None:  # noqa: ANN001
    """Add `rows` (tuples in table column order) to their counters with one DBAPI executemany
    of a prepared `INSERT … ON CONFLICT DO UPDATE` (the same text on SQLite and PostgreSQL, only
    the placeholder differs): per row it costs the database's work and little else."""
    conn = session.connection()
    dialect = conn.dialect
    sql = _SQL.get((dialect.name, table.name))
    if sql is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        cols = [c.name for c in table.columns]
        sets = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in add)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(cols)}) "
            f"VALUES ({', '.join([mark] * len(cols))}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
        )
        _SQL[(dialect.name, table.name)] = sql
    conn.exec_driver_sql(sql, rows)


def _write_statuses(session: Session, buf: Pending) -> None:
    if buf.statuses:
        session.connection().execute(_APPEND_STATUS, buf.statuses)
        buf.statuses.clear()


def flush(session: Session) -> None:
    buf: Pending | None = session.info.pop(_KEY, None)
    if buf is None:
        return
    if buf.facts:
        session.connection().execute(insert(MetricDocument.__table__), buf.facts)
    if buf.acks:
        _write_acks(session, buf)
    _write_statuses(session, buf)
    if buf.periods:
        # Columns: agency_code, grain, period, then COUNTERS in order (checked at import).
        rows = [
            (a, g, p, *[incs[c] for c in COUNTERS])
            for (a, g, p), incs in sorted(buf.periods.items())
        ]
        _upsert(session, MetricPeriod.__table__, ["agency_code", "grain", "period"], rows, COUNTERS)
    if buf.codes:
        rows = [(*key, n) for key, n in sorted(buf.codes.items())]
        keys = ["agency_code", "grain", "period", "kind", "code"]
        _upsert(session, MetricCode.__table__, keys, rows, ["n"])
    if buf.latency:
        rows = [(*key, n) for key, n in sorted(buf.latency.items())]
        keys = ["agency_code", "grain", "period", "kind", "bucket"]
        _upsert(session, MetricLatency.__table__, keys, rows, ["n"])


assert [c.name for c in MetricPeriod.__table__.columns] == [
    "agency_code",
    "grain",
    "period",
    *COUNTERS,
]


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    # A SAVEPOINT's commit too calls this: the units of an SQLite group commit (one savepoint
    # each) leave their figures in the buffer, and the group's commit writes them merged.
    if _KEY in session.info and not session.in_nested_transaction():
        flush(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


def install(hub) -> None:  # noqa: ANN001
    """Subscribe the recording handlers on the hub's event bus (unless metrics are off)."""
    if not getattr(hub.settings, "metrics_enabled", True):
        return
    hub.events.subscribe(MessageAccepted, on_accepted)
    hub.events.subscribe(MessageRejected, on_rejected)
    hub.events.subscribe(Acknowledged, on_acknowledged)
    hub.events.subscribe(StatusRecorded, on_status)
