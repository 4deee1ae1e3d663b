"""formats/pdf_hex.read_hex_bytes: a hex string decoded in one pass, anything but hex digits
and whitespace handed back (None, the stream at the '<')."""

from __future__ import annotations

import io
import random
import re

from formats.pdf_hex import read_hex_bytes

WHITESPACE = b" \n\r\t\f\x00"


def _expected(data: bytes) -> tuple[bytes | None, int]:
    """What the scan must answer, written plainly: (bytes, position after '>') or (None, 0)."""
    end = data.find(b">")
    if end < 0:
        return None, 0
    digits = data[1:end].translate(None, WHITESPACE)
    if not re.fullmatch(rb"[0-9a-fA-F]*", digits):
        return None, 0
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode()), end + 1


def test_hex_strings_read_or_handed_back():
    rnd = random.Random(11)
    alphabet = b"0123456789abcdefABCDEF" * 3 + WHITESPACE + b"gG+-\x0b%<>()\xff"
    cases = [b"<>", b"<4>", b"<41 42>", b"<4 1\n4\t2>", b"<41", b"<4g>", b"<41\x0b42>"]
    cases += [
        b"<" + bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 40))) + b">"
        for _ in range(3000)
    ]
    cases += [b"<" + b"0" * 70000 + b">", b"<" + b"ab" * 40000 + b"x>"]  # past one read chunk
    handed_back = decoded = 0
    for data in cases:
        stream = io.BytesIO(data + b"rest")
        got = read_hex_bytes(stream, WHITESPACE)
        want, after = _expected(data)
        assert got == want, data[:60]
        assert stream.tell() == after
        if want is None:
            handed_back += 1
        else:
            decoded += 1
    assert handed_back > 100 and decoded > 100
