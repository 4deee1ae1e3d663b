"""Fixtures of the archive tests: a real S3-protocol server (moto) over HTTP, stores."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

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
