"""A real OpenID Connect provider (panva's oidc-provider on Node.js, tests/support/oidc) for
the console's single sign-on tests. `make system-deps` installs Node.js and its packages."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "oidc"
SECRET = "axis-console-test-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reserve() -> tuple[int, str]:
    """A port for the provider and its issuer URL, known before the hub starts."""
    port = _free_port()
    return port, f"http://localhost:{port}"


@contextmanager
def provider(port: int, redirect_uri: str) -> Iterator[str]:
    """Run the provider on `port`, accepting the client `axis-console` with `redirect_uri`."""
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").exists():
        why = "no Node.js or no oidc-provider: run `make system-deps`"
        if shutil.which("apt-get") is None:
            pytest.skip(why)
        pytest.fail(why)
    log = tempfile.NamedTemporaryFile("w+", prefix="axis-idp-", suffix=".log")  # noqa: SIM115
    process = subprocess.Popen(
        [node, "provider.mjs", str(port), redirect_uri, SECRET],
        cwd=HERE,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while "ready " not in Path(log.name).read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the OIDC provider did not start: {Path(log.name).read_text()}")
            time.sleep(0.1)
        yield f"http://localhost:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()
