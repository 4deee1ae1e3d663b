"""Validation of every signature in a PDF against configured trust, as ETSI EN 319 102-1 names it.

    config = ValidationConfig(trust=load_trust(["/etc/axis/trust"]), revocation="soft-fail")
    report = validate_pdf(pdf_bytes, config)      # never raises on bad input
    report.indication, report.to_dict(), report.render_summary()

Heavy, immutable state (parsed trust roots, trust manager, intermediates, policies) is built
once per ValidationConfig and shared; everything that depends on the document (certificate
registry, revocation data from the DSS, path cache) is built per PDF, so concurrent calls from a
thread pool never see each other's certificates and verdicts do not depend on call order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from asn1crypto import x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import CertRevTrustPolicy, RevocationCheckingPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from formats import pdf_guard
from formats.findings import Finding
from signing import _speedups, modifications, trustlist, validation_cache
from signing.report import (
    INDETERMINATE,
    TOTAL_FAILED,
    TOTAL_PASSED,
    CertInfo,
    Indication,
    PdfReport,
    SignatureReport,
)
from signing.trust import load_certs

_speedups.install()
validation_cache.install()

log = logging.getLogger(__name__)
# pyHanko logs every chain it cannot build or validate as a warning with a traceback; the
# report already says why (SIG_CHAIN_UNTRUSTED, SIG_REVOKED...), so `axis verify` and the
# hub's log would only repeat it, noisily, for every untrusted document.
logging.getLogger("pyhanko.sign.validation.generic_cms").setLevel(logging.ERROR)
RevocationMode = Literal["hard-fail", "soft-fail", "off"]
WEAK_DIGESTS = frozenset({"md5", "sha1", "md2", "md4"})
AGENCY_CODE_RE = re.compile(r"\b[0-9A-Z]{2,3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}\b")


# -- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustConfig:
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...] = ()
    # the trust list's version and SHA-256, recorded in every report (signing/trustlist.py);
    # left out, it is the SHA-256 of these certificates with no version
    trust_list: dict | None = None

    def __post_init__(self) -> None:
        for cert in self.roots + self.intermediates:
            _speedups.warm(cert)  # read by every validation's thread from now on
        if self.trust_list is None:
            ident = trustlist.identity(self.roots, self.intermediates)
            object.__setattr__(self, "trust_list", ident)


def load_trust(paths: Iterable[str], intermediates: Iterable[str] = ()) -> TrustConfig:
    """Trust from PEM/DER files or directories. Self-signed certificates in ``paths`` become
    roots, the others intermediates (so one directory can hold a whole chain); certificates
    from ``intermediates`` are only ever used to complete chains.
    Raises ``signing.trust.TrustError`` on a missing path or a non-certificate file."""
    roots: list[x509.Certificate] = []
    interm: list[x509.Certificate] = []
    for cert in load_certs(paths):
        (roots if cert.self_signed in ("maybe", "yes") else interm).append(cert)
    interm.extend(load_certs(intermediates))
    return TrustConfig(tuple(roots), tuple(interm))


@dataclass(frozen=True)
class ValidationConfig:
    trust: TrustConfig
    revocation: RevocationMode = "soft-fail"
    allow_fetching: bool = False  # OCSP/CRL/AIA over HTTP; off = only data in the PDF
    time_limit: float | None = 10.0  # seconds per PDF; None = no limit (runs inline)
    max_bytes: int = 100 * 1024 * 1024
    min_rsa_bits: int = 2048
    weak_digests: frozenset[str] = WEAK_DIGESTS
    fetch_timeout: float = 5.0
    # Validate once per certificate (signing/validation_cache.py): revocation data fetched
    # over HTTP is kept until its nextUpdate and at most revocation_max_age seconds; a path
    # that validated is trusted again for path_cache_s seconds at most. False: every PDF
    # validates from scratch (the reference the cache is tested against).
    cache: bool = True
    revocation_max_age: float = 3600.0
    path_cache_s: float = 300.0
    _engine: _Engine | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_paths(
        cls, trust: Iterable[str], intermediates: Iterable[str] = (), **kwargs
    ) -> ValidationConfig:
        return cls(trust=load_trust(trust, intermediates), **kwargs)

    def engine(self) -> _Engine:
        eng = self._engine
        if eng is None:
            with _engine_lock:
                eng = self._engine
                if eng is None:
                    eng = _Engine(self)
                    object.__setattr__(self, "_engine", eng)
        return eng


_engine_lock = threading.Lock()


class _Engine:
    """What is built once per config and shared by every validation."""

    def __init__(self, cfg: ValidationConfig) -> None:
        if cfg.revocation not in ("hard-fail", "soft-fail", "off"):
            raise ValueError(f"revocation must be hard-fail, soft-fail or off: {cfg.revocation}")
        self.cfg = cfg
        for cert in (*cfg.trust.roots, *cfg.trust.intermediates):
            _speedups.fully_parsed(cert)  # shared by every validation thread
        self.trust_manager = SimpleTrustManager.build(trust_roots=list(cfg.trust.roots))
        self.intermediates = list(cfg.trust.intermediates)
        legacy = "none" if cfg.revocation == "off" else cfg.revocation
        self.revinfo_policy = CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy(legacy))
        # Leaders' certificates carry nonRepudiation, agencies' often only digitalSignature.
        self.key_usage = KeyUsageConstraints(
            key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False
        )
        self.diff_policy = modifications.DIFF_POLICY
        self.no_revocation = CertRevTrustPolicy(RevocationCheckingPolicy.from_legacy("none"))
        # validating at a past time (a timestamp): revocation data issued later still tells
        # whether the certificate was revoked by then
        self.past_policy = CertRevTrustPolicy(
            RevocationCheckingPolicy.from_legacy(legacy), retroactive_revinfo=True
        )
        self.revocation = (
            validation_cache.RevocationCache(
                per_request_timeout=cfg.fetch_timeout, max_age=cfg.revocation_max_age
            )
            if cfg.cache and cfg.allow_fetching
            else None
        )
        self.paths = validation_cache.PathCache(window=cfg.path_cache_s) if cfg.cache else None

    def clear_caches(self) -> None:
        if self.revocation is not None:
            self.revocation.clear()
        if self.paths is not None:
            self.paths.clear()

    def context(
        self,
        reader: PdfFileReader,
        extra_certs: list[x509.Certificate],
        policy=None,
        moment: datetime | None = None,
    ):
        policy = policy or self.revinfo_policy
        kwargs = dict(
            moment=moment,
            trust_manager=self.trust_manager,
            other_certs=self.intermediates + self._fetched_issuers() + extra_certs,
            revinfo_policy=policy,
            allow_fetching=self.cfg.allow_fetching,
            # explicit empty lists: "hard-fail" offline then fails the check on missing
            # revocation data (TRY_LATER) instead of refusing to build the context
            crls=[],
            ocsps=[],
        )
        fetchers = None
        if self.revocation is not None:
            kwargs["fetchers"] = fetchers = self.revocation.fetchers()
        elif self.cfg.allow_fetching:
            from pyhanko_certvalidator.fetchers.requests_fetchers import (
                RequestsFetcherBackend,
            )

            kwargs["fetcher_backend"] = RequestsFetcherBackend(
                per_request_timeout=self.cfg.fetch_timeout
            )
        dss_certs: list = []
        try:
            dss = DocumentSecurityStore.read_dss(reader)
        except Exception:  # no DSS (the usual case) or an unreadable one: nothing to add
            vc = ValidationContext(**kwargs)
        else:
            vc = dss.as_validation_context(kwargs)
            dss_certs = list(dss.load_certs())
        if self.paths is not None and moment is None:
            # Besides the signer's certificate, what decides the path found and its verdict:
            # the certificates the document brings (paths are built from them) and its own
            # revocation data (B-LT); trust and policies are this engine's and `policy`.
            local = (tuple(vc.ocsps), tuple(vc.crls))
            digest = hashlib.sha256()
            for cert in sorted({c.sha256 for c in (*kwargs["other_certs"], *dss_certs)}):
                digest.update(cert)
            for item in (*local[0], *local[1]):
                digest.update(hashlib.sha256(item.dump()).digest())
            validation_cache.mark(
                vc,
                self.paths,
                (id(self), id(policy), digest.digest()),
                validation_cache.revinfo_until(fetchers, local),
            )
        return vc

    def _fetched_issuers(self) -> list[x509.Certificate]:
        # CA certificates earlier validations fetched through AIA, only where fetching is on
        return trustlist.ISSUERS.certs() if self.cfg.allow_fetching else []


# -- running with a deadline ---------------------------------------------------------------

_loops = threading.local()
_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _run(coro):
    """Run a coroutine on this thread's own event loop (asyncio.run would build one per call)."""
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coro)


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # Generous: a worker still busy with a PDF that overran its deadline must not make
            # the next PDFs queue behind it (threads waiting for the GIL cost little).
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=max(32, 4 * (os.cpu_count() or 1)), thread_name_prefix="sigval"
            )
        return _pool


