"""The text of a PDF's first and last pages, and its page sizes, read fast enough for every package.

The rules need only the header of page 1 (national title, motto, "Số:", place and date) and
the signature block of the last page, so this reads two content streams with a small tokenizer
(pypdf resolves the objects; its own text extraction is several times slower and is kept as
the fallback for content this reader does not understand). Text comes out in content-stream
order, one line per change of baseline; rules compare it whitespace-insensitively.
"""

from __future__ import annotations

import codecs
import io
import re
import sys
import unicodedata
from array import array
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf._codecs import _pdfdoc_encoding
from pypdf._utils import WHITESPACES_AS_BYTES
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    StreamObject,
)
from pypdf.generic import _data_structures as _pypdf_structures
from pypdf.generic._utils import create_string_object

from formats.pdf_guard import PdfStructureError, page_tree
from formats.pdf_hex import read_hex_bytes

_LITTLE_ENDIAN = sys.byteorder == "little"
MAX_CONTENT = 4 << 20  # bytes of one page's content stream we read; beyond is not a text page
MIN_TEXT_CHARS = 10  # fewer non-blank characters on both pages: a scan without OCR
MAX_APPENDIX_PAGES = 8  # pages after the signature block we walk back over to find it
MAX_CMAP = 2 << 20  # bytes of a ToUnicode CMap we read


_pypdf_read_hex = _pypdf_structures.read_hex_string_from_stream


def _read_hex_string(stream: Any, forced_encoding: Any = None) -> Any:
    """pypdf's hex string reader in one pass instead of one byte at a time. Finding the
    signature page resolves each signature's dictionary, whose /Contents is a hex string of
    tens of kilobytes: pypdf's own reader spent 16 ms on each, two thirds of the rules' time
    on a document signed twice (issue 17). See formats.pdf_hex."""
    data = read_hex_bytes(stream, WHITESPACES_AS_BYTES)
    if data is None:
        return _pypdf_read_hex(stream, forced_encoding)
    if (
        forced_encoding is None
        and not data.startswith(_TEXT_MARKS)
        and data[1:2] != b"\x00"
        and _PDFDOC_UNDEFINED.search(data)
    ):
        # what create_string_object answers once its PDFDocEncoding decoding fails on the
        # whole string (a signature's /Contents, ~24 KB of DER): said without decoding it
        return ByteStringObject(data)
    return create_string_object(data, forced_encoding)


# create_string_object reads strings starting so (or with NUL second) as Unicode first
_TEXT_MARKS = (codecs.BOM_UTF8, codecs.BOM_UTF16_BE, codecs.BOM_UTF16_LE, b"\x00")
_PDFDOC_UNDEFINED = re.compile(
    b"["
    + b"".join(re.escape(bytes((i,))) for i, c in enumerate(_pdfdoc_encoding) if c == "\u0000")
    + b"]"
)


_pypdf_structures.read_hex_string_from_stream = _read_hex_string


@dataclass(frozen=True)
class PdfText:
    first_page: str = ""
    last_page: str = ""
    page_sizes: tuple[tuple[float, float], ...] = ()  # (width, height) in points, /Rotate applied
    has_text: bool = False
    error: str = ""  # why the PDF could not be read; empty when it could
    # The page with the signature block (1-based; 0 = last): the page of the leader's signature
    # widget, else the page with "Nơi nhận", else the last page before trailing "PHỤ LỤC" pages
    # (appendices after the signature are a legal layout). See _signature_page.
    signature_page: int = 0
    signature_text: str = ""
    # Text in the visible annotations of page 1 (FreeText, stamps, text fields), one per
    # annotation: where the clerk's signing tool stamps the number ("cấp số") after the leader
    # has signed, since changing the page itself would break the leader's signature.
    first_page_stamps: tuple[str, ...] = ()

    @property
    def page_count(self) -> int:
        return len(self.page_sizes)


