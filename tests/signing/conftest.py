"""Fixtures for signing tests: one certomancer PKI served on 127.0.0.1 per session."""

from __future__ import annotations

import pytest

from tests.signing.pki import TestPKI, start_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPKI:
    p = start_pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()
