"""A SoftHSM2 token holding a test key and its certificate (PKCS#11 signing tests)."""

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


def make_token(
    workdir: Path,
    key_pem: Path,
    cert_pem: Path,
    label: str = "axis-test",
    key_label: str = "leader",
) -> Token:
    """Initialise a token in ``workdir`` and import the key (softhsm2-util) and certificate
    (python-pkcs11). SOFTHSM2_CONF is set for this process: SoftHSM reads it once, when the
    module is first initialised."""
    workdir = Path(workdir)
    tokens = workdir / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = workdir / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    env = dict(os.environ)
    run = dict(check=True, env=env, capture_output=True, text=True)
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--so-pin",
            SO_PIN,
            "--pin",
            USER_PIN,
        ],
        **run,
    )
    subprocess.run(
        [
            "softhsm2-util",
            "--import",
            str(key_pem),
            "--token",
            label,
            "--label",
            key_label,
            "--id",
            "01",
            "--pin",
            USER_PIN,
        ],
        **run,
    )
    _store_certificate(label, key_label, cert_pem)
    return Token(SOFTHSM_MODULE, label, key_label, USER_PIN, conf)


def _store_certificate(label: str, key_label: str, cert_pem: Path) -> None:
    import pkcs11
    from asn1crypto import pem, x509
    from pkcs11 import Attribute, CertificateType, ObjectClass

    _, _, der = pem.unarmor(cert_pem.read_bytes())
    cert = x509.Certificate.load(der)
    lib = pkcs11.lib(SOFTHSM_MODULE)
    token = lib.get_token(token_label=label)
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
