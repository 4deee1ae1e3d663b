"""Signers named in configuration (secrets from the environment)."""

from __future__ import annotations

import pytest

from signing.keystore import signer_from_spec
from signing.sign import SigningError, sign_pdf
from signing.validate import validate_pdf
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf


def test_every_kind_of_spec_signs(pki, tokens, offline_config, monkeypatch):
    monkeypatch.setenv("T_P12", P12_PASSWORD)
    monkeypatch.setenv("T_PIN", tokens["agency"].pin)
    specs = [
        {"p12": str(pki.p12["leader"]), "password_env": "T_P12"},
        {"p12": str(pki.p12_nopass["leader"])},
        {"pem_key": str(pki.key["agency"]), "pem_cert": str(pki.cert["agency"]),
         "chain": [str(pki.intermediate)]},
        {"pkcs11_module": tokens["agency"].module, "token": tokens["agency"].label,
         "key": tokens["agency"].key_label, "pin_env": "T_PIN",
         "chain": [str(pki.intermediate)]},
    ]  # fmt: skip
    for spec in specs:
        signed = sign_pdf(make_pdf(), signer_from_spec(spec))
        assert validate_pdf(signed, offline_config).indication == "TOTAL_PASSED", spec


def test_bad_specs_are_clear(pki, monkeypatch):
    monkeypatch.delenv("NOPE", raising=False)
    with pytest.raises(SigningError, match="NOPE"):
        signer_from_spec({"p12": str(pki.p12["leader"]), "password_env": "NOPE"})
    with pytest.raises(SigningError, match="needs"):
        signer_from_spec({"p12x": "a"})
    with pytest.raises(SigningError, match="lacks key"):
        signer_from_spec({"pkcs11_module": "/x.so", "token": "t"})
