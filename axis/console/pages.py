"""Sign-in, sign-out, language, the home page that sends each role to its work, static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from axis.console.web import (
    HERE,
    LANG_COOKIE,
    LOGIN_COOKIE,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    ConsoleRoute,
    NotSignedIn,
    current,
    hub_of,
    local_path,
    new_login_token,
    read_form,
    redirect,
    render,
    secure,
)
from axis.domain import HubError
from axis.service import users

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
HOME = {
    "clerk": "/inbox",
    "leader": "/drafts",
    "archivist": "/archive",
    "operator": "/dashboard",
}
STATIC = {"console.css": "text/css", "console.js": "text/javascript"}


def login_page(request: Request, message: str = "", status: int = 200) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or new_login_token()
    nxt = local_path(request.query_params.get("next"), "")
    settings = hub_of(request).settings
    # The single sign-on button, with the operator's words for it if any.
    sso = (settings.oidc_label or True) if settings.oidc_issuer else False
    response = render(
        request,
        "login.html",
        status=status,
        message=message,
        login_csrf=token,
        next=nxt,
        sso=sso,
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/"
    )
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return login_page(request)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await read_form(request, request.cookies.get(LOGIN_COOKIE, ""))
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    address = request.client.host if request.client else "?"
    hub = hub_of(request)
    try:
        token, view = await run_in_threadpool(
            lambda: users.sign_in(
                hub.db,
                name,
                password,
                address,
                code=str(form.get("code", ""))[:20],
                box=hub.secret_box,
            )
        )
    except HubError as exc:
        return login_page(request, exc.message, status=exc.status)
    response = signed_in(request, token, view, str(form.get("next", "")))
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


def signed_in(request: Request, token: str, view: users.SessionView, nxt: str) -> Response:
    """The answer to a sign-in that succeeded (password or single sign-on): the session
    cookie, and on to the page asked for or the role's own."""
    response = redirect(local_path(nxt, HOME[view.user.role]))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/",
        max_age=users.SESSION_HOURS * 3600,
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    try:
        view = await current(request)
    except NotSignedIn:
        return redirect("/login")
    await read_form(request, view.csrf)
    await run_in_threadpool(users.sign_out, hub_of(request).db, request.cookies[SESSION_COOKIE])
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{lang}")
async def language(request: Request, lang: str) -> Response:
    """The language is a preference, not an action on data: a link sets it."""
    response = redirect(local_path(request.query_params.get("next")))
    if lang in ("vi", "en"):
        response.set_cookie(
            LANG_COOKIE, lang, samesite="lax", secure=secure(request), path="/", max_age=3e7
        )
    return response


@router.get("/")
async def home(request: Request) -> Response:
    view = await current(request)
    return redirect(HOME[view.user.role])


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        return Response(status_code=404)
    # Cacheable for an hour, unlike pages (the ConsoleRoute's no-store is not set first).
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"}
    headers["Cache-Control"] = "public, max-age=3600"
    return FileResponse(Path(HERE, "static", name), media_type=STATIC[name], headers=headers)
