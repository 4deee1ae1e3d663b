"""The upstream hub (the national axis, or another axis above this one), spoken to exactly as
the national client SDK speaks (interop/vxp/PROTOCOL.md), over httpx, with timeouts (the SDK
has none).

Every parameter travels as a signed `XroadVnpt-<key>` header (formats.vxp.sign_pairs), in the
order systemid, the call's keys, timestamp, Content-Type; the timestamp is taken at each call (the
SDK keeps its construction time; a server must accept both). sendEdoc's body is the package and a
CRLF, its `hash-file` the unpadded hex SHA-256 of the package; getEdoc answers base64 in `data`.

Errors are `UpstreamError` with a stable code; `permanent` says whether sending the same request
again can never succeed (the upstream refused the package itself), as opposed to an upstream that
is down, slow, or answered garbage.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from formats import vxp

VIETNAM_TZ = "Asia/Ho_Chi_Minh"
EMPTY_JSON = b"{}"
# Refusals of the package or of the request itself: the same bytes will be refused again.
_PERMANENT_PREFIXES = (
    "EDXML",
    "RECIPIENT_",
    "REJECTED",
    "BAD_PACKAGE",
    "DOCUMENT_ID_CONFLICT",
    "SENDER_MISMATCH",
    "AUTH_",
    "TOO_LARGE",
    "BODY_TOO_LARGE",
    "STATUS_",
    "REFERENCE_",
    "VXP_HASH_FILE",
    "SYSTEM_AGENCY_NOT_HOSTED",
)


class UpstreamError(Exception):
    def __init__(self, code: str, message: str, *, permanent: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.permanent = permanent


def _now_local() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(VIETNAM_TZ))


class VxpClient:
    """One upstream endpoint (`http://host:port/vxp`), one system id and its secret."""

    def __init__(
        self,
        url: str,
        system_id: str,
        secret: str,
        *,
        timeout_s: float = 30.0,
        connect_timeout_s: float = 5.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.system_id = system_id
        self._secret = secret
        self._own = http is None
        self.http = http or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
            follow_redirects=False,
        )

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> VxpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the wire ------------------------------------------------------------------------

    def headers(
        self, params: Sequence[tuple[str, str]], content_type: str, timestamp: str | None = None
    ) -> list[tuple[str, str]]:
        """The signed headers of one call (and the real Content-Type), as the SDK builds them."""
        pairs = [
            ("systemid", self.system_id),
            *params,
            ("timestamp", timestamp or vxp.sdk_timestamp(_now_local())),
            ("Content-Type", content_type),
        ]
        return [*vxp.sign_pairs(pairs, self._secret), ("Content-Type", content_type)]

    def request(
        self,
        name: str,
        params: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str = "application/json",
        method: str = "POST",
    ) -> httpx.Response:
        headers = [
            (k.encode("latin-1"), v.encode("utf-8")) for k, v in self.headers(params, content_type)
        ]
        try:
            return self.http.request(
                method, f"{self.url}/{name}", content=body or None, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise UpstreamError("UPSTREAM_TIMEOUT", f"{name}: {type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError("UPSTREAM_UNREACHABLE", f"{name}: {exc!s}"[:300]) from exc

    def call(
        self,
        name: str,
        params: Sequence[tuple[str, str]] = (),
        body: bytes = b"",
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        """One call answered with the JSON envelope; a FAIL envelope raises UpstreamError."""
        response = self.request(name, params, body, content_type)
        try:
            answer = json.loads(response.content)
        except ValueError:
            raise UpstreamError(
                "UPSTREAM_GARBAGE",
                f"{name}: HTTP {response.status_code}, not JSON: {response.text[:120]!r}",
            ) from None
        if not isinstance(answer, dict) or "ErrorCode" not in answer:
            raise UpstreamError(
                "UPSTREAM_GARBAGE", f"{name}: HTTP {response.status_code}, no envelope"
            )
        code = str(answer.get("ErrorCode"))
        if str(answer.get("status")).upper() == vxp.FAIL or code != "0":
            desc = str(answer.get("ErrorDesc") or "")
            raise UpstreamError(code, f"{name}: {desc}"[:1000], permanent=_permanent(code))
        return answer

    # -- the calls -----------------------------------------------------------------------

    def send_edoc(
        self, package: bytes, *, sender: str, kind: str = "edoc", to: Sequence[str] = ()
    ) -> str:
        """Send a package (document or status) as `sender`; returns the upstream's DocId. The
        same bytes from the same sender are one package to an axis upstream (its resend
        detection), so a retry after a lost answer delivers nothing twice."""
        params = [
            ("servicetype", "eDoc"),
            ("messagetype", kind),
            ("hash-file", vxp.file_hash(package)),
            ("from", sender),
        ]
        if to:
            params.append(("to", json.dumps(list(to), separators=(",", ":"))))
        answer = self.call(
            "sendEdoc", params, package + b"\r\n", content_type="application/octet-stream"
        )
        doc_id = str(answer.get("DocId") or "")
        if not doc_id:
            raise UpstreamError("UPSTREAM_GARBAGE", "sendEdoc: OK without a DocId")
        return doc_id

    def received(self, kind: str = "edoc") -> list[dict[str, Any]]:
        answer = self.call("getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", kind)])
        return _items(answer, "getReceivedEdocList")

    def get_edoc(self, doc_id: str) -> bytes:
        answer = self.call("getEdoc", [("docId", doc_id)], EMPTY_JSON)
        data = answer.get("data")
        if not isinstance(data, str):
            raise UpstreamError("UPSTREAM_GARBAGE", f"getEdoc {doc_id}: no data")
        try:
            return base64.b64decode("".join(data.split()), validate=True)
        except (binascii.Error, ValueError):
            raise UpstreamError("UPSTREAM_GARBAGE", f"getEdoc {doc_id}: data not base64") from None

    def update_status(self, doc_id: str, status: str = "done", desc: str = "") -> None:
        params = [("status", status), ("docId", doc_id)]
        if desc:
            params.append(("desc", desc))
        self.call("updateStatus", params, EMPTY_JSON)

    def synchronize_unit(self) -> list[dict[str, Any]]:
        return _items(self.call("getSynchronizeUnit"), "getSynchronizeUnit")

    def agencies_list(self) -> list[dict[str, Any]]:
        return _items(self.call("getAgenciesList"), "getAgenciesList")

    def sent_list(self, doc_id: str | None = None) -> list[dict[str, Any]]:
        params = [("servicetype", "eDoc"), ("messagetype", "edoc")]
        if doc_id:
            params.append(("docId", doc_id))
        return _items(self.call("getSentEdocList", params), "getSentEdocList")


def _items(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    data = answer.get("data")
    if data is None:
        return []
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise UpstreamError("UPSTREAM_GARBAGE", f"{name}: data is not a list of objects")
    return data


def _permanent(code: str) -> bool:
    return code.startswith(_PERMANENT_PREFIXES)
