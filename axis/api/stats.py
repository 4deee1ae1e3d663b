"""Routes for the figures: per agency and per period, and the detailed list behind them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from itertools import islice
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response, StreamingResponse

from axis.api.deps import get_hub, get_principal
from axis.domain import Principal, Rejected
from axis.service import spreadsheet, stats
from axis.service.context import Hub
from formats.findings import Finding

router = APIRouter(prefix="/v1/stats", tags=["stats"])

Caller = Annotated[Principal, Depends(get_principal)]
HubDep = Annotated[Hub, Depends(get_hub)]
From = Annotated[
    str | None,
    Query(
        alias="from",
        description="first day (2026-11-01) or minute (2026-11-01T08:00), Vietnam time; "
        "default: the first day of the month of `to`",
    ),
]
To = Annotated[
    str | None,
    Query(
        description="last day, included (2026-11-30), or a minute, excluded; default: today",
    ),
]
Granularity = Annotated[str, Query(description="minute, hour, day or month")]
XLSX_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header


@router.get("/agencies", summary="Figures of the hub and of each agency (agency keys: their own)")
def agencies(
    caller: Caller,
    hub: HubDep,
    from_: From = None,
    to: To = None,
    granularity: Granularity = "day",
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict:
    rng = stats.parse_range(hub, from_, to, granularity)
    return stats.hub_stats(hub, caller, rng, limit=limit)


@router.get("/agencies/{code}", summary="Figures of one agency: totals, series, latency")
def agency(
    code: str,
    caller: Caller,
    hub: HubDep,
    from_: From = None,
    to: To = None,
    granularity: Granularity = "day",
) -> dict:
    rng = stats.parse_range(hub, from_, to, granularity)
    return stats.agency_stats(hub, caller, code, rng)


@router.get(
    "/overdue",
    summary="Documents past their DueDate with no completion (06) yet",
    responses={404: {"description": "no such agency"}},
)
def overdue(
    caller: Caller,
    hub: HubDep,
    agency: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict:
    if agency is None and not caller.is_operator:
        agency = caller.agency_code
    return {"items": stats.overdue_list(hub, caller, agency, limit=limit)}


@router.get(
    "/documents",
    summary="Every document behind the figures with its times and statuses (csv, xlsx, json)",
    response_class=Response,
    responses={404: {"description": "no such agency"}},
)
def documents(
    caller: Caller,
    hub: HubDep,
    agency: Annotated[str | None, Query(description="sender or recipient; operators: any")] = None,
    from_: From = None,
    to: To = None,
    format: Literal["csv", "xlsx", "json"] = "csv",  # noqa: A002 - the documented parameter
    state: Annotated[str, Query(description=", ".join(stats.DOCUMENT_STATES))] = "all",
    by: Annotated[
        str, Query(description="which time the range applies to: sent, due, acked, completed")
    ] = "sent",
    limit: Annotated[int, Query(ge=1, le=10_000, description="json only")] = 1000,
) -> Response:
    rng = stats.parse_range(hub, from_, to, "month")
    agency = stats.check_document_query(hub, caller, agency, state, by)
    name = f"axis-documents-{agency or 'all'}-{rng.start:%Y%m%d}-{rng.end:%Y%m%d}"
    if format == "json":
        rows = list(islice(stats.iter_documents(hub, agency, rng, state, by), limit + 1))
        return _json({"items": rows[:limit], "truncated": len(rows) > limit, **rng.to_dict()})
    if format == "xlsx":
        return _xlsx(hub, agency, rng, state, by, name)
    return StreamingResponse(
        _csv(stats.iter_documents(hub, agency, rng, state, by)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _json(body: dict) -> Response:
    return JSONResponse(body)


def _csv(rows: Iterator[dict]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    # A BOM so spreadsheet programs read the Vietnamese text as UTF-8.
    yield "\ufeff"
    writer.writerow(stats.CSV_COLUMNS)
    for i, row in enumerate(rows, start=1):
        writer.writerow(stats.cells(row))
        if i % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _xlsx(hub: Hub, agency: str | None, rng, state: str, by: str, name: str) -> Response:  # noqa: ANN001
    from openpyxl import Workbook

    count = stats.count_documents(hub, agency, rng, state, by)
    if count > XLSX_MAX_ROWS:
        message = f"{count} rows do not fit a worksheet: ask for CSV or a shorter range"
        raise Rejected(
            message,
            code="STATS_EXPORT_TOO_LARGE",
            findings=[Finding.error("STATS_EXPORT_TOO_LARGE", "format", message)],
        )
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("documents")
    ws.append(list(stats.CSV_COLUMNS))
    for row in stats.iter_documents(hub, agency, rng, state, by):
        ws.append(spreadsheet.xlsx_row(ws, stats.cells(row)))
    out = io.BytesIO()
    wb.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )
