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


def make_tokens(workdir: Path, specs: list[TokenSpec]) -> dict[str, Token]:
    """Create every token at once, then put the certificates in.

    SoftHSM reads SOFTHSM2_CONF, and lists its tokens, once per process, when the module is
    first initialised (here: when the certificates are stored). So all tokens a process
    needs are made in one call, which sets SOFTHSM2_CONF for the process."""
    tokens_dir = Path(workdir) / "tokens"
    tokens_dir.mkdir(parents=True, exist_ok=True)
    conf = Path(workdir) / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens_dir}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
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
    for s in specs:
        _store_certificate(s.label, s.key_label, s.cert_pem)
    return {s.label: Token(SOFTHSM_MODULE, s.label, s.key_label, USER_PIN, conf) for s in specs}


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
