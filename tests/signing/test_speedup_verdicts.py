"""The speed-ups of pyHanko's reading (signing/_speedups.py) change no verdict: every PDF of
the test PKI's corpus, the hub benchmark's documents (leader + agency seal, B-T and B-LT) and
the real-world PDFs of tests/corpus/pdfs get the same report with and without them."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing import _speedups
from signing.trust import load_certs
from signing.validate import TrustConfig, ValidationConfig, validate_pdf
from tests.signing.test_validation_cache import (
    _embedded_roots,
    _verdict,
    hub_documents,  # noqa: F401 - a fixture
)

PDFS = Path(__file__).parents[1] / "corpus" / "pdfs"


def _both_ways(data: bytes, config: ValidationConfig) -> tuple[dict, dict]:
    fast = _verdict(validate_pdf(data, config))
    _speedups.uninstall()
    try:
        plain = _verdict(validate_pdf(data, config))
    finally:
        _speedups.install()
    return fast, plain


def test_same_verdicts_without_the_speedups_on_the_pki_corpus(corpus, hub_documents, pki):  # noqa: F811
    trust = TrustConfig(tuple(load_certs([pki.trust_root])))
    config = ValidationConfig(trust=trust, cache=False, time_limit=None)
    docs = {name: case.data for name, case in corpus.items()} | hub_documents
    indications = set()
    for name, data in docs.items():
        fast, plain = _both_ways(data, config)
        assert fast == plain, name
        indications.add(fast["indication"])
    assert {"TOTAL_PASSED", "TOTAL_FAILED"} <= indications


@pytest.mark.parametrize("pdf", sorted(p.name for p in PDFS.glob("*.pdf")))
def test_same_verdicts_without_the_speedups_on_the_real_world_pdfs(pdf):
    data = (PDFS / pdf).read_bytes()
    for roots in ([], _embedded_roots(data)):
        config = ValidationConfig(trust=TrustConfig(tuple(roots)), cache=False, time_limit=None)
        fast, plain = _both_ways(data, config)
        assert fast == plain


def test_dss_certificates_are_parsed_once(hub_documents):  # noqa: F811
    """The DSS of a B-LT document: its certificates are the shared, parsed ones (see
    signing/_speedups.py, 10.), the same object from one document to the next."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import DocumentSecurityStore

    def dss_certs():
        reader = PdfFileReader(io.BytesIO(hub_documents["leader+seal B-LT"]), strict=False)
        return list(DocumentSecurityStore.read_dss(reader).load_certs())

    first, second = dss_certs(), dss_certs()
    assert first and all(a is b for a, b in zip(first, second, strict=True))
    _speedups.uninstall()
    try:
        plain = dss_certs()
    finally:
        _speedups.install()
    assert [c.dump() for c in plain] == [c.dump() for c in first]
    assert not any(a is b for a, b in zip(plain, first, strict=True))