def validate_pdf(data: bytes, config: ValidationConfig) -> PdfReport:
    """Validate every signature of a PDF. Never raises for bad input; thread-safe.

    With ``config.time_limit`` the work runs on a worker thread and a report with
    ``SIG_TIMEOUT`` comes back at the deadline (the worker finishes in the background:
    Python cannot stop a thread, and pyHanko holds no lock we would leave taken)."""
    started = time.perf_counter()
    if config.time_limit is None:
        if _loop_running():
            # pyHanko is driven by an event loop of its own, which cannot run inside the
            # caller's: hop to a worker thread (called from async code, better use a limit)
            return _executor().submit(_validate, data, config, started, None).result()
        return _validate(data, config, started, None)
    deadline = started + config.time_limit
    fut = _executor().submit(_validate, data, config, started, deadline)
    try:
        return fut.result(timeout=config.time_limit)
    except concurrent.futures.TimeoutError:
        rep = _new_report(data, config)
        _timed_out(rep, config.time_limit)
        rep.duration_ms = (time.perf_counter() - started) * 1000
        return rep


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _timed_out(rep: PdfReport, limit: float) -> None:
    rep.signatures.clear()  # a partial answer would read as a verdict on fewer signatures
    rep.findings.append(
        Finding.warning(
            "SIG_TIMEOUT", "", f"signature validation took longer than {limit:g} s; try again later"
        )
    )
    rep.indication, rep.sub_indication = INDETERMINATE, "TRY_LATER"


