"""Builders for the rules tests and bench: a good Decree 30 package and real Vietnamese PDFs.

PDFs are made with fpdf2 and an embedded Liberation Serif 2 (1.07 lacks the precomposed
Vietnamese letters), so their text layer extracts as real Unicode. Legacy
TCVN3/VNI PDFs use a standard font fed the legacy bytes, which is exactly how a ".VnTime"
document's text layer reads.
"""

from __future__ import annotations

import functools
import io
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime

from formats.model import DocumentPackage, DocumentType
from formats.rules import (
    CertAgencyMap,
    RuleContext,
    RulePolicy,
    SignerFacts,
    check_package,
    extract_pdf_text,
)
from formats.rules.legacy_encoding import _TCVN3
from tests.factories import AGENCIES, make_attachment, make_document

# A Times New Roman look-alike with the Vietnamese letters (fonts-liberation2, installed by
# scripts/install-system-deps.sh); DejaVu Serif where only that is present.
UNICODE_FONT = next(
    (
        path
        for path in (
            "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
            "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
        )
        if os.path.exists(path)
    ),
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
)
SENDER = "000.00.00.H26"  # Ủy ban nhân dân thành phố Hà Nội
RECIPIENTS = ["000.00.00.G06", "000.00.00.G12"]
NOW = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
BODY = (
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
    "Theo đề nghị của Giám đốc Sở Thông tin và Truyền thông tại Tờ trình số 12/TTr-STTTT.",
    "QUYẾT ĐỊNH:",
    "Điều 1. Phê duyệt Kế hoạch chuyển đổi số năm 2024 của Thành phố.",
    "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
)
# Documents the hub "routed earlier", for revoke/update/replace: id -> (sender, recipients).
HISTORY = {
    "000.00.00.H26,2023/12/20,120/QĐ-UBND": (SENDER, RECIPIENTS),
    "000.00.00.G06,2023/12/21,88/QĐ-BTC": ("000.00.00.G06", [SENDER]),
}
CERT_MAP = {
    "CN=Ủy ban nhân dân thành phố Hà Nội": SENDER,
    "O=Bộ Tài chính": "000.00.00.G06",
    "sha256:" + "ab" * 32: "000.00.00.G12",
}


@dataclass(frozen=True)
class PdfSpec:
    """What the test PDF says; every field defaults to the good document."""

    agency: tuple[str, str] = ("ỦY BAN NHÂN DÂN", "THÀNH PHỐ HÀ NỘI")
    title: str = TITLE
    motto: str = MOTTO
    number_line: str = "Số: 05/QĐ-UBND"
    date_line: str = "Hà Nội, ngày 05 tháng 01 năm 2024"
    kind: str = "QUYẾT ĐỊNH"
    subject: str = "Về việc phê duyệt Kế hoạch chuyển đổi số năm 2024"
    competence: str = "TM. ỦY BAN NHÂN DÂN"
    position: str = "CHỦ TỊCH"
    signer: str = "Nguyễn Văn An"
    body: tuple[str, ...] = BODY
    middle: str = "Điều 3. Chánh Văn phòng Ủy ban nhân dân Thành phố chịu trách nhiệm thi hành."
    closing: str = "Nơi nhận:\n- Như Điều 3;\n- Lưu: VT, KGVX."
    appendix_pages: int = 0  # "PHỤ LỤC" pages after the signature page
    # What an appendix page starts with; real ones often open with the agency's header and a
    # "(Kèm theo …)" line rather than "PHỤ LỤC".
    appendix_head: str = ""
    scanned_signature_page: bool = False  # the signature page is a picture (signed on paper)
    page_format: str = "A4"
    orientation: str = "P"
    pages: int = 2
    font: str = "unicode"  # "unicode" (embedded DejaVu Serif) or "core" (Times, WinAnsi bytes)


@functools.lru_cache(maxsize=128)
def make_pdf(spec: PdfSpec = PdfSpec()) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation=spec.orientation, format=spec.page_format)
    if spec.font == "unicode":
        pdf.add_font("Serif", "", UNICODE_FONT)
        pdf.set_font("Serif", size=13)
    else:
        pdf.set_font("Times", size=13)
    pdf.set_margins(30, 20, 15)
    pdf.set_auto_page_break(False)
    pdf.add_page()

    def row(left: str, right: str) -> None:
        pdf.set_x(pdf.l_margin)
        pdf.cell(70, 7, left)
        pdf.cell(0, 7, right, new_x="LMARGIN", new_y="NEXT")

    row(spec.agency[0], spec.title)
    row(spec.agency[1], spec.motto)
    row(spec.number_line, spec.date_line)
    pdf.ln(6)
    for line in (spec.kind, spec.subject, *spec.body):
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    for _ in range(spec.pages - 2):
        pdf.add_page()
        pdf.multi_cell(0, 7, spec.middle)
    if spec.pages > 1:
        pdf.add_page()
    if spec.scanned_signature_page:
        pdf.image(_png(), x=0, y=0, w=210, h=297)
    else:
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 7, spec.closing)
        for line in (spec.competence, spec.position, "", spec.signer):
            pdf.set_x(110)
            pdf.cell(0, 7, line, new_x="LMARGIN", new_y="NEXT")
    for i in range(spec.appendix_pages):
        pdf.add_page()
        pdf.multi_cell(
            0, 7, spec.appendix_head or f"PHỤ LỤC {i + 1}\nDANH MỤC NHIỆM VỤ CHUYỂN ĐỔI SỐ NĂM 2024"
        )
    return bytes(pdf.output())


