"""PAdES signing (B-B, B-T, B-LT, B-LTA) with the visible stamps Decree 30/2020 prescribes.

Signers come from a PKCS#12 file, a PEM key + certificate, or a PKCS#11 token. Loading a
signer is the expensive part (key decryption, token login), so loaded signers are cached and
reused; the CMS size is estimated from the certificates instead of pyHanko's dry-run signature.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from asn1crypto import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.generic import NameObject
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import get_pyca_cryptography_hash
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.stamp import StaticStampStyle, TextStamp, TextStampStyle
from pyhanko_certvalidator import ValidationContext

from formats import pdf_guard
from signing import _speedups
from signing.fonts import ScaledGlyphAccumulatorFactory, default_serif_font, stamp_font
from signing.trust import load_certs

_speedups.install()

log = logging.getLogger(__name__)
Level = Literal["B-B", "B-T", "B-LT", "B-LTA"]
Role = Literal["leader", "agency", "attachment", "invisible"]
LEVELS: tuple[str, ...] = ("B-B", "B-T", "B-LT", "B-LTA")
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MM = 72 / 25.4


class SigningError(Exception):
    """Signing could not be done (bad key file, wrong password, token, TSA...)."""


@dataclass(frozen=True)
class Appearance:
    """What the signature looks like on the page (Decree 30/2020, Appendix I)."""

    role: Role = "invisible"
    image: str | None = None  # PNG: leader's signature (blue) or agency's seal (red)
    name: str = ""  # leader's full name, under the image
    position: str = ""  # e.g. "CHỦ TỊCH" or "KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH", above the image
    number: str = ""  # number and symbol of the main document, e.g. "15/QĐ-UBND"
    page: int = -1  # 0-based, negative from the end (default: last page); attachments: page 1
    box: tuple[float, float, float, float] | None = None  # x1, y1, x2, y2 in PDF points
    font: str | None = None  # TTF path; default Liberation Serif (Times New Roman metrics)


@dataclass
class LoadedSigner:
    """A pyHanko signer kept ready for repeated use, with its CMS size estimate."""

    signer: Signer
    description: str
    reserve_hex: int = 0  # bytes_reserved for the /Contents hex string, without timestamp
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def certificate(self) -> x509.Certificate:
        return self.signer.signing_cert


class CachedKeySigner(signers.SimpleSigner):
    """SimpleSigner that parses its private key once.

    pyHanko's SimpleSigner re-parses the key (with RSA consistency checks, ~45 ms) on every
    signature; holding the parsed key makes a signature cost about one RSA operation.
    """

    @classmethod
    def wrap(cls, s: signers.SimpleSigner) -> CachedKeySigner:
        return cls(
            signing_cert=s.signing_cert,
            signing_key=s.signing_key,
            cert_registry=s.cert_registry,
            signature_mechanism=s.signature_mechanism,
        )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._priv_key = serialization.load_der_private_key(self.signing_key.dump(), None)

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mech = self.get_signature_mechanism_for_digest(digest_algorithm)
        try:
            name = mech.signature_algo
        except ValueError:
            name = mech["algorithm"].native
        key = self._priv_key
        if name == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if name == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)


_cache: dict[tuple, LoadedSigner] = {}
_cache_lock = threading.Lock()


def _file_key(path: str | os.PathLike) -> tuple:
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)


def _secret_key(secret: str | bytes | None) -> str | None:
    # Cache keys hold a digest, never the secret itself.
    if secret is None:
        return None
    raw = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(raw).hexdigest()


def _as_bytes(secret: str | bytes | None) -> bytes | None:
    if secret is None or secret == "":
        return None
    return secret.encode() if isinstance(secret, str) else secret


def _estimate_reserve(signer: Signer) -> int:
    """Hex characters to reserve for the CMS, from what it will contain (no dry-run)."""
    cert = signer.signing_cert
    certs = len(cert.dump()) + sum(len(c.dump()) for c in signer.cert_registry)
    key_bytes = (cert.public_key.bit_size + 7) // 8
    der = certs + 2 * key_bytes + 2048  # signed attributes, algorithm ids, ASN.1 framing
    return 2 * der


def _cached(key: tuple, build) -> LoadedSigner:
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    loaded = build()
    loaded.reserve_hex = _estimate_reserve(loaded.signer)
    with _cache_lock:
        _cache[key] = loaded
    return loaded


def _evict(loaded: LoadedSigner) -> None:
    with _cache_lock:
        for key in [k for k, v in _cache.items() if v is loaded]:
            del _cache[key]


def clear_signer_cache() -> None:
    with _cache_lock:
        _cache.clear()


def load_pkcs12(path: str | os.PathLike, password: str | bytes | None = None) -> LoadedSigner:
    """A signer from a PKCS#12 file; ``password`` None or "" for an unencrypted file."""

    def build() -> LoadedSigner:
        try:
            s = signers.SimpleSigner.load_pkcs12(str(path), passphrase=_as_bytes(password))
        except Exception as exc:
            raise SigningError(f"cannot load PKCS#12 {path}: {exc}") from exc
        if s is None:
            raise SigningError(f"cannot load PKCS#12 {path} (wrong password?)")
        return LoadedSigner(CachedKeySigner.wrap(s), f"pkcs12:{path}")

    return _cached(("p12", _file_key(path), _secret_key(password)), build)


