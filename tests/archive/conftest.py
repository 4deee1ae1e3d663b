"""Fixtures of the archive tests: a real S3-protocol server (moto) over HTTP, stores."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from archive import catalog
from archive.localstore import LocalStore
from archive.s3store import S3Store


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """host:port of a moto S3 server running in a thread of this process, over real HTTP."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_store(moto_endpoint: str) -> S3Store:
    # A fresh bucket per test: moto keeps state for the whole session.
    return S3Store(
        moto_endpoint, "testing", "testing", f"axis-{uuid.uuid4().hex[:12]}", secure=False
    )


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "objects")


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Each store test runs against both adapters."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
def closed_port() -> int:
    """A TCP port on 127.0.0.1 with nothing listening (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- catalog databases: real SQLite and real PostgreSQL ----------------------------------------
PG_ADMIN_URL = os.environ.get(
    "ARCHIVE_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'archive.db'}")
    catalog.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    """A throwaway database archive_test_<random>, dropped at the end of the session."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"archive_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL unavailable at {PG_ADMIN_URL}: {exc}")
    engine = create_engine(admin.url.set(database=name))
    try:
        catalog.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{request.param}_engine")


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction rolled back after the test: each test sees an empty
    catalog without recreating the schema."""
    with engine.connect() as connection:
        tx = connection.begin()
        try:
            yield connection
        finally:
            tx.rollback()


@pytest.fixture
def make_record(conn: Connection, local_store: LocalStore):
    """Archive a generated document package (tests.factories) the way the hub does:
    objects into the store, then the record in the (test's) transaction. Returns its id."""
    from archive.records import add_record, archive_package
    from tests.factories import make_document

    counter = iter(range(1, 1_000_000))

    def make(
        *,
        store=None,
        retention_years=10,
        permanent=False,
        report=b'{"findings": []}',
        message_id=None,
        **doc,
    ):  # type: ignore[no-untyped-def]
        pkg = make_document(**doc)
        n = next(counter)
        draft = archive_package(
            store or local_store,
            pkg,
            package=f"<edXML n='{n}'>{pkg.subject}</edXML>".encode(),
            report=report,
            message_id=message_id or f"msg-{uuid.uuid4().hex}",
            retention_years=None if permanent else retention_years,
            permanent=permanent,
        )
        return add_record(conn, draft)

    return make
