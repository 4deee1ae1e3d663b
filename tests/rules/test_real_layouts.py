"""The rules on layouts real documents have (issue 14 item 6), each once a false finding or a
miss: scanned A4 pages a few millimetres short, appendices after the signature page that do
not open with "PHỤ LỤC", the number stamped over the "Số:" gap by the clerk's signing tool,
and `axis check` on a PDF whose signatures fail."""

from __future__ import annotations

import io
import json
import logging

import pytest
import typer
from typer.testing import CliRunner

from axis.cli.check_commands import app
from formats.rules import RulePolicy, check_pdf_only, extract_pdf_text
from tests.rules.documents import PdfSpec, good_package, make_pdf, run, scanned_pdf, stamp_text

# An appendix as real ones open: its title and "(Kèm theo …)", no "PHỤ LỤC" in the first lines.
APPENDIX = (
    "DANH SÁCH CÁC ĐƠN VỊ THỰC HIỆN KẾ HOẠCH CHUYỂN ĐỔI SỐ NĂM 2024\n"
    "(Kèm theo Quyết định số 05/QĐ-UBND ngày 05 tháng 01 năm 2024 của Ủy ban nhân dân "
    "thành phố Hà Nội)\n1. Sở Thông tin và Truyền thông\n2. Sở Kế hoạch và Đầu tư\n"
    "3. Sở Tài chính\n4. Văn phòng Ủy ban nhân dân Thành phố"
)


def _codes(findings, code: str) -> list[str]:
    return [f.path for f in findings if f.code == code]


# -- page size --------------------------------------------------------------------------


A4_SCANS = [
    (592, 831),  # a real scanner's A4 (209 × 293 mm)
    (831, 592),  # the same, landscape (a table)
    (595.44, 841.68),  # 200 dpi rounding
    (586, 846),  # 3.3 mm narrow, 1.5 mm long
]
NOT_A4 = [
    (612, 792),  # US Letter: 18 mm short
    (609.45, 935.43),  # Folio/F4 (215 × 330 mm)
    (595.28, 800),  # A4 cut 14.6 mm short
    (420.94, 595.28),  # A5
]


def test_page_size_accepts_scanned_a4_within_5_mm_and_nothing_else() -> None:
    def flagged(size) -> list[str]:
        text = extract_pdf_text(scanned_pdf(size))
        return _codes(check_pdf_only(text, policy=RulePolicy()), "RULE_PDF_PAGE_SIZE")

    assert {size: flagged(size) for size in A4_SCANS} == dict.fromkeys(A4_SCANS, [])
    assert {size: flagged(size) for size in NOT_A4} == dict.fromkeys(NOT_A4, ["pdf/page[1]"])


# -- the page with the signature block ---------------------------------------------------


def test_signer_name_is_read_on_the_page_with_noi_nhan_not_the_appendix() -> None:
    pdf = make_pdf(PdfSpec(pages=3, appendix_pages=2, appendix_head=APPENDIX))
    text = extract_pdf_text(pdf)
    assert (text.page_count, text.signature_page) == (5, 3)
    assert not _codes(run(pdf=pdf), "RULE_PDF_SIGNER_NAME")
    # Another name on that page is still found out, on that page.
    other = make_pdf(
        PdfSpec(pages=3, appendix_pages=2, appendix_head=APPENDIX, signer="Lê Văn Cường")
    )
    assert _codes(run(pdf=other), "RULE_PDF_SIGNER_NAME") == [
        "AttachmentEncoded/Attachment[1]/page[3]"
    ]


def _sign(pki, data: bytes, label: str, **appearance) -> bytes:
    from signing.sign import Appearance, load_pkcs12, sign_pdf
    from tests.signing.pki import P12_PASSWORD

    look = Appearance(**appearance) if appearance else Appearance()
    return sign_pdf(data, load_pkcs12(pki.p12[label], P12_PASSWORD), appearance=look)


def test_signer_page_is_the_page_of_the_leaders_signature_widget(pki, tmp_path) -> None:
    # No "Nơi nhận" (a Giấy mời, say) and an appendix that does not say "PHỤ LỤC": only the
    # leader's widget tells where the signature block is.
    spec = PdfSpec(pages=2, closing="", appendix_pages=1, appendix_head=APPENDIX)
    signed = _sign(pki, make_pdf(spec), "leader", role="leader", name="Nguyễn Văn An", page=1)
    text = extract_pdf_text(signed)
    assert (text.page_count, text.signature_page) == (3, 2)
    assert not _codes(run(pdf=signed), "RULE_PDF_SIGNER_NAME")
    # The agency's seal signed later on the last page does not move it: the leader signs first.
    from PIL import Image, ImageDraw

    seal = tmp_path / "seal.png"
    img = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((4, 4, 116, 116), outline=(220, 0, 0, 255), width=6)
    img.save(seal)
    sealed = _sign(pki, signed, "agency", role="agency", page=2, image=str(seal))
    assert extract_pdf_text(sealed).signature_page == 2


# -- the number stamped over the "Số:" gap -----------------------------------------------

_GAP = "Số:          /QĐ-UBND"
_AT = (70, 760, 110, 778)  # over the gap, page 1 (PDF points)


