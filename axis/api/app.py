"""The FastAPI application: routers, error mapping, health."""

from __future__ import annotations

import gc
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from axis import __version__
from axis.api import admin, agencies, archive, evidence, messages, sign, vxp
from axis.bootstrap import build_hub
from axis.config import Settings
from axis.domain import HubError, Unavailable
from axis.service import keys
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
    _mount_stats(app)
    _mount_console(app)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> JSONResponse:
        hub: Hub = request.app.state.hub
        try:
            await run_in_threadpool(_check, hub)
        except Exception as exc:  # noqa: BLE001 - health reports any failure as unhealthy
            return JSONResponse({"status": "unhealthy", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.exception_handler(HubError)
    async def hub_error(_: Request, exc: HubError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

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


def _mount_stats(app: FastAPI) -> None:
    """Figures per agency (issue 6): stats API, Prometheus /metrics (the page: the console)."""
    from axis.api import stats
    from axis.observability import mount

    app.include_router(stats.router)
    mount(app)


def _mount_console(app: FastAPI) -> None:
    """The web console for people at / (issue 19)."""
    from axis.console import routes

    for router in routes.routers():
        app.include_router(router)


def _check(hub: Hub) -> None:
    with hub.db.engine.connect() as conn:  # a pooled connection, no ORM session
        conn.exec_driver_sql("SELECT 1")
    hub.store.check()