def extract_pdf_text(data: bytes) -> PdfText:
    """Never raises: a PDF that cannot be read comes back with `error` set."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return PdfText(error="the PDF is encrypted with a password")
        root = _resolve(reader.trailer.get("/Root"))
        page_tree(root.raw_get("/Pages"))  # bounded, before pypdf walks the pages
        pages = reader.pages
        sizes = tuple(_size(page) for page in pages)
        if not sizes:
            return PdfText(error="the PDF has no pages")
        fonts: dict[Any, _Font] = {}
        first = _page_text(pages[0], fonts)
        last = first if len(sizes) == 1 else _page_text(pages[len(sizes) - 1], fonts)
        sign_index, sign_text = _signature_page(reader, pages, fonts, last)
        stamps = _annotation_texts(pages[0], fonts)
    except PdfStructureError as exc:
        return PdfText(error=f"{exc.code}: {exc}")
    except Exception as exc:  # noqa: BLE001 - a damaged PDF is a finding, not a crash
        return PdfText(error=f"the PDF cannot be read ({type(exc).__name__}: {exc})"[:300])
    chars = len("".join((first + last).split()))
    return PdfText(
        first,
        last,
        sizes,
        has_text=chars >= MIN_TEXT_CHARS,
        signature_page=sign_index,
        signature_text=sign_text,
        first_page_stamps=stamps,
    )


def _signature_page(reader: PdfReader, pages: Any, fonts: dict, last: str) -> tuple[int, str]:
    """(1-based index, text) of the page that carries the signature block.

    In order: the page of the leader's signature widget (the first visible signature signed);
    else, walking back from the last page, the page with "Nơi nhận" (the recipients list,
    which Decree 30 places at the level of the signature block); else the last page before
    trailing "PHỤ LỤC" pages; else the last page.
    """
    count = len(pages)
    index = _signature_widget_page(reader, pages)
    if index:
        return index, last if index == count else _page_text(pages[index - 1], fonts)
    if count == 1:
        return 1, last
    texts = {count: last}
    for i in range(count, max(0, count - MAX_APPENDIX_PAGES - 1), -1):
        text = texts[i] if i in texts else texts.setdefault(i, _page_text(pages[i - 1], fonts))
        if _RECIPIENTS.search(unicodedata.normalize("NFC", text)):
            return i, text
    sign_index, sign_text = count, last
    # Walk back over appendix pages (a few at most) to the page that carries the signature.
    while sign_index > 2 and count - sign_index < MAX_APPENDIX_PAGES and _is_appendix(sign_text):
        sign_index -= 1
        sign_text = texts.get(sign_index) or _page_text(pages[sign_index - 1], fonts)
    return sign_index, sign_text


_HIDDEN = 2 | 32  # annotation flags Hidden and NoView


def _signature_widget_page(reader: PdfReader, pages: Any) -> int:
    """1-based page of the first signed, visible signature widget (the leader signs first in
    Decree 30's order: leader, then the agency's seal); 0 when there is none."""
    root = _resolve(reader.trailer.get("/Root"))
    if not isinstance(root, DictionaryObject) or "/AcroForm" not in root:
        return 0
    found: list[tuple[int, int]] = []  # (end of the signed bytes, page index)
    for i, page in enumerate(pages, 1):
        for ref in _resolve(page.get("/Annots")) or []:
            widget = _resolve(ref)
            if not isinstance(widget, DictionaryObject) or widget.get("/Subtype") != "/Widget":
                continue
            field = widget if "/FT" in widget else _resolve(widget.get("/Parent")) or widget
            value = _resolve(field.get("/V"))
            if field.get("/FT") != "/Sig" or not isinstance(value, DictionaryObject):
                continue
            if value.get("/Type") == "/DocTimeStamp" or int(widget.get("/F", 0) or 0) & _HIDDEN:
                continue
            rect = [float(_resolve(v)) for v in _resolve(widget.get("/Rect")) or []]
            if len(rect) != 4 or abs(rect[2] - rect[0]) < 1 or abs(rect[3] - rect[1]) < 1:
                continue  # an invisible signature says nothing about the page
            byte_range = [int(_resolve(v)) for v in _resolve(value.get("/ByteRange")) or []]
            end = byte_range[2] + byte_range[3] if len(byte_range) == 4 else 1 << 62
            found.append((end, i))
    return min(found)[1] if found else 0


MAX_STAMPS = 20  # annotations of page 1 we read


def _annotation_texts(page: Any, fonts: dict) -> tuple[str, ...]:
    """The text of each visible annotation's normal appearance, signature widgets aside."""
    texts: list[str] = []
    for ref in list(_resolve(page.get("/Annots")) or [])[:MAX_STAMPS]:
        annot = _resolve(ref)
        if not isinstance(annot, DictionaryObject) or int(annot.get("/F", 0) or 0) & _HIDDEN:
            continue
        if annot.get("/Subtype") in ("/Link", "/Popup"):
            continue
        field = annot if "/FT" in annot else _resolve(annot.get("/Parent")) or annot
        if field.get("/FT") == "/Sig":
            continue
        appearance = _resolve((_resolve(annot.get("/AP")) or {}).get("/N"))
        if isinstance(appearance, DictionaryObject) and not isinstance(appearance, StreamObject):
            state = annot.get("/AS")  # a state dictionary (check boxes): the current state
            appearance = _resolve(appearance.get(state)) if state else None
        if not isinstance(appearance, StreamObject):
            continue
        out = _TextSink()
        inner = _resolve(appearance.get("/Resources")) or DictionaryObject()
        try:
            _run(appearance.get_data()[:MAX_CONTENT], inner, fonts, out, depth=1)
        except Exception:  # noqa: BLE001 - an odd annotation is skipped, not the whole PDF
            continue
        if text := out.text().strip():
            texts.append(text)
    return tuple(texts)


