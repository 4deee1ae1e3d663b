"""Three databases for three hubs: SQLite files, or three PostgreSQL databases of their own."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def three_databases(request, database_factory, tmp_path) -> list[str]:
    if request.param == "sqlite":
        return [f"sqlite:///{tmp_path / f'{n}.db'}" for n in ("national", "a", "b")]
    return [database_factory.create() for _ in range(3)]