def load_pem(
    key_path: str | os.PathLike,
    cert_path: str | os.PathLike,
    chain: list[str] | tuple[str, ...] = (),
    key_password: str | bytes | None = None,
) -> LoadedSigner:
    """A signer from a PEM/DER private key and certificate (+ optional chain files)."""

    def build() -> LoadedSigner:
        try:
            s = signers.SimpleSigner.load(
                str(key_path),
                str(cert_path),
                ca_chain_files=[str(c) for c in chain] or None,
                key_passphrase=_as_bytes(key_password),
            )
        except Exception as exc:
            raise SigningError(f"cannot load key/certificate: {exc}") from exc
        if s is None:
            raise SigningError("cannot load key/certificate (wrong password?)")
        return LoadedSigner(CachedKeySigner.wrap(s), f"pem:{cert_path}")

    key = (
        "pem",
        _file_key(key_path),
        _file_key(cert_path),
        tuple(chain),
        _secret_key(key_password),
    )
    return _cached(key, build)


def load_pkcs11(
    module: str,
    token_label: str,
    key_label: str,
    pin: str | None,
    cert_label: str | None = None,
    cert_path: str | os.PathLike | None = None,
    chain: list[str] | tuple[str, ...] = (),
) -> LoadedSigner:
    """A signer on a PKCS#11 token. The certificate comes from the token (``cert_label``,
    default the key label) or from ``cert_path`` when the token holds only the key.
    The session stays open for the life of the process (token login is slow)."""
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign import pkcs11 as p11

    def build() -> LoadedSigner:
        try:
            session = p11.open_pkcs11_session(
                module, token_criteria=TokenCriteria(label=token_label), user_pin=pin
            )
            signing_cert = None
            if cert_path is not None:
                signing_cert = load_certs([cert_path])[0]
            ca_chain = load_certs(chain) if chain else None
            s = p11.PKCS11Signer(
                session,
                cert_label=None if signing_cert else (cert_label or key_label),
                key_label=key_label,
                signing_cert=signing_cert,
                ca_chain=ca_chain,
            )
            s.signing_cert  # noqa: B018 -- pulls the certificate now, so errors surface here
        except SigningError:
            raise
        except Exception as exc:
            raise SigningError(f"PKCS#11 token {token_label!r} key {key_label!r}: {exc}") from exc
        return LoadedSigner(s, f"pkcs11:{token_label}/{key_label}")

    key = (
        "p11",
        module,
        token_label,
        key_label,
        cert_label,
        str(cert_path),
        tuple(chain),
        _secret_key(pin),
    )
    return _cached(key, build)


# -- appearances ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LeaderStampStyle(TextStampStyle):
    """Decree 30 leader signature: position line(s) on top, the signature image in the middle,
    the full name at the bottom, each line centred."""

    position: str = ""
    name: str = ""

    def create_stamp(self, writer, box, text_params) -> TextStamp:
        return _LeaderStamp(writer=writer, style=self, box=box, text_params=text_params)


