"""Fixtures every test area may use: the repository on sys.path, databases, a live hub."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.databases import DatabaseFactory  # noqa: E402
from tests.support.live import LiveHub  # noqa: E402

pytest_plugins: list[str] = []


def pytest_report_header(config):  # noqa: ANN001, ANN201
    factory = DatabaseFactory()
    return [f"postgresql: {factory.describe()}"]


@pytest.fixture(scope="session")
def database_factory():
    factory = DatabaseFactory()
    yield factory
    factory.drop_all()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, database_factory, tmp_path) -> str:
    """Each hub test runs on SQLite and on a real PostgreSQL (a database of its own)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'axis.db'}"
    return database_factory.create()


@pytest.fixture
def live_hub(tmp_path, database_url):
    """A hub served over real HTTP on 127.0.0.1, with signatures and rules checks off
    (their own tests turn them on)."""
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
    }
    with LiveHub.start(env) as hub:
        yield hub


def pytest_collection_modifyitems(config, items):  # noqa: ANN001, ANN201
    if os.environ.get("CI") and not DatabaseFactory().available:
        raise pytest.UsageError("CI requires PostgreSQL: " + DatabaseFactory().describe())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001, ANN201
    """In CI every real component is installed (`make test` installs them): a test that skips
    there hides a missing install step, so it fails instead."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be: {report.longrepr}"
