"""The FastAPI application: routers, error mapping, health."""

from __future__ import annotations

import gc
import logging
import sqlite3
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive.store import StoreError
from axis import __version__
from axis.api import admin, agencies, archive, evidence, messages, sign, vxp
from axis.api.guard import BodyGuard, GuardCounts
from axis.bootstrap import build_hub
from axis.config import Settings
from axis.domain import HubError, Unavailable
from axis.service import failures, health, keys
from axis.service.context import Hub

log = logging.getLogger("axis.api")


def create_app(
    settings: Settings | None = None, hub: Hub | None = None, *, freeze_gc: bool = False
) -> FastAPI:
    """`freeze_gc`, for a server process: once started, move every object alive to the
    garbage collector's permanent generation. A full collection otherwise walks all of them
    (the modules, the app, the hub): measured, 35-100 ms in which the process answers nothing,
    the tail of the submit latency."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "hub", None) is None:
            app.state.hub = build_hub(settings, create_schema=False)
        app.state.key_reader = keys.KeyReader(app.state.hub.db)
        if freeze_gc:
            gc.collect()
            gc.freeze()
        yield
        app.state.key_reader.close()
        app.state.key_reader = None
        app.state.hub.close()

    if settings is None:
        settings = hub.settings if hub is not None else Settings()
    # The API's description is not secret, but an open /docs is a map for whoever probes the
    # hub: served only where the operator asks for it (docs/security.md).
    docs = settings.public_docs
    app = FastAPI(
        title="axis",
        version=__version__,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        description="Electronic document interconnection hub for public agencies "
        "(edXML, QCVN 102:2016). Authenticate with `Authorization: Bearer <key>`.",
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.key_reader = None  # set by the lifespan (SQLite only): see keys.KeyReader
    app.include_router(messages.router)
    app.include_router(agencies.router)
    app.include_router(admin.router)
    app.include_router(sign.router)
    app.include_router(archive.router)  # archivists (issue 5)
    app.include_router(vxp.router)  # the national axis's protocol, for its SDK (issue 15)
    app.include_router(evidence.router)  # evidence bundles (issue 18)
    app.state.guard_counts = GuardCounts()
    body_timeout = (settings or (hub.settings if hub else None) or Settings()).body_timeout_s
    app.add_middleware(BodyGuard, body_timeout_s=body_timeout, counts=app.state.guard_counts)
    _mount_stats(app)  # after BodyGuard: the request metrics wrap it and see its 408 and 499
    _document_errors(app)
    _mount_console(app)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        """What would fail: the database, the store, and the free space of the disks the
        hub writes to (503 with the reasons when any is wrong)."""
        hub: Hub = request.app.state.hub
        report = await run_in_threadpool(health.check, hub)
        ok = not report["problems"]
        body = {"status": "ok" if ok else "unhealthy", "version": __version__, **report}
        if not ok:  # the first reason, as the single line that monitors show
            body["error"] = report["problems"][0]["message"]
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.exception_handler(HubError)
    async def hub_error(_: Request, exc: HubError) -> JSONResponse:
        return hub_response(exc)

    # The hub's own failures, wherever they surface (documents, acks, statuses, reads): one
    # mapping (axis.service.failures), transient ones 503 + Retry-After with a code.
    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        answer = failures.database_failed(exc)
        if answer is None:
            return internal_error(request, exc)
        log.warning(
            "%s %s: %s: %s",
            request.method,
            request.url.path,
            answer.code,
            getattr(exc, "orig", exc),
        )
        return hub_response(answer)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        answer = failures.store_failed(exc, f"{request.method} {request.url.path}")
        if isinstance(answer, Unavailable):
            log.warning("%s %s: %s: %s", request.method, request.url.path, answer.code, exc)
        return hub_response(answer)

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        answer = failures.os_failed(exc)
        if answer is None:
            return internal_error(request, exc)
        log.warning("%s %s: %s: %s", request.method, request.url.path, answer.code, exc)
        return hub_response(answer)

    # Anything else is a bug: a JSON 500 that says the connection closes (uvicorn drops it
    # after an unhandled exception; without the header a client's next request on it fails).
    # Starlette raises the exception again after this answer: uvicorn logs its traceback.
    app.add_exception_handler(Exception, lambda _request, _exc: _internal_response())

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        findings = [
            {
                "code": "REQUEST_INVALID",
                "severity": "error",
                "path": "/".join(str(p) for p in err.get("loc", ())),
                "message": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        return JSONResponse(
            {"error": "REQUEST_INVALID", "message": "the request is invalid", "findings": findings},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": f"HTTP_{exc.status_code}", "message": str(exc.detail), "findings": []},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    return app


def hub_response(exc: HubError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return _internal_response()


def _internal_response() -> JSONResponse:
    return JSONResponse(
        {
            "error": "INTERNAL_ERROR",
            "message": "Lỗi nội bộ của hệ thống; quản trị viên đã được ghi nhận (internal error)",
            "findings": [],
        },
        status_code=500,
        headers={"Connection": "close"},
    )


def _mount_stats(app: FastAPI) -> None:
    """Figures per agency (issue 6): stats API, Prometheus /metrics (the page: the console)."""
    from axis.api import stats
    from axis.observability import mount

    app.include_router(stats.router)
    mount(app)


_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "message", "findings"],
    "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. AUTH_INVALID"},
        "message": {"type": "string"},
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "severity": {"type": "string"},
                    "path": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
_ERRORS = {
    "401": "no key, an unknown key or a revoked one (AUTH_MISSING, AUTH_INVALID, AUTH_REVOKED)",
    "403": "the key may not do this (ROLE_*, AGENCY_INACTIVE, ...)",
    "400": "the body is not what this route reads (not XML, not a PDF, empty)",
    "404": "nothing of that name that this key may see",
    "409": "already exists",
    "413": "the body is larger than the hub accepts (BODY_TOO_LARGE)",
    "422": "a parameter or the body is invalid (REQUEST_INVALID, or a finding code)",
    "503": "the database or the store is unavailable: retry after Retry-After",
}
_AUTH_CALLS = ("authenticate", "get_principal", "get_signer", "require_operator")


@dataclass(frozen=True)
class RouteInfo:
    route: object  # the route as declared (an APIRoute for the API's own)
    path: str  # the path template, e.g. /v1/messages/{message_id}
    methods: frozenset[str]
    include_in_schema: bool


def route_infos(app: FastAPI) -> list[RouteInfo]:
    """Every route of the app with its full path, routers included: FastAPI from 0.16x keeps
    included routers as nodes (fastapi.routing.iter_route_contexts walks them), older ones
    copy their routes into app.routes."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: app.routes is flat
        contexts = [(r, r) for r in app.routes]
    else:
        contexts = [(c.original_route, c) for c in iter_route_contexts(app.routes)]
    return [
        RouteInfo(
            route,
            getattr(ctx, "path_format", None) or getattr(ctx, "path", ""),
            frozenset(getattr(ctx, "methods", None) or ()),
            bool(getattr(ctx, "include_in_schema", True)),
        )
        for route, ctx in contexts
    ]


