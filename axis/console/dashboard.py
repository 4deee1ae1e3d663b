"""The statistics page (operators: the hub and any agency; clerks and leaders: their agency),
over the same queries as the stats API, behind a console session."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from axis.api.stats import _csv
from axis.console.web import ConsoleRoute, current, hub_of, render
from axis.domain import VIETNAM, Principal
from axis.service import stats, users
from axis.service.context import Hub

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[users.SessionView, Depends(current)]
FIGURES = (
    ("sent", "Văn bản đã gửi"),
    ("received", "Văn bản đã nhận"),
    ("accepted", "Gói tin được chấp nhận"),
    ("rejected", "Gói tin bị từ chối"),
    ("acknowledged", "Đã xác nhận nhận"),
    ("completed", "Đã hoàn thành (06)"),
    ("overdue", "Quá hạn"),
    ("on_time_rate", "Tỷ lệ đúng hạn"),
)


@router.get("/dashboard")
async def dashboard(request: Request, me: Session) -> Response:
    params = dict(request.query_params)
    page = await run_in_threadpool(_page, hub_of(request), me.user.principal, params)
    return render(request, "dashboard.html", **page)


@router.get("/dashboard/documents.csv")
async def documents_csv(request: Request, me: Session) -> Response:
    """The detailed list behind the page."""
    hub = hub_of(request)
    principal = me.user.principal
    p = request.query_params
    rng = stats.parse_range(hub, p.get("from"), p.get("to"), "month")
    agency = await run_in_threadpool(
        stats.check_document_query,
        hub,
        principal,
        p.get("agency") if principal.is_operator else principal.agency_code,
        p.get("state", "all"),
        p.get("by", "sent"),
    )
    rows = stats.iter_documents(hub, agency, rng, p.get("state", "all"), p.get("by", "sent"))
    return StreamingResponse(
        _csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="axis-documents.csv"'},
    )


def _page(hub: Hub, principal: Principal, params: dict) -> dict:
    rng = stats.parse_range(hub, params.get("from"), params.get("to"), params.get("granularity"))
    agency = params.get("agency") or None
    if not principal.is_operator:
        agency = principal.agency_code  # a clerk or leader: its own agency, whatever was asked
    if agency:
        data = stats.agency_stats(hub, principal, agency, rng)
        listing: list[dict] = []
    else:
        data = stats.hub_stats(hub, principal, rng, limit=1000)
        listing = data["agencies"]
    totals = data["totals"]
    top_senders = sorted((a for a in listing if a["sent"]), key=lambda a: (-a["sent"], a["code"]))[
        :10
    ]
    top_receivers = sorted(
        (a for a in listing if a["received"]), key=lambda a: (-a["received"], a["code"])
    )[:10]
    on_time = sorted(
        (a for a in listing if a["due_passed"]),
        key=lambda a: (a["on_time_rate"], a["code"]),
    )
    export = {"from": params.get("from") or "", "to": params.get("to") or ""}
    if agency:
        export["agency"] = agency
    return {
        "range": rng.to_dict(),
        "form": {
            "from": params.get("from") or rng.start.strftime("%Y-%m-%d"),
            "to": params.get("to") or "",
            "granularity": rng.granularity,
            "agency": agency or "",
        },
        "agency": data.get("agency"),
        "operator": principal.is_operator,
        "figures": [(name, label, totals.get(name)) for name, label in FIGURES],
        "totals": totals,
        "latency": totals["latency"],
        "chart": _chart(data["series"], ("sent", "received", "completed")),
        "series": data["series"],
        "rejections": list(data["rejections"].items())[:20],
        "statuses": data["statuses"],
        "top_senders": top_senders,
        "top_receivers": top_receivers,
        "on_time": on_time[:20],
        "overdue": stats.overdue_list(hub, principal, agency, limit=50),
        "export_query": urlencode({k: v for k, v in export.items() if v}),
        "generated": datetime.now(VIETNAM).strftime("%d/%m/%Y %H:%M"),
    }


COLORS = {"sent": "#1f6feb", "received": "#b45309", "completed": "#15803d"}


def _chart(series: list[dict], fields: tuple[str, ...], width: int = 860, height: int = 220):  # noqa: ANN202
    """Polylines of an inline SVG line chart: no script, no build step."""
    n = len(series)
    top = max([1, *(row[f] for row in series for f in fields)])
    left, bottom, inner_w, inner_h = 48, height - 28, width - 60, height - 48

    def x(i: int) -> float:
        return left + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)

    def y(v: int) -> float:
        return bottom - inner_h * v / top

    lines = [
        {
            "field": f,
            "color": COLORS[f],
            "points": " ".join(f"{x(i):.1f},{y(row[f]):.1f}" for i, row in enumerate(series)),
        }
        for f in fields
    ]
    step = max(1, n // 8)
    ticks = [{"x": round(x(i), 1), "label": series[i]["period"]} for i in range(0, n, step)]
    return {
        "width": width,
        "height": height,
        "lines": lines,
        "ticks": ticks,
        "top": top,
        "y_top": round(y(top), 1),
        "bottom": bottom,
        "left": left,
        "right": left + inner_w,
    }
