"""POST /v1/sign: the hub signs a PDF for a leader (or seal) whose key it holds."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from axis.api.deps import get_hub, get_signer, read_limited_body
from axis.domain import Principal
from axis.service import signers
from axis.service.context import Hub

router = APIRouter(prefix="/v1", tags=["signing"])


@router.post(
    "/sign",
    summary="Sign a PDF as the caller's configured signer (PAdES, Decree 30 appearance)",
    response_class=Response,
    openapi_extra={
        "requestBody": {
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
    responses={200: {"content": {"application/pdf": {}}}},
)
async def sign(
    request: Request,
    caller: Annotated[Principal, Depends(get_signer)],
    hub: Annotated[Hub, Depends(get_hub)],
    role: Annotated[Literal["leader", "agency", "attachment"] | None, Query()] = None,
    level: Annotated[Literal["B-B", "B-T", "B-LT", "B-LTA"] | None, Query()] = None,
    number: Annotated[str, Query(max_length=100, description="number and symbol")] = "",
) -> Response:
    pdf = await read_limited_body(request, hub.settings.max_body_bytes)
    signed = await run_in_threadpool(
        signers.sign, hub.signers, caller, pdf, role=role, level=level, number=number
    )
    return Response(signed, media_type="application/pdf")