def _new_report(data: bytes, cfg: ValidationConfig) -> PdfReport:
    rep = PdfReport(sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    rep.trust_list = cfg.trust.trust_list
    return rep


def _file_failure(rep: PdfReport, code: str, message: str) -> PdfReport:
    rep.findings.append(Finding.error(code, "", message))
    rep.indication, rep.sub_indication = TOTAL_FAILED, "FORMAT_FAILURE"
    return rep


def _validate(data: bytes, cfg: ValidationConfig, started: float, deadline: float | None):
    rep = _new_report(data, cfg)
    try:
        _validate_into(rep, data, cfg, deadline)
    except Exception as exc:  # a last net: bad input must give a report, not a 500
        log.info("validation failed on %s", rep.sha256, exc_info=exc)
        _file_failure(rep, "SIG_MALFORMED", f"the PDF could not be read: {_short(exc)}")
    rep.finish()
    rep.duration_ms = (time.perf_counter() - started) * 1000
    return rep


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "..."


def _validate_into(rep: PdfReport, data: bytes, cfg: ValidationConfig, deadline) -> None:
    if len(data) > cfg.max_bytes:
        _file_failure(rep, "SIG_TOO_LARGE", f"PDF larger than {cfg.max_bytes} bytes")
        return
    if b"%PDF-" not in data[:1024]:
        _file_failure(rep, "SIG_NOT_A_PDF", "the file is not a PDF (no %PDF- header)")
        return
    eng = cfg.engine()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.encrypted and not _open_encrypted(reader):
            _file_failure(
                rep, "SIG_ENCRYPTED", "the PDF is encrypted with a password; cannot validate"
            )
            return
        pdf_guard.page_tree(reader.root.raw_get("/Pages"))  # before anything walks it
        embedded = reader.embedded_signatures
    except pdf_guard.PdfStructureError as exc:
        _file_failure(rep, exc.code, f"the PDF structure is unsafe to read: {exc}")
        return
    except Exception as exc:
        _file_failure(rep, "SIG_MALFORMED", f"the PDF structure is broken: {_short(exc)}")
        return
    try:
        unsupported = (
            _unsupported_signatures(reader, embedded) if _maybe_skipped(data, embedded) else []
        )
    except Exception:  # the supported ones still get their verdict
        unsupported = []
    if not embedded:
        rep.signatures.extend(unsupported)
        if unsupported:
            return
        rep.findings.append(
            Finding.warning("SIG_NO_SIGNATURE", "", "the PDF carries no digital signature")
        )
        return
    extra = _embedded_certs(embedded)
    vc = eng.context(reader, extra)
    doc = _DocFacts.collect(reader, embedded, extra)
    try:
        for i, es in enumerate(embedded, start=1):
            if deadline is not None and time.perf_counter() > deadline:
                _timed_out(rep, cfg.time_limit or 0)
                return
            rep.signatures.append(_one(i, es, vc, eng, doc))
        _uphold_countersignatures(rep.signatures)
        rep.signatures.extend(unsupported)
    finally:
        if cfg.allow_fetching:
            trustlist.ISSUERS.remember(vc)
            _run(vc.aclose())


def _open_encrypted(reader: PdfFileReader) -> bool:
    """Documents encrypted with an owner password only open with the empty user password."""
    from pyhanko.pdf_utils.crypt import AuthStatus

    try:
        return reader.decrypt(b"").status != AuthStatus.FAILED
    except Exception:
        return False


_SUBFILTER_RE = re.compile(rb"/SubFilter\s*/([^\s/<>\[\]()]+)")
_BYTERANGE_RE = re.compile(rb"/ByteRange\s*\[")
_SUPPORTED = {b"adbe.pkcs7.detached", b"ETSI.CAdES.detached", b"ETSI.RFC3161", b"PBAD.PAdES"}


def _maybe_skipped(data: bytes, embedded) -> bool:
    """Cheap test of whether pyHanko may have skipped a signature: signature dictionaries are
    never in object streams (their /Contents offsets are in the raw file), so an unknown
    /SubFilter or more /ByteRange arrays than signatures shows in the bytes."""
    if any(sf not in _SUPPORTED for sf in _SUBFILTER_RE.findall(data)):
        return True
    return len(_BYTERANGE_RE.findall(data)) > len(embedded)


def _unsupported_signatures(reader: PdfFileReader, embedded) -> list[SignatureReport]:
    """Filled signature fields pyHanko skipped (SubFilter it does not validate)."""
    from pyhanko.sign.fields import enumerate_sig_fields

    known = {es.field_name for es in embedded}
    out = []
    for name, value, _ref in enumerate_sig_fields(reader, filled_status=True):
        if name in known:
            continue
        sub = str(value.get_object().get("/SubFilter", "")).lstrip("/")
        i = len(embedded) + len(out) + 1
        sr = SignatureReport(i, str(name), "signature", INDETERMINATE, None, subfilter=sub or None)
        if sub in ("adbe.x509.rsa_sha1", "adbe.pkcs7.sha1"):
            _fail(
                sr,
                INDETERMINATE,
                "CRYPTO_CONSTRAINTS_FAILURE",
                "SIG_WEAK_ALGORITHM",
                f"signature[{i}]",
                f"legacy {sub} signature (SHA-1)",
            )
        else:
            _fail(
                sr,
                INDETERMINATE,
                "FORMAT_FAILURE",
                "SIG_UNSUPPORTED",
                f"signature[{i}]",
                f"unsupported signature format (SubFilter {sub or 'none'})",
            )
        out.append(sr)
    return out


def _embedded_certs(embedded: list[EmbeddedPdfSignature]) -> list[x509.Certificate]:
    out: list[x509.Certificate] = []
    for es in embedded:
        try:
            out.extend(es.other_embedded_certs)
            out.append(es.signer_cert)
        except Exception:
            continue  # broken CMS: reported by its own signature entry
    return out


@dataclass
class _DocFacts:
    has_dss_revinfo: bool
    timestamp_revisions: list[int]
    reader: PdfFileReader
    extra_certs: list[x509.Certificate]
    signature_revisions: dict[int, int]  # signed revision -> index of a signature (not a timestamp)

    @classmethod
    def collect(cls, reader: PdfFileReader, embedded, extra) -> _DocFacts:
        revinfo = False
        try:
            dss = reader.root.get("/DSS")
            if dss is not None:
                dss = dss.get_object()
                revinfo = bool(dss.get("/OCSPs") or dss.get("/CRLs"))
        except Exception:
            revinfo = False
        ts_revs, sig_revs = [], {}
        for i, es in enumerate(embedded, start=1):
            try:
                if (
                    es.sig_object_type == "/DocTimeStamp"
                    or es.sig_object.get("/SubFilter") == "/ETSI.RFC3161"
                ):
                    ts_revs.append(es.signed_revision)
                else:
                    sig_revs[es.signed_revision] = i
            except Exception:
                continue
        return cls(revinfo, ts_revs, reader, extra, sig_revs)


# -- one signature ---------------------------------------------------------------------------

_TRUST_FINDINGS: dict[str, tuple[str, str]] = {
    # sub-indication -> (finding code, message)
    "REVOKED": ("SIG_REVOKED", "the signer's certificate has been revoked"),
    "REVOKED_NO_POE": ("SIG_REVOKED", "the signer's certificate has been revoked"),
    "REVOKED_CA_NO_POE": ("SIG_REVOKED", "a CA certificate in the chain has been revoked"),
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "SIG_CHAIN_UNTRUSTED",
        "the signer's certificate does not chain to a trusted root",
    ),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": (
        "SIG_CHAIN_INVALID",
        "the certificate chain could not be validated",
    ),
    "CHAIN_CONSTRAINTS_FAILURE": ("SIG_CHAIN_INVALID", "the certificate chain is not valid"),
    "EXPIRED": ("SIG_EXPIRED", "the signer's certificate had expired when it was used"),
    "OUT_OF_BOUNDS_NO_POE": (
        "SIG_EXPIRED",
        "the signer's certificate is expired or not yet valid at the signing time",
    ),
    "OUT_OF_BOUNDS_NOT_REVOKED": (
        "SIG_EXPIRED",
        "the signer's certificate is outside its validity period",
    ),
    "NOT_YET_VALID": ("SIG_EXPIRED", "the signer's certificate was not yet valid"),
    "TRY_LATER": (
        "SIG_REVOCATION_UNKNOWN",
        "the revocation status of the signer's certificate could not be established",
    ),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": (
        "SIG_REVOCATION_UNKNOWN",
        "no fresh revocation information for the signer's certificate",
    ),
    "CRYPTO_CONSTRAINTS_FAILURE": (
        "SIG_WEAK_ALGORITHM",
        "a weak algorithm is used in the signature or its chain",
    ),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": (
        "SIG_WEAK_ALGORITHM",
        "a weak algorithm is used in the signature or its chain",
    ),
    "SIG_CONSTRAINTS_FAILURE": (
        "SIG_KEY_USAGE",
        "the signer's certificate is not allowed to sign documents (key usage)",
    ),
}


