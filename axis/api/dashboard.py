"""The operators' dashboard: server-rendered HTML over the same queries as the stats API.

Signing in from a browser: the API wants `Authorization: Bearer <key>`, which a browser does not
send by itself. The sign-in form (or `/dashboard?key=…` once, for a bookmark) checks the key
and puts it in an HttpOnly, SameSite=Strict cookie scoped to /dashboard, then redirects to a URL
without the key so it stays out of history and access logs. Scripts on the page cannot read the
cookie, and other sites cannot make the browser send it. Operator keys see every agency; an
agency key sees its own figures. `/dashboard/logout` forgets the key.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from axis.api.stats import _csv
from axis.domain import VIETNAM, HubError, Principal, Unauthorized
from axis.service import keys, stats
from axis.service.context import Hub

router = APIRouter(tags=["dashboard"], include_in_schema=False)
COOKIE = "axis_dashboard"
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
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


def _number(value) -> str:  # noqa: ANN001
    if value is None:
        return "—"
    if isinstance(value, float) and value <= 1:
        return f"{value * 100:.1f}%".replace(".", ",")
    return f"{value:,}".replace(",", ".")  # Vietnamese groups thousands with dots


TEMPLATES.filters["vn"] = _number


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def _principal(request: Request, raw: str | None) -> Principal:
    hub: Hub = request.app.state.hub
    return await run_in_threadpool(keys.authenticate, hub.db, raw)


def _login_page(message: str = "", status: int = 401) -> HTMLResponse:
    html = TEMPLATES.get_template("login.html").render(message=message)
    return HTMLResponse(html, status_code=status)


@router.post("/dashboard/login")
async def login(request: Request) -> Response:
    # A urlencoded form of one short field: parsed here rather than pulling in python-multipart.
    body = await request.body()
    if len(body) > 4096:
        return _login_page("the form is too large", status=413)
    key = (parse_qs(body.decode("utf-8", "replace")).get("key") or [""])[0].strip()
    try:
        await _principal(request, key)
    except Unauthorized as exc:
        return _login_page(exc.message)
    return _signed_in(request, key, "/dashboard")


def _signed_in(request: Request, key: str, to: str) -> Response:
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        COOKIE,
        key,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/dashboard",
        max_age=8 * 3600,
    )
    return response


@router.get("/dashboard/logout")
async def logout() -> Response:
    response = RedirectResponse("/dashboard", status_code=303)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(request: Request) -> Response:
    params = dict(request.query_params)
    if "key" in params:
        key = params.pop("key").strip()
        try:
            await _principal(request, key)
        except Unauthorized as exc:
            return _login_page(exc.message)
        return _signed_in(request, key, "/dashboard" + (f"?{urlencode(params)}" if params else ""))
    raw = request.cookies.get(COOKIE)
    if not raw:
        return _login_page()
    try:
        principal = await _principal(request, raw)
    except Unauthorized as exc:
        return _login_page(exc.message)
    hub: Hub = request.app.state.hub
    try:
        page = await run_in_threadpool(_page, hub, principal, params)
    except HubError as exc:
        return HTMLResponse(
            TEMPLATES.get_template("error.html").render(error=exc), status_code=exc.status
        )
    return HTMLResponse(TEMPLATES.get_template("dashboard.html").render(**page))


@router.get("/dashboard/documents.csv")
async def documents_csv(request: Request) -> Response:
    """The detailed list behind the page, with the cookie instead of a Bearer header."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return _login_page()
    principal = await _principal(request, raw)
    hub: Hub = request.app.state.hub
    p = request.query_params
    rng = stats.parse_range(hub, p.get("from"), p.get("to"), "month")
    agency = await run_in_threadpool(
        stats.check_document_query,
        hub,
        principal,
        p.get("agency"),
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
        agency = principal.agency_code
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


COLORS = {"sent": "#1f6feb", "received": "#d97706", "completed": "#15803d"}


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
