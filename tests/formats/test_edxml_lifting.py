"""A large package's attachments are decoded straight from the body as sent (issue 17,
memory): formats.edxml lifts their base64 out before libxml2 parses the rest. What is read
must be exactly what the package read whole gives, whatever the layout, and the parse must not
hold a copy of the base64 (Python's allocations measured with tracemalloc)."""

from __future__ import annotations

import base64
import random
import tracemalloc

from formats import edxml
from tests.factories import make_document, minimal_pdf

MIB = 1 << 20


def _body(*blobs: bytes) -> bytes:
    atts = [(f"tep-{i}.pdf", b, "application/pdf") for i, b in enumerate(blobs)]
    return edxml.build_document(make_document(attachments=atts))


def _whole(body: bytes) -> edxml.ParseResult:
    """The package read without lifting: the reference."""
    return edxml._parse(body, len(body) + MIB)


def _same(a: edxml.ParseResult, b: edxml.ParseResult) -> None:
    assert [(f.code, f.path) for f in a.findings] == [(f.code, f.path) for f in b.findings]
    if a.package is None or b.package is None:
        assert a.package is b.package is None
        return
    assert [(x.name, x.sha256, x.data) for x in a.package.attachments] == [
        (x.name, x.sha256, x.data) for x in b.package.attachments
    ]
    assert a.package.subject == b.package.subject


def _blob(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size) + minimal_pdf(["Số: 15/QĐ-UBND"])


def test_lifted_attachments_read_exactly_as_the_whole_package_does():
    big, small, other = _blob(1, 5 * MIB), _blob(2, 20_000), _blob(3, 2 * MIB)
    body = _body(big, small, other)
    lifted = edxml._Lifted.of(body, len(body) + MIB)
    assert lifted is not None and len(lifted.spans) == 2  # the two large ones only
    result = edxml.parse(body, max_bytes=len(body) + MIB)
    assert result.ok, result.findings
    assert [a.data for a in result.package.attachments] == [big, small, other]
    _same(result, _whole(body))


def test_every_base64_layout_and_every_refusal_matches_the_whole_read():
    blob = _blob(4, 5 * MIB)
    body = _body(blob)
    one_line = base64.b64encode(blob)
    layouts = {
        "wrapped 76 LF": b"\n".join(one_line[i : i + 76] for i in range(0, len(one_line), 76)),
        "wrapped 64 CRLF": b"\r\n".join(one_line[i : i + 64] for i in range(0, len(one_line), 64)),
        "indented": b"\n      " + one_line + b"\n    ",
        "cut short": one_line[:-3],
        "not base64": one_line[: 2 * MIB] + b"====" + one_line[2 * MIB :],
    }
    for name, layout in layouts.items():
        variant = body.replace(one_line, layout)
        result = edxml.parse(variant, max_bytes=len(variant) + MIB)
        _same(result, _whole(variant))
        if name.startswith(("wrapped", "indented")):
            assert result.ok and result.package.attachments[0].data == blob, name
        else:
            assert "EDXML_BAD_BASE64" in {f.code for f in result.findings}, name


def test_base64_lookalikes_outside_an_attachment_are_read_as_sent():
    blob = _blob(5, 5 * MIB)
    body = _body(blob)
    fake = (
        b"<!-- <ContentTransferEncoded>" + b"QUJD" * (MIB // 2) + b"</ContentTransferEncoded> -->"
    )
    variant = body.replace(b"</edXML:edXMLEnvelope>", b"</edXML:edXMLEnvelope>" + fake, 1)
    assert variant != body
    result = edxml.parse(variant, max_bytes=len(variant) + MIB)
    assert result.ok and [a.data for a in result.package.attachments] == [blob]
    _same(result, _whole(variant))


def test_a_large_attachment_is_not_copied_while_parsing():
    blob = _blob(6, 16 * MIB)
    body = _body(blob)
    tracemalloc.start()
    try:
        result = edxml.parse(body, max_bytes=len(body) + MIB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.package.attachments[0].data == blob
    # The decoded file and small change; the 21 MiB of base64 as a str (how lxml hands text
    # out) or as bytes would show here.
    assert peak < len(blob) + 2 * MIB, f"peak {peak / MIB:.1f} MiB"
