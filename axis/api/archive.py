"""Routes for archivists: search the archive, view a record, download objects, export bags.

Thin: parameters are validated here (types, bounds, lengths), `axis.service.archivist` does
the rest. Only archivist and operator keys (others: 403 ROLE_NOT_ARCHIVIST).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from archive import search as archive_search
from axis.api.deps import get_hub, get_principal
from axis.api.params import Day, FromDay, ToDay
from axis.domain import Principal
from axis.service import archivist
from axis.service.context import Hub

router = APIRouter(prefix="/v1/archive", tags=["archive"])

Caller = Annotated[Principal, Depends(get_principal)]
HubDep = Annotated[Hub, Depends(get_hub)]

Short = Annotated[str | None, Query(max_length=300)]


class ExportIn(BaseModel):
    """The records to export (the filters of a search) and how to bag them."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agency: str | None = Field(None, max_length=300)
    date_from: Day | None = Field(None, alias="from")
    date_to: Day | None = Field(None, alias="to")
    type: str | None = Field(None, max_length=300)
    number: str | None = Field(None, max_length=300)
    text: str | None = Field(None, max_length=1000)
    file_code: str | None = Field(None, max_length=300)
    per: Literal["record", "file_code"] = "record"


@router.get("/records", summary="Search archival records, newest first")
def search_records(
    caller: Caller,
    hub: HubDep,
    agency: Short = None,
    date_from: FromDay = None,
    date_to: ToDay = None,
    type: Short = None,
    number: Short = None,
    text: Annotated[str | None, Query(max_length=1000)] = None,
    file_code: Short = None,
    limit: Annotated[int, Query(ge=1, le=archive_search.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict:
    query = archive_search.Query(
        agency=agency,
        date_from=date_from,
        date_to=date_to,
        type_name=type,
        number=number,
        text=text,
        file_code=file_code,
    )
    return archivist.search_records(hub, caller, query, limit=limit, cursor=cursor)


@router.get(
    "/records/{ident}/objects/{name}",
    summary="Download one object of a record (the package, an attachment, the report ...)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_object(ident: str, name: str, caller: Caller, hub: HubDep) -> StreamingResponse:
    dl = archivist.open_object(hub, caller, ident, name)
    return StreamingResponse(
        dl.chunks,
        media_type=dl.content_type,
        headers={
            "Content-Length": str(dl.size),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(dl.name, safe='')}",
            "X-Axis-Sha256": dl.sha256,
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/records/{ident:path}",
    summary="A record: metadata, objects, recipients, events, status history, validation report",
)
def show_record(ident: str, caller: Caller, hub: HubDep) -> dict:
    # `:path`, and after the objects route: a DocumentId has slashes (…,2024/03/05,15/QĐ-UBND).
    return archivist.show_record(hub, caller, ident)


@router.post(
    "/export",
    summary="A zip of BagIt bags for the records of a query (bounded; larger: the CLI)",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}, 404: {"description": "no record"}},
)
async def export(body: ExportIn, caller: Caller, hub: HubDep) -> FileResponse:
    query = archive_search.Query(
        agency=body.agency,
        date_from=body.date_from,
        date_to=body.date_to,
        type_name=body.type,
        number=body.number,
        text=body.text,
        file_code=body.file_code,
    )
    result = await run_in_threadpool(archivist.export_zip, hub, caller, query, per=body.per)
    return FileResponse(
        result.path,
        media_type="application/zip",
        filename="axis-archive-export.zip",
        headers={
            "X-Axis-Records": str(result.records),
            "X-Axis-Export-Problems": str(result.problems),
        },
        background=BackgroundTask(result.cleanup),
    )


@router.get(
    "/audit",
    summary="Re-hash a sample of archived objects (or one record's)",
    responses={404: {"description": "no such record"}},
)
def audit(
    caller: Caller,
    hub: HubDep,
    sample: Annotated[int | None, Query(ge=1, le=archivist.MAX_AUDIT_SAMPLE)] = None,
    record: Short = None,
) -> dict:
    return archivist.audit_records(hub, caller, sample=sample, record=record)