def _one(i: int, es: EmbeddedPdfSignature, vc, eng: _Engine, doc: _DocFacts) -> SignatureReport:
    path = f"signature[{i}]"
    try:
        # a plain str: pyHanko's TextStringObject drags the parsed PDF into every
        # dataclasses.asdict deep copy (issue 17: 30% of the hub's time)
        name = str(es.field_name or f"#{i}")
    except Exception:
        name = f"#{i}"
    try:
        is_ts = es.sig_object_type == "/DocTimeStamp"
        # a document timestamp some tools type /Sig (or leave untyped): its SubFilter says
        # what it is (ETSI EN 319 142-1 5.4), so it is judged as a timestamp
        typed_sig_ts = not is_ts and es.sig_object.get("/SubFilter") == "/ETSI.RFC3161"
    except Exception:
        is_ts = typed_sig_ts = False
    is_ts = is_ts or typed_sig_ts
    kind = "document_timestamp" if is_ts else "signature"
    sr = SignatureReport(i, name, kind, TOTAL_PASSED, None)
    if typed_sig_ts:
        sr.findings.append(
            Finding(
                "SIG_TIMESTAMP_TYPED_SIG",
                "info",
                path,
                "a document timestamp (SubFilter ETSI.RFC3161) whose dictionary is not typed "
                "/DocTimeStamp; judged as a document timestamp",
            )
        )
    try:
        sr.subfilter = str(es.sig_object.get("/SubFilter", "")).lstrip("/") or None
        signer_cert = es.signer_cert
    except Exception as exc:
        return _fail(
            sr,
            TOTAL_FAILED,
            "FORMAT_FAILURE",
            "SIG_MALFORMED",
            path,
            f"the signature's CMS data cannot be read: {_short(exc)}",
        )
    sr.signer = _cert_info(signer_cert)
    try:
        si = es.signer_info
        sr.digest_algorithm = si["digest_algorithm"]["algorithm"].native
        sr.signature_algorithm = si["signature_algorithm"].signature_algo
    except Exception:
        pass
    sr.key_usage = sorted(signer_cert.key_usage_value.native) if signer_cert.key_usage_value else []

    try:
        if typed_sig_ts:
            status = _run(_validate_timestamp_any_type(es, vc, eng.diff_policy))
        elif is_ts:
            status = _run(
                async_validate_pdf_timestamp(es, validation_context=vc, diff_policy=eng.diff_policy)
            )
        else:
            status = _run(
                async_validate_pdf_signature(
                    es,
                    signer_validation_context=vc,
                    diff_policy=eng.diff_policy,
                    key_usage_settings=eng.key_usage,
                )
            )
    except Exception as exc:
        return _fail(
            sr,
            TOTAL_FAILED,
            "FORMAT_FAILURE",
            "SIG_MALFORMED",
            path,
            f"the signature could not be processed: {_short(exc)}",
        )

    sr.coverage = status.coverage.name if status.coverage is not None else None
    level = status.modification_level
    sr.modification_level = level.name if level is not None else None
    if status.validation_path is not None:
        sr.chain = [_cert_info(c) for c in status.validation_path.iter_certs(include_root=True)]
    if is_ts:
        sr.timestamp_time = _iso(status.timestamp)
    else:
        sr.signing_time = _iso(status.signer_reported_dt)
        tsv = status.timestamp_validity
        if tsv is not None:
            sr.timestamp_time = _iso(tsv.timestamp)
        sr.pades_level = _pades_level(sr, es, tsv, doc)

    # 1. integrity: digest, signature value, what the ByteRange covers
    if not status.intact:
        return _fail(
            sr,
            TOTAL_FAILED,
            "HASH_FAILURE",
            "SIG_HASH_FAILURE",
            path,
            "the document was changed after signing (digest mismatch)",
        )
    if status.coverage is None or status.coverage < SignatureCoverageLevel.ENTIRE_REVISION:
        return _fail(
            sr,
            TOTAL_FAILED,
            "FORMAT_FAILURE",
            "SIG_COVERAGE_INCOMPLETE",
            path,
            "the signature's ByteRange leaves parts of the file unsigned",
        )
    weak = _weak_reason(sr, signer_cert, eng.cfg)
    if weak:
        return _fail(
            sr, INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", "SIG_WEAK_ALGORITHM", path, weak
        )
    if not status.valid:
        return _fail(
            sr,
            TOTAL_FAILED,
            "SIG_CRYPTO_FAILURE",
            "SIG_CRYPTO_FAILURE",
            path,
            "the signature value does not verify with the signer's public key",
        )
    # 2. changes made after signing
    undecided = False
    diff = getattr(status, "diff_result", None)
    if isinstance(diff, SuspiciousModification):
        # pyHanko's rules cannot explain an update: look at what a reader shows
        kind_, why = modifications.explain(diff)
        try:
            shown = modifications.visible_change(doc.reader, es.signed_revision)
            if shown is not None and _countersigned(sr, es, doc, path):
                shown, kind_ = None, "countersigned"
        except Exception as exc:
            shown, why = None, f"{why}; the pages could not be compared: {_short(exc)}"
        if kind_ == "countersigned":
            pass
        elif shown is not None:
            return _fail(
                sr,
                TOTAL_FAILED,
                "FORMAT_FAILURE",
                "SIG_MODIFIED_AFTER_SIGNING",
                path,
                f"the document was modified after signing: {shown}",
            )
        else:
            undecided = True
            sr.findings.append(
                Finding.warning(
                    "SIG_MODIFICATION_UNDECIDED",
                    path,
                    "changes made after signing could not be classified "
                    f"({'analysis failed' if kind_ == 'failed' else 'unexplained update'}: "
                    f"{why}); the pages, their content and visible annotations are unchanged",
                )
            )
    elif level is not None and ModificationLevel.FORM_FILLING <= level < ModificationLevel.OTHER:
        # pyHanko allows form filling and annotations after an approval signature; a hub
        # must not: a field value or comment drawn over the page changes what was signed
        try:
            shown = modifications.visible_change(doc.reader, es.signed_revision)
            if shown is not None and _countersigned(sr, es, doc, path):
                shown = None
        except Exception:
            shown = None  # pyHanko explained every update; nothing more to say
        if shown is not None:
            return _fail(
                sr,
                TOTAL_FAILED,
                "FORMAT_FAILURE",
                "SIG_MODIFIED_AFTER_SIGNING",
                path,
                f"the document was modified after signing: {shown}",
            )
    if undecided or sr.countersigned_by:
        pass
    elif (
        level is not None
        and level >= ModificationLevel.OTHER
        or (getattr(status, "docmdp_ok", True) is False)
    ):
        return _fail(
            sr,
            TOTAL_FAILED,
            "FORMAT_FAILURE",
            "SIG_MODIFIED_AFTER_SIGNING",
            path,
            "the document was modified after signing in a way that is not allowed "
            f"(modification level {sr.modification_level})",
        )
    # 3. trust, revocation, validity period, key usage (pyHanko's AdES sub-indication)
    indic = status.trust_problem_indic
    waived = False
    if indic is not None:
        sub = indic.name
        ind: Indication = TOTAL_FAILED if isinstance(indic, AdESFailure) else INDETERMINATE
        poe = _signature_poe(status) if not is_ts else None
        if sub == "REVOKED_NO_POE" and _revoked_before_poe(status):
            # ETSI EN 319 102-1 5.6.2.4: revoked before the best proof of the signing time
            # (the signature timestamp, or now without one) is a definite failure.
            ind, sub = TOTAL_FAILED, "REVOKED"
        elif (
            sub == "OUT_OF_BOUNDS_NO_POE" and poe is not None and poe > signer_cert.not_valid_after
        ):
            ind, sub = TOTAL_FAILED, "EXPIRED"  # a timestamp proves it was signed too late
        elif (
            sub in ("OUT_OF_BOUNDS_NO_POE", "REVOKED_NO_POE")
            and poe is not None
            and _passes_at(es, eng, doc, poe)
        ):
            # The signature timestamp proves the signature existed at `poe`, when the
            # certificate was still valid or not yet revoked: the chain validates at that time
            # (ETSI EN 319 102-1, validation process for signatures with time).
            sr.findings.append(
                Finding(
                    "SIG_VALIDATED_AT_TIMESTAMP",
                    "info",
                    path,
                    f"the certificate is {'expired' if sub.startswith('OUT') else 'revoked'}"
                    f" now, but was valid at the timestamped signing time {poe.isoformat()}",
                )
            )
            indic, waived = None, True
        elif (
            sub in _STALE_REVOCATION
            and eng.cfg.revocation != "off"
            and poe is not None
            and doc.has_dss_revinfo
            and _passes_at(es, eng, doc, poe)
        ):
            # B-LT: the revocation data embedded when signing is past its validity window now,
            # but was fresh at the time the signature timestamp proves (ETSI EN 319 102-1,
            # validation process for signatures with time: judged at that POE, not now)
            sr.findings.append(
                Finding(
                    "SIG_VALIDATED_AT_TIMESTAMP",
                    "info",
                    path,
                    "the revocation data embedded in the document is no longer fresh; it proves "
                    f"the certificate was not revoked at the timestamped time {poe.isoformat()}",
                )
            )
            indic, waived = None, True
        if (
            indic is not None
            and sub == "CERTIFICATE_CHAIN_GENERAL_FAILURE"
            and eng.cfg.revocation != "off"
            and not is_ts
            and _passes_without_revocation(es, eng, doc)
        ):
            # pyHanko reports unusable revocation data (none for this certificate, or only
            # responses about other certificates, as when a later signer's B-LT step embedded
            # its own OCSP responses) as a generic chain failure. The chain is otherwise fine;
            # a positive "revoked" answer would have been REVOKED. Soft-fail accepts that with
            # a warning, hard-fail says "try later".
            if eng.cfg.revocation == "soft-fail":
                sr.findings.append(
                    Finding.warning(
                        "SIG_REVOCATION_UNKNOWN",
                        path,
                        "the revocation status of the signer's certificate could not be "
                        "checked (soft-fail policy)",
                    )
                )
                indic, waived = None, True
            else:
                sub = "TRY_LATER"
    if indic is not None:
        code, msg = _TRUST_FINDINGS.get(
            sub, ("SIG_CHAIN_INVALID", f"certificate validation failed ({sub})")
        )
        if sr.key_usage and not {"digital_signature", "non_repudiation"} & set(sr.key_usage):
            # pyHanko reports a key usage mismatch as a chain constraint failure
            code, msg = _TRUST_FINDINGS["SIG_CONSTRAINTS_FAILURE"]
        return _fail(sr, ind, sub, code, path, msg)
    if not is_ts:
        tsv = status.timestamp_validity
        if tsv is not None and not (tsv.intact and tsv.valid and tsv.trusted):
            return _fail(
                sr,
                INDETERMINATE,
                "SIG_CONSTRAINTS_FAILURE",
                "SIG_TIMESTAMP_INVALID",
                path,
                "the signature timestamp is not valid or not trusted",
            )
        # pyHanko's bottom line counts the covered annotations (judged above) against it
        if not status.bottom_line and not (waived or undecided or sr.countersigned_by):
            return _fail(
                sr,
                INDETERMINATE,
                "SIG_CONSTRAINTS_FAILURE",
                "SIG_CONSTRAINTS",
                path,
                "the signature does not meet the validation constraints",
            )
    elif not (status.intact and status.valid and status.trusted):
        return _fail(
            sr,
            INDETERMINATE,
            "SIG_CONSTRAINTS_FAILURE",
            "SIG_TIMESTAMP_INVALID",
            path,
            "the document timestamp is not valid or not trusted",
        )
    if undecided:
        # the finding is already there; ETSI: the constraints could not be checked
        sr.indication, sr.sub_indication = INDETERMINATE, "SIG_CONSTRAINTS_FAILURE"
        return sr
    if level is not None and level > ModificationLevel.LTA_UPDATES:
        sr.findings.append(
            Finding(
                "SIG_CHANGES_ALLOWED",
                "info",
                path,
                f"allowed changes after signing: {sr.modification_level}",
            )
        )
    if sr.pades_level is None and not is_ts:
        sr.findings.append(
            Finding(
                "SIG_NOT_PADES", "info", path, f"not a PAdES signature (SubFilter {sr.subfilter})"
            )
        )
    return sr


