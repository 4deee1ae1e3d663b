"""Process-wide speed-ups for two hot spots in pyHanko's dependencies, with identical results.

1. PDF hex strings. A signature's /Contents is a hex string of kilobytes that pyHanko reads
   one byte at a time through Python generators; this reader finds the closing '>' with
   bytes.find and decodes in one call. Whenever the string holds anything but hex digits and
   whitespace (a comment, a stray byte) it rewinds and defers to pyHanko's own reader, so
   errors and edge cases stay pyHanko's.
2. Certificate name comparison. asn1crypto compares names after RFC 4518 string preparation,
   done character by character in Python with ``stringprep``; with Vietnamese names this was
   the largest single cost of validating a signature. The preparation is a pure function of
   the string, so it is memoised (bounded LRU); so is a Name's comparison key (``hashable``),
   keyed by the name's DER encoding. Name equality first compares DER (equal encodings are
   equal names), then the comparison keys, which asn1crypto builds from the same prepared
   values its RDN-by-RDN comparison uses.

3. Certificates embedded in signatures. Every parse of a PDF yields new certificate objects,
   and asn1crypto parses their names and extensions again, lazily, as validation asks. The
   same signers' and CAs' certificates recur in document after document, so the CMS
   certificate extraction hands out one shared object per distinct DER encoding (bounded):
   the same bytes, already parsed. asn1crypto parses lazily and not atomically: a Sequence
   sets ``children = []`` and then appends, so a second thread reading a certificate the
   first is still parsing saw a half-filled list ("No field numbered 1 is present in this
   PublicKeyInfo", issue 16). So a certificate is parsed completely (``warm``) under a lock
   before it is shared, and afterwards is only read.

4. Encoding new ASN.1 structures while signing. asn1crypto marks a structure it did not parse
   as "mutated" for good, so every access to its encoding re-encodes the whole subtree, and
   building a CMS signature re-encodes the same small values hundreds of times (most of the
   cost of a signature). Inside ``fast_encoding()`` (only around pyHanko's signing call, on
   that thread) a structure is marked clean once encoded; a later ``__setitem__`` marks it
   mutated again, as usual. Every signature made this way is checked by poppler's pdfsig and
   our validator in the tests.

5. PDF tokens. pyHanko's parser reads every name and keyword one byte at a time through a
   generator (``misc.read_until_delimiter``), decodes each name byte by byte
   (``generic._decode_name``) and skips whitespace one byte per call; with the modification
   analysis reading every object of a signed document, that was a fifth of a validation. These
   read a chunk and search it with a regular expression, leaving the stream where pyHanko's
   would; a name holding anything but plain characters (a ``#`` escape, a byte outside
   0x21-0x7E), and whitespace followed by a comment, go to pyHanko's own code. Strings are
   decoded from PDFDocEncoding with one ``str.translate`` instead of a generator per byte
   (pyHanko tries that decoding first on every string, the 24 KB /Contents included).

6. The ESS signing-certificate attribute (RFC 5035): every signature and every timestamp
   token names its signer's certificate by hash and issuer/serial, and pyHanko hashes the
   certificate and compares the issuer's name again each time. Whether an ESSCertID matches
   a certificate is a pure function of the two DER encodings, so the answer is kept per pair
   (bounded); the signatures of the same leaders, seals and TSA repeat the same pairs.

7. PDF objects. pyHanko's ``read_object`` walks the stream a byte or a token at a time, with a
   seek back after nearly every peek; the modification analysis reads every object of the
   signed revision (a third of a validation). ``read_object`` here parses dictionaries,
   arrays, names, numbers, references, booleans and null straight from the reader's bytes with
   regular expressions, building the same objects with pyHanko's own constructors (same
   types, same ``container_ref``, stream left at the same place); strings, hex strings, names
   with escapes and stream payloads are read by pyHanko's functions at that offset. Anything
   else (a comment, a repeated key, a malformed token, the end of the data, content streams,
   metadata streams, a stream other than ``io.BytesIO``) goes back to the start of the object
   and to pyHanko's ``read_object``, so errors and warnings stay pyHanko's.

8. Historical revisions. pyHanko's ``HistoricalResolver`` copies every object it hands out,
   re-pointing each reference to itself (``_subsume_object``), and builds a new container
   reference (a frozen dataclass) for every value, numbers and names included, only to throw
   it away: a primitive is handed out as it is. Here the copy of a plain dictionary, stream,
   array or reference is made with the same constructors, a primitive is handed out after the
   same check (it must have a container reference), and anything else (encrypted proxies,
   subclasses such as metadata streams) goes to pyHanko's own code.

9. Cross-reference look-ups. Which revision last changed an object, and where its current
   version is, are asked again for every object a historical revision reads; pyHanko
   answers by walking the revisions' sections, raising and catching KeyError in each one
   that lacks it. A reader's sections do not change once read, so each answer is kept on the
   reader's ``XRefCache`` (per object number and generation), misses included.

10. Certificates in a document security store (B-LT): pyHanko's ``dss`` module parses every
    certificate of the DSS anew, three times per validation context, and path building then
    parses their names and extensions again. They are the same CAs' certificates in document
    after document, so the module's ``Certificate.load`` hands out the shared, fully parsed
    certificate of that encoding, as the CMS extraction does (3.).

``install()`` is idempotent; ``uninstall()`` exists so a benchmark can measure plain pyHanko.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import threading

from asn1crypto import core as _core
from asn1crypto import x509 as _x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils import misc as _misc
from pyhanko.pdf_utils.reader import HistoricalResolver
from pyhanko.pdf_utils.xref import XRefCache
from pyhanko.sign import general as _general
from pyhanko.sign.validation import dss as _dss
from pyhanko.sign.validation import generic_cms as _generic_cms

from formats.pdf_hex import read_hex_bytes

_orig_hex = generic.read_hex_string_from_stream
_orig_prep = _x509.NameTypeAndValue._ldap_string_prep
_WHITESPACE = b" \n\r\t\f\x00"


def read_hex_string_from_stream(stream):
    data = read_hex_bytes(stream, _WHITESPACE)
    return _orig_hex(stream) if data is None else generic.pdf_string(data)


@functools.lru_cache(maxsize=8192)
def _prep(string: str) -> str:
    return _orig_prep(None, string)


def _ldap_string_prep(self, string):
    return _prep(string)


_orig_name_hashable = _x509.Name.hashable
_orig_name_eq = _x509.Name.__eq__
_orig_name_ne = _x509.Name.__ne__
_name_keys: dict[bytes, str] = {}
_NAME_KEYS_MAX = 16384


def _name_hashable(self) -> str:
    der = self.dump()
    key = _name_keys.get(der)
    if key is None:
        key = _orig_name_hashable.fget(self)
        if len(_name_keys) >= _NAME_KEYS_MAX:
            _name_keys.clear()  # crude bound; refilled from the next names seen
        _name_keys[der] = key
    return key


def _name_eq(self, other) -> bool:
    if not isinstance(other, _x509.Name):
        return False
    if self.dump() == other.dump():
        return True
    return _name_hashable(self) == _name_hashable(other)


def _name_ne(self, other) -> bool:
    return not _name_eq(self, other)


_orig_read_until_delimiter = _misc.read_until_delimiter
_orig_read_non_whitespace = _misc.read_non_whitespace
_orig_decode_name = generic._decode_name
_DELIMITER = re.compile(b"[" + re.escape(_misc.PDF_WHITESPACE + _misc.PDF_DELIMITERS) + b"]")
_NON_WHITESPACE = re.compile(b"[^" + re.escape(_misc.PDF_WHITESPACE) + b"]")
# bytes a name may hold as they are (no '#' escape, no byte that must be escaped)
_NAME_PLAIN = bytes(
    b
    for b in range(0x21, 0x7F)
    if b != 0x23 and b not in _misc.PDF_WHITESPACE and b not in _misc.PDF_DELIMITERS
)
_CHUNK = 64


def read_until_delimiter(stream) -> bytes:
    """pyHanko's read_until_delimiter: the bytes up to the next delimiter or whitespace, the
    stream left at that byte (at the end of the stream if there is none)."""
    start = stream.tell()
    got = b""
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return got
        m = _DELIMITER.search(chunk)
        if m is not None:
            i = m.start()
            stream.seek(start + len(got) + i)
            return got + chunk[:i]
        got += chunk


def read_non_whitespace(stream, seek_back=False, allow_eof=False):
    """pyHanko's read_non_whitespace; a comment, or the end of the stream, is left to it."""
    tok = stream.read(1)
    if tok and tok not in _misc.PDF_WHITESPACE and tok != b"%":
        if seek_back:
            stream.seek(-1, os.SEEK_CUR)
        return tok
    if tok:
        stream.seek(-1, os.SEEK_CUR)
    start = stream.tell()
    skipped = 0
    while True:
        chunk = stream.read(_CHUNK)
        m = _NON_WHITESPACE.search(chunk) if chunk else None
        if m is not None:
            i = m.start()
            tok = chunk[i : i + 1]
            if tok == b"%":
                break
            stream.seek(start + skipped + i + (0 if seek_back else 1))
            return tok
        if len(chunk) < _CHUNK:
            break
        skipped += len(chunk)
    stream.seek(start)
    return _orig_read_non_whitespace(stream, seek_back=seek_back, allow_eof=allow_eof)


