"""Signers named in configuration, for a service that signs for leaders (POST /v1/sign).

A spec is a small mapping, e.g. from a TOML/JSON file of the operator; secrets never sit in
it, only the names of the environment variables that hold them:

    {"p12": "/etc/axis/keys/chu-tich.p12", "password_env": "AXIS_P12_PASSWORD_CHU_TICH"}
    {"pem_key": "/etc/axis/k.pem", "pem_cert": "/etc/axis/c.pem", "chain": ["/etc/axis/ca.pem"]}
    {"pkcs11_module": "/usr/lib/softhsm/libsofthsm2.so", "token": "axis", "key": "chu-tich",
     "pin_env": "AXIS_PKCS11_PIN_CHU_TICH", "chain": ["/etc/axis/ca.pem"]}

Loaded signers are cached by ``signing.sign`` (key parsed once, token session kept open).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from signing.sign import LoadedSigner, SigningError, load_pem, load_pkcs11, load_pkcs12


def _secret(spec: Mapping[str, Any], key: str) -> str | None:
    name = spec.get(key)
    if not name:
        return None
    value = os.environ.get(str(name))
    if value is None:
        raise SigningError(f"environment variable {name} (from {key}) is not set")
    return value


def signer_from_spec(spec: Mapping[str, Any]) -> LoadedSigner:
    """The signer a spec describes; SigningError when it is incomplete or does not load."""
    chain = [str(c) for c in spec.get("chain", ())]
    if spec.get("p12"):
        return load_pkcs12(str(spec["p12"]), _secret(spec, "password_env"))
    if spec.get("pkcs11_module"):
        missing = [k for k in ("token", "key") if not spec.get(k)]
        if missing:
            raise SigningError(f"PKCS#11 signer spec lacks {', '.join(missing)}")
        return load_pkcs11(
            str(spec["pkcs11_module"]),
            str(spec["token"]),
            str(spec["key"]),
            _secret(spec, "pin_env"),
            cert_label=spec.get("cert_label"),
            cert_path=spec.get("cert"),
            chain=chain,
        )
    if spec.get("pem_key") and spec.get("pem_cert"):
        return load_pem(
            str(spec["pem_key"]),
            str(spec["pem_cert"]),
            chain,
            key_password=_secret(spec, "key_password_env"),
        )
    raise SigningError("a signer spec needs p12, pem_key + pem_cert, or pkcs11_module")
