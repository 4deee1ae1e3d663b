"""A table of good and bad examples for every rule, built here with realistic Vietnamese content.

Each bad example must raise its rule's code (and severity); each good example, a real-world
variation the law allows, must not raise it. The good package itself yields no finding at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import pytest

from formats.model import (
    Business,
    BusinessDocType,
    DocumentPackage,
    DocumentType,
    Receiver,
    ReplacementInfo,
)
from formats.rules import RULES, RulePolicy, SignerFacts, check_package, extract_pdf_text
from tests.factories import organization
from tests.rules.documents import (
    SENDER,
    PdfSpec,
    agency_cert,
    encoded,
    good_package,
    leader,
    make_ctx,
    make_pdf,
    no_diacritics,
    run,
    scanned_pdf,
    tcvn3,
)

DOC_ID = "000.00.00.H26,2024/01/05,05/QĐ-UBND"


@dataclass
class Case:
    name: str
    code: str
    bad: bool  # True: the code must be raised; False: it must not be
    pkg: Callable[[DocumentPackage], None] | None = None  # edits the good package in place
    pdf: PdfSpec | bytes | None = None
    signers: list[SignerFacts] | None = None
    ctx: dict | None = None
    severity: str | None = None  # the severity the bad finding must have, when it matters


def typed(name: str, notation: str, number: str = "05") -> Callable[[DocumentPackage], None]:
    def edit(p: DocumentPackage) -> None:
        p.document_type = DocumentType(type="1", type_name=name)
        p.code.number, p.code.notation = number, notation
        p.document_id = f"{SENDER},2024/01/05,{number}/{notation}"

    return edit


def code(number: str, notation: str = "QĐ-UBND") -> Callable[[DocumentPackage], None]:
    def edit(p: DocumentPackage) -> None:
        p.code.number, p.code.notation = number, notation
        p.document_id = f"{SENDER},2024/01/05,{number}/{notation}"

    return edit


def setattr_(path: str, value) -> Callable[[DocumentPackage], None]:
    def edit(p: DocumentPackage) -> None:
        *parents, last = path.split(".")
        obj = p
        for part in parents:
            obj = getattr(obj, part)
        setattr(obj, last, value)

    return edit


def business(kind: int, doc_id: str, **kw) -> Callable[[DocumentPackage], None]:
    def edit(p: DocumentPackage) -> None:
        p.business = Business(doc_type=BusinessDocType(kind), document_id=doc_id, **kw)

    return edit


def recipients(*codes: str) -> Callable[[DocumentPackage], None]:
    def edit(p: DocumentPackage) -> None:
        p.recipients = [organization(c) for c in codes]

    return edit


def both(*edits: Callable[[DocumentPackage], None]) -> Callable[[DocumentPackage], None]:
    def edit(p: DocumentPackage) -> None:
        for e in edits:
            e(p)

    return edit


EARLIER = "000.00.00.H26,2023/12/20,120/QĐ-UBND"
OTHERS = "000.00.00.G06,2023/12/21,88/QĐ-BTC"
TCVN3 = encoded(PdfSpec(), tcvn3)
# VNI writes a letter then its marks ("Coäng" for "Cộng"); the body is left without accents.
VNI = replace(
    encoded(PdfSpec(), no_diacritics),
    agency=("UÛY BAN NHAÂN DAÂN", "THAØNH PHOÁ HAØ NOÄI"),
    title="COÄNG HOØA XAÕ HOÄI CHUÛ NGHÓA VIEÄT NAM",
    motto="Ñoäc laäp - Töï do - Haïnh phuùc",
    number_line="Soá: 05/QÑ-UBND",
    date_line="Haø Noäi, ngaøy 05 thaùng 01 naêm 2024",
    signer="Nguyeãn Vaên An",
)
NO_DIACRITICS = encoded(PdfSpec(), no_diacritics)

CASES = [
    # --- document type ---------------------------------------------------------------
    Case("type misspelt", "RULE_DOC_TYPE_UNKNOWN", True, typed("Quyết đinh", "QĐ-UBND")),
    Case("type invented", "RULE_DOC_TYPE_UNKNOWN", True, typed("Văn bản hành chính", "UBND-VP")),
    Case("type upper case", "RULE_DOC_TYPE_UNKNOWN", False, typed("QUYẾT ĐỊNH", "QĐ-UBND")),
    Case("type old tone", "RULE_DOC_TYPE_UNKNOWN", False, typed("Giấy uỷ quyền", "GUQ-UBND")),
    Case("Nghị định", "RULE_DOC_TYPE_UNKNOWN", False, typed("Nghị định", "2024/NĐ-CP", "15")),
    # --- type abbreviation against the symbol -----------------------------------------
    Case(
        "QĐ as KH",
        "RULE_TYPE_NOTATION_MISMATCH",
        True,
        typed("Quyết định", "KH-UBND"),
        severity="error",
    ),
    Case(
        "Tờ trình as TT",
        "RULE_TYPE_NOTATION_MISMATCH",
        True,
        typed("Tờ trình", "TT-UBND"),
        severity="error",
    ),
    Case(
        "case only",
        "RULE_TYPE_NOTATION_MISMATCH",
        True,
        typed("Tờ trình", "TTR-UBND"),
        severity="warning",
    ),
    Case(
        "công văn as QĐ",
        "RULE_TYPE_NOTATION_MISMATCH",
        True,
        typed("Công văn", "QĐ-UBND"),
        severity="warning",
    ),
    Case("Tờ trình TTr", "RULE_TYPE_NOTATION_MISMATCH", False, typed("Tờ trình", "TTr-UBND")),
    Case("công văn form", "RULE_TYPE_NOTATION_MISMATCH", False, typed("Công văn", "UBND-KGVX")),
    Case(
        "Nghị định year",
        "RULE_TYPE_NOTATION_MISMATCH",
        False,
        typed("Nghị định", "2024/NĐ-CP", "15"),
    ),
    Case("Luật", "RULE_TYPE_NOTATION_MISMATCH", False, typed("Luật", "2024/QH15", "31")),
    Case("Quy định QyĐ", "RULE_TYPE_NOTATION_MISMATCH", False, typed("Quy định", "QyĐ-UBND")),
    # --- number and symbol --------------------------------------------------------------
    Case("number letters", "RULE_NUMBER_SYMBOL", True, code("5a")),
    Case("number zero", "RULE_NUMBER_SYMBOL", True, code("00")),
    Case("underscore", "RULE_NUMBER_SYMBOL", True, code("05", "QĐ_UBND")),
    Case("no agency", "RULE_NUMBER_SYMBOL", True, code("05", "QĐ")),
    Case("empty segment", "RULE_NUMBER_SYMBOL", True, code("05", "QĐ--UBND")),
    Case("three segments", "RULE_NUMBER_SYMBOL", False, code("05", "QĐ-UBND-VX")),
    Case("KH&ĐT", "RULE_NUMBER_SYMBOL", False, code("05", "QĐ-SKH&ĐT")),
    # --- leading zero -------------------------------------------------------------------
    Case("envelope 5", "RULE_NUMBER_LEADING_ZERO", True, code("5"), severity="warning"),
    Case("envelope 005", "RULE_NUMBER_LEADING_ZERO", True, code("005"), severity="warning"),
    Case("envelope 015", "RULE_NUMBER_LEADING_ZERO", True, code("015"), severity="warning"),
    Case(
        "pdf 5",
        "RULE_NUMBER_LEADING_ZERO",
        True,
        pdf=PdfSpec(number_line="Số: 5/QĐ-UBND"),
        severity="error",
    ),
    Case(
        "number 15",
        "RULE_NUMBER_LEADING_ZERO",
        False,
        code("15"),
        pdf=PdfSpec(number_line="Số: 15/QĐ-UBND"),
    ),
    Case("number 05", "RULE_NUMBER_LEADING_ZERO", False),
    # --- spaces -------------------------------------------------------------------------
    Case("spaced symbol", "RULE_NUMBER_SPACES", True, code("05", "QĐ - UBND")),
    Case("spaced number", "RULE_NUMBER_SPACES", True, code("0 5")),
    Case("spaced pdf", "RULE_NUMBER_SPACES", True, pdf=PdfSpec(number_line="Số: 05/QĐ - UBND")),
    Case("no spaces", "RULE_NUMBER_SPACES", False),
    # --- DocumentId ---------------------------------------------------------------------
    Case(
        "id other agency",
        "RULE_DOCUMENT_ID_MISMATCH",
        True,
        setattr_("document_id", "000.00.00.G22,2024/01/05,05/QĐ-UBND"),
        severity="error",
    ),
    Case(
        "id other date",
        "RULE_DOCUMENT_ID_MISMATCH",
        True,
        setattr_("document_id", "000.00.00.H26,2024/01/06,05/QĐ-UBND"),
    ),
    Case(
        "id other number",
        "RULE_DOCUMENT_ID_MISMATCH",
        True,
        setattr_("document_id", "000.00.00.H26,2024/01/05,06/QĐ-UBND"),
    ),
    Case(
        "id other symbol",
        "RULE_DOCUMENT_ID_MISMATCH",
        True,
        setattr_("document_id", "000.00.00.H26,2024/01/05,05/KH-UBND"),
    ),
    # A DocumentId of another form claims nothing: kept, and the sender is told (real systems
    # on the national axis send UUIDs).
    Case(
        "id malformed",
        "RULE_DOCUMENT_ID_MISMATCH",
        True,
        setattr_("document_id", "05/QĐ-UBND"),
        severity="warning",
    ),
    Case(
        "id uuid",
        "RULE_DOCUMENT_ID_MISMATCH",
        True,
        setattr_("document_id", "0b4b0b43-5b0e-4f5c-9a44-52a1f2d9c7aa"),
        severity="warning",
    ),
    Case(
        "id agency lower case",
        "RULE_DOCUMENT_ID_MISMATCH",
        False,
        setattr_("document_id", "000.00.00.h26,2024/01/05,05/QĐ-UBND"),
    ),
    Case(
        "id bare number",
        "RULE_DOCUMENT_ID_MISMATCH",
        False,
        setattr_("document_id", "000.00.00.H26,2024/01/05,5/QĐ-UBND"),
    ),
    Case("id exact", "RULE_DOCUMENT_ID_MISMATCH", False, setattr_("document_id", DOC_ID)),
    # --- dates --------------------------------------------------------------------------
    Case(
        "id 30 Feb",
        "RULE_DATE_INVALID",
        True,
        setattr_("document_id", "000.00.00.H26,2014/02/30,05/QĐ-UBND"),
    ),
    Case("raw 30 Feb", "RULE_DATE_INVALID", True, setattr_("promulgation.date", "2014/02/30")),
    Case(
        "pdf 30 Feb",
        "RULE_DATE_INVALID",
        True,
        pdf=PdfSpec(date_line="Hà Nội, ngày 30 tháng 02 năm 2024"),
    ),
    Case(
        "leap day",
        "RULE_DATE_INVALID",
        False,
        both(
            setattr_("promulgation.date", date(2024, 2, 29)),
            setattr_("document_id", "000.00.00.H26,2024/02/29,05/QĐ-UBND"),
        ),
        pdf=PdfSpec(date_line="Hà Nội, ngày 29 tháng 02 năm 2024"),
    ),
    Case("tomorrow", "RULE_DATE_FUTURE", True, setattr_("promulgation.date", date(2024, 6, 2))),
    Case(
        "today in Hà Nội",
        "RULE_DATE_FUTURE",
        False,
        setattr_("promulgation.date", date(2024, 6, 1)),
        ctx={"now": datetime(2024, 5, 31, 18, 30, tzinfo=UTC)},
    ),  # 01:30 on 1 June in Hà Nội
    Case(
        "due before", "RULE_DUE_BEFORE_PROMULGATION", True, setattr_("due_date", date(2024, 1, 4))
    ),
    Case(
        "due same day",
        "RULE_DUE_BEFORE_PROMULGATION",
        False,
        setattr_("due_date", date(2024, 1, 5)),
    ),
    # --- priority -----------------------------------------------------------------------
    Case("priority 5", "RULE_PRIORITY_RANGE", True, setattr_("other.priority", 5)),
    Case("priority -1", "RULE_PRIORITY_RANGE", True, setattr_("other.priority", -1)),
    Case("hỏa tốc hẹn giờ", "RULE_PRIORITY_RANGE", False, setattr_("other.priority", 4)),
    Case("no priority", "RULE_PRIORITY_RANGE", False, setattr_("other.priority", None)),
    # --- agencies -----------------------------------------------------------------------
    # Codes compare without regard to case: a lower-case code routes, so it is only a warning.
    Case(
        "lower case",
        "RULE_AGENCY_CODE_FORMAT",
        True,
        recipients("000.00.00.g06"),
        severity="warning",
    ),
    Case(
        "name not code",
        "RULE_AGENCY_CODE_FORMAT",
        True,
        recipients("Bộ Tài chính"),
        severity="error",
    ),
    Case("space", "RULE_AGENCY_CODE_FORMAT", True, recipients("000.00.00 G06")),
    Case("enterprise code", "RULE_AGENCY_CODE_FORMAT", False, recipients("0101234567")),
    Case("not in directory", "RULE_AGENCY_UNKNOWN", True, recipients("000.00.00.G99")),
    Case("in directory", "RULE_AGENCY_UNKNOWN", False),
    Case(
        "offline",
        "RULE_AGENCY_UNKNOWN",
        False,
        recipients("000.00.00.G99"),
        ctx={"known_agency": None},
    ),
    # --- fields -------------------------------------------------------------------------
    Case("no subject", "RULE_FIELD_MISSING", True, setattr_("subject", " ")),
    Case("no signer", "RULE_FIELD_MISSING", True, setattr_("signer.full_name", "")),
    Case("no number", "RULE_FIELD_MISSING", True, setattr_("code.number", "")),
    Case("no date", "RULE_FIELD_MISSING", True, setattr_("promulgation.date", None)),
    Case("no recipient", "RULE_FIELD_MISSING", True, recipients()),
    Case("revoke without id", "RULE_FIELD_MISSING", True, business(1, "")),
    Case("no due date", "RULE_FIELD_MISSING", False, setattr_("due_date", None)),
    Case("subject 501", "RULE_FIELD_TOO_LONG", True, setattr_("subject", "Về việc " + "ạ" * 493)),
    Case("subject 500", "RULE_FIELD_TOO_LONG", False, setattr_("subject", "Về việc " + "ạ" * 492)),
    Case(
        "name 51", "RULE_FIELD_TOO_LONG", True, setattr_("signer.full_name", "Tôn Nữ " + "a" * 44)
    ),
    Case(
        "subject TCVN3",
        "RULE_FIELD_LEGACY_ENCODING",
        True,
        setattr_("subject", tcvn3("Về việc phê duyệt Kế hoạch chuyển đổi số năm 2024")),
    ),
    Case(
        "signer VNI",
        "RULE_FIELD_LEGACY_ENCODING",
        True,
        setattr_("signer.full_name", "Nguyeãn Vaên Ñöùc"),
    ),
    Case(
        "Unicode fields",
        "RULE_FIELD_LEGACY_ENCODING",
        False,
        setattr_("subject", "Về việc «chuyển đổi số» năm 2024 – giai đoạn 2°"),
    ),
    # --- revoke / update / replace ------------------------------------------------------
    Case(
        "revoke unknown",
        "RULE_REFERENCE_UNKNOWN",
        True,
        business(1, "000.00.00.H26,2023/12/20,999/QĐ-UBND"),
    ),
    Case("revoke known", "RULE_REFERENCE_UNKNOWN", False, business(1, EARLIER)),
    Case(
        "revoke offline",
        "RULE_REFERENCE_UNKNOWN",
        False,
        business(1, "x"),
        ctx={"lookup_document": None},
    ),
    Case("revoke other's", "RULE_REFERENCE_OTHER_SENDER", True, business(1, OTHERS)),
    Case("revoke own", "RULE_REFERENCE_OTHER_SENDER", False, business(1, EARLIER)),
    Case(
        "update stranger",
        "RULE_REFERENCE_RECIPIENTS",
        True,
        both(business(2, EARLIER), recipients("000.00.00.G06", "000.00.00.G22")),
    ),
    Case(
        "update adds",
        "RULE_REFERENCE_RECIPIENTS",
        False,
        both(
            business(2, EARLIER, receivers=[Receiver(1, "000.00.00.G22")]),
            recipients("000.00.00.G06", "000.00.00.G22"),
        ),
    ),
    Case(
        "replace stranger",
        "RULE_REFERENCE_RECIPIENTS",
        True,
        business(3, "", replacements=[ReplacementInfo(EARLIER, ["000.00.00.H29"])]),
    ),
    Case(
        "replace named",
        "RULE_REFERENCE_RECIPIENTS",
        False,
        business(3, "", replacements=[ReplacementInfo(EARLIER, ["000.00.00.G12"])]),
    ),
    # --- the PDF ------------------------------------------------------------------------
    Case("scan", "RULE_PDF_NO_TEXT", True, pdf=b"scan"),
    Case("text layer", "RULE_PDF_NO_TEXT", False),
    Case("broken", "RULE_PDF_UNREADABLE", True, pdf=b"%PDF-1.7\n1 0 obj << /Type /Cat"),
    Case("not a PDF", "RULE_PDF_UNREADABLE", True, pdf=b"PK\x03\x04 a zip file"),
    Case("readable", "RULE_PDF_UNREADABLE", False),
    Case("TCVN3", "RULE_PDF_LEGACY_ENCODING", True, pdf=TCVN3, severity="error"),
    Case("VNI", "RULE_PDF_LEGACY_ENCODING", True, pdf=VNI, severity="error"),
    Case("no diacritics", "RULE_PDF_LEGACY_ENCODING", True, pdf=NO_DIACRITICS, severity="warning"),
    Case("Unicode", "RULE_PDF_LEGACY_ENCODING", False),
    Case("no title", "RULE_PDF_NATIONAL_TITLE", True, pdf=PdfSpec(title="")),
    Case(
        "title typo",
        "RULE_PDF_NATIONAL_TITLE",
        True,
        pdf=PdfSpec(title="CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM NAM".replace("XÃ", "XA")),
    ),
    Case(
        "title old tone",
        "RULE_PDF_NATIONAL_TITLE",
        False,
        pdf=PdfSpec(title="CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    ),
    Case(
        "title spaced",
        "RULE_PDF_NATIONAL_TITLE",
        False,
        pdf=PdfSpec(title="CỘNG  HÒA  XÃ  HỘI  CHỦ  NGHĨA  VIỆT  NAM"),
    ),
    Case("no motto", "RULE_PDF_MOTTO", True, pdf=PdfSpec(motto="")),
    Case(
        "motto en dash", "RULE_PDF_MOTTO", False, pdf=PdfSpec(motto="Độc lập – Tự do – Hạnh phúc")
    ),
    Case("number other", "RULE_PDF_NUMBER_LINE", True, pdf=PdfSpec(number_line="Số: 06/QĐ-UBND")),
    Case("symbol other", "RULE_PDF_NUMBER_LINE", True, pdf=PdfSpec(number_line="Số: 05/KH-UBND")),
    Case(
        "number blank", "RULE_PDF_NUMBER_LINE", True, pdf=PdfSpec(number_line="Số:      /QĐ-UBND")
    ),
    Case("no number line", "RULE_PDF_NUMBER_LINE", True, pdf=PdfSpec(number_line="")),
    Case("SỐ upper", "RULE_PDF_NUMBER_LINE", False, pdf=PdfSpec(number_line="SỐ: 05/QĐ-UBND")),
    Case("bare number", "RULE_PDF_NUMBER_LINE", False, code("5")),
    Case(
        "date other",
        "RULE_PDF_PLACE_DATE",
        True,
        pdf=PdfSpec(date_line="Hà Nội, ngày 06 tháng 01 năm 2024"),
    ),
    Case(
        "date no zeros",
        "RULE_PDF_PLACE_DATE",
        True,
        pdf=PdfSpec(date_line="Hà Nội, ngày 5 tháng 1 năm 2024"),
    ),
    Case(
        "place other",
        "RULE_PDF_PLACE_DATE",
        True,
        pdf=PdfSpec(date_line="Hà Đông, ngày 05 tháng 01 năm 2024"),
        severity="warning",
    ),
    Case("no date line", "RULE_PDF_PLACE_DATE", True, pdf=PdfSpec(date_line="")),
    Case(
        "March",
        "RULE_PDF_PLACE_DATE",
        False,
        both(
            setattr_("promulgation.date", date(2024, 3, 15)),
            setattr_("document_id", "000.00.00.H26,2024/03/15,05/QĐ-UBND"),
        ),
        pdf=PdfSpec(date_line="Hà Nội, ngày 15 tháng 3 năm 2024"),
    ),
    Case("signer other", "RULE_PDF_SIGNER_NAME", True, pdf=PdfSpec(signer="Trần Thị Bình")),
    Case("signer upper", "RULE_PDF_SIGNER_NAME", False, pdf=PdfSpec(signer="NGUYỄN VĂN AN")),
    Case("one page", "RULE_PDF_SIGNER_NAME", False, pdf=PdfSpec(pages=1)),
    Case("appendix after signature", "RULE_PDF_SIGNER_NAME", False, pdf=PdfSpec(appendix_pages=2)),
    Case(
        "other signer, appendix",
        "RULE_PDF_SIGNER_NAME",
        True,
        pdf=PdfSpec(appendix_pages=1, signer="Lê Văn Cường"),
    ),
    Case(
        "signature page scanned",
        "RULE_PDF_SIGNER_NAME",
        False,
        pdf=PdfSpec(scanned_signature_page=True),
    ),
    Case(
        "signature page scanned", "RULE_NOT_CHECKED", True, pdf=PdfSpec(scanned_signature_page=True)
    ),
    Case(
        "glyphs spaced by layout",
        "RULE_PDF_NUMBER_LINE",
        False,
        pdf=PdfSpec(number_line="Số: 0 5/Q Đ-UBND"),
    ),
    Case("letter", "RULE_PDF_PAGE_SIZE", True, pdf=PdfSpec(page_format="Letter")),
    Case("A5", "RULE_PDF_PAGE_SIZE", True, pdf=PdfSpec(page_format="A3")),
    Case("landscape", "RULE_PDF_PAGE_SIZE", False, pdf=PdfSpec(orientation="L")),
    # --- certificates -------------------------------------------------------------------
    Case(
        "cert other person",
        "RULE_CERT_SIGNER_NAME",
        True,
        signers=[leader("Trần Thị Bình"), agency_cert()],
    ),
    Case(
        "cert ascii name",
        "RULE_CERT_SIGNER_NAME",
        False,
        signers=[leader("NGUYEN VAN AN"), agency_cert()],
    ),
    Case(
        "cert other agency",
        "RULE_CERT_AGENCY",
        True,
        signers=[leader(), agency_cert("Bộ Tài chính")],
    ),
    Case(
        "cert key other agency",
        "RULE_CERT_AGENCY",
        True,
        signers=[leader(), agency_cert("Văn thư", key_sha256="AB" * 32)],
    ),
    Case("cert own agency", "RULE_CERT_AGENCY", False),
    Case(
        "cert unmapped",
        "RULE_NOT_CHECKED",
        True,
        signers=[leader(), agency_cert("Sở Nội vụ", role_hint="agency")],
    ),
    Case("no signatures", "RULE_NOT_CHECKED", True, signers=[]),
    Case("all checked", "RULE_NOT_CHECKED", False),
]


def _evaluate(case: Case):
    pkg = good_package()
    if case.pkg:
        case.pkg(pkg)
    pdf = case.pdf
    data = scanned_pdf() if pdf == b"scan" else make_pdf(pdf) if isinstance(pdf, PdfSpec) else pdf
    if data is not None:
        pkg.attachments[0].data = data
    return run(pkg, pdf=data, signers=case.signers, ctx=make_ctx(**(case.ctx or {})))


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: f"{c.code}:{'bad' if c.bad else 'good'}:{c.name}"
)
def test_rule_table(case: Case) -> None:
    findings = _evaluate(case)
    hits = [f for f in findings if f.code == case.code]
    if case.bad:
        assert hits, f"{case.code} expected, got {[(f.code, f.message) for f in findings]}"
        if case.severity:
            assert {f.severity for f in hits} == {case.severity}, hits
        assert all(f.message and f.path for f in hits)
    else:
        assert not hits, hits


def test_every_rule_has_good_and_bad_examples() -> None:
    covered = {(c.code, c.bad) for c in CASES}
    for code in RULES:
        assert (code, True) in covered, f"no bad example for {code}"
        assert (code, False) in covered, f"no good example for {code}"


def test_good_package_is_clean() -> None:
    assert run() == []


def test_messages_quote_the_clerks_text() -> None:
    findings = _evaluate(Case("", "", True, code("5"), pdf=PdfSpec(number_line="Số: 5/QĐ-UBND")))
    pdf_zero = next(f for f in findings if f.path.endswith("page[1]"))
    assert pdf_zero.code == "RULE_NUMBER_LEADING_ZERO"
    assert '"5/QĐ-UBND"' in pdf_zero.message and '"05/QĐ-UBND"' in pdf_zero.message


def test_tcvn3_is_decoded_and_still_checked() -> None:
    findings = _evaluate(Case("", "", True, pdf=TCVN3))
    codes = {f.code for f in findings}
    assert codes == {"RULE_PDF_LEGACY_ENCODING"}, findings  # title, number, date, name all found
    (legacy,) = findings
    assert "TCVN3" in legacy.message and "CỘNG HÒA XÃ HỘI CHỦ NGHĨA" in legacy.message, (
        legacy.message
    )


def test_vni_says_what_was_not_checked() -> None:
    findings = _evaluate(Case("", "", True, pdf=VNI))
    not_checked = [f for f in findings if f.code == "RULE_NOT_CHECKED"]
    assert len(not_checked) == 1 and "RULE_PDF_NATIONAL_TITLE" in not_checked[0].message
    assert not any(f.code == "RULE_PDF_NATIONAL_TITLE" for f in findings)


def test_scan_reports_no_text_and_nothing_it_could_not_see() -> None:
    findings = _evaluate(Case("", "", True, pdf=b"scan"))
    assert [f.code for f in findings] == ["RULE_PDF_NO_TEXT"]


def test_no_pdf_at_all_is_said() -> None:
    pkg = good_package()
    findings = check_package(
        pkg, pdf_texts=None, signers=[leader(), agency_cert()], ctx=make_ctx(), policy=RulePolicy()
    )
    assert [f.code for f in findings] == ["RULE_NOT_CHECKED"]
    assert "RULE_PDF_NATIONAL_TITLE" in findings[0].message


def test_a_rule_bug_is_a_finding_not_a_crash() -> None:
    pkg = good_package()
    pkg.code.number = None  # type: ignore[assignment]  # what no parser produces
    findings = check_package(
        pkg,
        pdf_texts=extract_pdf_text(pkg.attachments[0].data),
        signers=[],
        ctx=make_ctx(),
        policy=RulePolicy(),
    )
    assert any(f.code == "RULE_NOT_CHECKED" and f.path == "envelope" for f in findings)
