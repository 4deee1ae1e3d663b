"""The hub tests' parties (a sender, two recipients, an outsider on a live hub, SQLite and
PostgreSQL) reused by the hardening tests."""

from tests.hub.conftest import outsider, parties, recipients, sender  # noqa: F401