def test_stamped_number_without_its_zero_is_flagged() -> None:
    pdf = stamp_text(make_pdf(PdfSpec(number_line=_GAP)), "5", _AT)
    assert extract_pdf_text(pdf).first_page_stamps == ("5",)
    findings = run(pdf=pdf)
    assert _codes(findings, "RULE_NUMBER_LEADING_ZERO") == [
        "AttachmentEncoded/Attachment[1]/page[1]"
    ]
    zero = next(f for f in findings if f.code == "RULE_NUMBER_LEADING_ZERO")
    assert (
        zero.severity == "error" and '"05/QĐ-UBND"' in zero.message and "sửa thành" in zero.message
    )
    assert not _codes(findings, "RULE_PDF_NUMBER_LINE")
    bare = check_pdf_only(extract_pdf_text(pdf), policy=RulePolicy())
    assert _codes(bare, "RULE_NUMBER_LEADING_ZERO") == ["pdf/page[1]"]  # once, not twice
    # The envelope's CodeNumber "5" is a warning of its own (metadata, fixed on resending).
    pkg = good_package(pdf)
    pkg.code.number = "5"
    hits = [f for f in run(pkg, pdf=pdf) if f.code == "RULE_NUMBER_LEADING_ZERO"]
    assert sorted((f.severity, f.path.rsplit("/", 1)[-1]) for f in hits) == [
        ("error", "page[1]"),
        ("warning", "CodeNumber"),
    ]


def test_stamped_number_with_its_zero_passes_and_a_blank_one_is_still_blank() -> None:
    pdf = stamp_text(make_pdf(PdfSpec(number_line=_GAP)), "05", _AT)
    findings = run(pdf=pdf)
    assert not _codes(findings, "RULE_NUMBER_LEADING_ZERO")
    assert not _codes(findings, "RULE_PDF_NUMBER_LINE")
    blank = run(pdf=make_pdf(PdfSpec(number_line=_GAP)))
    assert _codes(blank, "RULE_PDF_NUMBER_LINE") == ["AttachmentEncoded/Attachment[1]/page[1]"]
    # A stamp that is not a number (a "BẢN SAO" mark, say) fills nothing.
    marked = stamp_text(make_pdf(PdfSpec(number_line=_GAP)), "BAN SAO", _AT)
    assert _codes(run(pdf=marked), "RULE_PDF_NUMBER_LINE")


# -- axis check: failed signatures -------------------------------------------------------


def _overlay(signed: bytes) -> bytes:
    """An incremental update that draws over page 2 (an overlay: the page shown changes)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = w.root["/Pages"]["/Kids"][1]
    page = page_ref.get_object()
    old = page.raw_get("/Contents")
    extra = w.add_object(generic.StreamObject(stream_data=b"q 1 0 0 rg 300 300 80 20 re f Q"))
    page["/Contents"] = generic.ArrayObject([*(old if isinstance(old, list) else [old]), extra])
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


@pytest.fixture
def cli():
    root = typer.Typer()
    root.command()(app.registered_commands[0].callback)
    root.command("noop", hidden=True)(lambda: None)
    return root


def test_axis_check_reports_failed_signatures(pki, cli, tmp_path) -> None:
    pdf = make_pdf()
    two = _sign(pki, _sign(pki, pdf, "leader", role="leader", name="Nguyễn Văn An"), "agency")
    three = _sign(pki, _overlay(two), "leader")  # the third signs the changed document
    path = tmp_path / "ba-chu-ky.pdf"
    path.write_bytes(three)
    logging.getLogger("axis.signatures").setLevel(logging.ERROR)
    runner = CliRunner()
    args = ["check", "--json", "--trust", str(pki.trust_root), str(path)]
    result = runner.invoke(cli, args, env={"AXIS_RULES": ""})
    assert result.exit_code == 3, result.output
    report = json.loads(result.output)
    assert report["verdict"] == "signature failed"
    assert [(s["index"], s["indication"]) for s in report["signatures"]] == [
        (1, "TOTAL_FAILED"),
        (2, "TOTAL_FAILED"),
        (3, "TOTAL_PASSED"),
    ]
    for s in report["signatures"][:2]:
        assert any(f["severity"] == "error" for f in s["findings"]), s
    errors = {f["path"] for f in report["findings"] if f["severity"] == "error"}
    assert {"pdf/signature[1]", "pdf/signature[2]"} <= errors
    # The rules alone still find the document clean: only the signatures fail it.
    rules_only = runner.invoke(cli, ["check", "--no-signatures", str(path)], env={"AXIS_RULES": ""})
    assert rules_only.exit_code == 0, rules_only.output
    human = runner.invoke(cli, args[:1] + args[2:], env={"AXIS_RULES": ""})
    assert human.exit_code == 3 and "TOTAL_FAILED" in human.output
    # An intact signed copy passes: exit 0, one TOTAL_PASSED row per signature.
    good = tmp_path / "hai-chu-ky.pdf"
    good.write_bytes(two)
    ok = runner.invoke(cli, ["check", "--json", "--trust", str(pki.trust_root), str(good)],
                       env={"AXIS_RULES": ""})  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert {s["indication"] for s in json.loads(ok.output)["signatures"]} == {"TOTAL_PASSED"}
