"""What every console page shares: templates, the two languages, the session, CSRF, and the
security headers.

Every console route is a `ConsoleRoute`: its response gets the security headers whatever it
is (page, redirect, download, error), and a use case's refusal (HubError) becomes a page
that says what to fix, not JSON. A form is read only through `read_form`, which checks the
session's CSRF token and the Origin header first: another site cannot make a signed-in
browser change anything.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from axis.console.i18n import LANGS, translator
from axis.domain import VIETNAM, HubError, show_time
from axis.service import users
from axis.service.context import Hub

HERE = Path(__file__).parent
SESSION_COOKIE = "axis_session"
LOGIN_COOKIE = "axis_login"  # the CSRF token of the sign-in form, before there is a session
LANG_COOKIE = "axis_lang"
# No inline script or style at all: what a sender wrote cannot run even if it got past
# escaping. The PDF of a document is framed by our own pages only (see PDF_HEADERS).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# A PDF shown inside the document page: framed by this origin only, loading nothing else.
# (Not `sandbox`: Chromium refuses to show a PDF in a sandboxed frame.)
PDF_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}
MAX_FORM_BYTES = 64 * 1024  # a form without files

TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def vn_time(value: Any) -> str:
    """A stored time (datetime or ISO text) as people read it: dd/mm/yyyy HH:MM, Vietnam."""
    if not value:
        return ""
    if isinstance(value, str):
        from datetime import datetime

        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        return value.strftime("%d/%m/%Y")
    return value.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def _number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value <= 1:
        return f"{value * 100:.1f}%".replace(".", ",")
    return f"{value:,}".replace(",", ".")  # Vietnamese groups thousands with dots


TEMPLATES.filters["vntime"] = vn_time
TEMPLATES.filters["vn"] = _number
TEMPLATES.globals["show_time"] = show_time


class NotSignedIn(Exception):
    """No live session: the browser goes to the sign-in page."""


class Refused(HubError):
    """A console request refused before any use case (bad CSRF token, wrong role)."""

    status, code = 403, "FORBIDDEN"


def hub_of(request: Request) -> Hub:
    return request.app.state.hub


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "vi")
    return lang if lang in LANGS else "vi"


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    session: users.SessionView | None = getattr(request.state, "console_session", None)
    html = TEMPLATES.get_template(template).render(
        t=translator(lang),
        lang=lang,
        me=session.user if session else None,
        csrf=session.csrf if session else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def redirect(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


def _error_page(request: Request, exc: HubError) -> Response:
    return render(request, "error.html", status=exc.status, error=exc)


class ConsoleRoute(APIRoute):
    """Security headers on every response; refusals as pages; no session → sign-in page."""

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except NotSignedIn:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = redirect(f"/login?next={quote(target, safe='')}")
            except HubError as exc:
                response = _error_page(request, exc)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return route


async def current(request: Request) -> users.SessionView:
    """The signed-in person (a FastAPI dependency); NotSignedIn without a live session."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn
    view = await run_in_threadpool(users.session_of, hub_of(request).db, token)
    if view is None:
        raise NotSignedIn
    request.state.console_session = view
    return view


def need(view: users.SessionView, *roles: str) -> None:
    if view.user.role not in roles:
        raise Refused(
            "Trang này dành cho vai trò khác. (This page is for another role.)",
            code="ROLE_NOT_ALLOWED",
        )


def _same_origin(request: Request) -> bool:
    """A browser names the page a POST comes from; it must be this site. (A browser that
    sends neither header is no cross-site risk: such requests cannot carry our cookie
    from another site's page.)"""
    origin = request.headers.get("origin") or ""
    if not origin or origin == "null":
        referer = request.headers.get("referer")
        if not referer:
            return origin != "null"
        origin = referer
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].split("/", 1)[0] == host


async def read_form(
    request: Request, expected_csrf: str, *, max_bytes: int = MAX_FORM_BYTES
) -> FormData:
    """The form of a POST, after checking it comes from our own page (CSRF token, Origin)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        from axis.domain import TooLarge

        raise TooLarge(
            f"Biểu mẫu quá lớn (tối đa {max_bytes // 1024 // 1024 or 1} MB)."
            f" (The form is larger than {max_bytes} bytes.)",
            code="FORM_TOO_LARGE",
        )
    form = await request.form(max_files=20, max_fields=200, max_part_size=MAX_FORM_BYTES)
    given = form.get("csrf")
    if (
        not isinstance(given, str)
        or not expected_csrf
        or not hmac.compare_digest(given, expected_csrf)
        or not _same_origin(request)
    ):
        raise Refused(
            "Biểu mẫu đã hết hạn hoặc không đến từ trang của hệ thống; hãy tải lại trang và"
            " gửi lại. (The form expired or did not come from this site: reload and retry.)",
            code="CSRF_FAILED",
        )
    return form


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def local_path(value: str | None, default: str = "/") -> str:
    """A `next=` target kept on this site (no //evil.example or scheme)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value