_RECIPIENTS = re.compile(r"n\s*[ơo]\s*i\s+nh\s*[ậa]\s*n\s*:", re.IGNORECASE)
_APPENDIX = re.compile(r"ph\s*[ụu]\s*l\s*[ụu]\s*c", re.IGNORECASE)


def _is_appendix(text: str) -> bool:
    """A page that starts with "PHỤ LỤC" (an appendix) within its first lines."""
    head = text.lstrip()[:200]
    return bool(_APPENDIX.search(unicodedata.normalize("NFC", head)))


def _size(page: Any) -> tuple[float, float]:
    box = page.cropbox  # what is shown and printed; pypdf falls back to the media box
    w, h = abs(float(box.width)), abs(float(box.height))
    rotate = int(page.get("/Rotate", 0) or 0) % 180
    return (h, w) if rotate == 90 else (w, h)


def _page_text(page: Any, fonts: dict[Any, _Font]) -> str:
    try:
        out = _TextSink()
        resources = _resolve(page.get("/Resources")) or DictionaryObject()
        _run(_content_bytes(page.get("/Contents")), resources, fonts, out, depth=0)
        return out.text()
    except Exception:  # noqa: BLE001 - unusual content: let pypdf's slower extractor try
        return page.extract_text() or ""


def _resolve(obj: Any) -> Any:
    while isinstance(obj, IndirectObject):
        obj = obj.get_object()
    return obj


def _content_bytes(contents: Any) -> bytes:
    contents = _resolve(contents)
    if contents is None:
        return b""
    if isinstance(contents, ArrayObject):
        parts, size = [], 0
        for part in contents:
            data = _resolve(part).get_data()
            parts.append(data)
            size += len(data)
            if size > MAX_CONTENT:
                break
        return b"\n".join(parts)[:MAX_CONTENT]
    return contents.get_data()[:MAX_CONTENT]


