"""A live hub with the evidence log on, its TSA from the test PKI (certomancer), on SQLite and
PostgreSQL; parties sending, acknowledging and answering with statuses."""

from __future__ import annotations

import pytest

from tests.hub.conftest import RECIPIENTS, SENDER, Party, document  # noqa: F401
from tests.signing.pki import start_pki
from tests.support.live import LiveHub


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    p = start_pki(tmp_path_factory.mktemp("evidence-pki"))
    yield p
    p.stop()


@pytest.fixture
def evidence_env(tmp_path, database_url, pki) -> dict[str, str]:
    return {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_EVIDENCE_TSA_URL": pki.tsa_url,
        "AXIS_EVIDENCE_TSA_ROOTS": str(pki.trust_root),
    }


@pytest.fixture
def live(evidence_env):
    with LiveHub.start(evidence_env) as hub:
        yield hub


@pytest.fixture
def parties(live):
    out = {}
    for code in [SENDER, *RECIPIENTS]:
        key = live.add_agency(code)
        out[code] = Party(code, key, live.client(key))
    yield out
    for p in out.values():
        p.http.close()
