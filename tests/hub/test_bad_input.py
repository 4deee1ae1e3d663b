"""Bad input gets a clear 4xx with finding codes, nothing is stored or delivered, no 500."""

from __future__ import annotations

import base64

import httpx
import pytest
from sqlalchemy import func, select

from axis.adapters.tables import Delivery, Message
from axis.api.app import create_app
from tests.factories import make_document, organization
from tests.hub.conftest import RECIPIENTS, SENDER, document

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&lol3;</edXML:edXML>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">&xxe;</edXML:edXML>"""


def _nothing_stored(live_hub) -> None:
    with live_hub.hub.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
    assert list(live_hub.hub.store.keys()) == []


def _codes(response: httpx.Response) -> set[str]:
    return {f["code"] for f in response.json()["findings"]}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (
            b"<edXML:edXML xmlns:edXML='http://www.mic.gov.vn/TBT/QCVN_102_2016'><oops>",
            400,
            "EDXML_NOT_WELL_FORMED",
        ),
        (b"<edXML xmlns='urn:something-else'><x/></edXML>", 400, "EDXML_NOT_EDXML"),
        (b"<html><body>not a package</body></html>", 400, "EDXML_NOT_EDXML"),
        (BILLION_LAUGHS, 400, "EDXML_DTD_FORBIDDEN"),
        (XXE, 400, "EDXML_DTD_FORBIDDEN"),
        (b"\x00\x01\x02binary", 400, "EDXML_NOT_WELL_FORMED"),
    ],
    ids=["malformed", "wrong-namespace", "html", "billion-laughs", "xxe", "binary"],
)
def test_unreadable_packages_are_400_with_a_code(live_hub, sender, recipients, body, status, code):
    response = sender.send(body)
    assert response.status_code == status, response.text
    assert code in _codes(response)
    assert "root:" not in response.text  # the XXE never read /etc/passwd
    _nothing_stored(live_hub)


def test_missing_mandatory_elements_are_422(live_hub, sender):
    body = (
        document()
        .replace(b"<edXML:Subject>", b"<edXML:Subjekt>")
        .replace(b"</edXML:Subject>", b"</edXML:Subjekt>")
    )
    body = body.replace(b"<edXML:DocumentId>", b"<edXML:DocId>", 1).replace(
        b"</edXML:DocumentId>", b"</edXML:DocId>", 1
    )
    response = sender.send(body)
    assert response.status_code == 422, response.text
    assert "EDXML_MISSING_ELEMENT" in _codes(response)
    paths = {f["path"] for f in response.json()["findings"]}
    assert any(p.endswith("DocumentId") for p in paths)
    _nothing_stored(live_hub)


def test_broken_base64_is_422(live_hub, sender):
    body = document()
    start = body.index(b"<edXML:ContentTransferEncoded>") + len(b"<edXML:ContentTransferEncoded>")
    body = body[:start] + b"@@not base64!!" + body[start + 14 :]
    response = sender.send(body)
    assert response.status_code == 422, response.text
    assert "EDXML_BAD_BASE64" in _codes(response)
    _nothing_stored(live_hub)


def test_manifest_and_attachments_that_disagree_are_422(live_hub, sender):
    body = document().replace(b"cid:QD-15-UBND.pdf", b"cid:something-else.pdf", 1)
    response = sender.send(body)
    assert response.status_code == 422, response.text
    assert "EDXML_ATTACHMENT_MISMATCH" in _codes(response)
    _nothing_stored(live_hub)


def test_impossible_date_is_422(live_hub, sender):
    body = document().replace(
        b"2024/03/05</edXML:PromulgationDate>", b"2014/02/30</edXML:PromulgationDate>"
    )
    response = sender.send(body)
    assert response.status_code == 422, response.text
    assert "EDXML_BAD_DATE" in _codes(response)