def _uses_key(dependant) -> bool:  # noqa: ANN001
    return any(
        getattr(d.call, "__name__", "") in _AUTH_CALLS or _uses_key(d)
        for d in dependant.dependencies
    )


def _document_errors(app: FastAPI) -> None:
    """Every error answer a route can give, in the OpenAPI document: derived from the route
    (needs a key: 401/403; names something in its path: 404; creates: 409; reads a raw body:
    413) so that a new route is documented like the others without a list kept by hand."""
    from fastapi.routing import APIRoute

    plain = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = plain()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = _ERROR_SCHEMA
        schema["components"].setdefault("securitySchemes", {})["apiKey"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "an API key: axis_<key id>_<secret>",
        }
        for info in route_infos(app):
            route = info.route
            if not isinstance(route, APIRoute) or not info.include_in_schema:
                continue
            dep = route.dependant
            keyed = _uses_key(dep)
            raw_body = bool(route.openapi_extra and "requestBody" in route.openapi_extra)
            codes = {"503"}
            if keyed:
                codes |= {"401", "403"}
            if dep.path_params:
                codes.add("404")
            if route.status_code == 201:
                codes.add("409")
            if raw_body:
                codes |= {"400", "413"}
            if keyed or raw_body or dep.query_params or dep.path_params or dep.body_params:
                codes.add("422")
            for method in info.methods:
                op = schema["paths"].get(info.path, {}).get(method.lower())
                if op is None:
                    continue
                if keyed:
                    op["security"] = [{"apiKey": []}]
                responses = op.setdefault("responses", {})
                for code in sorted(codes):
                    responses.setdefault(
                        code,
                        {
                            "description": _ERRORS[code],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def _mount_console(app: FastAPI) -> None:
    """The web console for people at / (issue 19)."""
    from axis.console import routes

    for router in routes.routers():
        app.include_router(router)