class _LeaderStamp(TextStamp):
    def _render_inner_content(self):
        st: LeaderStampStyle = self.style
        size = st.text_box_style.font_size
        engine = st.text_box_style.font.create_font_engine(self.writer)
        engine.font_size = size
        self.set_resource(
            category=ResourceType.FONT, name=NameObject("/FLead"), value=engine.as_resource()
        )
        width, height = self.box.width, self.box.height
        lead = size * 1.25

        def line(text: str, y: float) -> bytes:
            shaped = engine.shape(text)
            x = max((width - shaped.x_advance * size) / 2, 0)
            return b"BT /FLead %g Tf %g %g Td %s ET" % (size, x, y, shaped.graphics_ops)

        cmds = []
        y = height - size
        for text in [t for t in st.position.splitlines() if t.strip()]:
            cmds.append(line(text, y))
            y -= lead
        if st.name:
            cmds.append(line(st.name, size * 0.4))
        return cmds


def _pages(reader: PdfFileReader) -> list[pdf_guard.Page]:
    """The pages, walked once within bounds (a looping page tree is refused, not followed)."""
    try:
        pages = reader.root.raw_get("/Pages")
    except KeyError as exc:
        raise pdf_guard.PdfStructureError("the PDF has no page tree (/Pages)") from exc
    return pdf_guard.page_tree(pages)


def _page_size(pages: list[pdf_guard.Page], page: int) -> tuple[float, float]:
    """Width and height of a page (MediaBox is inheritable: the walk carried it down)."""
    if not 0 <= page < len(pages):
        raise SigningError(f"page {page + 1} does not exist")
    return pdf_guard.page_size(pages[page])


def _page_ids(pages: list[pdf_guard.Page]) -> list[int | None]:
    """Object numbers of the pages, in order."""
    return [p.ref.idnum if p.ref is not None else None for p in pages]


def _leader_widget(
    reader: PdfFileReader, pages: list[pdf_guard.Page]
) -> tuple[tuple[float, ...] | None, int | None]:
    """Rectangle and page of the last leader signature, for the agency seal."""
    found: tuple[tuple[float, ...] | None, int | None] = (None, None)
    for name, _value, ref in fields.enumerate_sig_fields(reader, filled_status=True):
        if not name.startswith("leader"):
            continue
        widget = ref.get_object()
        if "/Rect" not in widget and "/Kids" in widget:
            widget = widget["/Kids"][0].get_object()
        rect = widget.get("/Rect")
        if rect is None:
            continue
        page = None
        try:
            page = _page_ids(pages).index(widget.raw_get("/P").idnum)
        except Exception:  # no /P, or not a reference: page unknown
            page = None
        found = (tuple(float(v) for v in rect), page)
    return found


def _font(path: str | None, size: int, bold: bool = False) -> ScaledGlyphAccumulatorFactory:
    return ScaledGlyphAccumulatorFactory(
        stamp_font(path or default_serif_font(bold)), font_size=size
    )


def _esc(text: str) -> str:
    # pyHanko %-formats stamp text with its own parameters.
    return text.replace("%", "%%")