_orig_decode_pdfdoc = generic.decode_pdfdocencoding
_PDFDOC = {i: c for i, c in enumerate(generic._pdfDocEncoding)}
# the bytes PDFDocEncoding leaves undefined (pyHanko's table maps them to U+0000)
_PDFDOC_UNDEFINED = re.compile(
    b"[" + b"".join(re.escape(bytes((i,))) for i, c in _PDFDOC.items() if c == "\u0000") + b"]"
)


def decode_pdfdocencoding(byte_array) -> str:
    """pyHanko's decode_pdfdocencoding: the same text, or the same error at the same byte."""
    bad = _PDFDOC_UNDEFINED.search(byte_array)
    if bad is not None:
        raise UnicodeDecodeError(
            "pdfdocencoding",
            bytes((byte_array[bad.start()],)),
            -1,
            -1,
            "does not exist in translation table",
        )
    return bytes(byte_array).decode("latin-1").translate(_PDFDOC)


def _decode_name(name_bytes: bytes):
    if not name_bytes.translate(None, _NAME_PLAIN):
        return generic.NameObject("/" + name_bytes.decode("ascii"))
    return _orig_decode_name(name_bytes)


_orig_check_ess = _generic_cms.check_ess_certid
_ess: dict[tuple[str, bytes, bytes], bool] = {}
_ESS_MAX = 4096


