"""Loading trust roots and intermediate certificates from PEM/DER files or directories."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from asn1crypto import pem, x509

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")


class TrustError(ValueError):
    """A configured trust path is missing or holds no certificate."""


def _files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in CERT_SUFFIXES))
        elif p.is_file():
            out.append(p)
        else:
            raise TrustError(f"trust path not found: {p}")
    return out


def parse_certs(data: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate."""
    if pem.detect(data):
        return [
            x509.Certificate.load(der)
            for kind, _h, der in pem.unarmor(data, multiple=True)
            if kind == "CERTIFICATE"
        ]
    return [x509.Certificate.load(data)]


def load_certs(paths: Iterable[str | os.PathLike]) -> list[x509.Certificate]:
    """Certificates from files and directories (``.pem .crt .cer .der``), deduplicated."""
    seen: set[bytes] = set()
    certs: list[x509.Certificate] = []
    for f in _files(paths):
        try:
            found = parse_certs(f.read_bytes())
        except Exception as exc:  # asn1crypto raises many kinds on bad input
            raise TrustError(f"not a certificate file: {f}: {exc}") from exc
        for c in found:
            if c.sha256 not in seen:
                seen.add(c.sha256)
                certs.append(c)
    return certs
