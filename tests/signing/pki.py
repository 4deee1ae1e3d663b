"""A test PKI (certomancer) served over HTTP on 127.0.0.1, reusable by any test area.

Usage from another conftest::

    from tests.signing.pki import start_pki
    pki = start_pki(tmp_path_factory.mktemp("pki"))   # returns TestPKI, serving
    ...  pki.trust_root, pki.tsa_url, pki.p12["leader"], pki.stop()

Everything runs offline: the Animator WSGI app answers OCSP, CRL, TSA and certificate
requests from the committed keys in ``pki/keys`` and ``pki/certomancer.yml``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import CertomancerConfig
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from werkzeug.serving import BaseWSGIServer, make_server

PKI_DIR = Path(__file__).parent / "pki"
ARCH = "axis-test"
P12_PASSWORD = "1234"
# Certificates exported as files; every end-entity also gets key + PKCS#12.
CA_LABELS = ("root", "interm", "rogue-root")
SIGNER_LABELS = (
    "leader", "agency", "revoked", "expired", "weak", "rogue-signer", "tsa", "nosign",
)  # fmt: skip


@dataclass
class TestPKI:
    base_url: str
    dir: Path  # exported PEM/P12 files
    trust_root: Path  # root CA PEM
    intermediate: Path  # sub CA PEM (PDFs may embed only the leaf)
    tsa_url: str
    ocsp_url: str
    crl_urls: dict[str, str]
    cert: dict[str, Path] = field(default_factory=dict)  # label -> PEM certificate
    key: dict[str, Path] = field(default_factory=dict)  # label -> PEM PKCS#8 key (unencrypted)
    p12: dict[str, Path] = field(default_factory=dict)  # label -> PKCS#12 with P12_PASSWORD
    p12_nopass: dict[str, Path] = field(default_factory=dict)  # label -> unencrypted PKCS#12
    arch: object = None  # certomancer PKIArchitecture (for tests needing raw objects)
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    __test__ = False  # not a pytest test class

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _LateApp:
    """WSGI app whose target is set after the server knows its port."""

    def __init__(self) -> None:
        self.app = None

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def load_config(base_url: str) -> CertomancerConfig:
    return CertomancerConfig.from_file(
        str(PKI_DIR / "certomancer.yml"),
        key_search_dir=str(PKI_DIR),
        external_url_prefix=base_url,
    )


def _export(arch, out: Path, pki: TestPKI) -> None:
    for label in CA_LABELS + SIGNER_LABELS:
        cert = arch.get_cert(label)
        path = out / f"{label}.cert.pem"
        path.write_bytes(_pem("CERTIFICATE", cert.dump()))
        pki.cert[label] = path
    for label in SIGNER_LABELS:
        key_der = arch.key_set.get_private_key(arch.get_cert_spec(label).subject_key).dump()
        key_path = out / f"{label}.key.pem"
        key_path.write_bytes(_pem("PRIVATE KEY", key_der))
        pki.key[label] = key_path
        key = serialization.load_der_private_key(key_der, None)
        from cryptography import x509

        cert = x509.load_der_x509_certificate(arch.get_cert(label).dump())
        chain = [
            x509.load_der_x509_certificate(arch.get_cert(ca).dump())
            for ca in (("rogue-root",) if label == "rogue-signer" else ("interm", "root"))
        ]
        enc = serialization.BestAvailableEncryption(P12_PASSWORD.encode())
        p = out / f"{label}.p12"
        p.write_bytes(pkcs12.serialize_key_and_certificates(b"x", key, cert, chain, enc))
        pki.p12[label] = p
        p = out / f"{label}.nopass.p12"
        p.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"x", key, cert, chain, serialization.NoEncryption()
            )
        )
        pki.p12_nopass[label] = p


def _pem(kind: str, der: bytes) -> bytes:
    import base64
    import textwrap

    b64 = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN {kind}-----\n{b64}\n-----END {kind}-----\n".encode()


def start_pki(workdir: Path) -> TestPKI:
    """Start the Animator on a random 127.0.0.1 port; export certs/keys into ``workdir``."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request log lines
    late = _LateApp()
    server = make_server("127.0.0.1", 0, late, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    cfg = load_config(base_url)
    arch = cfg.get_pki_arch(ARCH)
    late.app = Animator(AnimatorArchStore(cfg.pki_archs), with_web_ui=False)
    thread = threading.Thread(target=server.serve_forever, name="pki-animator", daemon=True)
    thread.start()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    pki = TestPKI(
        base_url=base_url,
        dir=workdir,
        trust_root=workdir / "root.cert.pem",
        intermediate=workdir / "interm.cert.pem",
        tsa_url=f"{base_url}/{ARCH}/tsa/tsa",
        ocsp_url=f"{base_url}/{ARCH}/ocsp/interm",
        crl_urls={
            "root": f"{base_url}/{ARCH}/crls/root/latest.crl",
            "interm": f"{base_url}/{ARCH}/crls/interm/latest.crl",
        },
        arch=arch,
        _server=server,
        _thread=thread,
    )
    _export(arch, workdir, pki)
    return pki
