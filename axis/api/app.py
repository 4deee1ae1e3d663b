"""The FastAPI application: routers, error mapping, health."""

from __future__ import annotations

import gc
import logging
import sqlite3
from contextlib import asynccontextmanager

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

    app = FastAPI(
        title="axis",
        version=__version__,
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
    """Figures per agency (issue 6): stats API, dashboard, Prometheus /metrics."""
    from axis.api import dashboard, stats
    from axis.observability import mount

    app.include_router(stats.router)
    app.include_router(dashboard.router)
    mount(app)