@functools.lru_cache(maxsize=1)
def _png_bytes() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("L", (420, 594), 255)
    draw = ImageDraw.Draw(img)
    for y in range(40, 560, 18):
        draw.line((40, y, 380, y), fill=0, width=3)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _png() -> io.BytesIO:
    return io.BytesIO(_png_bytes())


def encoded(spec: PdfSpec, encode: Callable[[str], str]) -> PdfSpec:
    """The same document typed with a legacy encoding, drawn with a standard (WinAnsi) font."""
    changes = {
        f.name: encode(getattr(spec, f.name))
        for f in fields(spec)
        if isinstance(getattr(spec, f.name), str)
        and f.name not in ("page_format", "orientation", "font")
    }
    changes["agency"] = tuple(encode(x) for x in spec.agency)
    changes["body"] = tuple(encode(x) for x in spec.body)
    return replace(spec, font="core", **changes)


_TO_TCVN3 = {u: b for b, u in _TCVN3.items()}


def tcvn3(text: str) -> str:
    """Unicode → TCVN3 bytes as cp1252 characters; capitals use the lower-case slots, as the
    ".VnTimeH" capital fonts do."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        out.append(_TO_TCVN3.get(ch) or _TO_TCVN3.get(ch.lower()) or ch)
    return "".join(out)


def no_diacritics(text: str) -> str:
    folded = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in folded if not unicodedata.combining(c))


@functools.lru_cache(maxsize=4)
def scanned_pdf(size_pt: tuple[float, float] | None = None) -> bytes:
    """A page that is only a picture: what a scanner without OCR produces. `size_pt` gives
    the page size in points as the scanner wrote it (default: exact A4)."""
    from fpdf import FPDF

    if size_pt is None:
        pdf = FPDF(format="A4")
        pdf.add_page()
        pdf.image(_png(), x=0, y=0, w=210, h=297)
    else:
        pdf = FPDF(unit="pt", format=size_pt)
        pdf.add_page()
        pdf.image(_png(), x=0, y=0, w=size_pt[0], h=size_pt[1])
    return bytes(pdf.output())


def stamp_text(pdf: bytes, text: str, rect: tuple[float, float, float, float]) -> bytes:
    """Add a FreeText annotation to page 1 whose appearance shows `text` (Helvetica): how a
    clerk's signing tool stamps the number over the "Số:   /…" gap once the leader has signed
    (an annotation, because changing the page itself would break the leader's signature)."""
    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
        StreamObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    x1, y1, x2, y2 = rect
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )
    ap = StreamObject()
    ap.set_data(f"BT /Helv 12 Tf 2 4 Td ({text}) Tj ET".encode("latin-1"))
    ap.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject([FloatObject(0), FloatObject(0),
                                              FloatObject(x2 - x1), FloatObject(y2 - y1)]),
            NameObject("/Resources"): DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/Helv"): font})}
            ),
        }
    )  # fmt: skip
    annot = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/FreeText"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in rect]),
            NameObject("/Contents"): TextStringObject(text),
            NameObject("/DA"): TextStringObject("/Helv 12 Tf 0 g"),
            NameObject("/F"): NumberObject(4),  # printed
            NameObject("/AP"): DictionaryObject({NameObject("/N"): writer._add_object(ap)}),
        }
    )
    writer.add_annotation(0, annot)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def good_package(pdf: bytes | None = None, **overrides) -> DocumentPackage:
    data = make_pdf() if pdf is None else pdf
    pkg = make_document(
        sender=SENDER,
        recipients=list(RECIPIENTS),
        number="05",
        notation="QĐ-UBND",
        subject="Về việc phê duyệt Kế hoạch chuyển đổi số năm 2024",
        promulgation_date=date(2024, 1, 5),
        attachments=[make_attachment("05-QD-UBND.pdf", data)],
    )
    pkg.document_type = DocumentType(type="2", type_detail="0", type_name="Quyết định")
    pkg.signer.competence = "TM. ỦY BAN NHÂN DÂN"
    pkg.signer.position = "Chủ tịch"
    return replace(pkg, **overrides) if overrides else pkg


def leader(name: str = "Nguyễn Văn An") -> SignerFacts:
    return SignerFacts(
        common_name=name,
        organization="Ủy ban nhân dân thành phố Hà Nội",
        subject_fields={"CN": name, "O": "Ủy ban nhân dân thành phố Hà Nội", "T": "Chủ tịch"},
        path="AttachmentEncoded/Attachment[1]/signature[1]",
    )


def agency_cert(name: str = "Ủy ban nhân dân thành phố Hà Nội", **kw) -> SignerFacts:
    return SignerFacts(
        common_name=name,
        organization=name,
        subject_fields={"CN": name, "O": name, "L": "Hà Nội"},
        path="AttachmentEncoded/Attachment[1]/signature[2]",
        **kw,
    )


def make_ctx(**overrides) -> RuleContext:
    values = dict(
        now=NOW,
        known_agency=set(AGENCIES),
        lookup_document=HISTORY.get,
        cert_agency=CertAgencyMap(CERT_MAP),
    )
    values.update(overrides)
    return RuleContext(**values)


def run(
    pkg: DocumentPackage | None = None,
    *,
    pdf: bytes | None = None,
    signers: list[SignerFacts] | None = None,
    ctx: RuleContext | None = None,
    policy: RulePolicy | None = None,
):
    pkg = pkg or good_package(pdf)
    data = pdf if pdf is not None else pkg.attachments[0].data
    return check_package(
        pkg,
        pdf_texts=extract_pdf_text(data),
        signers=[leader(), agency_cert()] if signers is None else signers,
        ctx=ctx or make_ctx(),
        policy=policy or RulePolicy(),
    )