def check_ess_certid(cert, certid) -> bool:
    """pyHanko's check_ess_certid, remembered per (certificate, ESSCertID) encoding."""
    key = (type(certid).__name__, cert.dump(), certid.dump())
    hit = _ess.get(key)
    if hit is None:
        hit = bool(_orig_check_ess(cert, certid))
        if len(_ess) >= _ESS_MAX:
            _ess.clear()
        _ess[key] = hit
    return hit


_orig_extract = _generic_cms.extract_certificate_info
_certs: dict[bytes, _x509.Certificate] = {}
_CERTS_MAX = 4096
_certs_lock = threading.Lock()

# Certificate properties asn1crypto computes on first use and validation reads.
_CERT_PROPERTIES = (
    "critical_extensions",
    "sha1",
    "sha256",
    "issuer_serial",
    "key_identifier",
    "authority_key_identifier",
    "authority_issuer_serial",
    "self_issued",
    "self_signed",
    "ocsp_urls",
    "crl_distribution_points",
    "delta_crl_distribution_points",
    "valid_domains",
    "valid_ips",
    "max_path_length",
)


def warm(cert: _x509.Certificate) -> bool:
    """Parse everything of ``cert`` that asn1crypto would parse lazily, so that threads
    sharing it afterwards only read (see 3.). False if some part does not parse: such a
    certificate is not shared (validation reports the defect on its own copy)."""
    try:
        cert.native  # every field, down to extension values and the public key  # noqa: B018
        for name in _CERT_PROPERTIES:
            getattr(cert, name)
        for name in (cert.subject, cert.issuer):
            name.hashable  # noqa: B018
            name.sha256  # noqa: B018
        key = cert.public_key
        key.algorithm  # noqa: B018
        key.bit_size  # noqa: B018
        key.sha1  # noqa: B018
        key.sha256  # noqa: B018
    except (ValueError, TypeError, KeyError, AttributeError):
        return False
    return True


