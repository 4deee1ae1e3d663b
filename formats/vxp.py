"""The national axis (VXP) wire protocol, as its Java client SDK 2.0.1 speaks it: pure functions
both sides share (a hub verifying requests, a client signing them). See
interop/vxp/PROTOCOL.md: every parameter travels as an `XroadVnpt-<key>` header, the set of them
is signed as one compact JSON text in `XroadVnpt-sign-header`, and `XroadVnpt-hash-header` is the
lower-case hex HMAC-SHA256 of that text's bytes under the system's shared secret.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

PREFIX = "XroadVnpt-"
SIGN_HEADER = "XroadVnpt-sign-header"
SIGN_HEADER_KEY = "XroadVnpt-sign-header-key"
HASH_HEADER = "XroadVnpt-hash-header"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"
VERSION = "3.0.201608"

OK, FAIL = "OK", "FAIL"


class SignatureError(ValueError):
    """A request whose signature cannot be checked or does not match. `code` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def unpadded_hex(digest: bytes) -> str:
    """Hex as the SDK writes `hash-file`: each byte without its leading zero (0x0c -> "c")."""
    return "".join(format(b, "x") for b in digest)


def file_hash(data: bytes) -> str:
    return unpadded_hex(hashlib.sha256(data).digest())


def sdk_timestamp(at: datetime) -> str:
    """The SDK's `timestamp`: local time `ddMMyyyy'T'HHmmss+SSSS` (milliseconds, not a zone)."""
    return at.strftime("%d%m%YT%H%M%S") + f"+{at.microsecond // 1000:04d}"


@dataclass
class SignedRequest:
    """What a verified request says: the signed keys (without the prefix) and their values,
    in the order signed. `get` looks a key up without regard to case, preferring the exact
    spelling, since clients re-send stale keys that differ only by case (PROTOCOL §2.1)."""

    system_id: str
    items: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""

    def get(self, name: str, default: str | None = None) -> str | None:
        exact = [v for k, v in self.items if k == name]
        if exact:
            return exact[-1]
        lower = name.lower()
        loose = [v for k, v in self.items if k.lower() == lower]
        return loose[-1] if loose else default

    def as_dict(self) -> dict[str, str]:
        return dict(self.items)


def header_values(raw_headers: Iterable[tuple[bytes, bytes]], name: str) -> list[bytes]:
    """Every value of one header name (case-insensitive), as the raw bytes received."""
    lower = name.lower().encode("latin-1")
    return [v for k, v in raw_headers if k.lower() == lower]


def _text_candidates(raw: bytes) -> list[tuple[bytes, str]]:
    """The bytes the client may have signed, with their text. The SDK always signs UTF-8, but
    some of its HTTP paths write only the low byte of each UTF-16 unit (PROTOCOL §3): for text
    of Latin-1 characters, re-encoding those bytes as UTF-8 gives back what was signed."""
    out = []
    with contextlib.suppress(UnicodeDecodeError):
        out.append((raw, raw.decode("utf-8")))
    latin = raw.decode("latin-1")
    as_utf8 = latin.encode("utf-8")
    if as_utf8 != raw:
        out.append((as_utf8, latin))
    return out


