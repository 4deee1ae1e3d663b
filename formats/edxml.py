"""edXML document packages and status packages (QCVN 102:2016): parse leniently, build canonically.

Reading accepts what real senders write: the QCVN namespace as the `edXML` prefix, as the
default namespace or missing altogether; elements in any order; `Bussiness` (sic) or
`Business`; a `Signature` in the XML-DSig namespace or none; a status in the national SDK's
shape (an `edXML` MessageHeader with StatusCode), bare (`<Status>`) or inside a SOAP envelope
(Header or Body, any SOAP version); dates `yyyy/MM/dd` or `yyyy-MM-dd` (and the day-first
`dd/MM/yyyy`, with an EDXML_DATE_FORMAT warning); base64 with line breaks; attachments zipped
before encoding, in `AttachmentEncoded` or the non-standard `edXMLAttachments`. Only what
routing, identity and the record need is an error; the rest is a warning
(docs/edxml-leniency.md). Every problem becomes a `Finding` with a stable code; `parse` never
raises.

Writing is canonical and what the national SDK's reference library reads: prefix `edXML`
bound to the QCVN namespace, the element order of DOMAIN.md (a status: From, ResponseFor,
StaffInfo, StatusCode, Description, Timestamp in the MessageHeader), dates `yyyy/MM/dd`,
UTF-8 with an XML declaration, and each attachment's base64 on
ONE line (no wrapping): it is the smallest form, decodes without a whitespace pass, and every
reader we know of accepts it. `build_*` never writes an XML signature (`has_xml_signature` is
a fact about a received package, not something the hub can produce).

Hardening: no DTD (any DOCTYPE is refused with EDXML_DTD_FORBIDDEN), no entity expansion, no
network, a size limit checked before parsing, and zip attachments capped in uncompressed size.
"""

from __future__ import annotations

import binascii
import hashlib
import io
import mimetypes
import re
import secrets
import threading
import unicodedata
import zipfile
import zlib
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from lxml import etree

from formats.findings import Finding
from formats.model import (
    STATUS_CODES,
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    Reference,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusPackage,
    TraceHeader,
    ZipEntry,
)

try:  # SIMD base64, ~30x faster than binascii on a 100 KB attachment; optional
    import pybase64

    BASE64_BACKEND = "pybase64"

    def _b64_strict_decode(raw: bytes | str) -> bytes:
        return pybase64.b64decode(raw, validate=True)

    def _b64_encode(data: bytes) -> bytes:
        return pybase64.b64encode(data)

except ImportError:  # pragma: no cover - exercised where pybase64 is not installed
    BASE64_BACKEND = "binascii"

    def _b64_strict_decode(raw: bytes | str) -> bytes:
        return binascii.a2b_base64(raw, strict_mode=True)

    def _b64_encode(data: bytes) -> bytes:
        return binascii.b2a_base64(data, newline=False)


__all__ = [
    "DEFAULT_MAX_BYTES",
    "EDXML_NS",
    "ParseResult",
    "build_document",
    "build_status",
    "parse",
]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
MAX_ELEMENTS = 200_000  # a package to 30,000 recipients still fits
_MARKUP_CHECK_FROM = 1_000_000  # fewer bytes cannot hold 2 * MAX_ELEMENTS "<"
EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"

# Finding codes (stable: clients and tests match on them).
TOO_LARGE = "EDXML_TOO_LARGE"
DTD_FORBIDDEN = "EDXML_DTD_FORBIDDEN"
NOT_WELL_FORMED = "EDXML_NOT_WELL_FORMED"
NOT_EDXML = "EDXML_NOT_EDXML"
MISSING_ELEMENT = "EDXML_MISSING_ELEMENT"
BAD_DATE = "EDXML_BAD_DATE"
BAD_VALUE = "EDXML_BAD_VALUE"
BAD_BASE64 = "EDXML_BAD_BASE64"
BAD_ZIP = "EDXML_BAD_ZIP"
ATTACHMENT_MISMATCH = "EDXML_ATTACHMENT_MISMATCH"
DUPLICATE_CONTENT_ID = "EDXML_DUPLICATE_CONTENT_ID"
BAD_STATUS_CODE = "EDXML_BAD_STATUS_CODE"
NO_RECIPIENT = "EDXML_NO_RECIPIENT"
DATE_FORMAT = "EDXML_DATE_FORMAT"  # a warning: a day-first date was read, not rejected
JUNK_BEFORE_XML = "EDXML_JUNK_BEFORE_XML"
ENCODING_MISMATCH = "EDXML_ENCODING_MISMATCH"
ATTACHMENT_SIZE = "EDXML_ATTACHMENT_SIZE"
# Warnings: something odd or missing that neither routing, identity nor the record needs.
TRACE_INCOMPLETE = "EDXML_TRACE_INCOMPLETE"
UNDECLARED_PREFIX = "EDXML_UNDECLARED_PREFIX"
NONSTANDARD_ATTACHMENTS = "EDXML_NONSTANDARD_ATTACHMENTS"
NOT_IN_MANIFEST = "EDXML_NOT_IN_MANIFEST"
NO_CONTENT_ID = "EDXML_NO_CONTENT_ID"
INCOMPLETE = "EDXML_INCOMPLETE"  # an element the record would like, missing (rules may judge it)