class _TextSink:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.last_y: float | None = None

    def move(self, y: float, positioned: bool) -> None:
        """A new baseline starts a line; an explicit move along the same line is a gap."""
        if self.last_y is not None and abs(y - self.last_y) > 1.0:
            self.parts.append("\n")
        elif positioned:
            self.parts.append(" ")
        self.last_y = y

    def text(self) -> str:
        return "".join(self.parts)


_TOKEN = re.compile(
    rb"""\((?:[^\\()]|\\.|\((?:[^\\()]|\\.)*\))*\)
    |<[0-9A-Fa-f\s]*>
    |<<|>>|\[|\]|\{|\}
    |/[^\s/\[\]()<>{}%]*
    |[-+]?(?:\d+\.?\d*|\.\d+)
    |[A-Za-z'"*][A-Za-z0-9'"*]*
    |%[^\r\n]*""",
    re.X | re.S,
)
_BI = re.compile(rb"(?<![A-Za-z0-9])BI(?![A-Za-z0-9])")
_ID = re.compile(rb"(?<![A-Za-z0-9])ID\s")
_EI = re.compile(rb"\sEI(?![A-Za-z0-9])")
_ESCAPE = re.compile(rb"\\([nrtbf()\\]|[0-7]{1,3}|\r\n|\r|\n)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f",
            b"(": b"(", b")": b")", b"\\": b"\\"}  # fmt: skip
_MARK = object()


def _strip_inline_images(content: bytes) -> bytes:
    """Cut out BI … ID <binary> EI: one forward pass, whatever the binary holds."""
    parts, pos = [], 0
    while bi := _BI.search(content, pos):
        start = _ID.search(content, bi.end())
        end = _EI.search(content, start.end()) if start else None
        parts.append(content[pos : bi.start()])
        if end is None:  # unterminated: nothing after it is text we could trust
            return b" ".join(parts)
        pos = end.end()
    parts.append(content[pos:])
    return b" ".join(parts)


def _unescape(m: re.Match[bytes]) -> bytes:
    s = m.group(1)
    if s in _ESCAPES:
        return _ESCAPES[s]
    if s[:1] in b"\r\n":
        return b""  # line continuation
    return bytes([int(s, 8) & 0xFF])


def _string(token: bytes) -> bytes:
    if token[:1] == b"(":
        body = token[1:-1]
        return _ESCAPE.sub(_unescape, body) if b"\\" in body else body
    digits = re.sub(rb"\s", b"", token[1:-1])
    return bytes.fromhex((digits + b"0" if len(digits) % 2 else digits).decode())


