"""Fixtures of the rules tests; the builders live in tests/rules/documents.py (plain module)."""

from __future__ import annotations

import pytest

from formats.model import DocumentPackage
from tests.rules.documents import good_package


@pytest.fixture
def good() -> DocumentPackage:
    return good_package()
