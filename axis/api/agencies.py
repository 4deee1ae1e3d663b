"""Routes for the directory and its administration (operator keys)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from axis.api.deps import get_hub, get_principal
from axis.domain import Forbidden, Principal
from axis.service import agencies, keys
from axis.service.context import Hub

router = APIRouter(prefix="/v1", tags=["agencies"])

Caller = Annotated[Principal, Depends(get_principal)]
HubDep = Annotated[Hub, Depends(get_hub)]


class AgencyIn(BaseModel):
    code: str = Field(examples=["000.00.00.G22"])
    name: str = Field(examples=["Văn phòng Chính phủ"])
    parent: str | None = None


def _operator(caller: Principal) -> None:
    if not caller.is_operator:
        raise Forbidden("this needs an operator key", code="ROLE_NOT_OPERATOR")


@router.get("/agencies", summary="The directory, a page at a time, in code order")
def list_agencies(
    caller: Caller,
    hub: HubDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    cursor: str | None = None,
    q: str | None = None,
) -> dict:
    items, next_cursor = agencies.list_agencies(hub.db, limit=limit, after=cursor, query=q)
    return {"items": items, "next_cursor": next_cursor}


@router.post("/agencies", status_code=201, summary="Register an agency (operator); returns its key")
def add_agency(body: AgencyIn, caller: Caller, hub: HubDep) -> dict:
    _operator(caller)
    key = agencies.add_agency(hub.db, body.code, body.name, body.parent)
    return {"code": body.code.strip().upper(), "key": key}


@router.post("/agencies/{code}/keys", status_code=201, summary="Issue another key (operator)")
def new_key(code: str, caller: Caller, hub: HubDep) -> dict:
    _operator(caller)
    return {"code": code, "key": agencies.new_agency_key(hub.db, code)}


@router.post("/agencies/{code}/deactivate", summary="Stop delivering to an agency (operator)")
def deactivate(code: str, caller: Caller, hub: HubDep) -> dict:
    _operator(caller)
    agencies.set_active(hub.db, code, False)
    return {"code": code, "active": False}


@router.post("/agencies/{code}/activate", summary="Resume delivering to an agency (operator)")
def activate(code: str, caller: Caller, hub: HubDep) -> dict:
    _operator(caller)
    agencies.set_active(hub.db, code, True)
    return {"code": code, "active": True}


@router.delete("/keys/{key_id}", summary="Revoke a key (operator)")
def revoke_key(key_id: str, caller: Caller, hub: HubDep) -> dict:
    _operator(caller)
    keys.revoke_key(hub.db, key_id)
    return {"key_id": key_id, "revoked": True}
