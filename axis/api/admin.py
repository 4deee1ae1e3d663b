"""Routes for operators (operator keys only): webhooks, dead letters, the push queue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from axis.api.deps import get_hub, get_principal
from axis.api.params import RowId
from axis.domain import Forbidden, Principal
from axis.service import push
from axis.service.context import Hub


def require_operator(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    if not principal.is_operator:
        raise Forbidden("this needs an operator key", code="ROLE_NOT_OPERATOR")
    return principal


router = APIRouter(prefix="/v1/admin", tags=["admin"], dependencies=[Depends(require_operator)])
HubDep = Annotated[Hub, Depends(get_hub)]


class WebhookIn(BaseModel):
    url: str = Field(examples=["https://edoc.hanoi.gov.vn/axis/push"])
    rotate_secret: bool = False


class RetryIn(BaseModel):
    job_ids: list[RowId] | None = Field(default=None, max_length=10_000)
    agency: str | None = None


@router.put("/webhooks/{agency_code}", summary="Register or change an agency's webhook")
def put_webhook(agency_code: str, body: WebhookIn, hub: HubDep) -> dict:
    """Returns the shared secret the hub signs pushes with (new on first registration or
    with rotate_secret)."""
    return push.set_webhook(
        hub.db,
        agency_code,
        body.url,
        rotate_secret=body.rotate_secret,
        allowed_networks=hub.settings.webhook_allowed_networks,
    )


@router.get("/webhooks", summary="Registered webhooks (without their secrets)")
def get_webhooks(hub: HubDep) -> dict:
    return {"items": push.list_webhooks(hub.db)}


@router.delete(
    "/webhooks/{agency_code}",
    status_code=204,
    response_class=Response,
    summary="Stop pushing to an agency",
)
def delete_webhook(agency_code: str, hub: HubDep) -> Response:
    push.remove_webhook(hub.db, agency_code)
    # no body at all: a 204 with one ("null") broke the keep-alive connection's next request
    return Response(status_code=204)


@router.get("/deadletters", summary="Push jobs given up on")
def get_dead_letters(
    hub: HubDep,
    agency: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> dict:
    return {"items": push.dead_letters(hub.db, agency=agency, limit=limit)}


@router.post("/deadletters/retry", summary="Queue dead letters again (all, some, or an agency's)")
def retry_dead_letters(body: RetryIn, hub: HubDep) -> dict:
    return {"requeued": push.retry_dead(hub.db, job_ids=body.job_ids, agency=body.agency)}


@router.get("/push", summary="The push queue: jobs per state, oldest due job's lateness")
def get_push_stats(hub: HubDep) -> dict:
    return push.queue_stats(hub.db)


@router.get("/upstream", summary="The upstream hub: forwarded, pending, oldest pending, failures")
def get_upstream_stats(hub: HubDep) -> dict:
    from axis.service import federation

    return {**federation.figures(hub), "dead_letters": federation.dead_letters(hub.db, limit=100)}