async def _validate_timestamp_any_type(es: EmbeddedPdfSignature, vc, diff_policy):
    """pyHanko's ``async_validate_pdf_timestamp`` without its /Type check (a document
    timestamp typed /Sig), through the same public steps."""
    from pyhanko.sign.validation import generic_cms
    from pyhanko.sign.validation.status import DocumentTimestampStatus

    es.compute_integrity_info(diff_policy=diff_policy)
    kwargs = await generic_cms.validate_tst_signed_data(es.signed_data, vc, es.compute_digest)
    kwargs["coverage"] = es.coverage
    kwargs["diff_result"] = es.diff_result
    return DocumentTimestampStatus(**kwargs)


# what pyHanko answers when the only revocation data it has is out of its validity window
_STALE_REVOCATION = frozenset(
    {"TRY_LATER", "REVOCATION_OUT_OF_BOUNDS_NO_POE", "CERTIFICATE_CHAIN_GENERAL_FAILURE"}
)


def _passes_without_revocation(es, eng: _Engine, doc: _DocFacts) -> bool:
    vc = eng.context(doc.reader, doc.extra_certs, policy=eng.no_revocation)
    try:
        st = _run(
            async_validate_pdf_signature(
                es, signer_validation_context=vc, key_usage_settings=eng.key_usage, skip_diff=True
            )
        )
    except Exception:
        return False
    return st.trust_problem_indic is None