def fully_parsed(value):
    """`value` (an asn1crypto object: a certificate, an OCSP answer, a CRL) with every nested
    structure parsed, so that threads can share it: asn1crypto parses lazily, and a thread
    reading a structure while another is parsing it saw half-built children ("No field
    numbered 1 is present in this SignedDigestAlgorithm", seen with 16 documents validated at
    once in a fresh process). Certificates get `warm`, which also fills their caches."""
    if isinstance(value, _x509.Certificate):
        warm(value)
        return value
    with contextlib.suppress(Exception):  # a value asn1crypto cannot render is still usable
        _ = value.native
    return value


def _intern(cert: _x509.Certificate) -> _x509.Certificate:
    der = cert.dump()
    hit = _certs.get(der)
    if hit is not None:
        return hit
    with _certs_lock:
        hit = _certs.get(der)
        if hit is None:
            if not warm(cert):
                return cert
            if len(_certs) >= _CERTS_MAX:
                _certs.clear()
            _certs[der] = hit = cert
    return hit


def extract_certificate_info(signed_data) -> _general.SignedDataCerts:
    """pyHanko's extract_certificate_info, with certificates interned."""
    certs = []
    attr_certs = []
    for c in signed_data["certificates"]:
        cert = c.chosen.untag()
        if c.name == "certificate":
            certs.append(_intern(cert))
        elif c.name == "v2_attr_cert":
            attr_certs.append(cert)
    signer_info = _general.extract_signer_info(signed_data)
    signer_cert, other_certs = _general._partition_certs(certs, signer_info)
    return _general.SignedDataCerts(
        signer_cert=signer_cert, other_certs=other_certs, attribute_certs=attr_certs
    )


_orig_seq_set = _core.Sequence._set_contents
_orig_seqof_set = _core.SequenceOf._set_contents
_encoding = threading.local()


def _seq_set_contents(self, force=False):
    _orig_seq_set(self, force)
    if getattr(_encoding, "fast", False):
        self._mutated = False


def _seqof_set_contents(self, force=False):
    _orig_seqof_set(self, force)
    if getattr(_encoding, "fast", False):
        self._mutated = False


@contextlib.contextmanager
def fast_encoding():
    """Within this block, on this thread, encoded ASN.1 structures are kept (see 4.)."""
    before = getattr(_encoding, "fast", False)
    _encoding.fast = True
    try:
        yield
    finally:
        _encoding.fast = before


_orig_read_object = generic.read_object
_NO_CONTENT = generic.ContentOpReading.NO
_PDF_WS_RUN = re.compile(b"[" + re.escape(_misc.PDF_WHITESPACE) + b"]*")
_NAME_TOKEN = re.compile(b"/([^" + re.escape(_misc.PDF_WHITESPACE + _misc.PDF_DELIMITERS) + b"]*)")
_NUMBER_END = generic.NumberObject.NumberPattern
_INDIRECT_PEEK = generic.INDIRECT_PATTERN
# a reference whose whitespace pyHanko's reader also skips (`\s` holds \v, PDF whitespace not)
_REFERENCE = re.compile(rb"(\d+)[ \t\n\r\f]+(\d+)[ \t\n\r\f]+R")
_SLASH, _LT, _GT, _LBRACKET, _RBRACKET, _LPAREN, _MINUS = b"/<>[](-"
# numbers in an array (a font's widths, a rectangle), each ending at whitespace or the ']'
# that ends pyHanko's number token too
_NUMBER_TOKEN = re.compile(rb"-?[0-9]+(?:\.[0-9]*)?")
_NUMBER_RUN = re.compile(rb"(?:-?[0-9]+(?:\.[0-9]*)?(?=[ \t\n\r\f\x00\]])[ \t\n\r\f\x00]*)+")
_PERCENT, _T, _F, _N, _S = b"%tfns"
_DIGITS = frozenset(b"0123456789")
_NUMBER, _NAME, _DICTIONARY = generic.NumberObject, generic.NameObject, generic.DictionaryObject
_SIGNS = frozenset(generic.NUMBER_SIGNS)