_VN_TZ = timezone(timedelta(hours=7))
_ZIP_MAGIC = b"PK\x03\x04"
_ZIP_TYPES = frozenset(
    {"application/zip", "application/x-zip", "application/x-zip-compressed", "multipart/x-zip"}
)
_B64_WHITESPACE = b" \t\r\n\x0b\x0c"
_NEUTRAL_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass
class ParseResult:
    package: DocumentPackage | StatusPackage | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error-severity finding: the package may go on to the rules and signatures."""
        return self.package is not None and not any(f.severity == "error" for f in self.findings)

    @property
    def fatal(self) -> bool:
        """Nothing could be read at all (not XML, not edXML, too large, DTD)."""
        return self.package is None


# --- the parser ------------------------------------------------------------------------------

# lxml parsers must not be shared between threads; the hub parses in a thread pool.
_local = threading.local()


def _parser(huge: bool, recover: bool = False) -> etree.XMLParser:
    name = ("huge" if huge else "normal") + ("_recover" if recover else "")
    parser = getattr(_local, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=huge,
            remove_blank_text=False,
            collect_ids=False,
            recover=recover,
        )
        setattr(_local, name, parser)
    return parser


def parse(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParseResult:
    """Read an edXML document package or status package. Never raises."""
    try:
        lifted = _Lifted.of(data, max_bytes)
        if lifted is not None:
            token = _LIFTED.set(lifted)
            try:
                result = _parse(lifted.body, max_bytes)
            finally:
                _LIFTED.reset(token)
            # Anything unusual (a payload-like text in a comment, a refusal whose message
            # should quote the package as sent): read the package as sent instead.
            if result.package is not None and lifted.all_taken():
                return result
        return _parse(data, max_bytes)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raise"; say what happened
        return ParseResult(
            None,
            # A bug of ours, not the sender's: the message says so (tests look for it).
            [Finding.error(NOT_WELL_FORMED, "/", f"internal error reading the package: {exc!r}")],
        )


_LIFT_FROM = 4 << 20  # bodies at least this large have their big attachments lifted
_LIFT_AT_LEAST = 1 << 20  # base64 texts at least this long are lifted
_PAYLOAD = re.compile(
    rb"<((?:[A-Za-z_][A-Za-z0-9_.-]*:)?(?:ContentTransferEncoded|AttachmentData))>"
    rb"([A-Za-z0-9+/=\r\n\t ]{%d,})</\1>" % _LIFT_AT_LEAST
)
_LIFTED: ContextVar[_Lifted | None] = ContextVar("axis_edxml_lifted", default=None)


class _Lifted:
    """The base64 of a large package's attachments, lifted out before libxml2 parses it.

    Parsed whole, a 45 MB PDF's base64 was held three times at once: in the body as sent, in
    libxml2's tree, and as the str lxml hands out, beside the decoded file (issue 17, memory).
    Lifted, the tree holds a short placeholder instead and the attachment is decoded straight
    from the body (a memoryview, no copy). Only plain base64 between the element's own tags is
    lifted; the package is read as sent where anything else happened (see `parse`)."""

    def __init__(self, data: bytes, spans: list[tuple[int, int]]) -> None:
        self.tag = f"axis-lifted-{secrets.token_hex(8)}-"  # '-' is not base64: never decodes
        self.data = memoryview(data)
        self.spans = spans
        self.taken: set[int] = set()
        pieces, at = [], 0
        for n, (start, end) in enumerate(spans):
            pieces += [data[at:start], f"{self.tag}{n}".encode()]
            at = end
        pieces.append(data[at:])
        self.body = b"".join(pieces)

    @classmethod
    def of(cls, data: bytes, max_bytes: int) -> _Lifted | None:
        if not isinstance(data, bytes) or not _LIFT_FROM <= len(data) <= max_bytes:
            return None
        spans = []
        for m in _PAYLOAD.finditer(data):
            start, end = m.span(2)
            while start < end and data[start] in _B64_WHITESPACE:
                start += 1
            while end > start and data[end - 1] in _B64_WHITESPACE:
                end -= 1
            spans.append((start, end))
        return cls(data, spans) if spans else None

    def take(self, text: str) -> memoryview | None:
        """The lifted base64 a placeholder stands for (each is read once)."""
        if not text.startswith(self.tag):
            return None
        n = int(text[len(self.tag) :])
        if n in self.taken:
            return None
        self.taken.add(n)
        start, end = self.spans[n]
        return self.data[start:end]

    def all_taken(self) -> bool:
        return len(self.taken) == len(self.spans)


def _parse(data: bytes, max_bytes: int) -> ParseResult:
    if isinstance(data, str):
        data = data.encode("utf-8")
    elif not isinstance(data, bytes):
        data = bytes(data)
    if len(data) > max_bytes:
        return _fatal(
            TOO_LARGE, f"the package is {len(data)} bytes; the limit is {max_bytes} bytes"
        )
    # Millions of tiny elements (`<To/>` x 5M fits in 25 MB) would cost gigabytes of tree and
    # dataclasses: count the markup first. Only big bodies can hold that many, so the common
    # ~100 KB package pays nothing.
    if len(data) > _MARKUP_CHECK_FROM and data.count(b"<") > 2 * MAX_ELEMENTS:
        return _fatal(
            TOO_LARGE, f"the package holds more than {MAX_ELEMENTS} elements; that is not a letter"
        )
    # A DOCTYPE sits in the prolog: refusing it before parsing costs nothing and keeps entity
    # bombs and external entities away from libxml2 entirely. A DOCTYPE further in (or in a
    # non-ASCII-compatible encoding) is caught after parsing through docinfo.
    if b"<!DOCTYPE" in data[:4096]:
        return _fatal(DTD_FORBIDDEN, "a DOCTYPE (DTD) is not allowed in an edXML package")
    if not data or data.isspace():  # isspace stops at the first non-blank byte
        return _fatal(NOT_WELL_FORMED, "the body is empty")
    if (junk := _junk_before_declaration(data)) is not None:
        return _fatal(
            JUNK_BEFORE_XML,
            f"{junk} byte(s) come before the XML declaration <?xml ...?>; the declaration must "
            "be the first thing in the file (remove what precedes it and send again)",
        )
    if (declared := _utf8_declared_otherwise(data)) is not None:
        return _fatal(
            ENCODING_MISMATCH,
            f"the XML declaration says encoding={declared!r} but the bytes are UTF-8: read as "
            f"{declared}, every Vietnamese letter would change (DocumentId, Subject...); declare "
            'encoding="UTF-8" and send again',
        )
    findings: list[Finding] = []
    try:
        root = _fromstring(data, findings)
    except etree.XMLSyntaxError as exc:
        return _fatal(NOT_WELL_FORMED, f"the package is not well-formed XML: {exc}")
    if root is None:
        return _fatal(NOT_WELL_FORMED, "the body holds no XML element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return _fatal(DTD_FORBIDDEN, "a DOCTYPE (DTD) is not allowed in an edXML package")

    ns, local = _split(root.tag)
    if local == "Envelope":
        return _parse_soap(root, max_bytes, findings)
    if ns not in (EDXML_NS, ""):
        return _fatal(
            NOT_EDXML,
            f"the root element is in namespace {ns!r}; expected {EDXML_NS!r}",
            "/" + local,
        )
    if local == "edXML":
        return ParseResult(_read_edxml(root, "/edXML", findings, max_bytes), findings)
    if local == "Status":
        return ParseResult(_read_status(root, "/Status", findings, "status"), findings)
    return _fatal(NOT_EDXML, f"the root element is <{local}>; expected <edXML> or <Status>")


_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# Encodings of one byte per character: Vietnamese needs letters none of them has but cp1258,
# and UTF-8's multi-byte sequences are improbable in text truly written in them.
_SINGLE_BYTE = re.compile(r"(iso-?8859-\d+|latin-?\d|l\d|(windows|cp)-?125\d|us-ascii|ascii)")


def _utf8_declared_otherwise(data: bytes) -> str | None:
    """The encoding a package declares when it is a single-byte one but the bytes are UTF-8
    text beyond ASCII (a mislabelled UTF-8 file, read as mojibake otherwise); else None."""
    match = _DECLARED_ENCODING.match(data, 3 if data.startswith(b"\xef\xbb\xbf") else 0)
    if match is None:
        return None
    declared = match.group(1).decode("ascii")
    if not _SINGLE_BYTE.fullmatch(declared.lower()) or data.isascii():
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None  # truly in the declared encoding
    return declared


def _junk_before_declaration(data: bytes) -> int | None:
    """How many bytes precede `<?xml` when something does (the SDK's own `edoc_new.edxml`
    starts with `1212`); None when the file starts as XML may (BOM, `<`)."""
    head = data[:1024]
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    if head[start : start + 1] == b"<":
        return None
    at = head.find(b"<?xml")
    return at - start if at > start else None


def _fromstring(data: bytes, findings: list[Finding]) -> etree._Element | None:
    """Parse; recover one malformation only: a namespace prefix used without its declaration,
    inside an XML-DSig `Signature` (real signing tools write `ds:` and forget `xmlns:ds`; the
    signature is not what the hub reads), or anywhere when the prefix is `edXML` or `xlink`
    (elements are read by local name, and those prefixes mean one thing only). Any other
    error, or another undeclared prefix, is refused as not well-formed."""
    huge = False
    try:
        return etree.fromstring(data, _parser(False))
    except etree.XMLSyntaxError as exc:
        error = exc
    text = str(error)
    # libxml2 refuses text nodes over 10 MB without XML_PARSE_HUGE, and a large PDF's base64 is
    # one such node. Retry once with huge_tree: entities stay unresolved, DTDs are refused
    # after parsing and the input is already size-capped, so what huge_tree unlocks (long
    # text, deep trees) is bounded by max_bytes.
    if "XML_PARSE_HUGE" in text or "huge" in text.lower():
        huge = True
        try:
            return etree.fromstring(data, _parser(True))
        except etree.XMLSyntaxError as exc:
            error, text = exc, str(exc)
    if "Namespace prefix" not in text or "is not defined" not in text:
        raise error
    parser = _parser(huge, recover=True)
    root = etree.fromstring(data, parser)
    errors = list(parser.error_log)
    if (
        root is None
        or not errors
        or any(e.type_name != "NS_ERR_UNDEFINED_NAMESPACE" for e in errors)
    ):
        raise error
    outside = _undeclared_outside_signature(root)
    if outside:
        raise etree.XMLSyntaxError(
            f"the namespace prefix of <{outside}> is not declared", None, 0, 0
        )
    prefixes = sorted({e.message.split()[2] for e in errors if len(e.message.split()) > 2})
    findings.append(
        Finding.warning(
            UNDECLARED_PREFIX,
            "/",
            f"namespace prefix(es) {', '.join(prefixes)} used without a declaration (in the "
            "XML signature, or edXML/xlink): read by local name; declare them",
        )
    )
    return root


# Prefixes whose namespace no reader can doubt: the standard's own and XLink's.
_WELL_KNOWN_PREFIXES = frozenset({"edXML", "xlink"})


def _undeclared_outside_signature(root: etree._Element) -> str | None:
    """The first element or attribute name left with an unresolved `prefix:` by the recovering
    parser that is not inside a Signature element; None when all are inside one."""
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        unresolved = (tag[0] != "{" and ":" in tag) or any(
            name[0] != "{" and ":" in name for name in el.attrib
        )
        if not unresolved:
            continue
        prefixes = {n.partition(":")[0] for n in (tag, *el.attrib) if n[0] != "{" and ":" in n}
        if prefixes <= _WELL_KNOWN_PREFIXES:
            continue
        node = el
        while node is not None and _local(node).rpartition(":")[2] != "Signature":
            node = node.getparent()
        if node is None:
            return tag
    return None


def _parse_soap(envelope: etree._Element, max_bytes: int, findings: list[Finding]) -> ParseResult:
    # Status packages travel in a SOAP envelope in the wild, in the Header or in the Body
    # depending on the sender; any SOAP version is accepted.
    for part in envelope:
        part_name = _local(part)
        if part_name not in ("Header", "Body"):
            continue
        for child in part:
            name = _local(child)
            ns = _ns(child)
            if ns not in (EDXML_NS, ""):
                continue
            path = f"/Envelope/{part_name}/{name}"
            if name == "Status":
                return ParseResult(_read_status(child, path, findings, "soap"), findings)
            if name == "edXML":
                return ParseResult(_read_edxml(child, path, findings, max_bytes), findings)
    return _fatal(NOT_EDXML, "the SOAP envelope holds no edXML <Status> or <edXML> element")


def _fatal(code: str, message: str, path: str = "/") -> ParseResult:
    return ParseResult(None, [Finding.error(code, path, message)])


# --- element helpers -------------------------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag[tag.index("}") + 1 :] if tag[0] == "{" else tag


def _ns(el: etree._Element) -> str:
    tag = el.tag
    return tag[1 : tag.index("}")] if isinstance(tag, str) and tag[0] == "{" else ""


Children = dict[str, list[etree._Element]]


# "{ns}Local" -> "Local" for every tag seen so far: lxml hands out a new string on each
# `.tag`, and a dict hit is cheaper than slicing it again. Bounded, since tags are untrusted.
_LOCAL_NAMES: dict[str, str] = {}
_LOCAL_NAMES_MAX = 4096


def _children(el: etree._Element | None) -> Children:
    """Element children by local name, in document order; comments and PIs skipped.

    One pass over the children, no XPath: the namespace (edXML prefix, default, none) is
    ignored on purpose, and "Bussiness" (sic, the standard's spelling) is read as "Business".
    """
    out: Children = {}
    if el is None:
        return out
    for child in el:
        tag = child.tag
        local = _LOCAL_NAMES.get(tag)
        if local is None:
            if not isinstance(tag, str):
                continue  # comment, processing instruction
            # rpartition(":"): a prefix left unresolved by the recovering parser (ds:Signature)
            local = tag.rpartition("}")[2].rpartition(":")[2].replace("Bussiness", "Business")
            if len(_LOCAL_NAMES) < _LOCAL_NAMES_MAX:
                _LOCAL_NAMES[tag] = local
        bucket = out.get(local)
        if bucket is None:
            out[local] = [child]
        else:
            bucket.append(child)
    return out


def _clean(text: str | None) -> str:
    if not text:
        return ""
    if not text.isascii():
        # Vietnamese arrives in NFC or NFD depending on the sender's keyboard and OS.
        text = unicodedata.normalize("NFC", text)
    return text.strip()


def _first(kids: Children, name: str) -> etree._Element | None:
    found = kids.get(name)
    return found[0] if found else None


def _text(kids: Children, name: str) -> str:
    found = kids.get(name)
    return _clean(found[0].text) if found else ""


class _Reader:
    """Shared by the document and status readers: typed values with findings."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings

    def error(self, code: str, path: str, message: str) -> None:
        self.findings.append(Finding.error(code, path, message))

    def required(self, kids: Children, name: str, path: str) -> str:
        value = _text(kids, name)
        if not value:
            self.error(MISSING_ELEMENT, f"{path}/{name}", f"<{name}> is required and is missing")
        return value

    def date(self, kids: Children, name: str, path: str, required: bool = False) -> date | None:
        text = _text(kids, name)
        if not text:
            if required:
                self.error(MISSING_ELEMENT, f"{path}/{name}", f"<{name}> is required (yyyy/MM/dd)")
            return None
        value = _parse_date(text)
        if value is None and (swapped := _year_first(text)):
            value = _parse_date(swapped)
            if value is not None:
                self.day_first(path, name, text)
        if value is None:
            self.error(BAD_DATE, f"{path}/{name}", f"{text!r} is not a date yyyy/MM/dd")
        return value

    def day_first(self, path: str, name: str, text: str) -> None:
        self.findings.append(
            Finding.warning(
                DATE_FORMAT,
                f"{path}/{name}",
                f"{text!r} is written day first; QCVN 102:2016 writes yyyy/MM/dd",
            )
        )

    def timestamp(self, kids: Children, name: str, path: str) -> datetime | None:
        text = _text(kids, name)
        if not text:
            return None
        value = _parse_timestamp(text)
        if value is None and (swapped := _year_first(text)):
            value = _parse_timestamp(swapped)
            if value is not None:
                self.day_first(path, name, text)
        if value is None:
            self.error(
                BAD_DATE, f"{path}/{name}", f"{text!r} is not a timestamp yyyy/MM/dd HH:mm:ss"
            )
        return value

    def integer(self, kids: Children, name: str, path: str) -> int | None:
        text = _text(kids, name)
        if not text:
            return None
        if text.isascii() and text.isdigit():  # not int(): it takes "1_000", "+1", "١"
            return int(text)
        self.error(BAD_VALUE, f"{path}/{name}", f"<{name}> must be a whole number, not {text!r}")
        return None

    def boolean(self, kids: Children, name: str, path: str) -> bool | None:
        text = _text(kids, name).lower()
        if not text:
            return None
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        self.error(BAD_VALUE, f"{path}/{name}", f"<{name}> must be true or false, not {text!r}")
        return None

    def warning(self, code: str, path: str, message: str) -> None:
        self.findings.append(Finding.warning(code, path, message))

    def incomplete(self, path: str, name: str, what: str) -> None:
        self.warning(
            INCOMPLETE,
            path,
            f"<{name}> ({what}) is missing: neither routing nor the record needs it, "
            "the hub's format rules may",
        )

    def trace_list(self, el: etree._Element | None, path: str) -> list[TraceHeader]:
        """Trace entries are transport metadata (one per hop): an entry without OrganId or
        with no readable Timestamp is kept as far as it goes, with a warning."""
        out = []
        for i, trace in enumerate(_children(el).get("TraceHeader", ()), 1):
            k = _children(trace)
            here = f"{path}/TraceHeader[{i}]"
            organ_id = _text(k, "OrganId")
            if not organ_id:
                self.warning(TRACE_INCOMPLETE, f"{here}/OrganId", "a trace entry has no OrganId")
            text = _text(k, "Timestamp")
            stamp = _parse_timestamp(text) if text else None
            if stamp is None and text and (swapped := _year_first(text)):
                stamp = _parse_timestamp(swapped)
                if stamp is not None:
                    self.day_first(here, "Timestamp", text)
            if stamp is None:
                self.warning(
                    TRACE_INCOMPLETE,
                    f"{here}/Timestamp",
                    f"a trace entry has no readable Timestamp ({text!r})"
                    if text
                    else "a trace entry has no Timestamp",
                )
            out.append(TraceHeader(organ_id=organ_id, timestamp=stamp))
        return out

    def organization(self, el: etree._Element, path: str) -> Organization:
        k = _children(el)
        return Organization(
            organ_id=self.required(k, "OrganId", path),
            organ_name=_text(k, "OrganName"),
            organization_in_charge=_text(k, "OrganizationInCharge"),
            organ_add=_text(k, "OrganAdd"),
            email=_text(k, "Email"),
            telephone=_text(k, "Telephone"),
            fax=_text(k, "Fax"),
            website=_text(k, "Website"),
        )

    def response_for(self, el: etree._Element, path: str, strict: bool) -> ResponseFor:
        k = _children(el)
        return ResponseFor(
            organ_id=_text(k, "OrganId"),
            code=_text(k, "Code"),
            promulgation_date=self.date(k, "PromulgationDate", path),
            document_id=self.required(k, "DocumentId", path) if strict else _text(k, "DocumentId"),
        )

    def staff(self, el: etree._Element | None) -> StaffInfo | None:
        if el is None:
            return None
        k = _children(el)
        return StaffInfo(
            department=_text(k, "Department"),
            staff=_text(k, "Staff"),
            email=_text(k, "Email"),
            mobile=_text(k, "Mobile"),
        )


def _parse_date(text: str) -> date | None:
    # yyyy/MM/dd is the standard; yyyy-MM-dd is common and unambiguous; a trailing time
    # (some senders write a timestamp into a date field) is ignored.
    if len(text) > 10 and text[10] in " T":
        text = text[:10]
    if len(text) != 10 or text[4] not in "/-" or text[7] != text[4]:
        return None
    year, month, day = text[0:4], text[5:7], text[8:10]
    # int() alone would take " 5", "+5", "٥" or "1_0": only ASCII digits are a date.
    if not (year + month + day).isascii() or not (year + month + day).isdigit():
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _year_first(text: str) -> str | None:
    """Turn the Vietnamese day-first form `05/03/2024...` into `2024/03/05...`.

    Some systems write it into edXML; with a four-digit year at the end it is unambiguous.
    """
    if len(text) < 10 or text[2] not in "/-" or text[5] != text[2]:
        return None
    return f"{text[6:10]}/{text[3:5]}/{text[0:2]}{text[10:]}"


def _parse_timestamp(text: str) -> datetime | None:
    day = _parse_date(text[:10])
    if day is None:
        return None
    rest = text[10:]
    if not rest:
        return datetime(day.year, day.month, day.day)
    if rest[0] not in " T":
        return None
    try:
        moment = datetime.fromisoformat(f"{day.isoformat()}T{rest[1:].strip()}")
    except ValueError:
        return None
    if moment.tzinfo is not None:
        # The model keeps naive Vietnam local time, as edXML writes it.
        moment = moment.astimezone(_VN_TZ).replace(tzinfo=None)
    return moment


def _format_date(value: date | None) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}" if value else ""


