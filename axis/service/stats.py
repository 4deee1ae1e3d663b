"""Reading the per-agency figures: totals, series, percentiles, the overdue list and the
detailed list of documents behind them. The API, the CLI, the dashboard and Prometheus all ask
here, so they cannot disagree.

A range is [from, to) in Vietnam time; `to` given as a date includes that day. Totals read whole
months where they can and days, hours and minutes only at the edges, so a year for every agency
is a few thousand rows whatever the traffic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from axis.adapters.metrics_tables import COUNTERS, HUB, MetricCode, MetricDocument, MetricLatency
from axis.adapters.metrics_tables import MetricPeriod as P
from axis.adapters.tables import Agency
from axis.domain import VIETNAM, Forbidden, NotFound, Principal, Rejected, show_time
from axis.service.context import Hub
from axis.service.metrics import bucket_value
from axis.service.periods import (
    GRAIN_NAMES,
    LABEL_LEN,
    NAME_OF,
    Piece,
    count_periods,
    decompose,
    floor,
    label_of,
    local,
    periods,
    piece_labels,
)
from formats.findings import Finding

SERIES_FIELDS = (
    "sent",
    "received",
    "accepted",
    "rejected",
    "acknowledged",
    "completed",
    "statuses",
    "revokes",
    "bytes_sent",
    "bytes_received",
)
DUE_FIELDS = ("due", "on_time", "late")
PERCENTILES = (50, 95, 99)
DOCUMENT_STATES = ("all", "open", "completed", "overdue", "on_time", "late")
DOCUMENT_TIMES = ("sent", "due", "acked", "completed")
CSV_COLUMNS = (
    "document_id",
    "code",
    "subject",
    "sender",
    "recipient",
    "sent_at",
    "acked_at",
    "ack_seconds",
    "statuses",
    "last_status",
    "last_status_at",
    "completed_at",
    "completion_seconds",
    "due_date",
    "deadline_state",
    "revoked",
    "size",
)


# --- ranges --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsRange:
    start: datetime  # naive Vietnam wall time, minute-aligned, inclusive
    end: datetime  # exclusive
    grain: str  # M d h m

    @property
    def granularity(self) -> str:
        return NAME_OF[self.grain]

    def to_dict(self) -> dict:
        return {
            "from": _show_wall(self.start),
            "to": _show_wall(self.end),
            "granularity": self.granularity,
        }

    def utc(self) -> tuple[datetime, datetime]:
        return self.start.replace(tzinfo=VIETNAM), self.end.replace(tzinfo=VIETNAM)


def _show_wall(wall: datetime) -> str:
    return wall.replace(tzinfo=VIETNAM).isoformat(timespec="minutes")


def _bad(code: str, path: str, message: str) -> Rejected:
    return Rejected(message, findings=[Finding.error(code, path, message)], code=code)


def _parse_when(value: str, path: str, *, is_end: bool) -> datetime:
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            wall = datetime.combine(day, datetime.min.time())
            return wall + timedelta(days=1) if is_end else wall
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(
            "STATS_DATE_INVALID",
            path,
            f"{value!r} is not a date (2026-11-01) or a time (2026-11-01T08:00, +07:00 default)",
        ) from None
    wall = local(parsed) if parsed.tzinfo else parsed
    if wall.second or wall.microsecond:
        raise _bad("STATS_DATE_INVALID", path, f"{value!r}: figures are kept per minute at best")
    return wall


def parse_range(
    hub: Hub, start: str | None, end: str | None, granularity: str | None = "day"
) -> StatsRange:
    """Check a range given by a client: clear 4xx for anything unbounded or backwards."""
    settings = hub.settings
    grain = GRAIN_NAMES.get((granularity or "day").strip().lower())
    if grain is None:
        raise _bad(
            "STATS_GRANULARITY_UNKNOWN",
            "granularity",
            f"granularity {granularity!r} is not one of {', '.join(GRAIN_NAMES)}",
        )
    today = datetime.now(VIETNAM).replace(tzinfo=None)
    stop = _parse_when(end, "to", is_end=True) if end else floor(today, "d") + timedelta(days=1)
    first = _parse_when(start, "from", is_end=False) if start else floor(stop - timedelta(1), "M")
    if stop <= first:
        raise _bad(
            "STATS_RANGE_REVERSED", "from", f"the range ends ({end}) before it starts ({start})"
        )
    if (stop - first) > timedelta(days=settings.stats_max_days):
        raise _bad(
            "STATS_RANGE_TOO_WIDE",
            "to",
            f"the range spans {(stop - first).days} days; at most {settings.stats_max_days}",
        )
    points = count_periods(first, stop, grain)
    if points > settings.stats_max_points:
        raise _bad(
            "STATS_TOO_MANY_POINTS",
            "granularity",
            f"{points} {NAME_OF[grain]}s in this range; at most {settings.stats_max_points} "
            "points per series: choose a coarser granularity or a shorter range",
        )
    return StatsRange(first, stop, grain)


# --- access --------------------------------------------------------------------------------


def _may_read(principal: Principal, code: str | None) -> None:
    if principal.is_operator:
        return
    if principal.role == "agency" and code == principal.agency_code:
        return
    if principal.role == "agency":
        raise Forbidden("an agency sees only its own figures", code="STATS_OTHER_AGENCY")
    raise Forbidden("figures need an operator or agency key", code="ROLE_NOT_ALLOWED")


def _known_agency(session: Session, code: str) -> Agency:
    agency = session.get(Agency, code) if code else None
    if agency is None:
        raise NotFound(f"no agency {code!r} in the directory", code="AGENCY_NOT_FOUND")
    return agency


# --- aggregate queries ---------------------------------------------------------------------


def _where(model, pieces: list[Piece]):  # noqa: ANN001, ANN202
    return or_(
        *(
            and_(model.grain == p.grain, model.period >= p.first, model.period < p.stop)
            for p in pieces
        )
    )


def _sums(
    session: Session,
    pieces: list[Piece],
    columns: tuple[str, ...],
    *,
    agency: str | None,
    by: str | None = None,
    bucket_len: int | None = None,
) -> list[tuple]:
    """Sums of `columns` over pieces, for one agency (HUB = the hub) or grouped by agency."""
    if not pieces:
        return []
    keys = []
    if by == "agency":
        keys.append(P.agency_code)
    if bucket_len:
        keys.append(func.substr(P.period, 1, bucket_len).label("bucket"))
    q = select(*keys, *(func.coalesce(func.sum(P.__table__.c[c]), 0) for c in columns))
    if agency is None:
        # Every agency: ranges of the key (grain, period, agency_code), rows side by side.
        q = q.where(_where(P, pieces), P.agency_code != HUB)
    else:
        # One agency: its rows by their whole key, so no planner scans other agencies' rows.
        q = q.where(
            P.agency_code == agency,
            or_(*(and_(P.grain == p.grain, P.period.in_(piece_labels(p))) for p in pieces)),
        )
    if keys:
        q = q.group_by(*keys)
    return session.execute(q).all()


def _due_end(rng: StatsRange) -> datetime:
    """Deadlines are midnights: those of days before today have passed."""
    today = floor(datetime.now(VIETNAM).replace(tzinfo=None), "d")
    return min(rng.end, today)


def _derive(totals: dict) -> dict:
    passed = totals.pop("due_passed", 0)
    on_time = totals.pop("on_time_passed", 0)
    late = totals.pop("late_passed", 0)
    totals["due_passed"] = passed
    totals["overdue"] = passed - on_time
    totals["overdue_open"] = passed - on_time - late
    totals["on_time_rate"] = round(on_time / passed, 4) if passed else None
    totals["acceptance_rate"] = (
        round(totals["accepted"] / (totals["accepted"] + totals["rejected"]), 4)
        if totals["accepted"] + totals["rejected"]
        else None
    )
    totals["ack_mean_s"] = _mean_s(totals.pop("ack_ms"), totals["acknowledged"])
    totals["completion_mean_s"] = _mean_s(totals.pop("done_ms"), totals["completed"])
    return totals


def _mean_s(total_ms: int, n: int) -> float | None:
    return round(total_ms / n / 1000, 3) if n else None


def _totals(session: Session, rng: StatsRange, agency: str | None, by: str | None = None):
    """Totals over the range: {agency: totals} when grouped, else one totals dict."""
    rows = _sums(session, decompose(rng.start, rng.end), COUNTERS, agency=agency, by=by)
    due_end = _due_end(rng)
    if due_end >= rng.end:  # every deadline in the range has passed: the same rows say it
        first = COUNTERS.index("due")
        keyed = 1 if by else 0
        due_rows = [(*r[:keyed], *r[keyed + first : keyed + first + len(DUE_FIELDS)]) for r in rows]
    elif due_end > rng.start:
        due_rows = _sums(session, decompose(rng.start, due_end), DUE_FIELDS, agency=agency, by=by)
    else:
        due_rows = []
    names = ("due_passed", "on_time_passed", "late_passed")
    if by is None:
        row = rows[0] if rows else (0,) * len(COUNTERS)
        due = due_rows[0] if due_rows else (0, 0, 0)
        return _derive(
            {
                **dict(zip(COUNTERS, map(int, row), strict=True)),
                **dict(zip(names, map(int, due), strict=True)),
            }
        )
    out: dict[str, dict] = {}
    for code, *values in rows:
        out[code] = {
            **dict(zip(COUNTERS, map(int, values), strict=True)),
            **dict.fromkeys(names, 0),
        }
    for code, *values in due_rows:
        out.setdefault(code, {**dict.fromkeys(COUNTERS, 0)}).update(
            zip(names, map(int, values), strict=True)
        )
    return {code: _derive(t) for code, t in out.items()}


def _named(names: tuple[str, ...], values) -> dict[str, int]:  # noqa: ANN001
    return {n: int(v or 0) for n, v in zip(names, values, strict=True)}


def _series(session: Session, rng: StatsRange, agency: str) -> list[dict]:
    fields = SERIES_FIELDS + DUE_FIELDS
    rows = _sums(
        session,
        decompose(rng.start, rng.end, top=rng.grain),
        fields,
        agency=agency,
        bucket_len=LABEL_LEN[rng.grain],
    )
    found = {bucket: _named(fields, values) for bucket, *values in rows}
    zero = dict.fromkeys(fields, 0)
    return [{"period": p, **found.get(p, zero)} for p in periods(rng.start, rng.end, rng.grain)]


def _codes(session: Session, rng: StatsRange, agency: str) -> dict[str, dict[str, int]]:
    q = (
        select(MetricCode.kind, MetricCode.code, func.sum(MetricCode.n))
        .where(_where(MetricCode, decompose(rng.start, rng.end)), MetricCode.agency_code == agency)
        .group_by(MetricCode.kind, MetricCode.code)
    )
    out: dict[str, dict[str, int]] = {"R": {}, "S": {}, "W": {}}
    for kind, code, n in session.execute(q):
        if n:
            out[kind][code] = int(n)
    return {
        "rejections": dict(sorted(out["R"].items(), key=lambda kv: (-kv[1], kv[0]))),
        "statuses": dict(sorted(out["S"].items())),
        "warnings": dict(sorted(out["W"].items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _percentiles(session: Session, rng: StatsRange, agency: str) -> dict[str, dict]:
    q = (
        select(MetricLatency.kind, MetricLatency.bucket, func.sum(MetricLatency.n))
        .where(
            _where(MetricLatency, decompose(rng.start, rng.end)),
            MetricLatency.agency_code == agency,
        )
        .group_by(MetricLatency.kind, MetricLatency.bucket)
    )
    hist: dict[str, dict[int, int]] = {"A": {}, "C": {}}
    for kind, bucket, n in session.execute(q):
        hist[kind][int(bucket)] = int(n)
    return {"ack": percentiles_of(hist["A"]), "completion": percentiles_of(hist["C"])}


def percentiles_of(hist: dict[int, int]) -> dict:
    """p50/p95/p99 in seconds from a latency histogram (each within ±4.4%); nearest rank."""
    total = sum(hist.values())
    out: dict = {"count": total}
    for p in PERCENTILES:
        if not total:
            out[f"p{p}_s"] = None
            continue
        rank, seen = max(1, math.ceil(p / 100 * total)), 0
        for bucket in sorted(hist):
            seen += hist[bucket]
            if seen >= rank:
                out[f"p{p}_s"] = round(bucket_value(bucket) / 1000, 3)
                break
    return out


# --- use cases -----------------------------------------------------------------------------


def agency_stats(hub: Hub, principal: Principal, code: str | None, rng: StatsRange) -> dict:
    """Totals, series, latency percentiles and code breakdowns of one agency (None: the hub)."""
    if code is None:
        _may_read(principal, None)
    else:
        code = code.strip().upper()
        _may_read(principal, code)
    key = HUB if code is None else code
    with hub.db.read() as session:
        agency = _known_agency(session, code) if code is not None else None
        totals = _totals(session, rng, key)
        totals["latency"] = _percentiles(session, rng, key)
        result = {
            **rng.to_dict(),
            "agency": {"code": agency.code, "name": agency.name} if agency else None,
            "totals": totals,
            **_codes(session, rng, key),
            "series": _series(session, rng, key),
        }
    return result


def hub_stats(hub: Hub, principal: Principal, rng: StatsRange, *, limit: int = 1000) -> dict:
    """The hub and every agency with activity in the range (an agency key: its own figures)."""
    if not principal.is_operator:
        _may_read(principal, principal.agency_code)
        own = agency_stats(hub, principal, principal.agency_code, rng)
        own["agencies"] = [{**own["agency"], **_short(own["totals"])}]
        return own
    result = agency_stats(hub, principal, None, rng)
    with hub.db.read() as session:
        per_agency = _totals(session, rng, None, by="agency")
        codes = sorted(per_agency, key=lambda c: (-per_agency[c]["sent"], c))
        names = {
            code: name
            for code, name in session.execute(
                select(Agency.code, Agency.name).where(Agency.code.in_(codes[:limit]))
            )
        }
    result["agencies"] = [
        {"code": c, "name": names.get(c, ""), **_short(per_agency[c])} for c in codes[:limit]
    ]
    result["agencies_total"] = len(codes)
    result["systems"] = [
        {"system": sid, **figures} for sid, figures in sorted(per_system(hub, per_agency).items())
    ]
    result["truncated"] = len(codes) > limit
    if hub.settings.upstream_enabled:  # federation: the figures of the upstream hub's queue
        from axis.service import federation

        result["upstreams"] = [federation.figures(hub)]
    return result


def _short(totals: dict) -> dict:
    return {k: v for k, v in totals.items() if k != "latency"}


def overdue_list(
    hub: Hub, principal: Principal, agency: str | None, *, limit: int = 50
) -> list[dict]:
    """Documents whose deadline passed with no 06 yet, oldest deadline first."""
    _may_read(principal, agency)
    now = datetime.now(VIETNAM)
    q = (
        select(MetricDocument)
        .where(
            MetricDocument.due_at <= now,
            MetricDocument.completed_at.is_(None),
            MetricDocument.revoked.is_(False),
        )
        .order_by(MetricDocument.due_at, MetricDocument.document_id)
        .limit(limit)
    )
    if agency:
        q = q.where(MetricDocument.recipient_code == agency)
    with hub.db.read() as session:
        return [_document_row(f, now) for f in session.scalars(q)]


def all_time_totals(hub: Hub) -> dict[str, dict[str, int]]:
    """Every counter since the beginning per agency (HUB too), from month rows: for Prometheus."""
    cols = [P.__table__.c[c] for c in COUNTERS]
    q = (
        select(P.agency_code, *(func.sum(c) for c in cols))
        .where(P.grain == "M")
        .group_by(P.agency_code)
    )
    with hub.db.read() as session:
        rows = session.execute(q).all()
        codes = session.execute(
            select(MetricCode.kind, MetricCode.code, func.sum(MetricCode.n))
            .where(MetricCode.grain == "M", MetricCode.agency_code == HUB)
            .group_by(MetricCode.kind, MetricCode.code)
        ).all()
    out = {
        a: dict(zip(COUNTERS, (int(v or 0) for v in values), strict=True)) for a, *values in rows
    }
    out.setdefault(HUB, dict.fromkeys(COUNTERS, 0))
    out[HUB]["_codes"] = {(k, c): int(n) for k, c, n in codes}
    return out


def all_time_latency(hub: Hub) -> dict[str, tuple[dict[int, int], int]]:
    """The hub's latency histograms since the beginning, with their sums in ms: for Prometheus."""
    with hub.db.read() as session:
        rows = session.execute(
            select(MetricLatency.kind, MetricLatency.bucket, func.sum(MetricLatency.n))
            .where(MetricLatency.grain == "M", MetricLatency.agency_code == HUB)
            .group_by(MetricLatency.kind, MetricLatency.bucket)
        ).all()
        ack_ms, done_ms = session.execute(
            select(
                func.coalesce(func.sum(P.ack_ms), 0), func.coalesce(func.sum(P.done_ms), 0)
            ).where(P.grain == "M", P.agency_code == HUB)
        ).one()
    out: dict[str, tuple[dict[int, int], int]] = {"A": ({}, int(ack_ms)), "C": ({}, int(done_ms))}
    for kind, bucket, n in rows:
        out[kind][0][int(bucket)] = int(n)
    return out