class _Defer(Exception):
    """Not the common case: pyHanko's own reader reads the whole object."""


def read_object(stream, container_ref, as_metadata_stream=False, in_content_stream=_NO_CONTENT):
    """pyHanko's read_object: the same object, the stream left at the same place (see 7.)."""
    if in_content_stream is not _NO_CONTENT or as_metadata_stream or type(stream) is not io.BytesIO:
        return _orig_read_object(stream, container_ref, as_metadata_stream, in_content_stream)
    start = stream.tell()
    try:
        obj, end = _ObjectParser(stream, container_ref).value(start)
    except Exception:  # _Defer, or anything unusual: pyHanko's reader decides
        stream.seek(start)
        return _orig_read_object(stream, container_ref, as_metadata_stream, in_content_stream)
    stream.seek(end)
    return obj


class _ObjectParser:
    __slots__ = ("stream", "data", "container_ref", "_handler")

    def __init__(self, stream, container_ref) -> None:
        self.stream = stream
        self.data = stream.getvalue()  # the reader's bytes themselves, not a copy
        self.container_ref = container_ref
        self._handler = None

    def handler(self):
        if self._handler is None:
            self._handler = self.container_ref.get_pdf_handler()
        return self._handler

    def by_pyhanko(self, read, pos: int):
        stream = self.stream
        stream.seek(pos)
        obj = read(stream)
        return obj, stream.tell()

    def value(self, pos: int):
        data = self.data
        if pos >= len(data):
            raise _Defer
        c = data[pos]
        if c == _SLASH:
            obj, pos = self.name(pos)
        elif c == _LT:
            if data[pos + 1 : pos + 2] == b"<":
                obj, pos = self.dictionary(pos)
            else:
                obj, pos = self.by_pyhanko(generic.read_hex_string_from_stream, pos)
        elif c == _LBRACKET:
            obj, pos = self.array(pos)
        elif c in _DIGITS:
            ref = _INDIRECT_PEEK.match(data, pos, pos + 20)  # pyHanko peeks 20 bytes
            if ref is None:
                obj, pos = self.number(pos)
            else:
                m = _REFERENCE.match(data, pos)
                if m is None:
                    raise _Defer
                idnum, generation = int(m.group(1)), int(m.group(2))
                if not (idnum > 0 and generation >= 0):
                    raise _Defer
                obj = generic.IndirectObject(idnum, generation, self.handler())
                pos = m.end()
        elif c in _SIGNS:
            obj, pos = self.number(pos)
        elif c == _LPAREN:
            obj, pos = self.by_pyhanko(generic.read_string_from_stream, pos)
        elif c == _T and data.startswith(b"true", pos):
            obj, pos = generic.BooleanObject(True), pos + 4
        elif c == _F and data.startswith(b"false", pos):
            obj, pos = generic.BooleanObject(False), pos + 5
        elif c == _N and data.startswith(b"null", pos):
            obj, pos = generic.NullObject(), pos + 4
        else:
            raise _Defer
        obj.container_ref = self.container_ref
        return obj, pos

    def name(self, pos: int):
        m = _NAME_TOKEN.match(self.data, pos)
        return generic._decode_name(m.group(1)), m.end()

    def number(self, pos: int):
        m = _NUMBER_END.search(self.data, pos)
        end = len(self.data) if m is None else m.start()
        num = self.data[pos:end]
        if b"." in num:
            return generic.FloatObject(num.decode("ascii")), end
        # NumberObject(str) is int.__new__(NumberObject, int(str)); int() reads ASCII bytes alike
        return int.__new__(_NUMBER, int(num)), end

    def array(self, pos: int):
        data, value, whitespace = self.data, self.value, _PDF_WS_RUN.match
        size = len(data)
        arr = generic.ArrayObject()
        pos += 1
        while True:
            pos = whitespace(data, pos).end()
            if pos >= size:
                raise _Defer
            c = data[pos]
            if c == _RBRACKET:
                return arr, pos + 1
            if c == _PERCENT:
                raise _Defer
            if c in _DIGITS or c == _MINUS:
                run = _NUMBER_RUN.match(data, pos)
                # pyHanko reads a reference where `N G R` follows within 20 bytes of a number
                if run is not None and b"R" not in data[run.end() : run.end() + 20]:
                    container = self.container_ref
                    for token in _NUMBER_TOKEN.findall(data, pos, run.end()):
                        if b"." in token:
                            number = generic.FloatObject(token.decode("ascii"))
                        else:
                            number = int.__new__(_NUMBER, int(token))
                        number.container_ref = container
                        arr.append(number)
                    pos = run.end()
                    continue
            obj, pos = value(pos)
            arr.append(obj)

    def dictionary(self, pos: int):
        data, read_value, whitespace = self.data, self.value, _PDF_WS_RUN.match
        size = len(data)
        entries: dict = {}
        pos += 2
        while True:
            pos = whitespace(data, pos).end()
            if pos >= size:
                raise _Defer
            c = data[pos]
            if c == _GT:
                if data[pos + 1 : pos + 2] != b">":
                    raise _Defer
                pos += 2
                break
            if c != _SLASH:
                raise _Defer  # not a name (a comment among them)
            m = _NAME_TOKEN.match(data, pos)
            key = generic._decode_name(m.group(1))
            pos = whitespace(data, m.end()).end()
            if pos >= size or data[pos] == _PERCENT:
                raise _Defer
            value, pos = read_value(pos)
            if key in entries or type(key) is not _NAME:
                raise _Defer  # pyHanko warns, or refuses in strict mode
            entries[key] = value
        after = _PDF_WS_RUN.match(data, pos).end()
        if after < len(data) and data[after] not in (_S, _PERCENT):
            # no stream keyword follows: DictionaryObject(entries), whose constructor only
            # turns keys that are not names into names
            result = dict.__new__(_DICTIONARY)
            dict.update(result, entries)
            return result, pos
        stream = self.stream
        stream.seek(pos)
        payload = generic._maybe_read_stream_payload(stream, entries, self.handler())
        pos = stream.tell()
        if payload is None:
            return generic.DictionaryObject(entries), pos
        return generic.StreamObject(entries, encoded_data=payload), pos


