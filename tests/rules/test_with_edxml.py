"""The rules on packages as the hub sees them: built to edXML bytes, parsed back, then checked."""

from __future__ import annotations

from formats.edxml import build_document, parse
from formats.rules import RulePolicy, check_package, extract_pdf_text, main_pdf
from tests.rules.documents import PdfSpec, agency_cert, good_package, leader, make_ctx, make_pdf


def _check_bytes(data: bytes):
    result = parse(data)
    assert result.package is not None, result.findings
    pkg = result.package
    pdf = main_pdf(pkg)
    assert pdf.path == "AttachmentEncoded/Attachment[1]"
    return check_package(
        pkg,
        pdf_texts=extract_pdf_text(pdf.data),
        signers=[leader(), agency_cert()],
        ctx=make_ctx(),
        policy=RulePolicy(),
    )


def test_parsed_good_package_is_clean() -> None:
    assert _check_bytes(build_document(good_package())) == []


def test_parsed_bad_package_gives_precise_findings() -> None:
    pkg = good_package(make_pdf(PdfSpec(date_line="Hà Nội, ngày 5 tháng 1 năm 2024")))
    pkg.document_id = "000.00.00.H26,2024/01/05,5/QĐ-UBND"
    pkg.recipients[0].organ_id = "000.00.00.G99"
    codes = sorted({f.code for f in _check_bytes(build_document(pkg))})
    assert codes == ["RULE_AGENCY_UNKNOWN", "RULE_PDF_PLACE_DATE"]


def test_main_pdf_skips_other_attachments() -> None:
    pkg = good_package()
    from tests.factories import make_attachment

    pkg.attachments.insert(0, make_attachment("bang-ke.xlsx", b"PK\x03\x04", "application/zip"))
    assert main_pdf(pkg).path == "AttachmentEncoded/Attachment[2]"
