"""Reading a PDF hex string (`<…>`) in one pass, for the PDF libraries we patch.

pyHanko and pypdf read a hex string one byte at a time; a signature's /Contents is tens of
kilobytes of it (issue 17). Both patches (signing/_speedups.py, formats/rules/pdf_text.py) use
this scan and hand anything unusual back to the library's own reader, so that its errors and
edge cases stay its own.
"""

from __future__ import annotations

import binascii
from typing import Any

_CHUNK = 1 << 16


def read_hex_bytes(stream: Any, whitespace: bytes) -> bytes | None:
    """The bytes of the hex string at the stream's position (at its '<'), leaving the stream
    after its '>'; or None, with the stream back at the '<', for anything but hex digits and
    `whitespace` before a '>' (or no '>' at all)."""
    start = stream.tell()
    stream.read(1)  # the '<'
    parts: list[bytes] = []
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            stream.seek(start)
            return None
        end = chunk.find(b">")
        if end >= 0:
            parts.append(chunk[:end])
            break
        parts.append(chunk)
    body = b"".join(parts)
    digits = body.translate(None, whitespace)
    if len(digits) % 2:
        digits += b"0"
    try:
        # unhexlify refuses any byte but a hex digit: the check is the decoding itself
        data = binascii.unhexlify(digits)
    except binascii.Error:
        stream.seek(start)
        return None
    stream.seek(start + 1 + len(body) + 1)
    return data
