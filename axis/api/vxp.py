"""The national axis (VXP) protocol at /vxp: what the national client SDK calls, answered in the
shape it parses (interop/vxp/PROTOCOL.md). One more thin entrypoint over the service layer: a
connected system authenticates with its HMAC signature, then each call acts for one agency the
system hosts (or lists for all of them) through the same use cases as the native API.

Ids: a sent package's DocId is the hub's message id. A received item's docId names the message
and the recipient, `<message id>.<agency code>`, since a system hosting two recipients of one
message receives it twice (getSentEdocList calls it receiverDocId). A bare message id is
accepted too and means every hosted recipient of it.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from axis.api.limits import run_store_bound
from axis.domain import (
    BadPackage,
    HubError,
    NotFound,
    Rejected,
    TooLarge,
    Unauthorized,
    nfc,
    show_time,
)
from axis.service import agencies, failures, inbox, messages, statuses
from axis.service.context import Hub
from axis.service.systems import SystemAuth, SystemPrincipal
from formats import vxp

log = logging.getLogger("axis.vxp")
router = APIRouter(prefix="/vxp", tags=["vxp"], include_in_schema=False)

SERVICE_TYPE = "eDoc"
_KINDS = {"edoc": "edoc", "status": "status"}
_REGISTER_MAX = 64 * 1024


@dataclass
class Call:
    """One request, verified: the system, what it signed, and the body."""

    hub: Hub
    system: SystemPrincipal
    signed: vxp.SignedRequest
    body: bytes

    def param(self, name: str) -> str | None:
        value = self.signed.get(name)
        return nfc(value) if value is not None else None

    def kind(self) -> str:
        value = (self.param("messagetype") or "edoc").lower()
        if value not in _KINDS:
            raise Rejected(f"messagetype {value!r}: edoc or status", code="VXP_MESSAGETYPE")
        return _KINDS[value]


# --- ids ---------------------------------------------------------------------------------


def receiver_doc_id(message_id: str, recipient: str) -> str:
    return f"{message_id}.{recipient}"


_DOC_ID = re.compile(r"([0-9a-f]{32})(?:\.([0-9A-Z.]{1,35}))?")


def _targets(call: Call, required: bool = True) -> tuple[str, list[str]]:
    """The message a docId names and the hosted agencies it concerns (recipients first)."""
    doc_id = call.param("docId")
    if not doc_id:
        if not required:
            return "", []
        raise Rejected("docId is required", code="VXP_DOCID_MISSING")
    match = _DOC_ID.fullmatch(doc_id)
    if match is None:
        raise NotFound(f"không có văn bản {doc_id}", code="MESSAGE_NOT_FOUND")
    message_id, recipient = match.groups()
    if recipient is not None:
        call.system.acting_as(recipient)  # refuses an agency the system does not host
        return message_id, [recipient]
    holders = inbox.holders(call.hub, message_id, call.system.agencies)
    if not holders:
        raise NotFound(f"không có văn bản {doc_id}", code="MESSAGE_NOT_FOUND")
    return message_id, holders


# --- calls -------------------------------------------------------------------------------


def send_edoc(call: Call) -> dict:
    principal = call.system.acting_as(call.param("from"))
    expected = call.signed.get("hash-file")
    if not expected:
        raise Rejected(
            "XroadVnpt-hash-file is missing: the body is not covered by the signature",
            code="VXP_HASH_FILE_MISSING",
        )
    body = call.body
    # The SDK sends the file's bytes and a CRLF, and signs the file's hash (PROTOCOL §5.1).
    package = body[:-2] if body.endswith(b"\r\n") else body
    if vxp.file_hash(package) != expected.lower():
        if vxp.file_hash(body) != expected.lower():
            raise Rejected(
                "the body does not match XroadVnpt-hash-file", code="VXP_HASH_FILE_MISMATCH"
            )
        package = body
    receipt, _ = messages.submit(  # a resend: the same receipt
        call.hub, package, principal, only_recipients=_to(call.param("to"))
    )
    if receipt.evidence:  # the signed receipt beside DocId, which is all the SDK reads
        return vxp.envelope(
            DocId=receipt.id,
            Receipt=receipt.evidence["receipt"],
            ReceiptSignature=receipt.evidence["signature"],
        )
    return vxp.envelope(DocId=receipt.id)


def _to(value: str | None) -> list[str] | None:
    """sendEdoc's `to` (PROTOCOL §2.1: the JSON text of an array or of a string): when given,
    only these of the package's recipients receive it (a hub forwarding the far part of a
    package names them). Absent or empty: every recipient the package names."""
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = [c for c in re.split(r"[,;\s]+", value) if c]
    if isinstance(parsed, str):
        parsed = [parsed]
    if not isinstance(parsed, list) or not all(isinstance(c, str) for c in parsed):
        raise Rejected("'to' is not a list of agency codes", code="VXP_TO_INVALID")
    codes = [nfc(c).upper() for c in parsed if c.strip()]
    return codes or None


def received_list(call: Call) -> dict:
    items = inbox.received(call.hub, call.system.agencies, kind=call.kind())
    return vxp.envelope(
        data=[
            {
                "docId": receiver_doc_id(i["id"], i["to"]),
                "serviceType": SERVICE_TYPE,
                "messageType": i["kind"],
                "created_time": i["delivered_at"],
                "updated_time": i["fetched_at"] or i["delivered_at"],
                "from": i["from"],
                "to": i["to"],
                "status": "pending" if i["fetched_at"] is None else "fetched",
                "status_desc": "Chờ nhận" if i["fetched_at"] is None else "Đã tải, chờ xác nhận",
                "documentId": i["document_id"],
                "subject": i["subject"],
                "statusCode": i["status_code"],
            }
            for i in items
        ]
    )


def _fetch(call: Call) -> tuple[str, bytes]:
    message_id, holders = _targets(call)
    body, _ = inbox.fetch(call.hub, call.system.acting_as(holders[0]), message_id)
    return message_id, body


def get_edoc(call: Call) -> dict:
    _, body = _fetch(call)
    return vxp.envelope(data=base64.b64encode(body).decode("ascii"))


def update_status(call: Call) -> dict:
    """`done`: the transport acknowledgement (status 01 to the sender, as the native ack);
    idempotent. `fail`: recorded on the timeline, the item stays pending (listed again).
    `processing`: accepted, nothing changes."""
    status = (call.param("status") or "").lower()
    if status not in ("done", "fail", "processing"):
        raise Rejected(f"status {status!r}: done, fail or processing", code="VXP_STATUS_INVALID")
    message_id, holders = _targets(call)
    for agency in holders:
        principal = call.system.acting_as(agency)
        if status == "done":
            [result] = statuses.acknowledge(call.hub, principal, [message_id])
            if not result["acked"] and len(holders) == 1:
                raise NotFound(f"không có văn bản {message_id}", code="MESSAGE_NOT_FOUND")
        elif status == "fail":
            statuses.report_fetch_failure(call.hub, principal, message_id, call.param("desc") or "")
    return vxp.envelope()


def sent_list(call: Call) -> dict:
    message_id, _ = _targets_sent(call)
    rows = inbox.sent_states(
        call.hub, call.system.agencies, message_id=message_id, kind=call.kind()
    )
    return vxp.envelope(
        data=[
            {
                "serviceType": SERVICE_TYPE,
                "messageType": r["kind"],
                "senderDocId": r["id"],
                "receiverDocId": receiver_doc_id(r["id"], r["to"]),
                "fromCode": r["from"],
                "toCode": r["to"],
                "title": r["subject"],
                "notation": r["code"],
                "sentTime": r["sent_at"],
                "receivedTime": r["acked_at"] or r["fetched_at"],
                "sendStatus": "done" if r["acked_at"] else "pending",
                "sendStatusDesc": "Đã đến đơn vị nhận" if r["acked_at"] else "Chờ đơn vị nhận",
                "receiveStatus": r["status_code"] or "",
                "receiveStatusDesc": r["status_description"] or r["status_meaning"] or "",
                "documentId": r["document_id"],
            }
            for r in rows
        ]
    )


def _targets_sent(call: Call) -> tuple[str | None, None]:
    doc_id = call.param("docId")
    if not doc_id:
        return None, None
    match = _DOC_ID.fullmatch(doc_id)
    if match is None:
        raise NotFound(f"không có văn bản {doc_id}", code="MESSAGE_NOT_FOUND")
    return match.group(1), None


def count_edoc(call: Call) -> dict:
    return vxp.envelope(count=inbox.count_pending(call.hub, call.system.agencies, kind="edoc"))


def count_status(call: Call) -> dict:
    return vxp.envelope(count=inbox.count_pending(call.hub, call.system.agencies, kind="status"))


def _directory(call: Call) -> list[dict]:
    return agencies.directory(call.hub.db)


def agencies_list(call: Call) -> dict:
    return vxp.envelope(
        data=[
            {
                "id": a["code"],
                "pid": a["parent"] or "",
                "code": a["code"],
                "name": a["name"],
                "mail": "",
                "oldCode": "",
            }
            for a in _directory(call)
            if a["active"]
        ]
    )


def agencies_list_qd20(call: Call) -> dict:
    return vxp.envelope(
        data=[
            {
                "id": a["code"],
                "code": a["code"],
                "name": a["name"],
                "mail": "",
                "code102": a["code"],
            }
            for a in _directory(call)
            if a["active"]
        ]
    )


def synchronize_unit(call: Call) -> dict:
    return vxp.envelope(
        data=[
            {
                "id": a["code"],
                "pid": a["parent"] or "",
                "code": a["code"],
                "name": a["name"],
                "mail": "",
                "version": 1,
                "centerCode": a["system"] or "",
                "deleted": not a["active"],
                "modifyDate": show_time(a["created_at"]),
                "isAgency": True,
            }
            for a in _directory(call)
        ]
    )


_PAIR = re.compile(r'"(\w+)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _lenient_object(text: str) -> dict[str, str]:
    """The SDK posts whatever text it is given (its own example is malformed JSON): JSON if it
    parses, else every `"key":"value"` pair found."""
    try:
        value = json.loads(text)
    except ValueError:
        return {k: v for k, v in _PAIR.findall(text)}
    if not isinstance(value, dict):
        raise BadPackage("registerAgency: the data is not an object", code="VXP_DATA_INVALID")
    return {k: v for k, v in value.items() if isinstance(v, str)}


def register_agency(call: Call) -> dict:
    try:
        data = _lenient_object(call.body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadPackage("registerAgency: the data is not UTF-8", code="VXP_DATA_INVALID") from exc
    code, name = data.get("code", ""), data.get("name", "")
    agencies.add_hosted_agency(
        call.hub.db,
        code,
        name,
        call.system.system_id,
        parent=nfc(data.get("pcode", "")).upper() or None,
        claim_existing=False,
    )
    return vxp.envelope()


def delete_agency(call: Call) -> dict:
    code = call.param("AgencyCode") or ""
    call.system.acting_as(code)
    agencies.remove_hosted_agency(call.hub.db, code, call.system.system_id)
    return vxp.envelope()


CALLS: dict[str, Callable[[Call], dict]] = {
    "sendEdoc": send_edoc,
    "getReceivedEdocList": received_list,
    "getEdoc": get_edoc,
    "updateStatus": update_status,
    "getSentEdocList": sent_list,
    "countReceiveEdoc": count_edoc,
    "countReceiveStatus": count_status,
    "getAgenciesList": agencies_list,
    "getAgenciesListQD20": agencies_list_qd20,
    "getSynchronizeUnit": synchronize_unit,
    "registerAgency": register_agency,
    "deleteAgency": delete_agency,
}


# --- plumbing ----------------------------------------------------------------------------


def _verify(
    hub: Hub, raw_headers: list[tuple[bytes, bytes]]
) -> tuple[SystemPrincipal, vxp.SignedRequest]:
    auth = SystemAuth(hub.db, hub.secret_box)
    try:
        signed = vxp.verify(raw_headers, auth.secret_for)
    except vxp.SignatureError as exc:
        raise Unauthorized(exc.message, code=exc.code) from exc
    return auth.principal(), signed


def _handle(hub: Hub, name: str, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> dict:
    system, signed = _verify(hub, raw_headers)
    return CALLS[name](Call(hub, system, signed, body))


def _fail(exc: HubError) -> dict:
    desc = exc.message
    if exc.findings:
        desc += " | " + "; ".join(f"{f.code} {f.path}: {f.message}" for f in exc.findings)
    return vxp.envelope(vxp.FAIL, exc.code, desc)


def _no_nulls(obj: dict) -> dict:
    """The SDK's list parsers read item fields with getAsString: a JSON null there loses the
    whole list. An absent value is sent as ""."""
    data = obj.get("data")
    if isinstance(data, list):
        obj["data"] = [
            {k: ("" if v is None else v) for k, v in item.items()}
            if isinstance(item, dict)
            else item
            for item in data
        ]
    return obj


def _answer(obj: dict) -> Response:
    # Always 200: the SDK parses the envelope whatever the status, except sendEdoc, which reads
    # other statuses in the JVM's charset and gives up on an empty body (PROTOCOL §4, §5.1).
    return Response(vxp.dumps(_no_nulls(obj)), media_type="application/json")


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the body is {declared} bytes; at most {limit}", code="BODY_TOO_LARGE")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the body passes {limit} bytes", code="BODY_TOO_LARGE")
        chunks.append(chunk)
    return b"".join(chunks)


@router.get("/downloadEdoc")
async def download_edoc(request: Request) -> Response:
    """The package's bytes as the body. The SDK saves any body as the package and reports
    success, so an error answers an empty body (its only failure signal, PROTOCOL §5.3) with
    the reason in X-Axis-Error."""
    hub: Hub = request.app.state.hub
    raw = list(request.scope["headers"])

    def run() -> bytes:
        system, signed = _verify(hub, raw)
        return _fetch(Call(hub, system, signed, b""))[1]

    try:
        body = await run_in_threadpool(run)
    except HubError as exc:
        return Response(b"", status_code=exc.status, headers={"X-Axis-Error": exc.code})
    except Exception:  # noqa: BLE001 - never a 500 page the SDK would save as the package
        log.exception("vxp downloadEdoc failed")
        return Response(b"", status_code=503, headers={"X-Axis-Error": "INTERNAL"})
    return Response(body, media_type="application/xml")


@router.api_route("/{name}", methods=["GET", "POST"])
async def vxp_call(name: str, request: Request) -> Response:
    hub: Hub = request.app.state.hub
    send = name == "sendEdoc"
    try:
        if name not in CALLS:
            raise NotFound(f"no VXP call {name!r}", code="VXP_UNKNOWN_CALL")
        if send:
            body = await _body(request, hub.settings.max_body_bytes + 2)
        elif name == "registerAgency":
            body = await _body(request, _REGISTER_MAX)
        else:
            body = b""
        # sendEdoc and getEdoc wait on the store: their own threads (axis.api.limits)
        hop = (
            functools.partial(run_store_bound, request)
            if send or name == "getEdoc"
            else run_in_threadpool
        )
        result = await hop(_handle, hub, name, list(request.scope["headers"]), body)
    except HubError as exc:
        result = _fail(exc)
        if send:
            result["DocId"] = ""
    except Exception as exc:  # noqa: BLE001 - a client's mistake is never a 500; ours is logged
        known = failures.known(exc)  # the database or the store: its code, no traceback
        if known is not None:
            log.warning("vxp %s: %s: %s", name, known.code, exc)
            result = _fail(known)
        else:
            log.exception("vxp %s failed", name)
            result = vxp.envelope(vxp.FAIL, "INTERNAL", "lỗi nội bộ của trục; thử lại sau")
        if send:
            result["DocId"] = ""
    return _answer(result)