_orig_subsume = HistoricalResolver._subsume_object
_REF = generic.Reference
_PRIMITIVES = frozenset(
    {
        generic.NameObject,
        generic.NumberObject,
        generic.FloatObject,
        generic.TextStringObject,
        generic.ByteStringObject,
        generic.BooleanObject,
        generic.NullObject,
    }
)


def _subsumed_items(self, obj) -> dict:
    """A dictionary's entries for its historical copy: primitives as they are, the rest copied."""
    return {
        k: v
        if type(v) in _PRIMITIVES and type(v.container_ref) is _REF
        else _subsume_object(self, v)
        for k, v in obj.items()
    }


def _subsume_object(self, obj):
    """pyHanko's HistoricalResolver._subsume_object: the same copy (see 8.). Primitives with
    a numbered container (most values) are handed out as they are, checked inline."""
    cls = type(obj)
    if cls in _PRIMITIVES:
        # pyHanko's raises when there is no container reference, or one with no number
        if type(obj.get_container_ref()) is not generic.Reference:
            return _orig_subsume(self, obj)
        return obj
    if cls is generic.IndirectObject:
        ref = obj.get_container_ref()
        if type(ref) is not generic.Reference:
            return _orig_subsume(self, obj)
        return generic.IndirectObject(idnum=obj.idnum, generation=obj.generation, pdf=self)
    if cls is generic.DictionaryObject:
        ref = obj.get_container_ref()
        if type(ref) is not generic.Reference:
            return _orig_subsume(self, obj)
        result = generic.DictionaryObject(_subsumed_items(self, obj))
    elif cls is generic.ArrayObject:
        ref = obj.get_container_ref()
        if type(ref) is not generic.Reference:
            return _orig_subsume(self, obj)
        result = generic.ArrayObject(
            [
                v
                if type(v) in _PRIMITIVES and type(v.container_ref) is _REF
                else _subsume_object(self, v)
                for v in obj
            ]
        )
    elif cls is generic.StreamObject:
        ref = obj.get_container_ref()
        if type(ref) is not generic.Reference:
            return _orig_subsume(self, obj)
        result = generic.StreamObject(
            _subsumed_items(self, obj),
            encoded_data=obj.encoded_data,
        )
    else:
        return _orig_subsume(self, obj)
    result.container_ref = generic.Reference(idnum=ref.idnum, generation=ref.generation, pdf=self)
    return result