def _signature_poe(status) -> datetime | None:
    """The time a valid, trusted signature timestamp proves the signature existed at."""
    tsv = status.timestamp_validity
    if tsv is not None and tsv.intact and tsv.valid and tsv.trusted:
        return tsv.timestamp
    return None


def _passes_at(es, eng: _Engine, doc: _DocFacts, moment: datetime) -> bool:
    vc = eng.context(doc.reader, doc.extra_certs, policy=eng.past_policy, moment=moment)
    try:
        st = _run(
            async_validate_pdf_signature(
                es, signer_validation_context=vc, key_usage_settings=eng.key_usage, skip_diff=True
            )
        )
    except Exception:
        return False
    finally:
        if eng.cfg.allow_fetching:
            _run(vc.aclose())
    return st.trust_problem_indic is None


def _revoked_before_poe(status) -> bool:
    details = status.revocation_details
    if details is None or details.ca_revoked:
        return False
    tsv = status.timestamp_validity
    poe = tsv.timestamp if tsv is not None and tsv.valid and tsv.trusted else datetime.now(UTC)
    return details.revocation_date <= poe


def _countersigned(sr: SignatureReport, es, doc: _DocFacts, path: str) -> bool:
    """True, with a warning, when what changed since this signature is annotations added
    before a later signature that covers them (the leader signs, the clerk stamps the number,
    the agency's seal signs): see modifications.countersigned_annotations. That later
    signature must hold: `_uphold_countersignatures` fails this one if it does not."""
    mdp = es.docmdp_level
    if mdp is not None and mdp < MDPPerm.ANNOTATE:
        return False  # a certification signature that forbids annotations is obeyed
    found = modifications.countersigned_annotations(
        doc.reader, es.signed_revision, doc.signature_revisions
    )
    if found is None:
        return False
    what, later = found
    sr.countersigned_by = doc.signature_revisions[later]
    sr.findings.append(
        Finding.warning(
            "SIG_ANNOTATED_BEFORE_COUNTERSIGNATURE",
            path,
            f"added after this signature ({what}), before signature {sr.countersigned_by} "
            "signed the document: that signature vouches for the addition",
        )
    )
    return True


