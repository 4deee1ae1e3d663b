"""The archivists' HTTP API over a live hub (SQLite and PostgreSQL, local store): search,
record view with history and report, downloads, BagIt export, access logging, roles, and
hostile input answered with a 4xx, never a 500."""

from __future__ import annotations

import base64
import io
import json
import os
import zipfile

import bagit
import httpx
import pytest

from axis.service.evidence_bundle import verify_bundle
from tests.factories import minimal_pdf
from tests.hub.conftest import RECIPIENTS, SENDER, document

SUBJECT = "Về việc phê duyệt kế hoạch chuyển đổi số năm 2024"


@pytest.fixture
def archivist_key(live_hub) -> str:
    return live_hub.staff_key("archivist")


@pytest.fixture
def archivist(live_hub, archivist_key):
    with live_hub.client(archivist_key) as client:
        yield client


def _key_id(key: str) -> str:
    return key.split("_")[1]  # axis_<key id>_<secret>


def _record_id(archivist: httpx.Client, receipt: dict) -> int:
    r = archivist.get("/v1/archive/records", params={"agency": SENDER, "limit": 500})
    assert r.status_code == 200, r.text
    [hit] = [h for h in r.json()["items"] if h["message_id"] == receipt["id"]]
    return hit["id"]


def test_search_finds_a_sent_document_with_and_without_diacritics(live_hub, sender, archivist):
    receipt = sender.send(document(subject=SUBJECT)).json()
    other = sender.send(
        document(number="16", subject="Về việc tổ chức hội nghị tổng kết công tác thi đua")
    ).json()

    for words in ("chuyển đổi số", "chuyen doi so", "CHUYỂN ĐỔI SỐ", "Chuyen Doi So"):
        r = archivist.get("/v1/archive/records", params={"text": words, "agency": SENDER})
        assert r.status_code == 200, r.text
        assert [h["message_id"] for h in r.json()["items"]] == [receipt["id"]], words

    r = archivist.get(
        "/v1/archive/records",
        params={"from": "2024-03-01", "to": "2024-03-31", "number": "16/QĐ-UBND"},
    )
    assert [h["message_id"] for h in r.json()["items"]] == [other["id"]]
    assert r.json()["items"][0]["number_symbol"] == "16/QĐ-UBND"

    r = archivist.get("/v1/archive/records", params={"from": "2025-01-01"})
    assert r.json()["items"] == []

    # Paging: newest first, a cursor to the next page, nothing lost or repeated.
    first = archivist.get("/v1/archive/records", params={"limit": 1}).json()
    assert first["next_cursor"]
    second = archivist.get(
        "/v1/archive/records", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    seen = {first["items"][0]["message_id"], second["items"][0]["message_id"]}
    assert seen == {receipt["id"], other["id"]}


def test_a_record_shows_its_history_and_report_and_every_view_is_logged(
    live_hub, sender, recipients, archivist, archivist_key
):
    receipt = sender.send(document(subject=SUBJECT)).json()
    first = recipients[0]
    assert first.ack(receipt["id"]).status_code == 200
    r = first.http.post(f"/v1/messages/{receipt['id']}/status", json={"code": "03"})
    assert r.status_code == 202, r.text
    record_id = _record_id(archivist, receipt)

    for ident in (str(record_id), receipt["id"], receipt["document_id"]):
        r = archivist.get(f"/v1/archive/records/{ident}")
        assert r.status_code == 200, r.text
    view = r.json()
    assert view["record"]["id"] == record_id
    assert view["record"]["subject"] == SUBJECT
    assert view["record"]["agency_id"] == SENDER
    assert {x["organ_id"] for x in view["recipients"]} == set(RECIPIENTS)
    roles = {o["role"] for o in view["objects"]}
    assert {"package", "attachment"} <= roles

    history = view["history"]
    assert history["sealed"] is False
    kinds = [(e["event"], e["agency"], e.get("code")) for e in history["entries"]]
    assert ("delivered", first.code, None) in kinds
    assert ("acknowledged", first.code, None) in kinds
    assert ("status", first.code, "03") in kinds

    assert view["validation_report"] == _stored_report(live_hub, view)

    accesses = [e for e in view["events"] if e["kind"] == "access"]
    assert len(accesses) == 3  # this view's own access is logged before it is read
    assert {e["actor"] for e in accesses} == {f"archivist:{_key_id(archivist_key)}"}


def _stored_report(live_hub, view: dict):
    obj = next((o for o in view["objects"] if o["role"] == "report"), None)
    if obj is None:
        return None
    return json.loads(live_hub.hub.store.get(obj["sha256"]))


def test_an_object_downloads_byte_for_byte_with_its_content_type_and_is_logged(
    live_hub, sender, archivist, archivist_key
):
    pdf = minimal_pdf()
    sheet = os.urandom(300_000)  # larger than one chunk of the stream
    body = document(
        attachments=[
            ("Quyết định 15.pdf", pdf, "application/pdf"),
            ("bảng-kê.xlsx", sheet, "application/vnd.ms-excel"),
        ]
    )
    receipt = sender.send(body).json()
    record_id = _record_id(archivist, receipt)
    view = archivist.get(f"/v1/archive/records/{record_id}").json()
    by_name = {o["name"]: o for o in view["objects"]}

    r = archivist.get(by_name["Quyết định 15.pdf"]["url"])
    assert r.status_code == 200, r.text
    assert r.content == pdf
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-axis-sha256"] == by_name["Quyết định 15.pdf"]["sha256"]
    assert "filename*=UTF-8''" in r.headers["content-disposition"]

    r = archivist.get(by_name["bảng-kê.xlsx"]["url"])
    assert r.content == sheet
    assert r.headers["content-type"] == "application/vnd.ms-excel"

    r = archivist.get(f"/v1/archive/records/{record_id}/objects/package.edxml")
    assert r.content == body
    assert r.headers["content-type"].startswith("application/xml")

    r = archivist.get(f"/v1/archive/records/{record_id}/objects/nope.pdf")
    assert r.status_code == 404
    assert r.json()["error"] == "OBJECT_NOT_FOUND"

    events = archivist.get(f"/v1/archive/records/{record_id}").json()["events"]
    downloads = [e for e in events if e["kind"] == "download"]
    assert [d["detail"]["name"] for d in downloads] == [
        "Quyết định 15.pdf",
        "bảng-kê.xlsx",
        "package.edxml",
    ]
    assert {d["actor"] for d in downloads} == {f"archivist:{_key_id(archivist_key)}"}


def test_an_object_altered_in_the_store_never_downloads_whole(live_hub, sender, archivist):
    sheet = os.urandom(600_000)
    receipt = sender.send(
        document(attachments=[("data.bin", sheet, "application/octet-stream")])
    ).json()
    record_id = _record_id(archivist, receipt)
    view = archivist.get(f"/v1/archive/records/{record_id}").json()
    obj = next(o for o in view["objects"] if o["name"] == "data.bin")
    path = live_hub.hub.store.path_of(obj["sha256"])
    os.chmod(path, 0o644)
    altered = bytearray(path.read_bytes())
    altered[-1] ^= 0xFF  # the same size: only the hash can tell
    path.write_bytes(bytes(altered))

    with pytest.raises(httpx.HTTPError):
        r = archivist.get(obj["url"])
        assert r.content != bytes(altered)  # not reached: the connection breaks first


def test_export_gives_a_zip_of_valid_bags_and_refuses_large_sets(
    live_hub, sender, archivist, tmp_path
):
    first = sender.send(document(subject=SUBJECT)).json()
    second = sender.send(document(number="16", subject="Về việc tổ chức hội nghị")).json()

    r = archivist.post("/v1/archive/export", json={"agency": SENDER, "text": "chuyen doi so"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["x-axis-records"] == "1"
    out = tmp_path / "unzipped"
    zipfile.ZipFile(io.BytesIO(r.content)).extractall(out)
    bags = [p for p in out.iterdir() if p.is_dir()]
    assert len(bags) == 1
    bag = bagit.Bag(str(bags[0]))
    bag.validate(processes=1)
    payload = {p.name for p in (bags[0] / "data").rglob("*") if p.is_file()}
    assert "package.edxml" in {p.rsplit("/", 1)[-1] for p in payload}
    assert first["document_id"].encode() in b"".join(
        p.read_bytes() for p in (bags[0] / "data").rglob("*.xml")
    )
    report = json.loads((out / "export-report.json").read_text())
    assert report["records"] == 1 and report["problems"] == []
    # the record's proof travels with it: the hub's evidence bundle, which verifies offline
    [bundle] = (bags[0] / "data" / "objects" / "evidence").iterdir()
    assert bundle.name == f"evidence-{first['id']}.zip"
    cert = live_hub.hub.evidence.keys.signer.cert_der
    verdict = verify_bundle(bundle.read_bytes(), [cert], [])
    # this hub has no TSA: everything holds, but the times rest on the hub's word
    assert verdict.verdict == "incomplete", verdict.findings
    assert {f["code"] for f in verdict.findings} == {"BUNDLE_HEAD_NOT_TIMESTAMPED"}
    assert any(SENDER in fact for fact in verdict.facts_en)

    r = archivist.post("/v1/archive/export", json={"agency": SENDER, "per": "file_code"})
    assert r.status_code == 200, r.text
    assert r.headers["x-axis-records"] == "2"

    live_hub.hub.settings.archive_export_max_records = 1
    r = archivist.post("/v1/archive/export", json={"agency": SENDER})
    assert r.status_code == 422
    assert r.json()["error"] == "EXPORT_TOO_LARGE"
    assert "axis archive export" in r.json()["message"]

    r = archivist.post("/v1/archive/export", json={"agency": "000.00.00.X99"})
    assert r.status_code == 404
    assert r.json()["error"] == "NOTHING_TO_EXPORT"

    record_id = _record_id(archivist, second)
    assert record_id  # the second document was archived too


def test_agencies_are_refused_and_the_key_is_required(live_hub, sender, archivist):
    receipt = sender.send(document()).json()
    record_id = _record_id(archivist, receipt)
    calls = [
        ("GET", "/v1/archive/records", None),
        ("GET", f"/v1/archive/records/{record_id}", None),
        ("GET", f"/v1/archive/records/{record_id}/objects/package.edxml", None),
        ("POST", "/v1/archive/export", {"agency": SENDER}),
        ("GET", "/v1/archive/audit?sample=1", None),
    ]
    for method, url, body in calls:
        r = sender.http.request(method, url, json=body)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["error"] == "ROLE_NOT_ARCHIVIST"
        with live_hub.client() as anonymous:
            assert anonymous.request(method, url, json=body).status_code == 401
    view = archivist.get(f"/v1/archive/records/{record_id}").json()
    assert [e["kind"] for e in view["events"] if e["kind"] in ("access", "download")] == [
        "access"
    ]  # the refused reads left no trace but the archivist's own


def test_operators_read_the_archive_too(live_hub, sender):
    receipt = sender.send(document()).json()
    with live_hub.client(live_hub.staff_key("operator")) as operator:
        r = operator.get("/v1/archive/records", params={"agency": SENDER})
        assert r.status_code == 200
        assert [h["message_id"] for h in r.json()["items"]] == [receipt["id"]]


def test_an_archivist_reads_a_messages_validation_report(live_hub, sender, archivist):
    receipt = sender.send(document()).json()
    r = archivist.get(f"/v1/messages/{receipt['id']}/report")
    assert r.status_code == 200, r.text
    assert r.json()["id"] == receipt["id"]
    assert r.json()["document_id"] == receipt["document_id"]


def test_an_audit_of_a_sample_and_of_one_record(live_hub, sender, archivist):
    receipt = sender.send(document()).json()
    record_id = _record_id(archivist, receipt)
    r = archivist.get("/v1/archive/audit", params={"sample": 10})
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["checked"] >= 2
    r = archivist.get("/v1/archive/audit", params={"record": receipt["document_id"]})
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True
    events = archivist.get(f"/v1/archive/records/{record_id}").json()["events"]
    assert "audit" in [e["kind"] for e in events]
    assert archivist.get("/v1/archive/audit").json()["error"] == "AUDIT_UNBOUNDED"


def _cursor(payload) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_SEARCHES = [
    {"text": '"chuyển" OR đổi* NEAR(a b) ^col:x -y'},
    {"text": "'; DROP TABLE archive_records; --"},
    {"text": "\x00\x00 chuyen\x00doi"},
    {"text": ")))((( AND OR NOT * : ^ \" '"},
    {"text": "x" * 1000},
    {"agency": "' OR 1=1 --"},
    {"agency": "G22\x00"},
    {"type": "%_\\%"},
    {"number": "15/QĐ-UBND' OR '1'='1"},
    {"number": "\x00/\x00"},
    {"file_code": "\x00x"},
]

BAD_SEARCHES = [
    {"limit": "1000000000"},
    {"limit": "-1"},
    {"limit": "0"},
    {"limit": "ten"},
    {"from": "2024-13-45"},
    {"to": "yesterday"},
    {"from": "\x00"},
    {"from": "99999-01-01"},
    {"cursor": "not a cursor"},
    {"cursor": _cursor(["2024-03-05", 10**30])},
    {"cursor": _cursor(["2024-02-30", 1])},
    {"cursor": _cursor({"a": 1})},
    {"cursor": "\x00"},
    {"text": "x" * 5000},
]


def test_hostile_input_gets_a_4xx_never_a_500(live_hub, sender, archivist):
    receipt = sender.send(document(subject=SUBJECT)).json()
    for params in HOSTILE_SEARCHES:
        r = archivist.get("/v1/archive/records", params=params)
        assert r.status_code == 200, (params, r.text)  # harmless: bound, never syntax
        assert r.json()["items"] == [], params
    for params in BAD_SEARCHES:
        r = archivist.get("/v1/archive/records", params=params)
        assert 400 <= r.status_code < 500, (params, r.status_code, r.text)
        assert r.json()["error"] in ("REQUEST_INVALID", "CURSOR_INVALID"), (params, r.text)

    for ident in ("%00", "1%00", "9" * 40, "١٢", "x" * 5000, "'%20OR%201=1", "-1", "0"):
        r = archivist.get(f"/v1/archive/records/{ident}")
        assert r.status_code == 404, (ident, r.status_code, r.text)
        r = archivist.get(f"/v1/archive/records/{ident}/objects/package.edxml")
        assert r.status_code == 404, (ident, r.status_code, r.text)
    record_id = _record_id(archivist, receipt)
    for name in ("%00", "..%2F..%2Fetc%2Fpasswd", "x" * 600):
        r = archivist.get(f"/v1/archive/records/{record_id}/objects/{name}")
        assert r.status_code == 404, (name, r.status_code, r.text)

    for body in (
        {"from": "2024-02-30"},
        {"agency": "x" * 400},
        {"per": "everything"},
        {"unknown": 1},
        {"text": ["a"]},
    ):
        r = archivist.post("/v1/archive/export", json=body)
        assert r.status_code == 422, (body, r.text)
    r = archivist.post(
        "/v1/archive/export", content=b"\x00{", headers={"content-type": "application/json"}
    )
    assert 400 <= r.status_code < 500, r.text
    for params in ({"sample": "0"}, {"sample": "100000"}, {"record": "\x00"}):
        r = archivist.get("/v1/archive/audit", params=params)
        assert 400 <= r.status_code < 500, (params, r.text)