_orig_get_last_change = XRefCache.get_last_change
_orig_xref_getitem = XRefCache.__getitem__
_MISSING = object()


def get_last_change(self, ref):
    """pyHanko's XRefCache.get_last_change, remembered per reader (see 9.)."""
    memo = self.__dict__.get("_axis_last_change")
    if memo is None:
        memo = self.__dict__.setdefault("_axis_last_change", {})
    key = (ref.idnum, ref.generation)
    hit = memo.get(key)
    if hit is None:
        try:
            hit = _orig_get_last_change(self, ref)
        except KeyError:
            hit = _MISSING
        memo[key] = hit
    if hit is _MISSING:
        raise KeyError(ref)
    return hit


def _xref_getitem(self, ref):
    """pyHanko's XRefCache.__getitem__ (where the current version is), remembered (see 9.)."""
    memo = self.__dict__.get("_axis_current")
    if memo is None:
        memo = self.__dict__.setdefault("_axis_current", {})
    key = (ref.idnum, ref.generation)
    try:
        return memo[key]
    except KeyError:
        hit = memo[key] = _orig_xref_getitem(self, ref)
        return hit


class _InterningCertificate:
    """Stands for asn1crypto's Certificate in pyHanko's ``dss`` module, which only calls
    ``Certificate.load`` (see 10.)."""

    @staticmethod
    def load(encoded_data, strict=False, **kwargs):
        return _intern(_x509.Certificate.load(encoded_data, strict=strict, **kwargs))


def install() -> None:
    generic.read_hex_string_from_stream = read_hex_string_from_stream
    generic.read_until_delimiter = _misc.read_until_delimiter = read_until_delimiter
    generic.read_non_whitespace = _misc.read_non_whitespace = read_non_whitespace
    generic._decode_name = _decode_name
    generic.decode_pdfdocencoding = decode_pdfdocencoding
    generic.read_object = read_object
    HistoricalResolver._subsume_object = _subsume_object
    XRefCache.get_last_change = get_last_change
    XRefCache.__getitem__ = _xref_getitem
    _dss.Certificate = _InterningCertificate
    _generic_cms.check_ess_certid = check_ess_certid
    _x509.NameTypeAndValue._ldap_string_prep = _ldap_string_prep
    _x509.Name.hashable = property(_name_hashable)
    _x509.Name.__eq__ = _name_eq
    _x509.Name.__ne__ = _name_ne
    _generic_cms.extract_certificate_info = extract_certificate_info
    _core.Sequence._set_contents = _seq_set_contents
    _core.SequenceOf._set_contents = _seqof_set_contents


def uninstall() -> None:
    generic.read_hex_string_from_stream = _orig_hex
    generic.read_until_delimiter = _misc.read_until_delimiter = _orig_read_until_delimiter
    generic.read_non_whitespace = _misc.read_non_whitespace = _orig_read_non_whitespace
    generic._decode_name = _orig_decode_name
    generic.decode_pdfdocencoding = _orig_decode_pdfdoc
    generic.read_object = _orig_read_object
    HistoricalResolver._subsume_object = _orig_subsume
    XRefCache.get_last_change = _orig_get_last_change
    XRefCache.__getitem__ = _orig_xref_getitem
    _dss.Certificate = _x509.Certificate
    _generic_cms.check_ess_certid = _orig_check_ess
    _x509.NameTypeAndValue._ldap_string_prep = _orig_prep
    _x509.Name.hashable = _orig_name_hashable
    _x509.Name.__eq__ = _orig_name_eq
    _x509.Name.__ne__ = _orig_name_ne
    _generic_cms.extract_certificate_info = _orig_extract
    _core.Sequence._set_contents = _orig_seq_set
    _core.SequenceOf._set_contents = _orig_seqof_set