def _stamp_and_box(
    app: Appearance, reader: PdfFileReader, pages: list[pdf_guard.Page], now: datetime
) -> tuple[object | None, tuple[float, float, float, float] | None, int]:
    if app.role == "invisible":
        return None, None, 0
    count = len(pages)
    requested_page = app.page
    page = 0 if app.role == "attachment" else app.page
    if page < 0:
        page += count
    if not 0 <= page < count:
        raise SigningError(f"page {app.page + 1 if app.page >= 0 else app.page} does not exist")
    app = replace(app, page=page)
    width, height = _page_size(pages, page)
    if app.role == "attachment":
        # Top right of page 1, text only, black, 10 pt: number/symbol and signing time.
        box = app.box or (
            width - 20 * MM - 170,
            height - 8 * MM - 28,
            width - 20 * MM,
            height - 8 * MM,
        )
        text = (
            f"{app.number}\n{now.isoformat(timespec='seconds')}"
            if app.number
            else now.isoformat(timespec="seconds")
        )
        style = TextStampStyle(
            stamp_text=_esc(text),
            text_box_style=TextBoxStyle(font=_font(app.font, 10), font_size=10),
            border_width=0,
        )
        return style, box, 0
    if app.role == "leader":
        box = app.box or (width - 20 * MM - 220, 60 * MM, width - 20 * MM, 60 * MM + 120)
        size = 11
        n_pos = len([t for t in app.position.splitlines() if t.strip()])
        style = LeaderStampStyle(
            stamp_text="",
            position=app.position.upper(),
            name=app.name,
            # Decree 30: position in bold capitals, the name in bold
            text_box_style=TextBoxStyle(font=_font(app.font, size, bold=True), font_size=size),
            border_width=0,
            background=PdfImage(app.image) if app.image else None,
            background_opacity=1.0,
            background_layout=layout.SimpleBoxLayoutRule(
                x_align=layout.AxisAlignment.ALIGN_MID,
                y_align=layout.AxisAlignment.ALIGN_MID,
                margins=layout.Margins(
                    left=4, right=4, top=n_pos * size * 1.25 + 4, bottom=size * 1.6 + 4
                ),
            ),
        )
        return style, box, app.page
    # agency: the red seal at the left of the leader's signature, covering its left third
    if not app.image:
        raise SigningError("the agency signature needs the seal image (--image)")
    box = app.box
    if box is None:
        lead, lead_page = _leader_widget(reader, pages)
        if lead is not None and lead_page is not None and requested_page == -1:
            page = lead_page  # the seal goes where the leader signed
        if lead is None:
            lead = (width - 20 * MM - 220, 60 * MM, width - 20 * MM, 60 * MM + 120)
        x1, y1, x2, y2 = lead
        side = min(y2 - y1, 120.0)
        # the seal's right edge lies one third into the leader's stamp: it covers that
        # left third and extends further left (Decree 30/2020, Appendix I)
        right, cy = x1 + (x2 - x1) / 3, (y1 + y2) / 2
        box = (right - side, cy - side / 2, right, cy + side / 2)
    style = StaticStampStyle(
        background=PdfImage(app.image),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )
    return style, box, page


def stamp_preview(data: bytes, appearance: Appearance) -> tuple[bytes, int]:
    """The PDF with the visible stamp drawn where `sign_pdf` puts it (the same box, style and
    page), and that page (0-based): what a leader sees before signing. Nothing is signed: the
    stamp is plain page content added as an incremental update, the time is now."""
    writer, pages = _open(data)
    now = datetime.now(VN_TZ).replace(microsecond=0)
    style, box, page = _stamp_and_box(appearance, writer.prev, pages, now)
    if style is None or box is None:
        return data, max(len(pages) - 1, 0)
    x1, y1, x2, y2 = (int(v) for v in box)  # as the signature field's box is given
    stamp = style.create_stamp(writer, layout.BoxConstraints(width=x2 - x1, height=y2 - y1), {})
    stamp.apply(page, x1, y1)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), page


# -- signing -------------------------------------------------------------------------------


def _next_field_name(reader: PdfFileReader, role: str) -> str:
    names = {name for name, _v, _r in fields.enumerate_sig_fields(reader)}
    n = 1
    while f"{role}-{n}" in names:
        n += 1
    return f"{role}-{n}"


def _embed_earlier_revinfo(data: bytes, vc: ValidationContext) -> bytes:
    """Add DSS entries (certificates, OCSP/CRL) for signatures already in the document, each
    as an incremental update, so that a B-LT/B-LTA step makes every signature long-term
    verifiable, not only the new one. A signature that cannot be validated is left alone:
    signing must not depend on someone else's signature."""
    from pyhanko.sign.validation import add_validation_info

    try:
        count = len(PdfFileReader(io.BytesIO(data), strict=False).embedded_regular_signatures)
    except Exception:
        return data
    for i in range(count):
        try:
            es = PdfFileReader(io.BytesIO(data), strict=False).embedded_regular_signatures[i]
            # no VRI entry: rewriting an existing one counts as a forbidden change
            out = add_validation_info(es, vc, add_vri_entry=False, output=io.BytesIO())
            data = out.getvalue()
        except Exception as exc:
            log.warning("no revocation data added for earlier signature %d: %s", i + 1, exc)
    return data