def test_oversized_body_is_413_before_it_is_read_whole(live_hub, sender):
    limit = live_hub.hub.settings.max_body_bytes
    big = b"<edXML:edXML>" + b" " * (limit + 10)
    response = sender.send(big)
    assert response.status_code == 413
    assert response.json()["error"] == "BODY_TOO_LARGE"

    def chunks():  # no Content-Length: the limit must hold while streaming
        yield b"<edXML:edXML>"
        for _ in range(limit // 1_000_000 + 2):
            yield b" " * 1_000_000

    response = sender.http.post(
        "/v1/messages", content=chunks(), headers={"Content-Type": "application/xml"}
    )
    assert response.status_code == 413
    _nothing_stored(live_hub)


def test_unknown_and_inactive_recipients_are_422(live_hub, sender):
    # The directory has RECIPIENTS and an outsider; 000.00.00.H99 is unknown.
    response = sender.send(document(recipients=[RECIPIENTS[0], "000.00.00.H99"]))
    assert response.status_code == 422
    assert _codes(response) == {"RECIPIENT_UNKNOWN"}
    from axis.service.agencies import set_active

    set_active(live_hub.hub.db, RECIPIENTS[1], False)
    response = sender.send(document(recipients=RECIPIENTS))
    assert response.status_code == 422
    assert _codes(response) == {"RECIPIENT_INACTIVE"}
    _nothing_stored(live_hub)


def test_sender_that_is_not_the_keys_agency_is_403(live_hub, parties):
    impostor = parties[RECIPIENTS[0]]
    response = impostor.send(document(sender=SENDER, recipients=[RECIPIENTS[1]]))
    assert response.status_code == 403
    assert "AUTH_SENDER_MISMATCH" in _codes(response)
    _nothing_stored(live_hub)


def test_missing_bad_and_revoked_keys_are_401(live_hub, sender):
    body = document()
    with live_hub.client() as anonymous:
        assert anonymous.post("/v1/messages", content=body).status_code == 401
    with live_hub.client("axis_0000000000000000_nope") as wrong:
        r = wrong.post("/v1/messages", content=body)
        assert r.status_code == 401 and r.json()["error"] == "AUTH_INVALID"
    with live_hub.client("Basic abc") as garbage:
        assert garbage.get("/v1/inbox").status_code == 401
    from axis.service.keys import revoke_key

    revoke_key(live_hub.hub.db, sender.key.split("_")[1])
    r = sender.send(body)
    assert r.status_code == 401 and r.json()["error"] == "AUTH_REVOKED"
    _nothing_stored(live_hub)


def test_wrong_content_type_and_empty_body_are_400(live_hub, sender):
    r = sender.http.post(
        "/v1/messages", content=b'{"a":1}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"] == "UNSUPPORTED_CONTENT_TYPE"
    assert sender.send(b"").status_code == 400
    _nothing_stored(live_hub)


def test_zipped_attachment_is_accepted_and_delivered_as_sent(live_hub, sender, recipients):
    import io
    import zipfile

    pkg = make_document()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("QD-15-UBND.pdf", pkg.attachments[0].data)
    from formats.edxml import build_document

    body = build_document(pkg)
    original = base64.b64encode(pkg.attachments[0].data)
    body = body.replace(original, base64.b64encode(buf.getvalue()))
    response = sender.send(body)
    assert response.status_code == 202, response.text
    got = recipients[0].http.get(f"/v1/messages/{response.json()['id']}").content
    assert got == body


def test_the_server_stays_responsive_after_hostile_input(live_hub, sender):
    for _ in range(5):
        sender.send(BILLION_LAUGHS)
        sender.send(b"<" * 10000)
    assert sender.http.get("/healthz").json()["status"] == "ok"
    assert sender.send(document()).status_code == 202


def test_garbage_in_query_and_path_gets_4xx_not_500(live_hub, sender):
    assert sender.http.get("/v1/inbox", params={"limit": "many"}).status_code == 422
    assert sender.http.get("/v1/inbox", params={"cursor": "'; drop table x"}).status_code == 422
    assert sender.http.get("/v1/messages/%00%ff").status_code == 404
    assert sender.http.post("/v1/messages/%00/ack").status_code == 404
    assert sender.http.post("/v1/inbox/ack", json={"ids": ["\x00"]}).status_code == 200
    assert sender.http.post("/v1/inbox/ack", content=b"nope").status_code == 422
    assert sender.http.post("/v1/messages/x/status", json={"code": 3}).status_code == 422


def test_agency_directory_and_docs(live_hub, sender):
    page = sender.http.get("/v1/agencies").json()
    codes = [a["code"] for a in page["items"]]
    assert SENDER in codes and codes == sorted(codes)
    assert page["items"][codes.index(SENDER)]["active"] is True
    # not served unless AXIS_PUBLIC_DOCS (docs/security.md); the document itself exists
    assert sender.http.get("/docs").status_code == 404
    assert sender.http.get("/openapi.json").status_code == 404
    spec = create_app(live_hub.hub.settings, hub=live_hub.hub).openapi()
    assert "/v1/messages" in spec["paths"]
    assert organization(SENDER).organ_name  # the factory's directory names are Vietnamese