# --- the detailed list ---------------------------------------------------------------------


def _deadline_state(f: MetricDocument, now: datetime) -> str:
    if f.due_at is None:
        return ""
    if f.completed_at is not None:
        return "on_time" if f.completed_at < f.due_at else "late"
    if f.revoked:
        return "revoked"
    return "overdue" if f.due_at <= now else "pending"


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return round((later - earlier).total_seconds(), 3) if later else None


def _document_row(f: MetricDocument, now: datetime) -> dict:
    return {
        "document_id": f.document_id,
        "code": f.code,
        "subject": f.subject,
        "sender": f.sender_code,
        "recipient": f.recipient_code,
        "sent_at": show_time(f.sent_at),
        "acked_at": show_time(f.acked_at),
        "ack_seconds": _seconds(f.acked_at, f.sent_at),
        "statuses": f.statuses,
        "last_status": f.last_status,
        "last_status_at": show_time(f.last_status_at),
        "completed_at": show_time(f.completed_at),
        "completion_seconds": _seconds(f.completed_at, f.sent_at),
        "due_date": f.due_date,
        "deadline_state": _deadline_state(f, now),
        "revoked": bool(f.revoked),
        "size": f.size,
    }


def cells(row: dict) -> list:
    """A row of the detailed list as spreadsheet cells, in CSV_COLUMNS order."""
    return [_cell(row[c]) for c in CSV_COLUMNS]


