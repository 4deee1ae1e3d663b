"""Fixtures of the rules tests; the builders live in tests/rules/documents.py (plain module)."""

from __future__ import annotations

import pytest

from formats.model import DocumentPackage
from tests.rules.documents import good_package


@pytest.fixture
def good() -> DocumentPackage:
    return good_package()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The signing tests' certomancer PKI (leader, agency, trust root), served on 127.0.0.1."""
    from tests.signing.pki import start_pki

    p = start_pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()