def _open(data: bytes) -> tuple[IncrementalPdfFileWriter, list[pdf_guard.Page]]:
    """The PDF to sign and its pages, the page tree checked before anything else walks it
    (pdf_guard.PdfStructureError)."""
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    except Exception as exc:
        raise SigningError(f"not a readable PDF: {exc}") from exc
    return writer, _pages(writer.prev)


def sign_pdf(
    data: bytes,
    signer: LoadedSigner,
    *,
    level: Level = "B-B",
    tsa_url: str | None = None,
    appearance: Appearance | None = None,
    trust: list[str] | tuple[str, ...] = (),
    validation_context: ValidationContext | None = None,
    field_name: str | None = None,
    reason: str | None = None,
    location: str | None = None,
    md_algorithm: str = "sha256",
) -> bytes:
    """Sign ``data`` (a PDF) as an incremental update; earlier signatures stay valid.

    B-T and above need ``tsa_url``; B-LT and B-LTA need trust roots (``trust`` paths or a
    ``validation_context``) and fetch OCSP/CRL for the signer's chain to embed in the DSS.
    """
    if level not in LEVELS:
        raise SigningError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    if level != "B-B" and not tsa_url:
        raise SigningError(f"level {level} needs a timestamp authority URL (--tsa)")
    app = appearance or Appearance()
    writer, pages = _open(data)
    vc = None
    if level in ("B-LT", "B-LTA"):
        vc = validation_context
        if vc is None:
            certs = load_certs(trust) if trust else []
            if not certs:
                raise SigningError(f"level {level} needs trust roots (--trust)")
            vc = ValidationContext(trust_roots=certs, allow_fetching=True)
        # long-term validation for the whole document: earlier signers' revocation data too
        data = _embed_earlier_revinfo(data, vc)
        writer, pages = _open(data)
    reader = writer.prev
    now = datetime.now(VN_TZ).replace(microsecond=0)
    stamp_style, box, page = _stamp_and_box(app, reader, pages, now)
    name = field_name or _next_field_name(reader, app.role if app.role != "invisible" else "sig")

    meta = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm=md_algorithm,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        embed_validation_info=vc is not None,
        validation_context=vc,
        use_pades_lta=level == "B-LTA",
    )
    timestamper = RequestsHTTPTimeStamper(tsa_url, timeout=10) if level != "B-B" else None
    field_spec = (
        fields.SigFieldSpec(sig_field_name=name, on_page=page, box=tuple(int(v) for v in box))
        if box is not None
        else fields.SigFieldSpec(sig_field_name=name)
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=signer.signer,
        timestamper=timestamper,
        stamp_style=stamp_style,
        new_field_spec=field_spec,
    )
    reserve = signer.reserve_hex + (2 * 12_000 if timestamper else 0)
    out = io.BytesIO()
    try:
        # A PKCS#11 session is not safe for concurrent use; software keys would be, but one
        # lock per signer keeps the rule simple.
        with signer.lock, _speedups.fast_encoding():
            try:
                pdf_signer.sign_pdf(writer, bytes_reserved=reserve, output=out)
            except Exception as exc:
                text = str(exc).lower()
                if "allocated" not in text and "reserved" not in text:
                    raise
                # Our estimate was short (unusual certificates): let pyHanko measure.
                writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
                out = io.BytesIO()
                pdf_signer.sign_pdf(writer, output=out)
    except SigningError:
        raise
    except Exception as exc:
        if signer.description.startswith("pkcs11:"):
            _evict(signer)  # the session may be dead (token removed, module reset)
        raise SigningError(f"signing failed: {type(exc).__name__}: {exc}") from exc
    return out.getvalue()
