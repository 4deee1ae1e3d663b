"""GET /v1/messages/{id}/evidence: the evidence bundle of a document (docs/evidence.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from axis.api.deps import get_hub, get_principal
from axis.domain import Principal
from axis.service import evidence_bundle
from axis.service.context import Hub

router = APIRouter(prefix="/v1", tags=["evidence"])


@router.get(
    "/messages/{message_id}/evidence",
    summary="The document's evidence bundle (zip, axis-evidence/1), checked offline",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def get_evidence(
    message_id: str,
    caller: Annotated[Principal, Depends(get_principal)],
    hub: Annotated[Hub, Depends(get_hub)],
) -> Response:
    name, data = evidence_bundle.export(hub, caller, message_id)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