def _format_timestamp(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(_VN_TZ).replace(tzinfo=None)
    text = f"{_format_date(value)} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text


# --- document packages -----------------------------------------------------------------------


def _read_edxml(
    root: etree._Element, path: str, findings: list[Finding], max_bytes: int
) -> DocumentPackage | StatusPackage:
    """An `edXML` root holds a document, or a status when its MessageHeader has a StatusCode
    (how the national SDK and its reference library tell them apart)."""
    env = _first(_children(root), "edXMLEnvelope")
    header = _first(_children(env), "edXMLHeader")
    h = _children(header)
    m = _children(_first(h, "MessageHeader"))
    # A header with no To and no DocumentId of its own but a ResponseFor is a status that
    # lost its StatusCode: say so, rather than call it a document without recipients.
    if "StatusCode" in m or ("ResponseFor" in m and "To" not in m and "DocumentId" not in m):
        hdr_path = f"{path}/edXMLEnvelope/edXMLHeader"
        status = _read_status(h["MessageHeader"][0], f"{hdr_path}/MessageHeader", findings, "edxml")
        status.trace = _Reader(findings).trace_list(
            _first(h, "TraceHeaderList"), f"{hdr_path}/TraceHeaderList"
        )
        return status
    return _DocumentReader(findings, max_bytes).read(root, path)


class _DocumentReader(_Reader):
    def __init__(self, findings: list[Finding], max_bytes: int) -> None:
        super().__init__(findings)
        self.max_bytes = max_bytes
        self.unzip_budget = max_bytes  # uncompressed bytes all zipped attachments may use
        self.unreadable: set[str] = set()  # ContentIds of attachments refused with a finding

    def read(self, root: etree._Element, path: str) -> DocumentPackage:
        r = _children(root)
        env_path = f"{path}/edXMLEnvelope"
        env = _first(r, "edXMLEnvelope")
        if env is None:
            self.error(MISSING_ELEMENT, env_path, "<edXMLEnvelope> is required and is missing")
        e = _children(env)
        hdr_path = f"{env_path}/edXMLHeader"
        header = _first(e, "edXMLHeader")
        if env is not None and header is None:
            self.error(MISSING_ELEMENT, hdr_path, "<edXMLHeader> is required and is missing")
        h = _children(header)
        mh_path = f"{hdr_path}/MessageHeader"
        message_header = _first(h, "MessageHeader")
        if header is not None and message_header is None:
            self.error(MISSING_ELEMENT, mh_path, "<MessageHeader> is required and is missing")
        m = _children(message_header)

        pkg = self.message_header(m, mh_path)

        trace_path = f"{hdr_path}/TraceHeaderList"
        trace_list = _first(h, "TraceHeaderList")
        t = _children(trace_list)
        pkg.trace = self.trace_list(trace_list, trace_path)
        # Bussiness belongs in TraceHeaderList; some senders put it one level up.
        business = _first(t, "Business")
        business_path = f"{trace_path}/Bussiness"
        if business is None:
            business = _first(h, "Business")
            business_path = f"{hdr_path}/Bussiness"
        if business is not None:
            pkg.business = self.business(business, business_path)

        # The enveloped signature: ds namespace, QCVN namespace or none at all in the wild.
        pkg.has_xml_signature = "Signature" in h or "Signature" in e or "Signature" in r

        body = _first(e, "edXMLBody")
        manifest = _first(_children(body), "edXMLManifest")
        manifest_path = f"{env_path}/edXMLBody/edXMLManifest"
        for i, el in enumerate(_children(manifest).get("Reference", ()), 1):
            pkg.references.append(self.reference(el, f"{manifest_path}/Reference[{i}]"))

        # AttachmentEncoded sits outside the envelope; tolerate it inside too, and read the
        # non-standard edXMLAttachments container some gateways write (never drop a file).
        att_path = f"{path}/AttachmentEncoded"
        holders: list[tuple[etree._Element, str]] = []
        for kids, where_path in ((r, path), (e, env_path)):
            for name in ("AttachmentEncoded", "edXMLAttachments"):
                for holder in kids.get(name, ()):
                    holders.append((holder, f"{where_path}/{name}"))
                    if name == "edXMLAttachments":
                        self.warning(
                            NONSTANDARD_ATTACHMENTS,
                            f"{where_path}/{name}",
                            "attachments in <edXMLAttachments> (not QCVN 102:2016): read; "
                            "send them in <AttachmentEncoded> after the envelope",
                        )
        if holders:
            att_path = holders[0][1]
        index = 0
        positions: list[int] = []  # each kept attachment's place among those sent
        for holder, _holder_path in holders:
            for el in _children(holder).get("Attachment", ()):
                index += 1
                att = self.attachment(el, f"{att_path}/Attachment[{index}]", index)
                if att is not None:
                    pkg.attachments.append(att)
                    positions.append(index)
                else:  # refused already: the manifest need not say it is missing too
                    self.unreadable.add(_strip_cid(_text(_children(el), "ContentId")))
        self.check_manifest(pkg, positions, manifest_path, att_path)
        return pkg

    def message_header(self, m: Children, path: str) -> DocumentPackage:
        from_el = _first(m, "From")
        if from_el is None:
            self.error(MISSING_ELEMENT, f"{path}/From/OrganId", "<From> (the sender) is required")
            sender = Organization(organ_id="")
        else:
            sender = self.organization(from_el, f"{path}/From")
        recipients = [
            self.organization(el, f"{path}/To[{i}]") for i, el in enumerate(m.get("To", ()), 1)
        ]
        if not recipients:
            self.error(NO_RECIPIENT, f"{path}/To", "the package names no recipient (<To>)")

        code_el = _first(m, "Code")
        c = _children(code_el)
        code_path = f"{path}/Code"
        if code_el is None:
            self.incomplete(code_path, "Code", "the number and notation")
            code = Code()
        else:
            code = Code(number=_text(c, "CodeNumber"), notation=_text(c, "CodeNotation"))
            if not code.number:
                self.incomplete(f"{code_path}/CodeNumber", "CodeNumber", "the number")

        prom_path = f"{path}/PromulgationInfo"
        p = _children(_first(m, "PromulgationInfo"))
        promulgation = PromulgationInfo(
            place=_text(p, "Place"),
            date=self.date(p, "PromulgationDate", prom_path),
        )
        d = _children(_first(m, "DocumentType"))
        s = _children(_first(m, "SignerInfo"))
        pkg = DocumentPackage(
            sender=sender,
            recipients=recipients,
            document_id=self.required(m, "DocumentId", path),
            code=code,
            promulgation=promulgation,
            document_type=DocumentType(
                type=_text(d, "Type"),
                type_detail=_text(d, "TypeDetail"),
                type_name=_text(d, "TypeName"),
            ),
            subject=_text(m, "Subject"),
            content=_text(m, "Content"),
            signer=SignerInfo(
                competence=_text(s, "Competence"),
                position=_text(s, "Position"),
                full_name=_text(s, "FullName"),
            ),
            due_date=self.date(m, "DueDate", path),
            steering_type=_text(m, "SteeringType"),
        )
        if not pkg.promulgation.date and not _text(p, "PromulgationDate"):
            self.incomplete(f"{prom_path}/PromulgationDate", "PromulgationDate", "the date")
        if not pkg.subject:
            self.incomplete(f"{path}/Subject", "Subject", "the subject")
        other_el = _first(m, "OtherInfo")
        if other_el is not None:
            pkg.other = self.other_info(_children(other_el), f"{path}/OtherInfo")
        for places in m.get("ToPlaces", ()):
            pkg.to_places.extend(
                text for el in _children(places).get("Place", ()) if (text := _clean(el.text))
            )
        pkg.response_for = [
            self.response_for(el, f"{path}/ResponseFor[{i}]", strict=False)
            for i, el in enumerate(m.get("ResponseFor", ()), 1)
        ]
        return pkg

    def other_info(self, o: Children, path: str) -> OtherInfo:
        priority = self.integer(o, "Priority", path)
        if priority is not None and not 0 <= priority <= 4:
            self.error(BAD_VALUE, f"{path}/Priority", f"<Priority> must be 0 to 4, not {priority}")
        appendixes: list[str] = []
        for holder in o.get("Appendixes", ()):
            appendixes.extend(
                text for el in _children(holder).get("Appendix", ()) if (text := _clean(el.text))
            )
        return OtherInfo(
            priority=priority,
            sphere_of_promulgation=_text(o, "SphereOfPromulgation"),
            typer_notation=_text(o, "TyperNotation"),
            promulgation_amount=self.integer(o, "PromulgationAmount", path),
            page_amount=self.integer(o, "PageAmount", path),
            direction=self.boolean(o, "Direction", path),
            appendixes=appendixes,
        )

    def business(self, el: etree._Element, path: str) -> Business:
        b = _children(el)
        business = Business(
            reason=_text(b, "BusinessDocReason"),
            document_id=_text(b, "DocumentId"),
            paper=self.integer(b, "Paper", path),
            staff=self.staff(_first(b, "StaffInfo")),
        )
        doc_type = self.integer(b, "BusinessDocType", path)
        if doc_type is not None:
            try:
                business.doc_type = BusinessDocType(doc_type)
            except ValueError:
                self.error(
                    BAD_VALUE,
                    f"{path}/BussinessDocType",
                    f"<BussinessDocType> must be 0 new, 1 revoke, 2 update or 3 replace, "
                    f"not {doc_type}",
                )
        info_el = _first(b, "BusinessDocumentInfo")
        if info_el is not None:
            info_path = f"{path}/BussinessDocumentInfo"
            i = _children(info_el)
            business.document_info = self.integer(i, "DocumentInfo", info_path)
            business.document_receiver = self.integer(i, "DocumentReceiver", info_path)
            for holder in i.get("ReceiverList", ()):
                for n, rel in enumerate(_children(holder).get("Receiver", ()), 1):
                    k = _children(rel)
                    here = f"{info_path}/ReceiverList/Receiver[{n}]"
                    receiver_type = self.integer(k, "ReceiverType", here)
                    if receiver_type is None and not _text(k, "ReceiverType"):
                        self.required(k, "ReceiverType", here)
                        receiver_type = 1
                    elif receiver_type not in (0, 1):
                        self.error(
                            BAD_VALUE,
                            f"{here}/ReceiverType",
                            "<ReceiverType> must be 0 (removed) or 1 (added)",
                        )
                        receiver_type = receiver_type if receiver_type is not None else 1
                    business.receivers.append(
                        Receiver(receiver_type, self.required(k, "OrganId", here))
                    )
        for holder in b.get("ReplacementInfoList", ()):
            for n, rel in enumerate(_children(holder).get("ReplacementInfo", ()), 1):
                k = _children(rel)
                here = f"{path}/ReplacementInfoList/ReplacementInfo[{n}]"
                organ_ids = [
                    text
                    for ids in k.get("OrganIdList", ())
                    for oel in _children(ids).get("OrganId", ())
                    if (text := _clean(oel.text))
                ]
                business.replacements.append(
                    ReplacementInfo(self.required(k, "DocumentId", here), organ_ids)
                )
        return business

    def reference(self, el: etree._Element, path: str) -> Reference:
        k = _children(el)
        content_id = _text(k, "ContentId")
        if not content_id:
            # Some senders point with an (xlink:)href="cid:..." attribute instead.
            for name, value in el.attrib.items():
                if name == "href" or name.endswith(("}href", ":href")):
                    content_id = _clean(value)
                    break
        if not content_id:
            self.error(MISSING_ELEMENT, f"{path}/ContentId", "<ContentId> is required")
        return Reference(
            content_id=_strip_cid(content_id),
            content_type=_text(k, "ContentType"),
            description=_text(k, "Description"),
            attachment_name=_text(k, "AttachmentName"),
        )

    def attachment(self, el: etree._Element, path: str, index: int) -> Attachment | None:
        k = _children(el)
        name = _text(k, "AttachmentName")
        content_id = _strip_cid(_text(k, "ContentId"))
        # edXMLAttachments (non-standard) writes AttachmentType/AttachmentData/AttachmentSize.
        nonstandard = "AttachmentData" in k and "ContentTransferEncoded" not in k
        if not content_id:
            if nonstandard:
                content_id = f"attachment-{index}"
                self.warning(
                    NO_CONTENT_ID, f"{path}/ContentId", f"no ContentId: named {content_id!r}"
                )
            else:
                self.error(MISSING_ELEMENT, f"{path}/ContentId", "<ContentId> is required")
        content_type = _text(k, "ContentType")
        if nonstandard and not content_type:
            content_type = _guess_type(name, b"")  # AttachmentType says "TXT", "PDF"...
        field_name = "AttachmentData" if nonstandard else "ContentTransferEncoded"
        encoded_el = _first(k, field_name)
        encoded = encoded_el.text if encoded_el is not None else None
        lifted, source = _LIFTED.get(), None
        if lifted is not None and encoded and (source := lifted.take(encoded)) is not None:
            data = _b64strict(source)
            if data is None:  # wrapped lines: one copy without them
                data = _b64decode(str(source, "ascii"))
            if data is None:  # not base64 after all: say so as for any other package
                encoded = str(source, "ascii")
            source.release()
        if encoded_el is not None and encoded and len(encoded) > _FREE_TEXT_AT:
            # The tree is this parse's own and nothing reads this text again: free libxml2's
            # copy of a large base64 now, before it is decoded (issue 17: 60 MB less at the
            # peak for a 45 MB PDF).
            encoded_el.text = None
        enc_path = f"{path}/{field_name}"
        if not encoded or not encoded.strip():
            self.error(MISSING_ELEMENT, enc_path, f"<{field_name}> is empty or missing")
            return None
        if source is None:
            data = _b64decode(encoded)
        if data is None:
            what = f"attachment {name or content_id!r}"
            if len(encoded.encode("ascii", "replace").translate(None, _B64_WHITESPACE)) % 4:
                self.error(
                    BAD_BASE64,
                    enc_path,
                    f"{what} is cut short: its base64 is not a whole number of 4-character "
                    "groups (the end or its '=' padding is missing); send the whole file again",
                )
            else:
                self.error(BAD_BASE64, enc_path, f"{what} is not base64")
            return None
        declared = _text(k, "AttachmentSize")
        if declared.isascii() and declared.isdigit() and int(declared) != len(data):
            self.error(
                ATTACHMENT_SIZE,
                enc_path,
                f"attachment {name or content_id!r} declares {declared} bytes "
                f"and holds {len(data)}: truncated or damaged",
            )
            return None
        was_zipped = False
        entries: list[ZipEntry] = []
        if _zipped_the_sdk_way(name, content_type):
            # The SDK's way (PROTOCOL §10): keep the zip as sent, and read every file in it.
            found = self.zip_entries(data, name, enc_path)
            if found is None:
                return None
            entries = found
        elif _should_unzip(data, name, content_type):
            unzipped = self.unzip(data, name, enc_path)
            if unzipped is None:
                return None
            data, was_zipped = unzipped, True
        return Attachment(
            content_id=content_id,
            name=name,
            content_type=content_type,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            description=_text(k, "Description"),
            was_zipped=was_zipped,
            entries=entries,
        )

    def zip_entries(self, data: bytes, name: str, path: str) -> list[ZipEntry] | None:
        """Every file of a zip attachment, within the unzip budget; None (with EDXML_BAD_ZIP)
        when the zip cannot be read whole: the recipient's SDK would fail on it too."""
        out: list[ZipEntry] = []
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if not members:
                    self.error(BAD_ZIP, path, f"zipped attachment {name!r} holds no file")
                    return None
                for info in members:
                    budget = self.unzip_budget
                    if info.file_size > budget:
                        self.error(BAD_ZIP, path, _zip_too_big(name, self.max_bytes))
                        return None
                    with archive.open(info) as member:
                        content = member.read(budget + 1)
                    if len(content) > budget:
                        self.error(BAD_ZIP, path, _zip_too_big(name, self.max_bytes))
                        return None
                    self.unzip_budget -= len(content)
                    entry_name = info.filename.replace("\\", "/").rsplit("/", 1)[-1]
                    out.append(
                        ZipEntry(
                            name=entry_name,
                            content_type=_guess_type(entry_name, content),
                            data=content,
                            sha256=hashlib.sha256(content).hexdigest(),
                        )
                    )
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
            self.error(
                BAD_ZIP,
                path,
                f"attachment {name!r} is labelled application/zip and cannot be unzipped: {exc}",
            )
            return None
        except (RuntimeError, NotImplementedError, ValueError) as exc:  # encrypted, odd method
            self.error(BAD_ZIP, path, f"zipped attachment {name!r} cannot be unzipped: {exc}")
            return None
        return out

    def unzip(self, data: bytes, name: str, path: str) -> bytes | None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [info for info in archive.infolist() if not info.is_dir()]
                if len(members) != 1:
                    self.error(
                        BAD_ZIP,
                        path,
                        f"zipped attachment {name!r} must hold exactly one file, "
                        f"it holds {len(members)}",
                    )
                    return None
                info = members[0]
                # The declared size may lie: read at most budget + 1 bytes and check.
                budget = self.unzip_budget
                if info.file_size > budget:
                    self.error(BAD_ZIP, path, _zip_too_big(name, self.max_bytes))
                    return None
                with archive.open(info) as member:
                    out = member.read(budget + 1)
                if len(out) > budget:
                    self.error(BAD_ZIP, path, _zip_too_big(name, self.max_bytes))
                    return None
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
            self.error(BAD_ZIP, path, f"zipped attachment {name!r} cannot be unzipped: {exc}")
            return None
        except (RuntimeError, NotImplementedError, ValueError) as exc:  # encrypted, odd method
            self.error(BAD_ZIP, path, f"zipped attachment {name!r} cannot be unzipped: {exc}")
            return None
        self.unzip_budget -= len(out)
        return out

    def check_manifest(
        self, pkg: DocumentPackage, positions: list[int], manifest_path: str, att_path: str
    ) -> None:
        seen: set[str] = set()
        for i, att in zip(positions, pkg.attachments, strict=True):
            if not att.content_id:
                continue  # already reported as EDXML_MISSING_ELEMENT
            if att.content_id in seen:
                self.error(
                    DUPLICATE_CONTENT_ID,
                    f"{att_path}/Attachment[{i}]/ContentId",
                    f"two attachments share the ContentId {att.content_id!r}",
                )
            seen.add(att.content_id)
        referenced: set[str] = set()
        for i, ref in enumerate(pkg.references, 1):
            if not ref.content_id:
                continue
            if ref.content_id in referenced:
                self.error(
                    DUPLICATE_CONTENT_ID,
                    f"{manifest_path}/Reference[{i}]/ContentId",
                    f"two manifest references share the ContentId {ref.content_id!r}",
                )
            referenced.add(ref.content_id)
            if ref.content_id not in seen and ref.content_id not in self.unreadable:
                self.error(
                    ATTACHMENT_MISMATCH,
                    f"{manifest_path}/Reference[{i}]",
                    f"the manifest lists cid:{ref.content_id} but no attachment has that ContentId",
                )
        for i, att in zip(positions, pkg.attachments, strict=True):
            if att.content_id and att.content_id not in referenced:
                # The file is here and read: an incomplete manifest loses nothing.
                self.warning(
                    NOT_IN_MANIFEST,
                    f"{att_path}/Attachment[{i}]",
                    f"attachment {att.name or att.content_id!r} is not listed in the manifest",
                )


def _strip_cid(value: str) -> str:
    value = value.strip().strip("<>")
    while value[:4].lower() == "cid:":  # the reference library writes "cid:cid:<uuid>"
        value = value[4:].strip().strip("<>")
    return value


_FREE_TEXT_AT = 1 << 20


def _b64decode(text: str) -> bytes | None:
    """Decode base64 once, strictly; line breaks and blanks anywhere are allowed.

    The common one-line form decodes on the first try; wrapped text fails at its first line
    break (cheap) and is retried without the breaks (`bytes.replace` runs at memchr speed,
    unlike `translate`), and only odd blanks (spaces, tabs) take the slow path.
    """
    text = text.strip()
    if text.isascii():
        # the str goes to the decoder as it is: an ASCII copy of a 45 MB attachment's base64
        # would be 60 MB more at the peak (issue 17, memory)
        data = _b64strict(text)
        if data is not None:
            return data
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        return None
    raw = raw.replace(b"\n", b"")
    if b"\r" in raw:
        raw = raw.replace(b"\r", b"")
    data = _b64strict(raw)
    if data is None:
        data = _b64strict(raw.translate(None, _B64_WHITESPACE))
    return data


def _b64strict(raw: bytes | str) -> bytes | None:
    # Padding is required: base64 cut short reads exactly like base64 whose "=" were dropped,
    # and completing it stored a truncated attachment as if whole (issue 16).
    if len(raw) % 4:
        return None
    try:
        return _b64_strict_decode(raw)
    except (binascii.Error, ValueError):
        return None


def _zipped_the_sdk_way(name: str, content_type: str) -> bool:
    """ContentType application/zip while the name is not *.zip: how the national SDK sends
    files other than PDF and DOC (PROTOCOL §10); its reader unzips them."""
    media = content_type.lower().partition(";")[0].strip()
    return media in _ZIP_TYPES and bool(name) and not name.lower().endswith(".zip")


_MAGIC_TYPES = (
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\xd0\xcf\x11\xe0", "application/msword"),
    (b"<?xml", "application/xml"),
)


def _guess_type(name: str, data: bytes) -> str:
    """A file's media type from its name, else its first bytes."""
    guessed, _ = mimetypes.guess_type(name, strict=False) if name else (None, None)
    if name.lower().endswith(".edxml"):
        guessed = "application/xml"
    if guessed:
        return guessed
    for magic, media in _MAGIC_TYPES:
        if data.startswith(magic):
            return media
    return "application/octet-stream" if data else ""


def _should_unzip(data: bytes, name: str, content_type: str) -> bool:
    # Real senders zip the PDF before encoding it while still calling it application/pdf
    # (or naming it *.zip). A real zip attachment (content type says zip) is kept as is, and
    # zip-based formats (docx, odt) are told apart by holding more than one file.
    if data[:4] != _ZIP_MAGIC:
        return False
    media = content_type.lower().partition(";")[0].strip()
    if media in _ZIP_TYPES:
        return False
    if media == "application/pdf":
        return True  # a PDF is never a zip: unzip it, or say why not (EDXML_BAD_ZIP)
    if name.lower().endswith(".zip") and media not in _NEUTRAL_TYPES:
        return True
    return _single_file_zip(data)


def _single_file_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return sum(1 for info in archive.infolist() if not info.is_dir()) == 1
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):
        return False


