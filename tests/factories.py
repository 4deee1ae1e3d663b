"""Realistic test data for every area: edXML packages, status packages and small PDFs.

A plain module (not a conftest): `from tests.factories import make_document, make_status,
minimal_pdf`. The top-level conftest puts the repository root on sys.path.

Every string is NFC, as `formats.edxml.parse` returns it, so `parse(build_document(pkg))`
compares equal to `pkg`.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from formats.model import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Reference,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
)

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

# A few real-looking agencies (codes in the QCVN 102:2016 shape).
AGENCIES: dict[str, str] = {
    "000.00.00.G22": "Văn phòng Chính phủ",
    "000.00.00.G06": "Bộ Tài chính",
    "000.00.00.G12": "Bộ Nội vụ",
    "000.00.00.H26": "Ủy ban nhân dân thành phố Hà Nội",
    "000.00.00.H29": "Ủy ban nhân dân Thành phố Hồ Chí Minh",
    "002.00.20.H13": "Sở Nội vụ tỉnh Bắc Ninh",
}

TYPE_ABBREVIATIONS: dict[str, str] = {
    "QĐ": "Quyết định",
    "CV": "Công văn",
    "TB": "Thông báo",
    "KH": "Kế hoạch",
    "BC": "Báo cáo",
    "GM": "Giấy mời",
    "CT": "Chỉ thị",
    "TTr": "Tờ trình",
}


def organization(code: str) -> Organization:
    name = AGENCIES.get(code, f"Cơ quan {code}")
    return Organization(
        organ_id=code,
        organ_name=name,
        organization_in_charge=name,
        organ_add="Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội",
        email=f"vanthu.{code.replace('.', '').lower()}@gov.vn",
        telephone="024 3825 8261",
        fax="024 3825 8262",
        website="https://chinhphu.vn",
    )


def make_attachment(
    name: str = "QD-15-UBND.pdf",
    data: bytes | None = None,
    content_type: str = "application/pdf",
    *,
    content_id: str | None = None,
    description: str = "Văn bản chính",
    was_zipped: bool = False,
) -> Attachment:
    if data is None:
        data = minimal_pdf()
    return Attachment(
        content_id=content_id or name,
        name=name,
        content_type=content_type,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        description=description,
        was_zipped=was_zipped,
    )


def make_document(
    sender: str = "000.00.00.G22",
    recipients: list[str] | None = None,
    number: str = "15",
    notation: str = "QĐ-UBND",
    subject: str = "Về việc phê duyệt kế hoạch chuyển đổi số năm 2024",
    attachments: list[tuple[str, bytes, str]] | list[Attachment] | None = None,
    business: Business | BusinessDocType | int | None = None,
    promulgation_date: date = date(2024, 3, 5),
    **overrides: Any,
) -> DocumentPackage:
    """A complete, valid document package; `overrides` replace any DocumentPackage field.

    `attachments` are `(name, bytes, content_type)` tuples (or ready Attachments); by default
    one small PDF. `business` may be a Business or just its doc type (1 revoke, 2 update...).
    """
    recipients = recipients if recipients is not None else ["000.00.00.G06", "000.00.00.H26"]
    if attachments is None:
        attachments = [("QD-15-UBND.pdf", minimal_pdf(), "application/pdf")]
    atts = [
        a if isinstance(a, Attachment) else make_attachment(a[0], a[1], a[2], content_id=a[0])
        for a in attachments
    ]
    abbreviation = notation.split("-", 1)[0]
    type_name = TYPE_ABBREVIATIONS.get(abbreviation, "Công văn")
    if business is None:
        business_value = Business()
    elif isinstance(business, Business):
        business_value = business
    else:
        business_value = Business(
            doc_type=BusinessDocType(int(business)),
            reason="Thu hồi do sai sót về thể thức" if int(business) == 1 else "Cập nhật nội dung",
            document_id=f"{sender},{promulgation_date:%Y/%m/%d},{number}/{notation}",
            paper=0,
            staff=StaffInfo("Văn phòng", "Trần Thị Bình", "binh.tt@gov.vn", "0912345678"),
        )
    pkg = DocumentPackage(
        sender=organization(sender),
        recipients=[organization(code) for code in recipients],
        document_id=f"{sender},{promulgation_date:%Y/%m/%d},{number}/{notation}",
        code=Code(number=number, notation=notation),
        promulgation=PromulgationInfo(place="Hà Nội", date=promulgation_date),
        document_type=DocumentType(type="1", type_detail="0", type_name=type_name),
        subject=subject,
        content=f"{NATIONAL_TITLE} — {MOTTO}. {subject}.",
        signer=SignerInfo(
            competence="TM. ỦY BAN NHÂN DÂN", position="Chủ tịch", full_name="Nguyễn Văn An"
        ),
        due_date=None,
        other=OtherInfo(
            priority=0,
            sphere_of_promulgation="Văn bản quy phạm nội bộ",
            typer_notation="NVA",
            promulgation_amount=10,
            page_amount=2,
            direction=False,
        ),
        steering_type="1",
        to_places=["Như trên", "Lưu: VT, VX"],
        trace=[TraceHeader(organ_id=sender, timestamp=datetime(2024, 3, 5, 9, 30, 0))],
        business=business_value,
        references=[
            Reference(
                content_id=a.content_id,
                content_type=a.content_type,
                description=a.description,
                attachment_name=a.name,
            )
            for a in atts
        ],
        attachments=atts,
    )
    return replace(pkg, **overrides) if overrides else pkg


def make_status(
    status_code: str = "03",
    sender: str = "000.00.00.G06",
    document_id: str = "000.00.00.G22,2024/03/05,15/QĐ-UBND",
    description: str = "Đã tiếp nhận và vào sổ văn bản đến",
    timestamp: datetime = datetime(2024, 3, 5, 10, 15, 0),
    **overrides: Any,
) -> StatusPackage:
    """A status about `document_id` (default: the one make_document() builds), from `sender`."""
    organ_id, _, rest = document_id.partition(",")
    day, _, code = rest.partition(",")
    y, m, d = (int(part) for part in day.split("/")) if day else (2024, 3, 5)
    pkg = StatusPackage(
        response_for=ResponseFor(
            organ_id=organ_id, code=code, promulgation_date=date(y, m, d), document_id=document_id
        ),
        sender=organization(sender),
        status_code=status_code,
        description=description,
        timestamp=timestamp,
        staff=StaffInfo("Văn phòng", "Lê Thị Cúc", "cuc.lt@gov.vn", "0987654321"),
    )
    return replace(pkg, **overrides) if overrides else pkg


# --- PDF -----------------------------------------------------------------------------------


def _pdf_text(text: str) -> str:
    # The standard 14 fonts carry no Vietnamese glyphs: fold diacritics so the text stays
    # readable (and extractable) without embedding a font.
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    ascii_text = "".join(c for c in folded if ord(c) < 128)
    return ascii_text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def minimal_pdf(text_lines: list[str] | None = None, *, size: int = 0) -> bytes:
    """A small valid one-page A4 portrait PDF (Times-Roman 13 pt), with a correct xref table.

    `size` pads the file to about that many bytes with an unreferenced, incompressible stream
    object (a realistic ~100 KB attachment for benchmarks) while keeping the PDF valid.
    """
    if text_lines is None:
        text_lines = [
            NATIONAL_TITLE,
            MOTTO,
            "Số: 15/QĐ-UBND",
            "Hà Nội, ngày 05 tháng 3 năm 2024",
            "QUYẾT ĐỊNH",
            "Về việc phê duyệt kế hoạch chuyển đổi số năm 2024",
        ]
    ops = ["BT", "/F1 13 Tf", "16 TL", "85 770 Td"]  # left margin 30 mm, top margin ~25 mm
    for i, line in enumerate(text_lines):
        ops.append(f"({_pdf_text(line)}) Tj" if i == 0 else f"T* ({_pdf_text(line)}) Tj")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    if size > 0:
        padding = _incompressible(max(size - 900 - len(stream), 0))
        objects.append(b"<< /Length %d >>\nstream\n" % len(padding) + padding + b"\nendstream")
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _incompressible(n: int) -> bytes:
    out = bytearray()
    block = hashlib.sha256(b"axis").digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])
