"""The SDK's own example packages through axis: statuses 01-06, 13, 15, 16 sent back and
relayed; revoke, update and replace of documents already sent (samples/ of the kit)."""

from __future__ import annotations

from pathlib import Path

from tests.vxp.conftest import A_AGENCIES, B_AGENCIES, VxpHub
from tests.vxp.kit import Kit, doc_spec
from tests.vxp.test_sdk_flows import EDOC, STATUS, _ok

G22, G17 = A_AGENCIES
H41, H14 = B_AGENCIES
SAMPLE_DOC = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"  # what the samples speak about
B_STATUSES = [  # from H41 about SAMPLE_DOC, in the order a recipient would send them
    ("status_inbox_01.edxml", "01"),
    ("status_acceptance_03.edxml", "03"),
    ("status_assignment_04.edxml", "04"),
    ("status_processing_05.edxml", "05"),
    ("status_finish_06.edxml", "06"),
]


def _original(kit: Kit, tmp: Path, document_id: str, recipients: list[str], name: str) -> Path:
    number, notation = document_id.rsplit(",", 1)[1].split("/", 1)
    spec = doc_spec(
        G22,
        recipients,
        number,
        tmp,
        documentId=document_id,
        code={"codeNumber": number, "codeNotation": notation},
    )
    return kit.build_edoc(spec, tmp / name)


def test_status_samples_relayed(vxp_hub: VxpHub, kit: Kit, tmp_path: Path) -> None:
    a, b, url = vxp_hub.a, vxp_hub.b, vxp_hub.endpoint
    samples = kit.path / "samples"
    doc = _original(kit, tmp_path, SAMPLE_DOC, [H41], "doc.edxml")
    [sent] = kit.batch(
        url,
        a.id,
        a.secret,
        [{"call": "sendEdoc", "headers": {"from": G22, **EDOC}, "file": str(doc)}],
    )
    doc_id = _ok(sent)["docID"]
    steps = kit.batch(
        url,
        b.id,
        b.secret,
        [{"call": "updateStatus", "headers": {"status": "done", "docId": f"{doc_id}.{H41}"}}]
        + [
            {"call": "sendEdoc", "headers": {"from": H41, **STATUS}, "file": str(samples / f)}
            for f, _ in B_STATUSES
        ],
    )
    for step in steps:
        _ok(step)
    files = tmp_path / "a-files"
    steps = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {"call": "countReceiveStatus", "headers": STATUS},
            {"call": "getReceivedEdocList", "headers": STATUS},
            {"call": "getSentEdocList", "headers": {**EDOC, "docId": doc_id}},
            {
                "call": "sendEdoc",
                "headers": {"from": G22, **STATUS},
                "file": str(samples / "status_cancellation_13.edxml"),
            },
        ],
    )
    # the hub's own 01 (transport ack) and the five the recipient sent
    assert _ok(steps[0])["count"] == 1 + len(B_STATUSES)
    items = _ok(steps[1])["knobsticks"]
    assert {i["from"] for i in items} == {H41} and {i["to"] for i in items} == {G22}
    [row] = _ok(steps[2])["statusResult"]
    assert (row["toCode"], row["sendStatus"], row["receiveStatus"]) == (H41, "done", "06")
    _ok(steps[3])
    # the last status package, fetched by the sender's system, reads back with the library
    last = items[-1]["id"]
    got = kit.batch(
        url,
        a.id,
        a.secret,
        [{"call": "getEdoc", "headers": {"docId": last, "filePath": str(files)}}],
    )[0]
    parsed = kit.ref("parse", _ok(got)["filePath"])
    assert parsed["statusCode"] == "06" and parsed["responseFor"]["documentId"] == SAMPLE_DOC
    # the recall request (13) went the other way, to the recipient
    steps = kit.batch(url, b.id, b.secret, [{"call": "getReceivedEdocList", "headers": STATUS}])
    [recall] = _ok(steps[0])["knobsticks"]
    assert (recall["from"], recall["to"]) == (G22, H41)


def test_replace_then_revoke(vxp_hub: VxpHub, kit: Kit, tmp_path: Path) -> None:
    a, b, url = vxp_hub.a, vxp_hub.b, vxp_hub.endpoint
    samples = kit.path / "samples"
    first = _original(
        kit, tmp_path, "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT", [H41, H14, G17], "first.edxml"
    )
    steps = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {"call": "sendEdoc", "headers": {"from": G22, **EDOC}, "file": str(p)}
            for p in (first, samples / "edoc_replacement.edxml", samples / "edoc_revocation.edxml")
        ]
        + [{"call": "getSentEdocList", "headers": EDOC}],
    )
    ids = [_ok(s)["docID"] for s in steps[:3]]
    assert len(set(ids)) == 3
    sent = _ok(steps[3])["statusResult"]
    assert {(r["senderDocId"], r["toCode"]) for r in sent} == {
        (i, code) for i in ids for code in (H41, H14, G17)
    }
    steps = kit.batch(url, b.id, b.secret, [{"call": "getReceivedEdocList", "headers": EDOC}])
    items = _ok(steps[0])["knobsticks"]
    assert sorted((i["id"].split(".", 1)[0], i["to"]) for i in items) == sorted(
        (i, code) for i in ids for code in (H41, H14)
    )
    # a revoked document cannot be revoked again: refused, in the envelope, with its reason
    [again] = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {
                "call": "sendEdoc",
                "headers": {"from": G22, **EDOC},
                "file": str(samples / "edoc_update.edxml"),
            }
        ],
    )
    assert again["result"]["status"] == "FAIL" and again["result"]["docID"] == ""


def test_update(vxp_hub: VxpHub, kit: Kit, tmp_path: Path) -> None:
    a, b, url = vxp_hub.a, vxp_hub.b, vxp_hub.endpoint
    first = _original(
        kit, tmp_path, "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT", [H41, H14, G17], "first.edxml"
    )
    steps = kit.batch(
        url,
        a.id,
        a.secret,
        [
            {"call": "sendEdoc", "headers": {"from": G22, **EDOC}, "file": str(p)}
            for p in (first, kit.path / "samples" / "edoc_update.edxml")
        ],
    )
    first_id, update_id = (_ok(s)["docID"] for s in steps)
    steps = kit.batch(url, b.id, b.secret, [{"call": "getReceivedEdocList", "headers": EDOC}])
    items = _ok(steps[0])["knobsticks"]
    assert sorted((i["id"].split(".", 1)[0], i["to"]) for i in items) == sorted(
        (i, code) for i in (first_id, update_id) for code in (H41, H14)
    )
