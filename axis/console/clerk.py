"""Clerks (văn thư) and leaders of an agency: the inbox, a document, acknowledging and
statuses, composing and sending, what was sent. Every page reads through the service layer
with the person's agency as the principal: another agency's documents answer 404."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from axis.console import explain
from axis.console.web import (
    PDF_HEADERS,
    ConsoleRoute,
    current,
    hub_of,
    lang_of,
    need,
    read_form,
    redirect,
    render,
)
from axis.domain import HubError, NotFound, Rejected
from axis.service import agencies, compose, drafts, mailbox, messages, statuses, users
from axis.service.context import Hub
from formats.findings import has_errors
from formats.model import StaffInfo
from formats.rules.doctypes import TYPE_NAMES

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Session = Annotated[users.SessionView, Depends(current)]
AGENCY_ROLES = ("clerk", "leader")
STATUS_CHOICES = ("02", "03", "04", "05", "06")
RECALL_ANSWERS = ("15", "16")  # a recipient's answer to a revoke or an update


def _me(view: users.SessionView):  # noqa: ANN202
    need(view, *AGENCY_ROLES)
    return view.user.principal


@router.get("/inbox")
async def inbox_page(request: Request, me: Session) -> Response:
    principal = _me(me)
    p = request.query_params
    page = p.get("page", "1")
    filters = mailbox.Filters(
        sender=p.get("sender", "")[:200],
        start=p.get("from", ""),
        end=p.get("to", ""),
        state=p.get("state", ""),
        text=p.get("q", "")[:200],
        type_name=p.get("type", "")[:100],
        page=int(page) if page.isdigit() else 1,
    )
    result = await run_in_threadpool(mailbox.received, hub_of(request), principal, filters)
    keep = urlencode([(k, v) for k, v in p.multi_items() if k != "page"])
    return render(
        request,
        "inbox.html",
        result=result,
        f=filters,
        states=mailbox.STATES,
        types=TYPE_NAMES,
        request_query=f"{keep}&" if keep else "",
    )


@router.get("/sent")
async def sent_page(request: Request, me: Session) -> Response:
    principal = _me(me)
    type_name = request.query_params.get("type", "")[:100]
    docs = await run_in_threadpool(
        lambda: mailbox.sent(hub_of(request), principal, type_name=type_name)
    )
    return render(request, "sent.html", docs=docs, types=TYPE_NAMES, type_name=type_name)


@router.get("/documents/{message_id}")
async def document_page(request: Request, message_id: str, me: Session) -> Response:
    principal = _me(me)
    doc = await run_in_threadpool(mailbox.document, hub_of(request), principal, message_id)
    lang = lang_of(request)
    pdfs = [
        {**d, "explained": [explain.explain(s, lang) for s in d.get("signatures", [])]}
        for d in explain.documents(doc["report"])
    ]
    mine = next(
        (line for line in doc["timeline"]["recipients"] if line["agency"] == principal.agency_code),
        None,
    )
    return render(
        request,
        "document.html",
        doc=doc,
        pkg=doc["package"],
        pdfs=pdfs,
        mine=mine,
        main_is_pdf=bool(atts := getattr(doc["package"], "attachments", None))
        and atts[0].data.startswith(b"%PDF-"),
        choices=(RECALL_ANSWERS if doc["package"].business.doc_type in (1, 2) else ())
        + STATUS_CHOICES,
        business=compose.CHANGE_NAMES.get(int(doc["package"].business.doc_type), "new"),
        done=request.query_params.get("done", ""),
    )


@router.get("/documents/{message_id}/files/{index}")
async def document_file(request: Request, message_id: str, index: str, me: Session) -> Response:
    principal = _me(me)
    n = int(index) if index.isdigit() and len(index) < 4 else 0  # 0: no such file, a 404 page
    att = await run_in_threadpool(mailbox.attachment, hub_of(request), principal, message_id, n)
    name = compose.safe_file_name(att.name)
    is_pdf = att.data.startswith(b"%PDF-")
    # Only a real PDF is shown inline (in our own frame); anything else is a download,
    # served as bytes whose type the browser may not guess (nosniff).
    disposition = "inline" if is_pdf and request.query_params.get("view") else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
        **(PDF_HEADERS if disposition == "inline" else {}),
    }
    media = "application/pdf" if is_pdf else "application/octet-stream"
    return Response(att.data, media_type=media, headers=headers)


@router.post("/documents/{message_id}/ack")
async def acknowledge(request: Request, message_id: str, me: Session) -> Response:
    principal = _me(me)
    await read_form(request, me.csrf)
    [result] = await run_in_threadpool(
        statuses.acknowledge, hub_of(request), principal, [message_id]
    )
    if not result["acked"]:
        raise NotFound(
            "Không có văn bản này trong hộp thư đến của cơ quan. (No such document received.)",
            code=result.get("error") or "MESSAGE_NOT_FOUND",
        )
    return redirect(f"/documents/{message_id}?done=ack")


@router.post("/documents/{message_id}/status")
async def send_status(request: Request, message_id: str, me: Session) -> Response:
    principal = _me(me)
    form = await read_form(request, me.csrf)
    code = str(form.get("code", ""))
    note = str(form.get("note", "")).strip()[:2000]
    if code not in STATUS_CHOICES + RECALL_ANSWERS:
        raise Rejected(
            "Trạng thái: chọn một trạng thái trong danh sách (02–06, 15, 16).",
            code="STATUS_CODE_INVALID",
        )
    staff = StaffInfo(staff=me.user.full_name or me.user.name)
    await run_in_threadpool(
        statuses.post_status, hub_of(request), principal, message_id, code, note, staff
    )
    return redirect(f"/documents/{message_id}?done={code}")


@router.get("/directory")
async def directory(request: Request, me: Session) -> Response:
    """The agency directory searched as a clerk types (code or name), at most 20 answers."""
    need(me, *AGENCY_ROLES, "operator")
    q = request.query_params.get("q", "").strip()[:100]
    if len(q) < 2:
        return JSONResponse([])
    items = await run_in_threadpool(agencies.suggest, hub_of(request).db, q)
    return JSONResponse(items)


@router.get("/compose")
async def compose_page(request: Request, me: Session) -> Response:
    _me(me)
    leaders = await run_in_threadpool(
        users.users_of_agency, hub_of(request).db, me.user.agency_code, "leader"
    )
    return render(request, "compose.html", form=compose.ComposeForm(), leaders=leaders)


async def _compose_form(form: FormData) -> compose.ComposeForm:
    fields = compose.ComposeForm.from_fields({k: v for k, v in form.items() if isinstance(v, str)})

    async def upload(item: UploadFile) -> compose.UploadedFile:
        return compose.UploadedFile(item.filename or "", await item.read(), item.content_type or "")

    main = form.get("main")
    if isinstance(main, UploadFile) and main.filename:
        fields.main = await upload(main)
    fields.attachments = [
        await upload(a)
        for a in form.getlist("attachments")
        if isinstance(a, UploadFile) and a.filename
    ]
    return fields


@router.post("/compose")
async def compose_post(request: Request, me: Session) -> Response:
    principal = _me(me)
    hub: Hub = hub_of(request)
    form = await read_form(request, me.csrf, max_bytes=hub.settings.max_body_bytes)
    fields = await _compose_form(form)
    action = str(form.get("action", "check"))
    leaders = await run_in_threadpool(users.users_of_agency, hub.db, me.user.agency_code, "leader")
    context = {"form": fields, "leaders": leaders}
    try:
        if action == "send":
            receipt = await run_in_threadpool(compose.send, hub, principal, fields)
            return redirect(f"/documents/{receipt.id}?done=sent")
        if action == "draft":
            leader = str(form.get("leader", ""))
            await run_in_threadpool(drafts.submit, hub, me.user, fields, leader)
            return redirect("/drafts?done=submitted")
        if action == "send-checked":
            draft_id = str(form.get("draft", ""))
            receipt = await run_in_threadpool(
                drafts.send_checked, hub, me.user, int(draft_id) if draft_id.isdigit() else 0
            )
            return redirect(f"/documents/{receipt.id}?done=sent")
        raw = await run_in_threadpool(compose.build, hub, principal, fields)
        findings, reports = await run_in_threadpool(messages.preview, hub, raw, principal)
        draft_id = None
        if not has_errors(findings):
            draft_id = await run_in_threadpool(
                drafts.save_checked, hub, me.user, raw, fields.fields()
            )
    except HubError as exc:
        return render(request, "compose.html", status=exc.status, error=exc, **context)
    return _checked(request, "compose.html", findings, reports, draft_id, context)


def _change_kind(kind: str) -> str:
    if kind not in compose.CHANGES:
        raise NotFound("Không có thao tác này. (No such action.)", code="CHANGE_UNKNOWN")
    return kind


def _change_start(orig: compose.Original, kind: str) -> compose.ComposeForm:
    """The form a change starts from: the original's envelope; a replacement needs a number
    and a date of its own."""
    form = compose.form_of(orig.package)
    if kind == "replace":
        form.number, form.date = "", ""
    return form


@router.get("/documents/{message_id}/change/{kind}")
async def change_page(request: Request, message_id: str, kind: str, me: Session) -> Response:
    """Revoke, update or replace a document this agency sent: the form (step 1 of 2)."""
    principal = _me(me)
    kind = _change_kind(kind)
    orig = await run_in_threadpool(compose.original, hub_of(request), principal, message_id)
    return render(
        request,
        "change.html",
        kind=kind,
        orig=orig,
        form=_change_start(orig, kind),
        reason="",
    )


@router.post("/documents/{message_id}/change/{kind}")
async def change_post(request: Request, message_id: str, kind: str, me: Session) -> Response:
    """Step 2: `check` builds the package and shows what the hub would say (nothing sent,
    the package kept as checked); `confirm` sends that package, byte for byte, through the
    same submit as the API and the national protocol."""
    principal = _me(me)
    kind = _change_kind(kind)
    hub: Hub = hub_of(request)
    form = await read_form(request, me.csrf, max_bytes=hub.settings.max_body_bytes)
    if str(form.get("action", "")) == "confirm":
        draft_id = str(form.get("draft", ""))
        receipt = await run_in_threadpool(
            drafts.send_checked, hub, me.user, int(draft_id) if draft_id.isdigit() else 0
        )
        return redirect(f"/documents/{receipt.id}?done={kind}")
    orig = await run_in_threadpool(compose.original, hub, principal, message_id)
    fields = await _compose_form(form)
    reason = str(form.get("reason", "")).strip()[:2000]
    context = {"kind": kind, "orig": orig, "form": fields, "reason": reason}
    if kind == "revoke":
        context["form"] = _change_start(orig, kind)
    staff = StaffInfo(staff=me.user.full_name or me.user.name)
    try:
        raw = await run_in_threadpool(
            compose.change, hub, principal, message_id, kind, reason, fields, staff
        )
        findings, reports = await run_in_threadpool(messages.preview, hub, raw, principal)
        draft_id = None
        if not has_errors(findings):
            draft_id = await run_in_threadpool(
                drafts.save_checked, hub, me.user, raw, {"change": kind, "of": message_id}
            )
    except HubError as exc:
        return render(request, "change.html", status=exc.status, error=exc, **context)
    return _checked(request, "change.html", findings, reports, draft_id, context)


def _checked(
    request: Request,
    template: str,
    findings: list,
    reports: list,
    draft_id: int | None,
    context: dict,
) -> Response:
    """A form checked and not sent: the hub's findings and each PDF's signatures explained,
    and (when nothing blocks it) the checked package kept for the confirm step."""
    lang = lang_of(request)
    pdfs = [
        {**d, "explained": [explain.explain(s, lang) for s in d.get("signatures", [])]}
        for d in explain.documents(reports)
    ]
    return render(
        request,
        template,
        checked=True,
        draft_id=draft_id,
        findings=findings,
        blocked=has_errors(findings),
        pdfs=pdfs,
        **context,
    )
