"""The national SDK's reference edXML library (EdXML102, through the kit's edxml-ref.sh) reads
what axis writes, and axis reads what the library writes, field by field."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest

from formats.edxml import build_document, build_status, parse
from formats.model import DocumentPackage, StatusPackage, TraceHeader
from tests.factories import make_attachment, make_document, make_status, minimal_pdf

KIT = Path(os.environ.get("AXIS_VXP_SDK_DIR") or "/work/shared/interop/vxp")


@pytest.fixture(scope="module")
def ref():
    script = KIT / "edxml-ref.sh"
    if not script.exists() or shutil.which("javac") is None:
        pytest.skip(f"the national SDK kit (with javac) is not at {KIT}")

    def run(*args: str) -> dict:
        out = subprocess.run(
            [str(script), *args], capture_output=True, text=True, timeout=180, check=False
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return json.loads(out.stdout)

    return run


def _edxml_date(value: date | None) -> str | None:
    return value.strftime("%Y/%m/%d") if value else None


def test_reference_library_reads_every_field_of_a_document_axis_writes(ref, tmp_path):
    pdf = minimal_pdf()
    pkg = make_document(
        recipients=["000.00.00.G06", "000.00.00.H26"],
        attachments=[
            make_attachment("QD-15-UBND.pdf", pdf, content_id="main"),
            make_attachment("Phu luc.pdf", minimal_pdf(["Phụ lục"]), content_id="pl1"),
        ],
    )
    path = tmp_path / "doc.edxml"
    path.write_bytes(build_document(pkg))
    got = ref("parse", str(path))
    assert got["kind"] == "edoc"
    assert got["from"]["organId"] == pkg.sender.organ_id
    assert got["from"]["organName"] == pkg.sender.organ_name
    assert [t["organId"] for t in got["to"]] == [r.organ_id for r in pkg.recipients]
    assert got["documentId"] == pkg.document_id
    assert got["code"] == {"codeNumber": pkg.code.number, "codeNotation": pkg.code.notation}
    assert got["promulgationInfo"]["promulgationDate"] == _edxml_date(pkg.promulgation.date)
    assert got["promulgationInfo"]["place"] == pkg.promulgation.place
    assert got["documentType"]["typeName"] == pkg.document_type.type_name
    assert got["subject"] == pkg.subject
    assert got["signerInfo"]["fullName"] == pkg.signer.full_name
    assert [(t["organId"], t["timestamp"]) for t in got["traceHeaders"]] == [
        (t.organ_id, t.timestamp.strftime("%Y/%m/%d %H:%M:%S")) for t in pkg.trace
    ]
    assert [(a["name"], a["contentSha256"]) for a in got["attachments"]] == [
        (a.name, a.sha256) for a in pkg.attachments
    ]
    assert [m["contentId"] for m in got["manifest"]] == [r.content_id for r in pkg.references]


@pytest.mark.parametrize("code", ["01", "03", "13"])
def test_reference_library_reads_every_field_of_a_status_axis_writes(ref, tmp_path, code):
    pkg = make_status(code)
    if code == "13":  # with a trace list, which the SDK writes after the MessageHeader
        pkg.trace = [TraceHeader("000.00.00.G06", datetime(2024, 3, 5, 10, 15, 2))]
    path = tmp_path / "status.edxml"
    path.write_bytes(build_status(pkg))
    got = ref("parse", str(path))
    assert got["kind"] == "status"
    assert got["statusCode"] == code
    assert got["from"]["organId"] == pkg.sender.organ_id
    assert got["from"]["organName"] == pkg.sender.organ_name
    assert got["responseFor"] == {
        "organId": pkg.response_for.organ_id,
        "code": pkg.response_for.code,
        "documentId": pkg.response_for.document_id,
        "promulgationDate": _edxml_date(pkg.response_for.promulgation_date),
    }
    assert got["description"] == pkg.description
    assert got["timestamp"] == pkg.timestamp.strftime("%Y/%m/%d %H:%M:%S")
    assert [(t["organId"], t["timestamp"]) for t in got["traceHeaders"]] == [
        (t.organ_id, t.timestamp.strftime("%Y/%m/%d %H:%M:%S")) for t in pkg.trace
    ]
    staff = got["staffInfo"]
    assert (staff["department"], staff["staff"], staff["email"], staff["mobile"]) == (
        pkg.staff.department,
        pkg.staff.staff,
        pkg.staff.email,
        pkg.staff.mobile,
    )


def test_axis_reads_every_field_of_a_document_the_library_builds(ref, tmp_path):
    pdf = minimal_pdf()
    note = "Ghi chú kèm theo".encode()
    spec = {
        "from": {"organId": "000.00.00.G22", "organName": "Văn phòng Chính phủ"},
        "to": [{"organId": "000.00.00.H41", "organName": "UBND tỉnh Nghệ An"}],
        "documentId": "000.00.00.G22,2024/03/05,15/QĐ-UBND",
        "code": {"codeNumber": "15", "codeNotation": "QĐ-UBND"},
        "promulgationInfo": {"place": "Hà Nội", "promulgationDate": "2024/03/05"},
        "documentType": {"type": 1, "typeDetail": 0, "typeName": "Quyết định"},
        "subject": "Về việc phê duyệt kế hoạch chuyển đổi số",
        "signerInfo": {"competence": "KT. BỘ TRƯỞNG", "position": "Thứ trưởng", "fullName": "A"},
        "traceHeaders": [{"organId": "000.00.00.G22", "timestamp": "2024/03/05 09:30:00"}],
        "attachments": [
            {"name": "QD-15.pdf", "base64": base64.b64encode(pdf).decode()},
            {"name": "ghi-chu.txt", "base64": base64.b64encode(note).decode()},
        ],
    }
    (tmp_path / "in.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    ref("build-edoc", str(tmp_path / "in.json"), str(tmp_path / "out.edxml"))
    result = parse((tmp_path / "out.edxml").read_bytes())
    assert result.ok, result.findings
    pkg = result.package
    assert isinstance(pkg, DocumentPackage)
    assert pkg.sender.organ_id == "000.00.00.G22"
    assert [r.organ_id for r in pkg.recipients] == ["000.00.00.H41"]
    assert pkg.document_id == spec["documentId"]
    assert (pkg.code.number, pkg.code.notation) == ("15", "QĐ-UBND")
    assert pkg.promulgation.date == date(2024, 3, 5)
    assert pkg.document_type.type_name == "Quyết định"
    assert pkg.subject == spec["subject"]
    assert pkg.signer.competence == "KT. BỘ TRƯỞNG"
    assert [(t.organ_id, t.timestamp) for t in pkg.trace] == [
        ("000.00.00.G22", datetime(2024, 3, 5, 9, 30))
    ]
    pdf_att, txt_att = pkg.attachments
    assert (pdf_att.name, pdf_att.data) == ("QD-15.pdf", pdf)
    # The library wraps a .txt in a zip (application/zip, entry <uuid>.txt): the zip is kept
    # as sent and its file is read, named, typed and hashed.
    assert txt_att.name == "ghi-chu.txt" and txt_att.content_type == "application/zip"
    [entry] = txt_att.entries
    assert entry.data == note and entry.sha256 == hashlib.sha256(note).hexdigest()
    assert entry.name.endswith(".txt") and entry.content_type == "text/plain"
    # Its manifest says application/zip for the PDF too, and its ids are "cid:cid:<uuid>".
    assert {r.content_id for r in pkg.references} == {a.content_id for a in pkg.attachments}
    assert not any(a.content_id.startswith("cid:") for a in pkg.attachments)


def test_axis_reads_every_field_of_a_status_the_library_builds(ref, tmp_path):
    spec = {
        "from": {"organId": "000.00.00.H41", "organName": "UBND tỉnh Nghệ An"},
        "responseFor": {
            "organId": "000.00.00.G22",
            "code": "15/QĐ-UBND",
            "documentId": "000.00.00.G22,2024/03/05,15/QĐ-UBND",
            "promulgationDate": "2024/03/05",
        },
        "statusCode": "03",
        "description": "Đã tiếp nhận và vào sổ",
        "timestamp": "2024/03/06 08:15:00",
        "staffInfo": {"department": "Văn thư", "staff": "Lê Thị Cúc", "email": "c@gov.vn"},
        "traceHeaders": [{"organId": "000.00.00.H41", "timestamp": "2024/03/06 08:15:01"}],
    }
    (tmp_path / "in.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    ref("build-status", str(tmp_path / "in.json"), str(tmp_path / "out.edxml"))
    result = parse((tmp_path / "out.edxml").read_bytes())
    assert result.ok, result.findings
    pkg = result.package
    assert isinstance(pkg, StatusPackage) and pkg.shape == "edxml"
    assert pkg.status_code == "03"
    assert pkg.sender.organ_id == "000.00.00.H41"
    assert pkg.response_for.document_id == spec["responseFor"]["documentId"]
    assert pkg.response_for.organ_id == "000.00.00.G22"
    assert pkg.response_for.code == "15/QĐ-UBND"
    assert pkg.response_for.promulgation_date == date(2024, 3, 5)
    assert pkg.description == spec["description"]
    assert pkg.timestamp == datetime(2024, 3, 6, 8, 15)
    assert (pkg.staff.department, pkg.staff.staff, pkg.staff.email) == (
        "Văn thư",
        "Lê Thị Cúc",
        "c@gov.vn",
    )
    assert [(t.organ_id, t.timestamp) for t in pkg.trace] == [
        ("000.00.00.H41", datetime(2024, 3, 6, 8, 15, 1))
    ]


def test_axis_reads_every_sample_of_the_kit():
    samples = sorted((KIT / "samples").glob("*.edxml"))
    if not samples:
        pytest.skip(f"the national SDK kit is not at {KIT}")
    for sample in samples:
        result = parse(sample.read_bytes())
        assert result.ok and result.findings == [], (sample.name, result.findings)
        expected = "status" if sample.name.startswith("status") else "edoc"
        assert result.package.kind == expected, sample.name