def _cell(value):  # noqa: ANN001, ANN202
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and value[:1] in _FORMULA_STARTS:
        # What a sender wrote (a subject "=HYPERLINK(...)") stays text in a spreadsheet.
        return "'" + value
    return value


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def check_document_query(
    hub: Hub, principal: Principal, agency: str | None, state: str, by: str
) -> str | None:
    """Who may list what; returns the agency the list is limited to (None: all, operators)."""
    if state not in DOCUMENT_STATES:
        raise _bad("STATS_STATE_UNKNOWN", "state", f"state must be one of {DOCUMENT_STATES}")
    if by not in DOCUMENT_TIMES:
        raise _bad("STATS_TIME_UNKNOWN", "by", f"by must be one of {DOCUMENT_TIMES}")
    if agency:
        agency = agency.strip().upper()
    elif not principal.is_operator:
        agency = principal.agency_code
    _may_read(principal, agency)
    if agency:
        with hub.db.read() as session:
            _known_agency(session, agency)
    return agency


def _document_query(agency: str | None, rng: StatsRange, state: str, by: str, now: datetime):  # noqa: ANN202
    start, end = rng.utc()
    f = MetricDocument
    column = {"sent": f.sent_at, "due": f.due_at, "acked": f.acked_at, "completed": f.completed_at}
    if by == "due":
        # A deadline is the midnight ending the DueDate: 'due in November' ends on 1 December.
        q = select(f).where(f.due_at > start, f.due_at <= end)
    else:
        q = select(f).where(column[by] >= start, column[by] < end)
    if agency:
        q = q.where(or_(f.sender_code == agency, f.recipient_code == agency))
    passed_late = and_(
        f.due_at <= now,
        or_(
            and_(f.completed_at.is_(None), f.revoked.is_(False)),
            f.completed_at >= f.due_at,
        ),
    )
    q = q.where(
        {
            "all": True,
            "open": f.completed_at.is_(None),
            "completed": f.completed_at.is_not(None),
            "overdue": passed_late,
            "on_time": f.completed_at < f.due_at,
            "late": f.completed_at >= f.due_at,
        }[state]
    )
    return q.order_by(column[by], f.document_id, f.recipient_code)


