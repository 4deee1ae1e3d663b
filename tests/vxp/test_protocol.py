"""The protocol's edges that the SDK cannot be made to produce on demand, driven over HTTP by
formats.vxp's own signer (checked first against PROTOCOL.md's captured vector): resends,
duplicate and stale keys, hash-file, charset-mangled headers, registerAgency/deleteAgency."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest

from axis.domain import Principal
from axis.service import inbox
from formats import vxp
from tests.vxp.conftest import A_AGENCIES, B_AGENCIES, VxpHub
from tests.vxp.kit import Kit, doc_spec

G22, _ = A_AGENCIES
H41, H14 = B_AGENCIES
TS = "03122026T080315+0484"

# PROTOCOL.md §3, captured from the SDK and recomputed.
CAPTURED = (
    '{"XroadVnpt-systemid":"000.00.00.H41","XroadVnpt-servicetype":"eDoc",'
    '"XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"03122026T080315+0484",'
    '"XroadVnpt-Content-Type":"application/json"}'
)
CAPTURED_HASH = "3663fc0cb751e20bc2e612d7ab5f417a0286d5bb42301a3e3de004c6072a122c"


def _raw(headers: dict[str, str], extra: list[tuple[str, str]] = ()) -> list[tuple[bytes, bytes]]:
    pairs = [*headers.items(), *extra]
    return [(k.encode(), v.encode("utf-8")) for k, v in pairs]


def test_captured_vector_verifies_and_tampering_does_not() -> None:
    headers = {
        "XroadVnpt-systemid": "000.00.00.H41",
        "XroadVnpt-servicetype": "eDoc",
        "XroadVnpt-messagetype": "edoc",
        "XroadVnpt-timestamp": TS,
        "XroadVnpt-Content-Type": "application/json",
        vxp.SIGN_HEADER: CAPTURED,
        vxp.HASH_HEADER: CAPTURED_HASH,
    }
    signed = vxp.verify(_raw(headers), lambda _: "example-secret-123")
    assert signed.get("messagetype") == "edoc" and signed.system_id == "000.00.00.H41"
    with pytest.raises(vxp.SignatureError) as err:
        vxp.verify(_raw(headers), lambda _: "another-secret")
    assert err.value.code == "VXP_SIGNATURE_INVALID"
    headers["XroadVnpt-messagetype"] = "status"  # a header differing from what was signed
    with pytest.raises(vxp.SignatureError) as err:
        vxp.verify(_raw(headers), lambda _: "example-secret-123")
    assert err.value.code == "VXP_HEADER_MISMATCH"


def test_duplicate_keys_differing_in_case_take_the_exact_signed_key() -> None:
    headers = vxp.sign("S", "k", {"docid": "old", "docId": "new", "status": "done"}, TS)
    signed = vxp.verify(_raw(headers), lambda _: "k")
    assert signed.get("docId") == "new" and signed.get("DOCID") == "new"
    only_lower = vxp.sign("S", "k", {"docid": "x"}, TS)
    assert vxp.verify(_raw(only_lower), lambda _: "k").get("docId") == "x"


def test_non_ascii_header_values() -> None:
    params = {"from": "Sở Tư pháp", "note": "Hà Nội"}  # above U+00FF, and Latin-1 only
    headers = vxp.sign("S", "k", params, TS)
    assert vxp.verify(_raw(headers), lambda _: "k").get("from") == "Sở Tư pháp"  # UTF-8 on wire

    def low_bytes(text: str) -> bytes:  # what the SDK's HttpClient writes with a port in the URL
        return bytes(ord(c) & 0xFF for c in text)

    latin = vxp.sign("S", "k", {"note": "Hà Nội"[:2] + "é"}, TS)
    raw = [(k.encode(), low_bytes(v)) for k, v in latin.items()]
    assert vxp.verify(raw, lambda _: "k").get("note") == "Hàé"
    raw = [(k.encode(), low_bytes(v)) for k, v in headers.items()]
    with pytest.raises(vxp.SignatureError) as err:
        vxp.verify(raw, lambda _: "k")
    assert err.value.code == "VXP_SIGNATURE_CHARSET"


def test_unpadded_file_hash() -> None:
    digest = bytes([0x0C, 0x00, 0xAB] + [0x10] * 29)
    assert vxp.unpadded_hex(digest).startswith("c0ab10")


class Client:
    def __init__(self, hub: VxpHub, system_id: str, secret: str) -> None:
        self.http = httpx.Client(base_url=hub.endpoint, timeout=30)
        self.system_id, self.secret = system_id, secret

    def call(self, name: str, params: dict, body: bytes = b"", *, method: str = "POST"):
        ctype = "application/octet-stream" if name == "sendEdoc" else "application/json"
        headers = vxp.sign(self.system_id, self.secret, {**params, "Content-Type": ctype}, TS)
        return self.http.request(method, "/" + name, headers=headers, content=body)

    def send(self, package: bytes, sender: str, **extra: str) -> dict:
        params = {"from": sender, "servicetype": "eDoc", "messagetype": "edoc"}
        params["hash-file"] = vxp.file_hash(package)
        params.update(extra)
        r = self.call("sendEdoc", params, package + b"\r\n")
        assert r.status_code == 200 and r.content.isascii()  # the SDK reads it as US-ASCII
        return r.json()


def test_over_http(vxp_hub: VxpHub, kit: Kit, tmp_path) -> None:  # noqa: ANN001
    a = Client(vxp_hub, vxp_hub.a.id, vxp_hub.a.secret)
    b = Client(vxp_hub, vxp_hub.b.id, vxp_hub.b.secret)
    pkg = kit.build_edoc(doc_spec(G22, [H41], "301", tmp_path), tmp_path / "p.edxml").read_bytes()

    first = a.send(pkg, G22)
    assert first["status"] == "OK" and first["ErrorCode"] == "0"
    assert a.send(pkg, G22)["DocId"] == first["DocId"]  # a retried POST: one delivery
    bad = a.send(pkg, G22, **{"hash-file": vxp.file_hash(pkg + b"x")})
    assert (bad["status"], bad["ErrorCode"], bad["DocId"]) == ("FAIL", "VXP_HASH_FILE_MISMATCH", "")
    garbage = a.send(b"<not-edxml/>", G22)
    assert garbage["status"] == "FAIL" and garbage["DocId"] == ""
    foreign = a.send(pkg, "000.00.00.G99")  # Vietnamese text, escaped to ASCII on the wire
    assert (
        foreign["ErrorCode"] == "SYSTEM_AGENCY_NOT_HOSTED"
        and "không quản lý" in foreign["ErrorDesc"]
    )

    unsigned = httpx.post(vxp_hub.endpoint + "/getReceivedEdocList", timeout=30).json()
    assert (unsigned["status"], unsigned["ErrorCode"]) == ("FAIL", "VXP_UNSIGNED")
    unknown = a.call("noSuchCall", {}).json()
    assert unknown["ErrorCode"] == "VXP_UNKNOWN_CALL"

    # stale keys from earlier calls ride along (PROTOCOL §2.1) and change nothing
    stale = {"from": G22, "hash-file": "abc", "docid": "stale", "filePath": "/tmp/x"}
    listed = b.call("getReceivedEdocList", {**stale, "messagetype": "edoc"}).json()
    [item] = listed["data"]
    assert item["docId"] == f"{first['DocId']}.{H41}"
    got = b.call("getEdoc", {**stale, "docId": item["docId"]}).json()
    assert hashlib.sha256(base64.b64decode(got["data"])).digest() == hashlib.sha256(pkg).digest()
    raw = b.call("downloadEdoc", {"docId": item["docId"]}, method="GET")
    assert raw.content == pkg
    refused = a.call("downloadEdoc", {"docId": item["docId"]}, method="GET")
    assert refused.content == b"" and refused.headers["x-axis-error"] == "SYSTEM_AGENCY_NOT_HOSTED"

    for _ in range(2):  # fail is recorded and leaves the item pending; twice is fine
        r = b.call("updateStatus", {"status": "fail", "docId": item["docId"]}).json()
        assert r["status"] == "OK"
    assert b.call("countReceiveEdoc", {"messagetype": "edoc"}).json()["count"] == 1
    # the failures show in the sender's timeline, as the native API gives it
    sender = Principal("t", "agency", G22)
    line = inbox.timeline(vxp_hub.live.hub, sender, first["DocId"])["recipients"][0]
    assert [e["event"] for e in line["events"]] == ["fetch_failed", "fetch_failed"]
    bare = b.call("updateStatus", {"status": "done", "docid": first["DocId"]}).json()
    assert bare["status"] == "OK"  # a bare message id: every hosted recipient of it
    assert b.call("countReceiveEdoc", {"messagetype": "edoc"}).json()["count"] == 0
    # operators see the figures per system: sums over the agencies each hosts
    operator = vxp_hub.live.staff_key("operator")  # /metrics is the operators' (issue 16)
    metrics = httpx.get(
        vxp_hub.live.url + "/metrics", headers={"Authorization": f"Bearer {operator}"}, timeout=30
    ).text
    assert f'axis_system_documents_sent_total{{system="{vxp_hub.a.id}"}} 1.0' in metrics
    assert f'axis_system_documents_acknowledged_total{{system="{vxp_hub.b.id}"}} 1.0' in metrics
    assert f'axis_system_packages_rejected_total{{system="{vxp_hub.a.id}"}}' in metrics


def test_register_and_delete_agency_with_the_sdk(vxp_hub: VxpHub, kit: Kit) -> None:
    b, url = vxp_hub.b, vxp_hub.endpoint
    new = "000.00.01.H41"
    data = json.dumps(
        {"id": "", "pcode": H41, "code": new, "name": "Sở Tư pháp Nghệ An", "mail": "stp@x.vn"},
        ensure_ascii=False,
    )
    steps = kit.batch(
        url,
        b.id,
        b.secret,
        [
            {"call": "registerAgency", "headers": {}, "data": data},
            {"call": "registerAgency", "headers": {}, "data": data},  # again: harmless
            {"call": "registerAgency", "headers": {}, "data": data.replace(new, G22)},
            {"call": "getSynchronizeUnit", "headers": {}},
            {"call": "deleteAgency", "headers": {"AgencyCode": new}},
            {"call": "getAgenciesList", "headers": {}},
        ],
    )
    assert [s["result"]["errorCode"] for s in steps] == ["0", "0", "AGENCY_EXISTS", "0", "0", "0"]
    sync = {u["code"]: u for u in steps[3]["result"]["unitSynchronize"]}
    assert sync[new]["pid"] == H41 and sync[new]["name"] == "Sở Tư pháp Nghệ An"
    assert sync[new]["centerCode"] == b.id
    assert new not in {x["code"] for x in steps[5]["result"]["agencies"]}
