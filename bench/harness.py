"""What every end-to-end benchmark needs: a free port, the `axis` CLI, a served hub that is up,
the CPU a server process (and its uvicorn workers) used — measured from /proc, so the load
generator's share of the same cores does not count — and `HttpConnection`, a minimal asyncio
HTTP/1.1 keep-alive client for load generation that leaves the cores to the server."""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def axis(env: dict, *args: str, cwd: str | os.PathLike | None = None) -> str:
    """Run `axis ARGS` to completion and return what it printed (`cwd`: the checkout whose
    axis runs, as `python -m` puts the working directory first on the path)."""
    out = subprocess.run(
        [sys.executable, "-m", "axis.cli", *args],
        env=env,
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def wait_healthy(url: str, proc: subprocess.Popen | None = None, *, seconds: float = 30) -> bool:
    """True once GET /healthz answers 200; False if `proc` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn's worker processes)."""
    pids, total = [pid], 0.0
    while pids:
        p = pids.pop()
        try:
            stat = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


class HttpResponse:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.headers = headers  # names lower-cased; a repeated header keeps its last value
        self.content = content

    def json(self):
        return jsonlib.loads(self.content)


class HttpError(Exception):
    """The server's answer could not be read as HTTP/1.1 (or the connection broke)."""


class HttpConnection:
    """One HTTP/1.1 keep-alive connection over asyncio streams, for benchmark load generation.

    Give each concurrent worker its own connection; requests on one connection must not overlap.
    Bodies are sent with Content-Length; responses may carry Content-Length or
    `Transfer-Encoding: chunked` (anything else fails loudly). It reconnects when the server
    closed the connection (`Connection: close`, or its keep-alive timeout) before the next
    request; a request is never retried.

        async with HttpConnection(url) as conn:
            r = await conn.request("GET", "/healthz")
    """

    def __init__(self, base_url: str, *, timeout: float = 60):
        rest = base_url.split("://", 1)[-1].rstrip("/")
        host, _, port = rest.partition(":")
        self.host, self.port, self.timeout = host, int(port or 80), timeout
        self._host_header = f"Host: {rest}\r\n".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> HttpConnection:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes = b"",
        json=None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        head = [f"{method} {path} HTTP/1.1\r\n".encode(), self._host_header]
        if json is not None:
            content = jsonlib.dumps(json).encode()
            head.append(b"Content-Type: application/json\r\n")
        if headers:
            head.append("".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1"))
        if content or method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: %d\r\n" % len(content))
        head.append(b"\r\n")
        async with asyncio.timeout(self.timeout):
            if self._writer is None or self._reader.at_eof() or self._writer.is_closing():
                await self.close()
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            writer = self._writer
            if content:
                writer.writelines((b"".join(head), content))
            else:
                writer.write(b"".join(head))
            try:
                await writer.drain()
                return await self._read_response(method)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
                await self.close()
                raise HttpError(f"{method} {path}: {e!r}") from e
            except BaseException:
                await self.close()  # e.g. timeout or cancel mid-response: the stream is unusable
                raise

    async def _read_response(self, method: str) -> HttpResponse:
        reader = self._reader
        while True:
            raw = await reader.readuntil(b"\r\n\r\n")
            lines = raw.decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            if not version.startswith("HTTP/1."):
                raise HttpError(f"not an HTTP/1.x status line: {lines[0]!r}")
            status = int(rest[:3])
            if not 100 <= status < 200 or status == 101:
                break  # skip interim 1xx answers (100 Continue) and read the real one
        headers = {}
        for line in lines[1:-2]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailers
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        else:
            raise HttpError(f"status {status}: neither Content-Length nor chunked {headers}")
        if headers.get("connection", "").lower() == "close" or version == "HTTP/1.0":
            await self.close()
        return HttpResponse(status, headers, body)


class FreshPostgres:
    """A fresh PostgreSQL database for one run (its SQLAlchemy URL), dropped afterwards; with
    no admin URL, None (the hub's embedded SQLite)."""

    def __init__(self, admin_url: str | None) -> None:
        self.admin_url = admin_url
        self.url: str | None = None

    def __enter__(self) -> str | None:
        if not self.admin_url:
            return None
        import psycopg

        self.name = f"axis_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        base = self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        self.url = f"{base}/{self.name}"
        return self.url

    def __exit__(self, *exc) -> None:
        if self.url:
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def add_postgres_argument(parser) -> None:  # noqa: ANN001
    """`--postgres [ADMIN_URL]`: fresh PostgreSQL databases per run instead of SQLite."""
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("AXIS_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
        default=None,
        metavar="ADMIN_URL",
        help="run against fresh PostgreSQL databases (created and dropped here), not SQLite",
    )
