"""Single sign-on (AXIS_OIDC_ISSUER): the sign-in page's second door.

GET /login/sso sends the browser to the operator's OpenID Connect provider with a fresh
state, nonce and PKCE verifier, kept in a short-lived HttpOnly cookie of this browser; the
provider sends it back to /login/sso/callback, where the state must match that cookie, the
code is exchanged and the ID token checked (axis.adapters.oidc), and the person comes in as
the enabled axis user of that name (users.sign_in_sso): the same session as a password gives.
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from axis.adapters.oidc import OidcClient, OidcError
from axis.config import Settings
from axis.console.pages import login_page, signed_in
from axis.console.web import ConsoleRoute, hub_of, local_path, secure
from axis.domain import HubError
from axis.service import users

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
SSO_COOKIE = "axis_sso"
SSO_COOKIE_S = 600  # a person has ten minutes at the provider


class SsoFailed(HubError):
    status, code = 401, "SSO_FAILED"


@lru_cache(maxsize=4)
def _client(issuer: str, client_id: str, secret: str | None, scopes: str) -> OidcClient:
    return OidcClient(issuer, client_id, secret, scopes)


def _configured(settings: Settings) -> OidcClient | None:
    if not settings.oidc_issuer:
        return None
    return _client(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.oidc_scopes,
    )


def _redirect_uri(request: Request, settings: Settings) -> str:
    return settings.oidc_redirect_url or str(request.url_for("sso_callback"))


def _back_to_sign_in(request: Request, message: str, status: int) -> Response:
    """The sign-in page saying why, and this sign-in's state forgotten."""
    response = login_page(request, message, status=status)
    response.delete_cookie(SSO_COOKIE, path="/login/sso")
    return response


def _refused(request: Request, why: str) -> Response:
    message = (
        "Không đăng nhập được bằng tài khoản định danh: " + why + " Hãy thử lại, hoặc đăng"
        " nhập bằng mật khẩu. (Single sign-on failed; try again, or use your password.)"
    )
    return _back_to_sign_in(request, message, SsoFailed.status)


@router.get("/login/sso")
async def sso_start(request: Request) -> Response:
    settings = hub_of(request).settings
    client = _configured(settings)
    if client is None:
        return Response(status_code=404)
    try:
        start = await run_in_threadpool(client.start, _redirect_uri(request, settings))
    except OidcError:
        return _refused(request, "nhà cung cấp định danh không trả lời.")
    nxt = local_path(request.query_params.get("next"), "")
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(
        SSO_COOKIE,
        "|".join((start.state, start.nonce, start.verifier, nxt)),
        max_age=SSO_COOKIE_S,
        httponly=True,
        samesite="lax",  # sent when the provider sends the browser back (a top-level GET)
        secure=secure(request),
        path="/login/sso",
    )
    return response


@router.get("/login/sso/callback", name="sso_callback")
async def sso_callback(request: Request) -> Response:
    hub = hub_of(request)
    client = _configured(hub.settings)
    if client is None:
        return Response(status_code=404)
    q = request.query_params
    if q.get("error"):  # the person cancelled, or the provider refused them
        return _refused(request, f"nhà cung cấp trả lời {q.get('error')[:100]!r}.")
    kept = request.cookies.get(SSO_COOKIE, "").split("|", 3)
    state = q.get("state", "")
    if len(kept) != 4 or not state or not hmac.compare_digest(kept[0], state):
        # Not the sign-in this browser started (expired, or a link someone else made).
        return _refused(request, "phiên đăng nhập đã hết hạn hoặc không phải của trình duyệt này.")
    _, nonce, verifier, nxt = kept
    try:
        claims = await run_in_threadpool(
            client.finish,
            _redirect_uri(request, hub.settings),
            q.get("code", ""),
            verifier,
            nonce,
            hub.settings.oidc_username_claim,
        )
    except OidcError:
        return _refused(request, "câu trả lời của nhà cung cấp không hợp lệ.")
    name = claims.get(hub.settings.oidc_username_claim)
    if not isinstance(name, str) or not name.strip():
        return _refused(
            request, f"mã định danh không có trường {hub.settings.oidc_username_claim!r}."
        )
    address = request.client.host if request.client else "?"
    try:
        token, view = await run_in_threadpool(users.sign_in_sso, hub.db, name, address)
    except HubError as exc:
        return _back_to_sign_in(request, exc.message, exc.status)
    response = signed_in(request, token, view, nxt)
    response.delete_cookie(SSO_COOKIE, path="/login/sso")
    return response
