"""SoftHSM2 tokens holding test keys and their certificates (PKCS#11 signing tests)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
USER_PIN = "123456"
SO_PIN = "12345678"


@dataclass
class Token:
    module: str
    label: str
    key_label: str
    pin: str
    conf: Path


@dataclass
class TokenSpec:
    label: str  # token label
    key_label: str
    key_pem: Path  # PKCS#8 PEM, unencrypted
    cert_pem: Path


_tokens_dir: Path | None = None


def make_tokens(workdir: Path, specs: list[TokenSpec]) -> dict[str, Token]:
    """Create tokens (labels unique per process) holding the keys and their certificates.

    SoftHSM reads SOFTHSM2_CONF once per process and lists its tokens when the module is
    initialised. So the first call fixes the token directory (under ``workdir``) for the
    process, and a later call re-initialises the module to see its new tokens; that closes
    every open PKCS#11 session, so the signer cache is cleared too."""
    global _tokens_dir
    if _tokens_dir is None:
        _tokens_dir = Path(workdir) / "tokens"
        _tokens_dir.mkdir(parents=True, exist_ok=True)
        conf = Path(workdir) / "softhsm2.conf"
        conf.write_text(
            f"directories.tokendir = {_tokens_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"
        )
        os.environ["SOFTHSM2_CONF"] = str(conf)
    conf = Path(os.environ["SOFTHSM2_CONF"])
    run = dict(check=True, env=dict(os.environ), capture_output=True, text=True)
    for s in specs:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", s.label,
             "--so-pin", SO_PIN, "--pin", USER_PIN],
            **run,
        )  # fmt: skip
        subprocess.run(
            ["softhsm2-util", "--import", str(s.key_pem), "--token", s.label,
             "--label", s.key_label, "--id", "01", "--pin", USER_PIN],
            **run,
        )  # fmt: skip
    _refresh_module()
    for s in specs:
        _store_certificate(s.label, s.key_label, s.cert_pem)
    return {s.label: Token(SOFTHSM_MODULE, s.label, s.key_label, USER_PIN, conf) for s in specs}


_module_loaded = False


def _refresh_module() -> None:
    global _module_loaded
    import pkcs11

    from signing.sign import clear_signer_cache

    lib = pkcs11.lib(SOFTHSM_MODULE)
    if _module_loaded:
        clear_signer_cache()
        lib.reinitialize()
    _module_loaded = True


def _store_certificate(label: str, key_label: str, cert_pem: Path) -> None:
    import pkcs11
    from asn1crypto import pem, x509
    from pkcs11 import Attribute, CertificateType, ObjectClass

    _, _, der = pem.unarmor(cert_pem.read_bytes())
    cert = x509.Certificate.load(der)
    token = pkcs11.lib(SOFTHSM_MODULE).get_token(token_label=label)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        session.create_object(
            {
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: key_label,
                Attribute.ID: b"\x01",
                Attribute.VALUE: der,
                Attribute.SUBJECT: cert.subject.dump(),
                Attribute.ISSUER: cert.issuer.dump(),
                Attribute.SERIAL_NUMBER: cert["tbs_certificate"]["serial_number"].dump(),
            }
        )
