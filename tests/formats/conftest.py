"""Fixtures for the formats tests: realistic packages from tests.factories and the samples."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from formats.edxml import build_document, build_status
from formats.model import DocumentPackage, StatusPackage
from tests.factories import make_document, make_status

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def document() -> DocumentPackage:
    return make_document()


@pytest.fixture
def document_xml(document: DocumentPackage) -> str:
    """The canonical bytes of `document`, as text to be edited into a bad package."""
    return build_document(document).decode("utf-8")


@pytest.fixture
def status() -> StatusPackage:
    return make_status()


@pytest.fixture
def status_xml(status: StatusPackage) -> str:
    return build_status(status).decode("utf-8")


@pytest.fixture
def sample() -> Callable[[str], bytes]:
    def read(name: str) -> bytes:
        return (SAMPLES / name).read_bytes()

    return read
