"""Leaders: drafts awaiting their signature, the PDF to read, sign (with the key the hub holds
for them, axis.service.signers) and send, or send back. Clerks see the drafts they put up."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from axis.console.web import (
    PDF_HEADERS,
    ConsoleRoute,
    current,
    hub_of,
    need,
    read_form,
    redirect,
    render,
)
from axis.domain import HubError
from axis.service import drafts, users

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[users.SessionView, Depends(current)]


def _id(text: str) -> int:
    """A draft id from the path; anything else names no draft (a 404 page, not a 422)."""
    return int(text) if text.isdigit() and len(text) < 18 else 0


@router.get("/drafts")
async def drafts_page(request: Request, me: Session) -> Response:
    need(me, "clerk", "leader")
    items = await run_in_threadpool(drafts.awaiting, hub_of(request), me.user)
    return render(request, "drafts.html", items=items, done=request.query_params.get("done", ""))


@router.get("/drafts/{draft_id}/pdf")
async def draft_pdf(request: Request, draft_id: str, me: Session) -> Response:
    need(me, "clerk", "leader")
    name, pdf = await run_in_threadpool(drafts.pdf_of, hub_of(request), me.user, _id(draft_id))
    headers = {"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}", **PDF_HEADERS}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/drafts/{draft_id}/files/{index}")
async def draft_file(request: Request, draft_id: str, index: str, me: Session) -> Response:
    """An attachment of a draft: a download, never shown in the page."""
    need(me, "clerk", "leader")
    name, data = await run_in_threadpool(
        drafts.file_of, hub_of(request), me.user, _id(draft_id), _id(index)
    )
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"}
    return Response(data, media_type="application/octet-stream", headers=headers)


@router.get("/drafts/{draft_id}/preview")
async def draft_preview(request: Request, draft_id: str, me: Session) -> Response:
    """The draft with the leader's stamp drawn where signing puts it, not signed; the viewer
    opens at the stamp's page."""
    need(me, "leader")
    name, pdf, page = await run_in_threadpool(
        drafts.preview, hub_of(request), me.user, _id(draft_id)
    )
    headers = {
        "Content-Disposition": f"inline; filename*=UTF-8''{quote('xem-truoc-' + name)}",
        "X-Stamp-Page": str(page + 1),
        **PDF_HEADERS,
    }
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get("/drafts/{draft_id}")
async def draft_page(request: Request, draft_id: str, me: Session) -> Response:
    """One draft for its leader: the envelope and the preview of the PDF as it will be signed."""
    need(me, "leader")
    items = await run_in_threadpool(drafts.awaiting, hub_of(request), me.user)
    item = next((d for d in items if d["id"] == _id(draft_id)), None)
    if item is None:
        from axis.domain import NotFound

        raise NotFound(
            "Không tìm thấy văn bản này, hoặc nó đã được gửi. (No such draft, or it was sent.)",
            code="DRAFT_NOT_FOUND",
        )
    try:
        _, _, page = await run_in_threadpool(drafts.preview, hub_of(request), me.user, item["id"])
    except HubError as exc:  # no key set, a PDF that cannot be stamped: said on the page
        return render(request, "draft.html", d=item, page=None, problem=exc)
    return render(request, "draft.html", d=item, page=page)


@router.post("/drafts/{draft_id}/sign")
async def draft_sign(request: Request, draft_id: str, me: Session) -> Response:
    need(me, "leader")
    form = await read_form(request, me.csrf)
    code = str(form.get("code", ""))[:20]
    receipt = await run_in_threadpool(
        drafts.sign_and_send, hub_of(request), me.user, _id(draft_id), code
    )
    return redirect(f"/documents/{receipt.id}?done=sent")


@router.post("/drafts/{draft_id}/refuse")
async def draft_refuse(request: Request, draft_id: str, me: Session) -> Response:
    need(me, "leader")
    form = await read_form(request, me.csrf)
    note = str(form.get("note", "")).strip()
    await run_in_threadpool(drafts.refuse, hub_of(request), me.user, _id(draft_id), note)
    return redirect("/drafts?done=refused")