def count_documents(
    hub: Hub, agency: str | None, rng: StatsRange, state: str = "all", by: str = "sent"
) -> int:
    q = _document_query(agency, rng, state, by, datetime.now(VIETNAM))
    with hub.db.read() as session:
        return session.scalar(select(func.count()).select_from(q.order_by(None).subquery()))


def iter_documents(
    hub: Hub, agency: str | None, rng: StatsRange, state: str = "all", by: str = "sent"
) -> Iterator[dict]:
    """Every document-recipient pair behind the figures, streamed in pages of 1000 rows."""
    now = datetime.now(VIETNAM)
    q = _document_query(agency, rng, state, by, now).execution_options(yield_per=1000)
    with hub.db.read() as session:
        for f in session.scalars(q):
            yield _document_row(f, now)


def label_now() -> str:
    return label_of(datetime.now(VIETNAM).replace(tzinfo=None), "m")


def per_system(hub: Hub, per_agency: dict[str, dict]) -> dict[str, dict[str, int]]:
    """Connected systems' figures (VXP): the integer totals of the agencies each hosts."""
    from axis.service.systems import hosted_by

    out: dict[str, dict[str, int]] = {}
    for code, system_id in hosted_by(hub.db).items():
        figures = out.setdefault(system_id, {})
        for key, value in per_agency.get(code, {}).items():
            if isinstance(value, int) and not isinstance(value, bool):
                figures[key] = figures.get(key, 0) + value
    return out