def _uphold_countersignatures(signatures: list[SignatureReport]) -> None:
    """A signature accepted because a later one covers what was added fails with it."""
    by_index = {s.index: s for s in signatures}
    for sr in signatures:
        later = by_index.get(sr.countersigned_by) if sr.countersigned_by else None
        if later is not None and later.indication == TOTAL_FAILED and sr.passed:
            path = next((f.path for f in sr.findings), "")
            _fail(
                sr,
                TOTAL_FAILED,
                "FORMAT_FAILURE",
                "SIG_MODIFIED_AFTER_SIGNING",
                path,
                f"the document was modified after signing, and signature {later.index}, "
                "which would vouch for the change, failed",
            )


def _fail(sr: SignatureReport, ind: Indication, sub: str, code: str, path: str, msg: str):
    sr.indication, sr.sub_indication = ind, sub
    severity = "error" if ind == TOTAL_FAILED else "warning"
    sr.findings.append(Finding(code, severity, path, msg))
    return sr


def _weak_reason(sr: SignatureReport, cert: x509.Certificate, cfg: ValidationConfig) -> str:
    if sr.digest_algorithm and sr.digest_algorithm.lower() in cfg.weak_digests:
        return f"weak digest algorithm {sr.digest_algorithm.upper()}"
    try:
        pk = cert.public_key
        if pk.algorithm in ("rsa", "rsassa_pss") and pk.bit_size < cfg.min_rsa_bits:
            return f"RSA key of {pk.bit_size} bits (at least {cfg.min_rsa_bits} required)"
    except Exception:
        pass
    return ""