def _zip_too_big(name: str, limit: int) -> str:
    return f"zipped attachment {name!r} unzips to more than the {limit}-byte limit"


# --- status packages -------------------------------------------------------------------------


def _read_status(
    root: etree._Element, path: str, findings: list[Finding], shape: str
) -> StatusPackage:
    reader = _Reader(findings)
    s = _children(root)
    rf_el = _first(s, "ResponseFor")
    if rf_el is None:
        reader.error(
            MISSING_ELEMENT,
            f"{path}/ResponseFor/DocumentId",
            "<ResponseFor> with the DocumentId the status is about is required",
        )
        response_for = ResponseFor()
    else:
        response_for = reader.response_for(rf_el, f"{path}/ResponseFor", strict=True)
    from_el = _first(s, "From")
    if from_el is None:
        reader.error(MISSING_ELEMENT, f"{path}/From/OrganId", "<From> (the sender) is required")
        sender = Organization(organ_id="")
    else:
        sender = reader.organization(from_el, f"{path}/From")
    status_code = reader.required(s, "StatusCode", path)
    if status_code:
        if status_code.isdigit() and len(status_code) == 1:
            status_code = "0" + status_code  # "1" for "01" is common
        if status_code not in STATUS_CODES:
            reader.error(
                BAD_STATUS_CODE,
                f"{path}/StatusCode",
                f"status code {status_code!r} is not one of {', '.join(STATUS_CODES)}",
            )
    return StatusPackage(
        response_for=response_for,
        sender=sender,
        status_code=status_code,
        description=_text(s, "Description"),
        timestamp=reader.timestamp(s, "Timestamp", path),
        staff=reader.staff(_first(s, "StaffInfo")),
        shape=shape,
    )


