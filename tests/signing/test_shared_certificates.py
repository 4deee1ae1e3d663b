"""Certificates shared between validation threads (signing/_speedups.py, issue 16 item 17).

A valid document was once refused right after a server start with "No field numbered 1 is
present in this asn1crypto.keys.PublicKeyInfo": asn1crypto parses lazily and not atomically,
and the certificate cache handed a half-parsed object to a second thread. These tests start
cold (empty cache, fresh objects) and make threads switch as often as CPython allows, which
reproduced the error in most rounds before the fix.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from asn1crypto import x509

from signing import _speedups
from signing.report import TOTAL_PASSED
from signing.trust import load_certs
from signing.validate import ValidationConfig, validate_pdf

THREADS = 8


@pytest.fixture
def eager_switching() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _all_at_once(work: Callable[[int], None], n: int = THREADS) -> list[str]:
    errors: list[str] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _read_everything(cert: x509.Certificate) -> None:
    # what path building and signature checking read, in the order a validation reads it
    cert.public_key["public_key"].parsed  # noqa: B018
    cert.public_key.bit_size  # noqa: B018
    cert.critical_extensions  # noqa: B018
    cert.subject.hashable  # noqa: B018
    cert["tbs_certificate"]["validity"]["not_after"].native  # noqa: B018
    cert.key_usage_value  # noqa: B018


def test_interned_certificates_are_complete_before_other_threads_see_them(pki, eager_switching):
    ders = [c.dump() for c in load_certs([pki.cert["leader"], pki.intermediate, pki.trust_root])]
    failures: list[str] = []
    for _round in range(40):
        _speedups._certs.clear()  # a cold start: nothing parsed yet
        shared: dict[int, list[x509.Certificate]] = {}

        def work(i: int, shared=shared) -> None:
            # each thread parses its own copy of the CMS certificates, as each request does
            mine = [_speedups._intern(x509.Certificate.load(der)) for der in ders]
            shared[i] = mine
            for cert in mine:
                _read_everything(cert)

        failures += _all_at_once(work)
        # one object per certificate, handed to every thread
        assert all(len({id(v[k]) for v in shared.values()}) == 1 for k in range(len(ders)))
    assert failures == []


def test_same_signed_pdf_validated_from_many_threads_at_a_cold_start(corpus, pki, eager_switching):
    data = corpus["leader-B-B"].data
    for _round in range(3):
        _speedups._certs.clear()
        # a new config: new trust root objects, a new engine, as a fresh server process has
        cfg = ValidationConfig.from_paths([str(pki.trust_root)], time_limit=None)
        indications: list[str] = []
        errors = _all_at_once(
            lambda _i, out=indications, cfg=cfg: out.append(validate_pdf(data, cfg).indication)
        )
        assert errors == []
        assert indications == [TOTAL_PASSED] * THREADS