def _pades_level(sr: SignatureReport, es: EmbeddedPdfSignature, tsv, doc: _DocFacts):
    if sr.subfilter not in ("ETSI.CAdES.detached",):
        return None
    level = "B-B"
    rev = es.signed_revision
    doc_ts_after = any(r > rev for r in doc.timestamp_revisions)
    if (tsv is not None and tsv.valid and tsv.intact) or doc_ts_after:
        level = "B-T"
        if doc.has_dss_revinfo:
            # revocation data in the DSS; a document timestamp after it archives the lot
            level = "B-LTA" if doc_ts_after else "B-LT"
    return level


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _attr(native: dict, key: str) -> str | None:
    v = native.get(key)
    if isinstance(v, list):
        v = ", ".join(str(x) for x in v)
    return str(v) if v is not None else None


_cert_infos: dict[bytes, CertInfo] = {}


def _cert_info(cert: x509.Certificate) -> CertInfo:
    """Describe a certificate; memoised by DER digest (signers recur across documents).
    Callers must not mutate the returned object."""
    key = cert.sha256
    info = _cert_infos.get(key)
    if info is None:
        info = _describe(cert)
        if len(_cert_infos) >= 4096:
            _cert_infos.clear()
        _cert_infos[key] = info
    return info


def _describe(cert: x509.Certificate) -> CertInfo:
    subj = cert.subject.native
    code = None
    for key in ("serial_number", "organizational_unit_name", "organization_name", "common_name"):
        val = _attr(subj, key)
        m = AGENCY_CODE_RE.search(val or "")
        if m:
            code = m.group(0)
            break
    pk = cert.public_key
    try:
        bits = pk.bit_size
    except Exception:
        bits = None
    return CertInfo(
        subject=cert.subject.human_friendly,
        common_name=_attr(subj, "common_name"),
        organization=_attr(subj, "organization_name"),
        organizational_unit=_attr(subj, "organizational_unit_name"),
        serial_number_attr=_attr(subj, "serial_number"),
        agency_code=code,
        issuer=cert.issuer.human_friendly,
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before.isoformat(),
        not_after=cert.not_valid_after.isoformat(),
        sha256=cert.sha256.hex(),
        key_algorithm=pk.algorithm,
        key_bits=bits,
    )
