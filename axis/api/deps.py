"""Request plumbing shared by the routers: the hub, the caller, the body within its limit."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from axis.domain import BadPackage, Forbidden, Principal, TooLarge
from axis.service import keys
from axis.service.context import Hub


async def get_hub(request: Request) -> Hub:
    # async: FastAPI runs a plain-def dependency in the thread pool, a hop for an attribute read
    return request.app.state.hub


async def authenticate(request: Request) -> Principal:
    """The caller of the request's key, whatever its role. Every rule about a key itself
    (unknown, revoked, its agency deactivated) is checked here, on every request."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    raw = token if scheme.lower() == "bearer" else None
    state = request.app.state
    reader: keys.KeyReader | None = getattr(state, "key_reader", None)
    if reader is not None:  # SQLite: a point read on the event loop, no hop to a thread
        principal = reader.lookup(raw)
        if principal is not None:
            return principal
    return await run_in_threadpool(keys.authenticate, state.hub.db, raw)


async def get_principal(request: Request) -> Principal:
    """The caller of every route but POST /v1/sign: a signer key only signs (it names a
    leader's key the hub holds, not a clerk who reads timelines and reports)."""
    principal = await authenticate(request)
    if principal.role == "signer":
        raise Forbidden(
            "a signer key only signs (POST /v1/sign); use the agency's key for the rest",
            code="ROLE_SIGNER_ONLY_SIGNS",
        )
    return principal


async def get_signer(request: Request) -> Principal:
    principal = await authenticate(request)
    if principal.role != "signer" or not principal.signer_id:
        raise Forbidden("only signer keys may sign", code="ROLE_NOT_SIGNER")
    return principal


async def read_limited_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing (413) as soon as it passes the limit instead of after."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(
            f"the body is {declared} bytes; this hub accepts at most {limit}", code="BODY_TOO_LARGE"
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(
                f"the body passes {limit} bytes, the most this hub accepts", code="BODY_TOO_LARGE"
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise BadPackage("the body is empty: send an edXML package", code="BODY_EMPTY")
    return body
