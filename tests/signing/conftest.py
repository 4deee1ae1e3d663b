"""Fixtures for signing tests: one certomancer PKI served on 127.0.0.1 per session, the
validation corpus built from it, and ready validation configs."""

from __future__ import annotations

import logging
import shutil

import pytest

from signing.validate import ValidationConfig
from tests.signing.corpus import Case, build_corpus
from tests.signing.hsm import Token, TokenSpec, make_tokens
from tests.signing.pki import TestPKI, start_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPKI:
    p = start_pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()


@pytest.fixture(scope="session")
def tokens(pki, tmp_path_factory) -> dict[str, Token]:
    """SoftHSM2 tokens for the leader and the agency (labels axis-leader, axis-agency)."""
    if not shutil.which("softhsm2-util"):
        pytest.skip("softhsm2 missing (scripts/install-system-deps.sh)")
    specs = [
        TokenSpec(f"axis-{label}", label, pki.key[label], pki.cert[label])
        for label in ("leader", "agency")
    ]
    made = make_tokens(tmp_path_factory.mktemp("softhsm"), specs)
    return {label: made[f"axis-{label}"] for label in ("leader", "agency")}


@pytest.fixture(scope="session")
def corpus(pki) -> dict[str, Case]:
    return {c.name: c for c in build_corpus(pki)}


@pytest.fixture(scope="session")
def offline_config(pki) -> ValidationConfig:
    return ValidationConfig.from_paths([str(pki.trust_root)], time_limit=20)


@pytest.fixture(scope="session")
def online_config(pki) -> ValidationConfig:
    return ValidationConfig.from_paths([str(pki.trust_root)], allow_fetching=True, time_limit=20)


@pytest.fixture(autouse=True)
def _quiet_pyhanko():
    # pyHanko logs every failed chain with a traceback; the tests assert on reports instead.
    logger = logging.getLogger("pyhanko")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)
