"""Operators: agencies and their keys, connected systems, people, webhooks, dead letters,
the trust list, the upstream hub and the push queue. Each action is the service call the
CLI and the admin API make."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from axis.console.web import ConsoleRoute, current, hub_of, need, read_form, redirect, render
from axis.domain import Rejected
from axis.service import agencies, federation, push, systems, trust, users

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False, prefix="/admin")
Session = Annotated[users.SessionView, Depends(current)]


def _op(me: users.SessionView) -> None:
    need(me, "operator")


@router.get("/agencies")
async def agencies_page(request: Request, me: Session) -> Response:
    _op(me)
    q = request.query_params.get("q", "").strip()[:100] or None
    items, _ = await run_in_threadpool(
        lambda: agencies.list_agencies(hub_of(request).db, limit=200, query=q)
    )
    return render(request, "admin_agencies.html", items=items, q=q or "")


@router.post("/agencies")
async def agency_add(request: Request, me: Session) -> Response:
    _op(me)
    form = await read_form(request, me.csrf)
    code = str(form.get("code", "")).strip().upper()
    name = str(form.get("name", "")).strip()
    key = await run_in_threadpool(agencies.add_agency, hub_of(request).db, code, name)
    return render(
        request,
        "admin_secret.html",
        title=f"{code} — {name}",
        what="API key",
        secret=key,
        back="/admin/agencies",
    )


@router.get("/systems")
async def systems_page(request: Request, me: Session) -> Response:
    _op(me)
    items = await run_in_threadpool(systems.list_systems, hub_of(request).db)
    return render(request, "admin_systems.html", items=items)


@router.get("/users")
async def users_page(request: Request, me: Session) -> Response:
    _op(me)
    items = await run_in_threadpool(users.list_users, hub_of(request).db)
    return render(request, "admin_users.html", items=items, roles=users.USER_ROLES)


@router.post("/users")
async def user_add(request: Request, me: Session) -> Response:
    _op(me)
    form = await read_form(request, me.csrf)
    name = str(form.get("name", ""))
    agency = str(form.get("agency", "")).strip().upper() or None
    password = await run_in_threadpool(
        lambda: users.add_user(
            hub_of(request).db,
            name,
            str(form.get("role", "")),
            agency,
            full_name=str(form.get("full_name", "")).strip()[:200],
            signer_id=str(form.get("signer", "")).strip() or None,
        )
    )
    return render(
        request,
        "admin_secret.html",
        title=name,
        what="Mật khẩu ban đầu (initial password)",
        secret=password,
        back="/admin/users",
    )


@router.post("/users/{name}/disable")
async def user_disable(request: Request, name: str, me: Session) -> Response:
    _op(me)
    await read_form(request, me.csrf)
    if name == me.user.name:
        raise Rejected("Không thể tự vô hiệu hóa tài khoản của mình.", code="USER_SELF")
    await run_in_threadpool(users.disable_user, hub_of(request).db, name)
    return redirect("/admin/users")


@router.post("/users/{name}/reset-password")
async def user_reset(request: Request, name: str, me: Session) -> Response:
    _op(me)
    await read_form(request, me.csrf)
    password = await run_in_threadpool(users.reset_password, hub_of(request).db, name)
    return render(
        request,
        "admin_secret.html",
        title=name,
        what="Mật khẩu mới (new password)",
        secret=password,
        back="/admin/users",
    )


@router.get("/webhooks")
async def webhooks_page(request: Request, me: Session) -> Response:
    _op(me)
    items = await run_in_threadpool(push.list_webhooks, hub_of(request).db)
    stats = await run_in_threadpool(push.queue_stats, hub_of(request).db)
    return render(request, "admin_webhooks.html", items=items, stats=stats)


@router.post("/webhooks")
async def webhook_set(request: Request, me: Session) -> Response:
    _op(me)
    form = await read_form(request, me.csrf)
    code = str(form.get("agency", "")).strip().upper()
    result = await run_in_threadpool(
        lambda: push.set_webhook(hub_of(request).db, code, str(form.get("url", "")).strip())
    )
    if result.get("secret"):
        return render(
            request,
            "admin_secret.html",
            title=code,
            what="Webhook secret",
            secret=result["secret"],
            back="/admin/webhooks",
        )
    return redirect("/admin/webhooks")


@router.get("/deadletters")
async def deadletters_page(request: Request, me: Session) -> Response:
    _op(me)
    db = hub_of(request).db
    items = await run_in_threadpool(lambda: push.dead_letters(db, limit=500))
    far = await run_in_threadpool(lambda: federation.dead_letters(db, limit=500))
    return render(
        request,
        "admin_deadletters.html",
        items=items,
        far=far,
        done=request.query_params.get("requeued"),
    )


@router.post("/deadletters/retry")
async def deadletters_retry(request: Request, me: Session) -> Response:
    _op(me)
    form = await read_form(request, me.csrf)
    ids = [int(v) for v in form.getlist("job") if isinstance(v, str) and v.isdigit()]
    if not ids and form.get("all") != "1":
        raise Rejected("Chọn ít nhất một mục để gửi lại.", code="NOTHING_SELECTED")
    n = await run_in_threadpool(lambda: push.retry_dead(hub_of(request).db, job_ids=ids or None))
    return redirect(f"/admin/deadletters?requeued={n}")


@router.get("/trust")
async def trust_page(request: Request, me: Session) -> Response:
    _op(me)
    tl = await run_in_threadpool(trust.trust_list, hub_of(request).settings)
    return render(request, "admin_trust.html", tl=tl)


@router.get("/upstream")
async def upstream_page(request: Request, me: Session) -> Response:
    _op(me)
    figures = await run_in_threadpool(federation.figures, hub_of(request))
    return render(request, "admin_upstream.html", figures=figures)
