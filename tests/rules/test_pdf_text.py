"""Reading the first and last pages: Vietnamese text, odd but legal PDFs, damaged ones."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from formats.rules import extract_pdf_text
from formats.rules.legacy_encoding import decode_tcvn3, detect_legacy
from formats.rules.pdf_text import PdfText
from tests.rules.documents import TITLE, PdfSpec, make_pdf, scanned_pdf, tcvn3


def test_vietnamese_text_of_first_and_last_pages() -> None:
    text = extract_pdf_text(make_pdf(PdfSpec(pages=3)))
    assert text.page_count == 3 and text.has_text and not text.error
    assert TITLE in text.first_page
    assert "Số: 05/QĐ-UBND" in text.first_page
    assert "Hà Nội, ngày 05 tháng 01 năm 2024" in text.first_page
    assert "Nguyễn Văn An" in text.last_page and "Chánh Văn phòng" not in text.last_page
    assert unicodedata.is_normalized("NFC", text.first_page)
    assert text.page_sizes[0] == pytest.approx((595.28, 841.89), abs=0.01)


def test_rotated_and_landscape_pages_report_their_shown_size() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    writer.pages[0].rotate(90)
    buf = io.BytesIO()
    writer.write(buf)
    sizes = extract_pdf_text(buf.getvalue()).page_sizes
    assert sizes[0] == pytest.approx((841.89, 595.28), abs=0.01)
    assert sizes[1] == pytest.approx((595.28, 841.89), abs=0.01)


def test_text_inside_a_form_xobject_is_read() -> None:
    # Some document systems print each page into a Form XObject and only draw that.
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    page = writer.pages[0]
    form = DecodedStreamObject()
    form.set_data(page.get_contents().get_data())
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): page.mediabox,
            NameObject("/Resources"): page["/Resources"],
        }
    )
    ref = writer._add_object(form)
    content = DecodedStreamObject()
    content.set_data(b"q 1 0 0 1 0 0 cm /Fm0 Do Q")
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Fm0"): ref})}
    )
    page.replace_contents(content)
    buf = io.BytesIO()
    writer.write(buf)
    text = extract_pdf_text(buf.getvalue())
    assert TITLE in text.first_page and "Số: 05/QĐ-UBND" in text.first_page


def test_scan_has_no_text() -> None:
    text = extract_pdf_text(scanned_pdf())
    assert not text.has_text and not text.error and text.page_count == 1


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.7\n",
        b"%PDF-1.4\n1 0 obj <</Type/Catalog/Pages 2 0 R>> endobj\ntrailer<<>>\n",
        b"\x00" * 1000,
    ],
)
def test_damaged_pdfs_give_an_error_not_an_exception(data: bytes) -> None:
    text = extract_pdf_text(data)
    assert isinstance(text, PdfText) and text.error and not text.has_text


def test_encrypted_pdf_is_reported() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    writer.encrypt(user_password="mật khẩu", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    text = extract_pdf_text(buf.getvalue())
    assert "encrypted" in text.error


def test_encrypted_with_empty_user_password_is_read() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf()))
    writer.encrypt(user_password="", owner_password="owner")
    buf = io.BytesIO()
    writer.write(buf)
    assert TITLE in extract_pdf_text(buf.getvalue()).first_page


def test_agrees_with_pypdf_on_the_words() -> None:
    data = make_pdf()
    ours = extract_pdf_text(data).first_page.split()
    theirs = PdfReader(io.BytesIO(data)).pages[0].extract_text().split()
    assert ours == theirs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (tcvn3("Cộng hòa xã hội chủ nghĩa Việt Nam - Độc lập - Tự do - Hạnh phúc"), "TCVN3"),
        ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam Ñoäc laäp - Töï do - Haïnh phuùc", "VNI"),
        ("Cộng hòa xã hội chủ nghĩa Việt Nam", None),
        ("Cong hoa xa hoi chu nghia Viet Nam", None),
        ("Café à la française, naïve résumé", None),
        ("", None),
    ],
)
def test_detect_legacy(text: str, expected: str | None) -> None:
    assert detect_legacy(text) == expected


def test_decode_tcvn3() -> None:
    assert decode_tcvn3(tcvn3("Nguyễn Văn An, Hà Nội")) == "Nguyễn Văn An, Hà Nội"


def test_hostile_content_streams_stay_linear() -> None:
    # Unterminated inline images and CMap blocks once made the reader quadratic.
    import time

    from formats.rules.pdf_text import _blocks, _strip_inline_images

    start = time.perf_counter()
    _strip_inline_images(b"BI ID " * 200_000)
    _blocks(b"beginbfchar <01> <0041> " * 100_000)
    _strip_inline_images(b"q BI /W 1 ID \x01\x02 " + b"BT (x) Tj ET " * 1000)
    assert time.perf_counter() - start < 2.0  # seconds; quadratic took minutes
    assert _strip_inline_images(
        b"BT (a) Tj ET BI /W 2 ID \x00BI\xffEI x EI BT (b) Tj ET"
    ).split() == [b"BT", b"(a)", b"Tj", b"ET", b"BT", b"(b)", b"Tj", b"ET"]