def _run(content: bytes, resources: Any, fonts: dict, out: _TextSink, depth: int) -> None:
    if b"BI" in content:
        content = _strip_inline_images(content)
    font_dict = _resolve(resources.get("/Font")) or {}
    xobjects = _resolve(resources.get("/XObject")) or {}
    font: _Font | None = None
    stack: list[Any] = []
    y = 0.0
    scale = 1.0
    leading = 0.0
    for m in _TOKEN.finditer(content):
        tok = m.group(0)
        c = tok[0]
        if c == 0x28 or (c == 0x3C and tok != b"<<"):  # ( or <
            stack.append(_string(tok))
        elif c == 0x2F:  # /
            stack.append(tok)
        elif tok == b"[" or tok == b"<<":
            stack.append(_MARK)
        elif tok == b"]" or tok == b">>":
            try:
                at = len(stack) - 1 - stack[::-1].index(_MARK)
            except ValueError:
                stack.clear()
                continue
            items = stack[at + 1 :]
            del stack[at:]
            stack.append(items)
        elif c == 0x25:  # % comment
            continue
        elif c in b"+-.0123456789":
            stack.append(float(tok))
        else:
            op = tok
            if op == b"Tj" or op == b"'" or op == b'"':
                if op != b"Tj":
                    y -= leading * scale
                    out.move(y, False)
                if stack and isinstance(stack[-1], bytes) and font is not None:
                    out.parts.append(font.decode(stack[-1]))
            elif op == b"TJ":
                if stack and isinstance(stack[-1], list) and font is not None:
                    for item in stack[-1]:
                        if isinstance(item, bytes):
                            out.parts.append(font.decode(item))
                        elif isinstance(item, float) and item < -180:
                            out.parts.append(" ")
            elif op == b"Td" or op == b"TD":
                if len(stack) >= 2 and isinstance(stack[-1], float):
                    ty = stack[-1]
                    if op == b"TD":
                        leading = -ty
                    y += ty * scale
                    out.move(y, True)
            elif op == b"Tm":
                if len(stack) >= 6 and isinstance(stack[-1], float):
                    scale = abs(stack[-3]) or 1.0
                    y = stack[-1]
                    out.move(y, True)
            elif op == b"T*":
                y -= leading * scale
                out.move(y, False)
            elif op == b"TL":
                if stack and isinstance(stack[-1], float):
                    leading = stack[-1]
            elif op == b"BT":  # the text and line matrices start again from identity
                y, scale = 0.0, 1.0
            elif op == b"Tf":
                if len(stack) >= 2 and isinstance(stack[-2], bytes):
                    font = _font(font_dict, stack[-2].decode("latin-1"), fonts)
            elif op == b"Do" and depth < 3 and stack and isinstance(stack[-1], bytes):
                _form(xobjects, stack[-1].decode("latin-1"), resources, fonts, out, depth)
            stack.clear()


def _form(xobjects: Any, name: str, resources: Any, fonts: dict, out: _TextSink, depth: int):
    ref = xobjects.get(name)
    xobj = _resolve(ref)
    if not isinstance(xobj, StreamObject) or xobj.get("/Subtype") != "/Form":
        return
    inner = _resolve(xobj.get("/Resources")) or resources
    _run(xobj.get_data()[:MAX_CONTENT], inner, fonts, out, depth + 1)


class _Font:
    def __init__(self, width: int, cmap: dict[int, str], fallback: Any) -> None:
        self.width = width
        self.cmap = cmap
        self.table: list[str] = []
        if width == 2 and cmap and max(cmap) < 0x10000:
            self.table = [""] * (max(cmap) + 1)
            for code, text in cmap.items():
                self.table[code] = text
        elif width == 1:  # one lookup per byte: the ToUnicode entry, else the font's encoding
            self.table = [
                cmap.get(b) or (fallback(bytes([b])) if fallback else "") for b in range(256)
            ]

    def decode(self, raw: bytes) -> str:
        if self.width == 1:
            return "".join(map(self.table.__getitem__, raw))
        codes = array("H", raw[: len(raw) & ~1])
        if _LITTLE_ENDIAN:
            codes.byteswap()
        try:
            return "".join(map(self.table.__getitem__, codes))
        except IndexError:  # a code beyond the ToUnicode map: look each one up
            cmap = self.cmap
            return "".join([cmap.get(c, "") for c in codes])


def _font(font_dict: Any, name: str, cache: dict[Any, _Font]) -> _Font | None:
    ref = font_dict.get(name)
    cache_key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else id(ref)
    if cache_key in cache:
        return cache[cache_key]
    font = _resolve(ref)
    built = _build_font(font) if isinstance(font, DictionaryObject) else None
    cache[cache_key] = built
    return built


def _build_font(font: DictionaryObject) -> _Font:
    composite = font.get("/Subtype") == "/Type0"
    cmap: dict[int, str] = {}
    width = 2 if composite else 1
    to_unicode = _resolve(font.get("/ToUnicode"))
    if isinstance(to_unicode, StreamObject):
        cmap, cmap_width = _parse_to_unicode(to_unicode.get_data())
        width = cmap_width or width
    fallback = None if composite else _simple_encoding(font)
    return _Font(width, cmap, fallback)


_CODESPACE = re.compile(rb"begincodespacerange\s*<([0-9A-Fa-f]+)>")
_PAIR = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>")
_RANGE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]*>|\[[^\]]*\])")


