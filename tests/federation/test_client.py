"""The upstream client speaks as the national SDK does: its signature is byte for byte the
SDK's own (checked against the SDK's signer), and the kit's capture server, which verifies
signatures, sees well-formed calls. Errors of an upstream that is down, slow or answers
garbage are UpstreamError with stable codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import subprocess
import sys
import time

import pytest

from axis.adapters.upstream import UpstreamError, VxpClient
from formats import vxp
from tests.federation.kit import kit_dir, sdk_sign_headers

SECRET = "example-secret-123"
SYSTEM = "000.00.00.H41"
TS = "03122026T080315+0484"

MAPS = [
    {"servicetype": "eDoc", "messagetype": "edoc"},
    {"docId": "0193ab.000.00.00.G22", "status": "done", "filePath": "/tmp/x"},
    # Gson's escaping: quotes and backslashes, U+2028, a tab; <>&= and Vietnamese left as is.
    {"from": 'a"b<c>&=ộ\\x\u2028y\tz/', "desc": "Đã nhận văn bản"},
    {"to": '["000.00.00.G22","000.00.00.H14"]', "hash-file": "cc7bdd6624"},
]


@pytest.mark.parametrize("params", MAPS, ids=range(len(MAPS)))
def test_the_signature_is_byte_for_byte_the_sdks(params, tmp_path):
    kit = kit_dir()
    sdk = sdk_sign_headers(kit, SYSTEM, SECRET, {"timestamp": TS, **params}, tmp_path)
    sdk_headers = dict(sdk["httpHeaders"])
    order = list(sdk["headerMap"].items())  # the SDK's HashMap order
    ours = dict(vxp.sign_pairs(order, SECRET))
    for name in (vxp.SIGN_HEADER, vxp.HASH_HEADER, vxp.SIGN_HEADER_KEY, "User-Agent"):
        assert ours[name] == sdk_headers[name], name
    assert [h for h in sdk["httpHeaders"]] == [list(h) for h in vxp.sign_pairs(order, SECRET)]


def test_the_clients_own_order_signs_what_it_sends(tmp_path):
    """The client orders keys its own way (systemid, the call's keys, timestamp, Content-Type);
    the HMAC is over exactly the text it sends, as an independent HMAC and the hub's verifier
    both find."""
    client = VxpClient("http://127.0.0.1:9/vxp", SYSTEM, SECRET)
    headers = client.headers(
        [("servicetype", "eDoc"), ("messagetype", "edoc")], "application/json", TS
    )
    h = dict(headers)
    text = h[vxp.SIGN_HEADER]
    assert text == (
        '{"XroadVnpt-systemid":"000.00.00.H41","XroadVnpt-servicetype":"eDoc",'
        '"XroadVnpt-messagetype":"edoc","XroadVnpt-timestamp":"03122026T080315+0484",'
        '"XroadVnpt-Content-Type":"application/json"}'
    )
    expected = hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
    assert h[vxp.HASH_HEADER] == expected
    raw = [(k.encode(), v.encode()) for k, v in headers]
    signed = vxp.verify(raw, lambda s: SECRET)
    assert signed.get("messagetype") == "edoc"
    with pytest.raises(vxp.SignatureError):
        vxp.verify(raw, lambda s: "another secret")
    # The same map in the SDK's own order gives the SDK's worked example (PROTOCOL §3).
    sdk_order = [
        ("systemid", SYSTEM),
        ("servicetype", "eDoc"),
        ("messagetype", "edoc"),
        ("timestamp", TS),
        ("Content-Type", "application/json"),
    ]
    assert dict(vxp.sign_pairs(sdk_order, SECRET))[vxp.HASH_HEADER] == (
        "3663fc0cb751e20bc2e612d7ab5f417a0286d5bb42301a3e3de004c6072a122c"
    )
    client.close()


# -- against the kit's capture server ----------------------------------------------------------


@pytest.fixture
def capture(tmp_path):
    kit = kit_dir()
    log = tmp_path / "capture.jsonl"
    port_file = tmp_path / "port"
    package = "<edXML>gói tin ộ</edXML>".encode()
    responses = {
        "/getEdoc": {"json": vxp.envelope(data=base64.b64encode(package).decode())},
        "/garbage/getReceivedEdocList": {"text": "<html>502 Bad Gateway</html>", "status": 502},
        "/fail/sendEdoc": {
            "json": vxp.envelope(vxp.FAIL, "RECIPIENT_UNKNOWN", "không có đơn vị", DocId="")
        },
    }
    rfile = tmp_path / "responses.json"
    rfile.write_text(json.dumps(responses, ensure_ascii=False))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(kit / "tools" / "capture_server.py"),
            "--log",
            str(log),
            "--secret",
            SECRET,
            "--prefix",
            "/vxp",
            "--responses",
            str(rfile),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not (port_file.exists() and port_file.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "no capture server"
            time.sleep(0.05)
        port = int(port_file.read_text())
        yield f"http://127.0.0.1:{port}", log, package
    finally:
        proc.terminate()
        proc.wait(10)


def _records(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_every_call_is_signed_and_shaped_as_the_sdks(capture):
    base, log, package = capture
    with VxpClient(f"{base}/vxp", SYSTEM, SECRET, timeout_s=10) as client:
        assert client.send_edoc(package, sender=SYSTEM, to=["000.00.00.G22"]) == "d-42"
        [item] = client.received("edoc")
        assert item["docId"] == "d-1"
        assert client.get_edoc("d-1") == package
        client.update_status("d-1", "done")
        assert client.synchronize_unit()[0]["code"] == "000.00.00.H41"
        assert client.agencies_list()[0]["code"] == "000.00.00.H41"
        assert client.sent_list()[0]["senderDocId"] == "s-1"
    recs = _records(log)
    assert [r["path"] for r in recs] == [
        "/vxp/sendEdoc",
        "/vxp/getReceivedEdocList",
        "/vxp/getEdoc",
        "/vxp/updateStatus",
        "/vxp/getSynchronizeUnit",
        "/vxp/getAgenciesList",
        "/vxp/getSentEdocList",
    ]
    for r in recs:
        sig = r["signature"]
        assert sig["hmacOk"] and sig["valuesMatchHeaders"] and sig["keyListMatches"], r["path"]
        assert r["method"] == "POST"
        headers = {k.lower(): v for k, v in r["headers"]}
        assert re.fullmatch(r"\d{8}T\d{6}\+\d{4}", headers["xroadvnpt-timestamp"])
        assert headers["user-agent"] == vxp.USER_AGENT
        assert headers["xroadvnpt-systemid"] == SYSTEM
    send = recs[0]
    headers = {k.lower(): v for k, v in send["headers"]}
    body = base64.b64decode(send["bodyBase64"])
    assert body == package + b"\r\n"  # the file's bytes and a CRLF, no multipart framing
    assert headers["content-type"] == "application/octet-stream"
    digest = hashlib.sha256(package).digest()
    assert headers["xroadvnpt-hash-file"] == "".join(format(b, "x") for b in digest)
    assert headers["xroadvnpt-to"] == '["000.00.00.G22"]'
    assert headers["xroadvnpt-messagetype"] == "edoc"
    for r in recs[2:4]:
        assert base64.b64decode(r["bodyBase64"]) == b"{}"  # as the SDK posts getEdoc, updateStatus
    assert recs[1]["bodyLength"] == 0


def test_an_upstream_that_refuses_is_down_slow_or_answers_garbage(capture):
    base, _, package = capture
    with (
        VxpClient(f"{base}/fail", SYSTEM, SECRET) as client,
        pytest.raises(UpstreamError) as refused,
    ):
        client.send_edoc(package, sender=SYSTEM)
    assert refused.value.code == "RECIPIENT_UNKNOWN" and refused.value.permanent
    with VxpClient(f"{base}/garbage", SYSTEM, SECRET) as c, pytest.raises(UpstreamError) as garbage:
        c.received()
    assert garbage.value.code == "UPSTREAM_GARBAGE" and not garbage.value.permanent
    # A port nobody listens on.
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    down_url = f"http://127.0.0.1:{port}/vxp"
    with VxpClient(down_url, SYSTEM, SECRET) as client, pytest.raises(UpstreamError) as down:
        client.received()
    assert down.value.code == "UPSTREAM_UNREACHABLE"
    # A server that accepts the connection and never answers: the client's own timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/vxp"
        with VxpClient(url, SYSTEM, SECRET, timeout_s=0.5) as client:
            t0 = time.monotonic()
            with pytest.raises(UpstreamError) as slow:
                client.received()
        assert slow.value.code == "UPSTREAM_TIMEOUT"
        assert time.monotonic() - t0 < 5
    finally:
        silent.close()
