"""The national SDK, unmodified, against a real hub over HTTP: what a vendor switching its
document system from the national axis to axis would run, with only the endpoint changed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.vxp.conftest import A_AGENCIES, B_AGENCIES, VxpHub
from tests.vxp.kit import Kit, doc_spec

EDOC = {"servicetype": "eDoc", "messagetype": "edoc"}
STATUS = {"servicetype": "eDoc", "messagetype": "status"}
G22, G17 = A_AGENCIES
H41, H14 = B_AGENCIES


def _ok(step: dict) -> dict:
    result = step["result"]
    assert result is not None, step
    assert result["status"] in ("OK", "SUCCESS") and result["errorCode"] == "0", step
    return result


def _fail(step: dict, code: str) -> dict:
    result = step["result"]
    assert result is not None, step  # never a null result in the SDK
    assert result["status"] == "FAIL" and result["errorCode"] == code, step
    return result


def test_directory_send_list_get_ack(vxp_hub: VxpHub, kit: Kit, tmp_path: Path) -> None:
    a, b, url = vxp_hub.a, vxp_hub.b, vxp_hub.endpoint
    pkg = kit.build_edoc(doc_spec(G22, [H41, H14], "101", tmp_path), tmp_path / "doc.edxml")
    send = {"call": "sendEdoc", "headers": {"from": G22, **EDOC}, "file": str(pkg)}
    steps = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {"call": "getAgenciesList", "headers": {}},
            {"call": "getAgenciesListQD20", "headers": {"level": "1"}},
            {"call": "getSynchronizeUnit", "headers": {}},
            send,
            send,  # the same bytes again (a retry): the same DocId, delivered once
        ],
    )
    codes = {x["code"] for x in _ok(steps[0])["agencies"]}
    assert codes == {G22, G17, H41, H14}
    assert {x["code102"] for x in _ok(steps[1])["agencies"]} == codes
    sync = {x["code"]: x for x in _ok(steps[2])["unitSynchronize"]}
    assert sync[H41]["centerCode"] == b.id and sync[H41]["deleted"] is False
    doc_id = _ok(steps[3])["docID"]
    assert doc_id and _ok(steps[4])["docID"] == doc_id

    out = tmp_path / "b-files"
    mine = {H41: f"{doc_id}.{H41}", H14: f"{doc_id}.{H14}"}
    steps = kit.batch(
        url,
        b.id,
        b.secret,
        [
            {"call": "countReceiveEdoc", "headers": EDOC},
            {"call": "getReceivedEdocList", "headers": EDOC},
            {"call": "getEdoc", "headers": {"docId": mine[H41], "filePath": str(out)}},
            {"call": "downloadEdoc", "headers": {"docId": mine[H14], "filePath": str(out)}},
            {"call": "updateStatus", "headers": {"status": "done", "docId": mine[H41]}},
            {"call": "updateStatus", "headers": {"status": "done", "docId": mine[H41]}},
            {"call": "countReceiveEdoc", "headers": EDOC},
            {"call": "updateStatus", "headers": {"status": "done", "docId": mine[H14]}},
            {"call": "getReceivedEdocList", "headers": EDOC},
            {"call": "countReceiveEdoc", "headers": EDOC},
        ],
    )
    assert _ok(steps[0])["count"] == 2  # one package, two hosted recipients, sent twice
    items = _ok(steps[1])["knobsticks"]
    assert sorted((i["to"], i["id"], i["from"]) for i in items) == sorted(
        (code, mine[code], G22) for code in (H41, H14)
    )
    got = _ok(steps[2])
    assert (
        got["file"]["exists"]
        and got["file"]["sha256"] == hashlib.sha256(pkg.read_bytes()).hexdigest()
    )
    parsed = kit.ref("parse", got["filePath"])
    assert parsed["documentId"] == f"{G22},2024/01/31,101/UBND-VP"
    assert [t["organId"] for t in parsed["to"]] == [H41, H14]
    assert parsed["attachments"][0]["name"] == "main.pdf"
    down = _ok(steps[3])
    assert down["file"]["sha256"] == hashlib.sha256(pkg.read_bytes()).hexdigest()
    _ok(steps[4])
    _ok(steps[5])  # updateStatus is idempotent
    assert _ok(steps[6])["count"] == 1
    _ok(steps[7])
    assert _ok(steps[8])["knobsticks"] == []
    assert _ok(steps[9])["count"] == 0

    steps = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {"call": "getSentEdocList", "headers": {**EDOC, "docId": doc_id}},
            {"call": "countReceiveStatus", "headers": STATUS},
            {"call": "getReceivedEdocList", "headers": STATUS},
        ],
    )
    rows = _ok(steps[0])["statusResult"]
    assert sorted((r["toCode"], r["sendStatus"], r["receiveStatus"]) for r in rows) == [
        (H14, "done", "01"),
        (H41, "done", "01"),
    ]
    assert all(r["senderDocId"] == doc_id and r["fromCode"] == G22 for r in rows)
    assert _ok(steps[1])["count"] == 2  # the two 01s, one from each recipient
    statuses = _ok(steps[2])["knobsticks"]
    assert sorted(s["from"] for s in statuses) == [H14, H41]
    assert {s["to"] for s in statuses} == {G22}


def test_refusals_in_the_envelope(vxp_hub: VxpHub, kit: Kit, tmp_path: Path) -> None:
    a, b, url = vxp_hub.a, vxp_hub.b, vxp_hub.endpoint
    ours = kit.build_edoc(doc_spec(G22, [H41], "201", tmp_path), tmp_path / "a.edxml")
    theirs = kit.build_edoc(doc_spec(H41, [G22], "202", tmp_path), tmp_path / "b.edxml")
    wrong = kit.batch(
        url,
        a.id,
        "not-the-secret",
        [
            {"call": "getReceivedEdocList", "headers": EDOC},
            {"call": "sendEdoc", "headers": {"from": G22, **EDOC}, "file": str(ours)},
        ],
    )
    _fail(wrong[0], "VXP_SIGNATURE_INVALID")
    assert _fail(wrong[1], "VXP_SIGNATURE_INVALID")["docID"] == ""
    unknown = kit.call(url, "NO-SUCH-SYSTEM", "x", "countReceiveEdoc", '{"messagetype":"edoc"}')
    _fail(unknown, "SYSTEM_UNKNOWN")
    steps = kit.batch(
        url,
        b.id,
        b.secret,
        [
            # B may not speak for G22, which A hosts: not by 'from', not by the package's From
            {"call": "sendEdoc", "headers": {"from": G22, **EDOC}, "file": str(ours)},
            {"call": "sendEdoc", "headers": {"from": H41, **EDOC}, "file": str(ours)},
            {"call": "sendEdoc", "headers": {"from": H41, **EDOC}, "file": str(theirs)},
        ],
    )
    assert _fail(steps[0], "SYSTEM_AGENCY_NOT_HOSTED")["docID"] == ""
    _fail(steps[1], "SENDER_MISMATCH")
    doc_id = _ok(steps[2])["docID"]
    steps = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {"call": "getEdoc", "headers": {"docId": f"{doc_id}.{H41}", "filePath": str(tmp_path)}},
            {"call": "updateStatus", "headers": {"status": "done", "docId": f"{doc_id}.{H41}"}},
            {"call": "getEdoc", "headers": {"docId": "0" * 32, "filePath": str(tmp_path)}},
            {"call": "deleteAgency", "headers": {"AgencyCode": H41}},
            {"call": "updateStatus", "headers": {"status": "bogus", "docId": f"{doc_id}.{G22}"}},
        ],
    )
    _fail(steps[0], "SYSTEM_AGENCY_NOT_HOSTED")
    _fail(steps[1], "SYSTEM_AGENCY_NOT_HOSTED")
    _fail(steps[2], "MESSAGE_NOT_FOUND")
    _fail(steps[3], "SYSTEM_AGENCY_NOT_HOSTED")
    _fail(steps[4], "VXP_STATUS_INVALID")
    # the package is still waiting for G22, untouched by B's or the refused calls
    count = kit.call(url, a.id, a.secret, "countReceiveEdoc", '{"messagetype":"edoc"}')
    assert _ok(count)["count"] == 1