def verify(raw_headers: Iterable[tuple[bytes, bytes]], secret_for) -> SignedRequest:  # noqa: ANN001
    """Check a request's signature and return what it signed.

    `raw_headers` are (name, value) byte pairs as received; `secret_for(system_id)` returns the
    system's shared secret or raises. The HMAC is computed over the raw bytes of the
    sign-header (never rebuilt: the SDK orders keys as Java's HashMap does) and compared in
    constant time; then every signed `XroadVnpt-<k>` must be among the headers received under
    that name. Raises SignatureError with a stable code."""
    raw_headers = list(raw_headers)
    systems = header_values(raw_headers, PREFIX + "systemid")
    signs = header_values(raw_headers, SIGN_HEADER)
    hashes = header_values(raw_headers, HASH_HEADER)
    if not systems or not signs or not hashes:
        raise SignatureError(
            "VXP_UNSIGNED",
            "thiếu chữ ký: cần các header XroadVnpt-systemid, XroadVnpt-sign-header và "
            "XroadVnpt-hash-header",
        )
    if len(signs) != 1 or len(hashes) != 1:
        raise SignatureError("VXP_SIGNATURE_AMBIGUOUS", "nhiều hơn một header chữ ký")
    given = hashes[0].strip().decode("latin-1").lower()
    candidates = _text_candidates(signs[0])
    # The signed JSON names the system; the header must be one of its values (checked below).
    system_id = None
    for _, text in candidates:
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        if isinstance(parsed, dict) and isinstance(parsed.get(PREFIX + "systemid"), str):
            system_id = parsed[PREFIX + "systemid"]
            break
    if system_id is None:
        system_id = systems[-1].decode("latin-1").strip()
    secret = secret_for(system_id)
    verified = [t for b, t in candidates if hmac.compare_digest(hmac_hex(secret, b), given)]
    if verified:
        text = verified[0]
    else:
        try:
            signs[0].decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError(
                "VXP_SIGNATURE_CHARSET",
                "chữ ký sai: giá trị header có ký tự ngoài ASCII bị bộ mã của máy khách cắt "
                "(PROTOCOL §3); dùng giá trị ASCII hoặc endpoint không ghi cổng",
            ) from None
        raise SignatureError("VXP_SIGNATURE_INVALID", "chữ ký (XroadVnpt-hash-header) sai")
    try:
        pairs = json.loads(text, object_pairs_hook=list)
    except ValueError as exc:
        raise SignatureError(
            "VXP_SIGN_HEADER_INVALID", "XroadVnpt-sign-header không là JSON"
        ) from exc
    if not isinstance(pairs, list) or not text.lstrip().startswith("{"):
        raise SignatureError("VXP_SIGN_HEADER_INVALID", "XroadVnpt-sign-header không là đối tượng")
    items: list[tuple[str, str]] = []
    for key, value in pairs:
        if not key.startswith(PREFIX) or not isinstance(value, str):
            raise SignatureError("VXP_SIGN_HEADER_INVALID", f"khóa đã ký không hợp lệ: {key!r}")
        received = header_values(raw_headers, key)
        if not any(value in {t for _, t in _text_candidates(r)} for r in received):
            raise SignatureError(
                "VXP_HEADER_MISMATCH",
                f"header {key} không khớp với giá trị đã ký",
            )
        items.append((key[len(PREFIX) :], value))
    signed = SignedRequest(system_id=system_id, items=items, text=text)
    if signed.get("systemid") != system_id:
        raise SignatureError("VXP_SIGN_HEADER_INVALID", "systemid không nằm trong phần đã ký")
    return signed


def sign(system_id: str, secret: str, params: Mapping[str, str], timestamp: str) -> dict[str, str]:
    """The headers a client sends for `params` (the JSON-header keys of one call, with
    `Content-Type`), as the SDK builds them. For a Python client and for tests."""
    values = {"systemid": system_id, **params, "timestamp": timestamp}
    signed = {PREFIX + k: v for k, v in values.items()}
    text = json.dumps(signed, ensure_ascii=False, separators=(",", ":"))
    headers = dict(signed)
    headers[SIGN_HEADER_KEY] = ";".join(values)
    headers[SIGN_HEADER] = text
    headers[HASH_HEADER] = hmac_hex(secret, text.encode("utf-8"))
    headers["User-Agent"] = USER_AGENT
    headers[PREFIX + "version"] = VERSION
    if "Content-Type" in params:
        headers["Content-Type"] = params["Content-Type"]
    return headers


def envelope(
    status: str = OK, code: str = "0", desc: str = "Success", **fields: object
) -> dict[str, object]:
    """The response object every call but downloadEdoc answers with (PROTOCOL §4)."""
    return {"status": status, "ErrorCode": code, "ErrorDesc": desc, **fields}


def dumps(obj: object) -> bytes:
    """ASCII JSON (non-ASCII as \\uXXXX): the SDK reads sendEdoc's answers as US-ASCII."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def gson_text(pairs: Iterable[tuple[str, str]]) -> str:
    """A compact JSON object of string pairs, in the given order, written as the SDK's Gson
    writes it (PROTOCOL §2.2): no spaces, `"` and `\\` and control characters escaped,
    U+2028/U+2029 escaped, everything else (`<`, `>`, `&`, `=`, non-ASCII) left as it is."""
    text = json.dumps(dict(pairs), ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def sign_pairs(pairs: Iterable[tuple[str, str]], secret: str) -> list[tuple[str, str]]:
    """The headers the SDK sends for its header map, given in its iteration order (`systemid`,
    `timestamp`, `Content-Type` and the call's keys, without the prefix): one `XroadVnpt-<k>`
    each, the key list, the sign-header text and its HMAC, then User-Agent and version."""
    pairs = list(pairs)
    signed = [(PREFIX + k, v) for k, v in pairs]
    text = gson_text(signed)
    headers = list(signed)
    headers.append((SIGN_HEADER_KEY, ";".join(k for k, _ in pairs)))
    headers.append((SIGN_HEADER, text))
    headers.append((HASH_HEADER, hmac_hex(secret, text.encode("utf-8"))))
    headers.append(("User-Agent", USER_AGENT))
    headers.append((PREFIX + "version", VERSION))
    return headers
