"""Archivists (and operators): search the archive, a record, download, BagIt export, fixity
audit. Everything goes through axis.service.archivist, which logs each access on the record
under the person's name (`archivist:user:NAME`)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from archive import search as archive_search
from axis.console.web import ConsoleRoute, current, hub_of, need, read_form, render
from axis.domain import Rejected
from axis.service import archivist, users
from axis.service.mailbox import filter_day

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[users.SessionView, Depends(current)]
STAFF = ("archivist", "operator")
FIELDS = ("agency", "from", "to", "type", "number", "q", "file_code")


def _query(values: dict) -> archive_search.Query:
    def get(name: str) -> str | None:
        return (str(values.get(name) or "").strip()[:300]) or None

    return archive_search.Query(
        agency=get("agency"),
        date_from=filter_day(get("from") or "", "Từ ngày"),
        date_to=filter_day(get("to") or "", "Đến ngày"),
        type_name=get("type"),
        number=get("number"),
        text=get("q"),
        file_code=get("file_code"),
    )


@router.get("/archive")
async def search_page(request: Request, me: Session) -> Response:
    need(me, *STAFF)
    params = {k: request.query_params.get(k, "") for k in FIELDS}
    cursor = request.query_params.get("cursor") or None
    page = None
    if any(params.values()) or cursor or "all" in request.query_params:
        page = await run_in_threadpool(
            archivist.search_records,
            hub_of(request),
            me.user.principal,
            _query(params),
            limit=50,
            cursor=cursor,
        )
    return render(request, "archive.html", params=params, page=page)


@router.get("/archive/records/{ident}")
async def record_page(request: Request, ident: str, me: Session) -> Response:
    need(me, *STAFF)
    rec = await run_in_threadpool(archivist.show_record, hub_of(request), me.user.principal, ident)
    return render(request, "record.html", rec=rec)


@router.get("/archive/records/{ident}/objects/{name}")
async def download(request: Request, ident: str, name: str, me: Session) -> Response:
    need(me, *STAFF)
    dl = await run_in_threadpool(
        archivist.open_object, hub_of(request), me.user.principal, ident, name
    )
    return StreamingResponse(
        dl.chunks,
        # A download, never shown: what a sender put in a file cannot run in our origin.
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(dl.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(dl.name, safe='')}",
            "X-Axis-Sha256": dl.sha256,
        },
    )


@router.post("/archive/export")
async def export(request: Request, me: Session) -> Response:
    need(me, *STAFF)
    form = await read_form(request, me.csrf)
    per = "file_code" if form.get("per") == "file_code" else "record"
    result = await run_in_threadpool(
        archivist.export_zip, hub_of(request), me.user.principal, _query(dict(form)), per=per
    )
    return FileResponse(
        result.path,
        media_type="application/zip",
        filename="axis-archive-export.zip",
        headers={"X-Axis-Records": str(result.records)},
        background=BackgroundTask(result.cleanup),
    )


@router.post("/archive/audit")
async def audit(request: Request, me: Session) -> Response:
    need(me, *STAFF)
    form = await read_form(request, me.csrf)
    record = str(form.get("record", "")).strip() or None
    sample_text = str(form.get("sample", "")).strip()
    sample = int(sample_text) if sample_text.isdigit() else None
    if sample is not None and not 1 <= sample <= archivist.MAX_AUDIT_SAMPLE:
        raise Rejected(
            f"Số mẫu: từ 1 đến {archivist.MAX_AUDIT_SAMPLE}.", code="AUDIT_SAMPLE_INVALID"
        )
    report = await run_in_threadpool(
        archivist.audit_records, hub_of(request), me.user.principal, sample=sample, record=record
    )
    return render(request, "audit.html", report=report)
