"""Fixtures for the real-world corpus: a live hub at its default rules, signatures off."""

from __future__ import annotations

import pytest

from tests.support.live import LiveHub


@pytest.fixture
def default_rules_hub(tmp_path, database_url):
    """A hub served over real HTTP as an operator would start it, except that signatures are
    not validated (AXIS_SIGNATURE_POLICY=off): the corpus judges packages, not their PDFs."""
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
    }
    with LiveHub.start(env) as hub:
        yield hub