# --- building --------------------------------------------------------------------------------

_ESCAPES = {ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord("\r"): "&#13;"}
# Characters XML 1.0 cannot carry at all: dropped rather than producing a broken package.
for _c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF):
    _ESCAPES[_c] = None  # type: ignore[assignment]


def _esc(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    return text.translate(_ESCAPES)


class _Writer:
    """Text parts, flushed to UTF-8 chunks before each (large, ASCII) base64 payload so that
    the payload is never copied into a str and re-encoded."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.chunks: list[bytes] = []

    def flush(self) -> None:
        # "ignore" drops lone surrogates, which UTF-8 cannot carry.
        self.chunks.append("".join(self.parts).encode("utf-8", "ignore"))
        self.parts.clear()

    def raw(self, payload: bytes) -> None:
        self.flush()
        self.chunks.append(payload)

    def leaf(self, name: str, value: object, always: bool = False) -> None:
        if value is None or value == "":
            if always:
                self.parts.append(f"<edXML:{name}/>")
            return
        if isinstance(value, bool):
            value = "true" if value else "false"
        self.parts.append(f"<edXML:{name}>{_esc(value)}</edXML:{name}>")

    def open(self, name: str, attrs: str = "") -> None:
        self.parts.append(f"<edXML:{name}{attrs}>")

    def close(self, name: str) -> None:
        self.parts.append(f"</edXML:{name}>")

    def organization(self, tag: str, org: Organization) -> None:
        self.open(tag)
        self.leaf("OrganId", org.organ_id, always=True)
        self.leaf("OrganizationInCharge", org.organization_in_charge)
        self.leaf("OrganName", org.organ_name)
        self.leaf("OrganAdd", org.organ_add)
        self.leaf("Email", org.email)
        self.leaf("Telephone", org.telephone)
        self.leaf("Fax", org.fax)
        self.leaf("Website", org.website)
        self.close(tag)

    def response_for(self, rf: ResponseFor) -> None:
        self.open("ResponseFor")
        self.leaf("OrganId", rf.organ_id)
        self.leaf("Code", rf.code)
        self.leaf("PromulgationDate", _format_date(rf.promulgation_date))
        self.leaf("DocumentId", rf.document_id, always=True)
        self.close("ResponseFor")

    def staff(self, staff: StaffInfo | None) -> None:
        if staff is None:
            return
        self.open("StaffInfo")
        self.leaf("Department", staff.department)
        self.leaf("Staff", staff.staff)
        self.leaf("Email", staff.email)
        self.leaf("Mobile", staff.mobile)
        self.close("StaffInfo")

    def bytes(self) -> bytes:
        self.flush()
        return b"".join(self.chunks)


_XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NS_DECL = f' xmlns:edXML="{EDXML_NS}"'


def build_document(pkg: DocumentPackage) -> bytes:
    """Write a document package canonically (see the module docstring)."""
    w = _Writer()
    w.parts.append(_XML_DECL)
    w.open("edXML", _NS_DECL)
    w.open("edXMLEnvelope")
    w.open("edXMLHeader")
    w.open("MessageHeader")
    w.organization("From", pkg.sender)
    for recipient in pkg.recipients:
        w.organization("To", recipient)
    w.leaf("DocumentId", pkg.document_id, always=True)
    w.open("Code")
    w.leaf("CodeNumber", pkg.code.number, always=True)
    w.leaf("CodeNotation", pkg.code.notation, always=True)
    w.close("Code")
    w.open("PromulgationInfo")
    w.leaf("Place", pkg.promulgation.place)
    w.leaf("PromulgationDate", _format_date(pkg.promulgation.date), always=True)
    w.close("PromulgationInfo")
    w.open("DocumentType")
    w.leaf("Type", pkg.document_type.type)
    w.leaf("TypeDetail", pkg.document_type.type_detail)
    w.leaf("TypeName", pkg.document_type.type_name)
    w.close("DocumentType")
    w.leaf("Subject", pkg.subject, always=True)
    w.leaf("Content", pkg.content)
    w.open("SignerInfo")
    w.leaf("Competence", pkg.signer.competence)
    w.leaf("Position", pkg.signer.position)
    w.leaf("FullName", pkg.signer.full_name)
    w.close("SignerInfo")
    w.leaf("DueDate", _format_date(pkg.due_date))
    other = pkg.other
    w.open("OtherInfo")
    w.leaf("Priority", other.priority)
    w.leaf("SphereOfPromulgation", other.sphere_of_promulgation)
    w.leaf("TyperNotation", other.typer_notation)
    w.leaf("PromulgationAmount", other.promulgation_amount)
    w.leaf("PageAmount", other.page_amount)
    w.leaf("Direction", other.direction)
    if other.appendixes:
        w.open("Appendixes")
        for appendix in other.appendixes:
            w.leaf("Appendix", appendix, always=True)
        w.close("Appendixes")
    w.close("OtherInfo")
    w.leaf("SteeringType", pkg.steering_type)
    if pkg.to_places:
        w.open("ToPlaces")
        for place in pkg.to_places:
            w.leaf("Place", place, always=True)
        w.close("ToPlaces")
    for rf in pkg.response_for:
        w.response_for(rf)
    w.close("MessageHeader")

    w.open("TraceHeaderList")
    for trace in pkg.trace:
        w.open("TraceHeader")
        w.leaf("OrganId", trace.organ_id)
        w.leaf("Timestamp", _format_timestamp(trace.timestamp))
        w.close("TraceHeader")
    _write_business(w, pkg.business)
    w.close("TraceHeaderList")
    w.close("edXMLHeader")

    w.open("edXMLBody")
    w.open("edXMLManifest", ' version="1.0"')
    for ref in pkg.references:
        w.open("Reference")
        w.leaf("ContentId", f"cid:{ref.content_id}", always=True)
        w.leaf("ContentType", ref.content_type)
        w.leaf("Description", ref.description)
        w.leaf("AttachmentName", ref.attachment_name)
        w.close("Reference")
    w.close("edXMLManifest")
    w.close("edXMLBody")
    w.close("edXMLEnvelope")

    if pkg.attachments:
        w.open("AttachmentEncoded")
        for att in pkg.attachments:
            w.open("Attachment")
            w.leaf("ContentId", att.content_id, always=True)
            w.leaf("AttachmentName", att.name)
            w.leaf("Description", att.description)
            w.leaf("ContentType", att.content_type)
            data = _zip_one(att.name, att.data) if att.was_zipped else att.data
            w.parts.append("<edXML:ContentTransferEncoded>")
            w.raw(_b64_encode(data))
            w.parts.append("</edXML:ContentTransferEncoded>")
            w.close("Attachment")
        w.close("AttachmentEncoded")
    w.close("edXML")
    return w.bytes()


def _write_business(w: _Writer, b: Business) -> None:
    w.open("Bussiness")
    w.leaf("BussinessDocType", int(b.doc_type), always=True)
    w.leaf("BussinessDocReason", b.reason)
    w.leaf("DocumentId", b.document_id)
    w.leaf("Paper", b.paper)
    w.staff(b.staff)
    if b.document_info is not None or b.document_receiver is not None or b.receivers:
        w.open("BussinessDocumentInfo")
        w.leaf("DocumentInfo", b.document_info)
        w.leaf("DocumentReceiver", b.document_receiver)
        if b.receivers:
            w.open("ReceiverList")
            for receiver in b.receivers:
                w.open("Receiver")
                w.leaf("ReceiverType", receiver.receiver_type, always=True)
                w.leaf("OrganId", receiver.organ_id, always=True)
                w.close("Receiver")
            w.close("ReceiverList")
        w.close("BussinessDocumentInfo")
    if b.replacements:
        w.open("ReplacementInfoList")
        for rep in b.replacements:
            w.open("ReplacementInfo")
            w.leaf("DocumentId", rep.document_id, always=True)
            w.open("OrganIdList")
            for organ_id in rep.organ_ids:
                w.leaf("OrganId", organ_id, always=True)
            w.close("OrganIdList")
            w.close("ReplacementInfo")
        w.close("ReplacementInfoList")
    w.close("Bussiness")


def _zip_one(name: str, data: bytes) -> bytes:
    # Deterministic (fixed timestamp) so that building the same package twice gives the same
    # bytes, hence the same SHA-256.
    member = name[:-4] if name.lower().endswith(".zip") else name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo(member or "attachment", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
    return buffer.getvalue()


def build_status(pkg: StatusPackage) -> bytes:
    """Write a status package in the national SDK's shape, which its reference library reads:
    `edXML/edXMLEnvelope/edXMLHeader/MessageHeader` holding From, ResponseFor, StaffInfo,
    StatusCode, Description and Timestamp (in that order), no To, no attachment; the trace
    entries, when there are any, in a TraceHeaderList after it."""
    w = _Writer()
    w.parts.append(_XML_DECL)
    w.open("edXML", _NS_DECL)
    w.open("edXMLEnvelope")
    w.open("edXMLHeader")
    w.open("MessageHeader")
    w.organization("From", pkg.sender)
    w.response_for(pkg.response_for)
    w.staff(pkg.staff)
    w.leaf("StatusCode", pkg.status_code, always=True)
    w.leaf("Description", pkg.description)
    w.leaf("Timestamp", _format_timestamp(pkg.timestamp))
    w.close("MessageHeader")
    if pkg.trace:
        w.open("TraceHeaderList")
        for trace in pkg.trace:
            w.open("TraceHeader")
            w.leaf("OrganId", trace.organ_id)
            w.leaf("Timestamp", _format_timestamp(trace.timestamp))
            w.close("TraceHeader")
        w.close("TraceHeaderList")
    w.close("edXMLHeader")
    w.close("edXMLEnvelope")
    w.close("edXML")
    return w.bytes()