def _utf16(hex_digits: bytes) -> str:
    if len(hex_digits) == 4:  # the common case: one BMP character
        return chr(int(hex_digits, 16))
    if len(hex_digits) % 4:
        hex_digits = hex_digits.rjust(len(hex_digits) + 4 - len(hex_digits) % 4, b"0")
    return bytes.fromhex(hex_digits.decode()).decode("utf-16-be", "replace")


def _blocks(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """The bodies of bfchar and bfrange blocks, in one forward pass (no regex backtracking)."""
    chars: list[bytes] = []
    ranges: list[bytes] = []
    pos = 0
    while (begin := data.find(b"beginbf", pos)) >= 0:
        end = data.find(b"endbf", begin)
        if end < 0:
            break
        kind = data[begin + 7 : begin + 11]
        if kind == b"char":
            chars.append(data[begin + 11 : end])
        elif kind == b"rang":
            ranges.append(data[begin + 12 : end])
        pos = end + 5
    return chars, ranges


def _parse_to_unicode(data: bytes) -> tuple[dict[int, str], int]:
    cmap: dict[int, str] = {}
    m = _CODESPACE.search(data)
    width = len(m.group(1)) // 2 if m else 0
    chars, ranges = _blocks(data[:MAX_CMAP])
    for block in chars:
        for src, dst in _PAIR.findall(block):
            cmap[int(src, 16)] = _utf16(dst)
            width = width or len(src) // 2
    for block in ranges:
        for lo, hi, dst in _RANGE.findall(block):
            start, end = int(lo, 16), int(hi, 16)
            width = width or len(lo) // 2
            if end - start > 0xFFFF:
                continue
            if dst[:1] == b"[":
                for i, item in enumerate(re.findall(rb"<([0-9A-Fa-f]*)>", dst)):
                    cmap[start + i] = _utf16(item)
            else:
                base = _utf16(dst[1:-1])
                if not base:
                    continue
                head, last = base[:-1], ord(base[-1])
                for i in range(end - start + 1):
                    cmap[start + i] = head + chr(min(last + i, 0x10FFFF))
    return cmap, min(width, 2) if width else 0


def _simple_encoding(font: DictionaryObject) -> Any:
    """Byte → text for a simple font without (or beyond) ToUnicode.

    Legacy Vietnamese fonts (.VnTime for TCVN3, VNI-Times) live here: their bytes come out as
    cp1252 look-alikes ("Céng hoµ"), which the legacy-encoding rule recognises.
    """
    enc = _resolve(font.get("/Encoding"))
    codec = "mac_roman" if enc == "/MacRomanEncoding" else "cp1252"
    differences: dict[int, str] = {}
    if isinstance(enc, DictionaryObject):
        if enc.get("/BaseEncoding") == "/MacRomanEncoding":
            codec = "mac_roman"
        code = 0
        for item in _resolve(enc.get("/Differences")) or []:
            item = _resolve(item)
            if isinstance(item, int | float) and not isinstance(item, bool):
                code = int(item)
            else:
                differences[code] = _glyph(str(item))
                code += 1

    def decode(raw: bytes) -> str:
        if differences:
            return "".join(
                differences[b] if b in differences else bytes([b]).decode(codec, "replace")
                for b in raw
            )
        return raw.decode(codec, "replace")

    return decode


def _glyph(name: str) -> str:
    try:
        from pypdf._codecs.adobe_glyphs import adobe_glyphs  # the Adobe Glyph List

        if hit := adobe_glyphs.get(name):
            return hit
    except ImportError:  # pragma: no cover - pypdf moved it; uniXXXX names still work
        pass
    bare = name.lstrip("/")
    if bare.startswith("uni") and len(bare) >= 7:
        try:
            return chr(int(bare[3:7], 16))
        except ValueError:
            return ""
    return ""
