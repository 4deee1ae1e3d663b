"""Routes for agency systems: send, inbox, fetch, acknowledge, statuses, timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from axis.api.deps import get_hub, get_principal, read_limited_body
from axis.api.limits import run_store_bound
from axis.api.params import InboxCursor
from axis.domain import BadPackage, Principal
from axis.service import inbox, messages, statuses
from axis.service.context import Hub
from formats.model import StaffInfo

router = APIRouter(prefix="/v1", tags=["messages"])

Caller = Annotated[Principal, Depends(get_principal)]
HubDep = Annotated[Hub, Depends(get_hub)]

_XML_TYPES = ("application/xml", "text/xml", "application/soap+xml", "application/edxml+xml")


class Staff(BaseModel):
    department: str = ""
    staff: str = ""
    email: str = ""
    mobile: str = ""


class StatusIn(BaseModel):
    code: str = Field(description="status code: 01-06, 13, 15, 16", examples=["03"])
    description: str = ""
    staff: Staff | None = None


class AckMany(BaseModel):
    ids: list[str] = Field(max_length=1000)


@router.post(
    "/messages",
    status_code=202,
    summary="Send an edXML document package or status package",
    openapi_extra={
        "requestBody": {
            "content": {"application/xml": {"schema": {"type": "string"}}},
            "required": True,
        }
    },
    responses={
        200: {"description": "the same package was already accepted: its first receipt"},
        400: {"description": "not well-formed or not edXML"},
        401: {"description": "missing or bad key"},
        403: {"description": "From is not you"},
        409: {"description": "DocumentId already used with other content"},
        413: {"description": "too large"},
        422: {"description": "rejected with findings"},
        503: {"description": "storage unavailable; retry"},
    },
)
async def send(request: Request, caller: Caller, hub: HubDep) -> Response:
    content_type = request.headers.get("content-type", "application/xml").split(";")[0].strip()
    if content_type and content_type.lower() not in _XML_TYPES:
        raise BadPackage(
            f"Content-Type {content_type!r}: send application/xml", code="UNSUPPORTED_CONTENT_TYPE"
        )
    body = await read_limited_body(request, hub.settings.max_body_bytes)
    receipt, created = await run_store_bound(request, messages.submit, hub, body, caller)
    return JSONResponse(receipt.to_dict(), status_code=202 if created else 200)


# The hot endpoints answer with a JSONResponse of what the service returned (plain JSON types
# already): the same body, without FastAPI validating and re-serializing it through a model.
@router.get(
    "/inbox",
    summary="Items not yet acknowledged, oldest first",
    response_model=dict,
    response_class=JSONResponse,
)
def get_inbox(
    caller: Caller,
    hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: InboxCursor = None,
) -> JSONResponse:
    page = inbox.list_inbox(hub, caller, limit=limit, cursor=cursor)
    return JSONResponse(page)


@router.post(
    "/inbox/ack",
    summary="Acknowledge several items at once",
    response_model=dict,
    response_class=JSONResponse,
)
def ack_many(body: AckMany, caller: Caller, hub: HubDep) -> JSONResponse:
    return JSONResponse({"results": statuses.acknowledge(hub, caller, body.ids)})


@router.get(
    "/messages/{message_id}",
    summary="The package bytes (sender and recipients only)",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
)
def get_message(message_id: str, caller: Caller, hub: HubDep) -> Response:
    body, msg = inbox.fetch(hub, caller, message_id)
    return Response(
        body,
        media_type="application/xml",
        headers={"X-Axis-Message-Id": msg.id, "X-Axis-Sha256": msg.sha256, "X-Axis-Kind": msg.kind},
    )


@router.post("/messages/{message_id}/ack", summary="Confirm receipt (status 01 to the sender)")
def ack(message_id: str, caller: Caller, hub: HubDep) -> JSONResponse:
    [result] = statuses.acknowledge(hub, caller, [message_id])
    if not result["acked"]:
        return JSONResponse(
            {"error": result["error"], "message": f"no message {message_id}", "findings": []},
            status_code=404,
        )
    return JSONResponse(result)


@router.post(
    "/messages/{message_id}/status",
    status_code=202,
    summary="Send a processing status about a document you received",
)
def post_status(message_id: str, body: StatusIn, caller: Caller, hub: HubDep) -> dict:
    staff = StaffInfo(**body.staff.model_dump()) if body.staff else None
    receipt = statuses.post_status(hub, caller, message_id, body.code, body.description, staff)
    return receipt.to_dict()


@router.get("/messages/{message_id}/timeline", summary="Delivery, acknowledgement and statuses")
def get_timeline(message_id: str, caller: Caller, hub: HubDep) -> dict:
    return inbox.timeline(hub, caller, message_id)


@router.get("/messages/{message_id}/report", summary="Findings and validation report")
def get_report(message_id: str, caller: Caller, hub: HubDep) -> dict:
    return inbox.report(hub, caller, message_id)
