"""The rules read PDFs with pypdf through a one-pass hex string reader (formats/rules/pdf_text.py,
issue 17): it gives what pypdf's own reader gives, errors included, and the text of a signed
document is the same either way."""

from __future__ import annotations

import io

import pytest
from pypdf.errors import PdfStreamError

from formats.rules import pdf_text


def _both(raw: bytes):
    out = []
    for reader in (pdf_text._pypdf_read_hex, pdf_text._read_hex_string):
        stream = io.BytesIO(raw + b" /Next")
        try:
            value = reader(stream)
        except PdfStreamError as exc:
            value = ("error", str(exc))
        out.append((type(value).__name__, value, stream.tell()))
    return out


@pytest.mark.parametrize(
    "raw",
    [
        b"<>",
        b"<48656C6C6F>",
        b"<48 65 6c\n6C\t6F\r0>",
        b"<4865 6>",  # odd count: a last 0 is implied
        b"<FEFF00540069>",  # UTF-16 text
        b"<" + b"0a1b" * 20000 + b">",  # longer than one chunk
        b"<48ZZ>",  # not hex: pypdf's error
        b"<4865",  # never closed
        b"<3082" + b"00" * 300 + b">",  # DER padded with zeros (a /Contents): bytes
        b"<EFBBBF48C3A9>",  # UTF-8 with its mark
        b"<4800650069>",  # NUL second: read as UTF-16
        b"<48650069>",  # a NUL later: bytes
        b"<487F65>",  # DEL, undefined in PDFDocEncoding: bytes
        b"<48AD65>",
        b"<48A065>",  # defined (non-breaking space): text
    ],
)
def test_the_fast_reader_answers_as_pypdf(raw):
    fast_and_slow = _both(raw)
    assert fast_and_slow[0] == fast_and_slow[1]


def test_strings_of_every_byte_read_as_pypdf_reads_them():
    """Text or bytes as pypdf decides (the fast reader skips the decoding of strings that
    PDFDocEncoding cannot decode): each single byte, in each position."""
    kinds = set()
    for b in range(256):
        for raw in (bytes((b,)), b"AB" + bytes((b,)), bytes((b,)) + b"AB", b"A" + bytes((b,))):
            fast, slow = _both(b"<" + raw.hex().encode() + b">")[::-1]
            assert fast == slow, raw
            kinds.add(fast[0])
    assert kinds == {"TextStringObject", "ByteStringObject"}


def test_signed_documents_read_the_same(pki):
    from bench import real_workload
    from tests.signing.pki import P12_PASSWORD

    real_workload._init_signer(
        {k: str(v) for k, v in pki.p12.items()},
        P12_PASSWORD,
        pki.tsa_url,
        "B-T",
        str(pki.trust_root),
    )
    [(_s, _b, pdf)] = real_workload.signed_packages_inline(1)
    from pypdf.generic import _data_structures

    assert _data_structures.read_hex_string_from_stream is pdf_text._read_hex_string
    fast = pdf_text.extract_pdf_text(pdf)

    _data_structures.read_hex_string_from_stream = pdf_text._pypdf_read_hex
    try:
        slow = pdf_text.extract_pdf_text(pdf)
    finally:
        _data_structures.read_hex_string_from_stream = pdf_text._read_hex_string
    assert fast == slow and fast.signature_page == 2 and not fast.error
