"""Page timings of the web console (issue 19): the inbox and search pages with N documents in
the hub (default 500) and a directory of D agencies (default 150,000), idle and while agency
systems keep sending, against `/healthz` measured in the same run (absolute times drift on
this shared machine; the ratio is what to compare).

    python -m bench.bench_console [--docs 500] [--agencies 150000] [--requests 200] [--pg URL]

The hub is the real `axis serve` (SQLite by default; `--pg` a PostgreSQL server URL, a fresh
database is made and dropped). Pages are fetched by a signed-in clerk (and an archivist for
the archive search) with an ordinary HTTP client, one at a time: the time is the server's."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.harness import axis, free_port, wait_healthy

A, B = "000.00.00.G22", "000.00.00.G06"
WORDS = ["kế hoạch", "chuyển đổi số", "ngân sách", "đất đai", "y tế", "giáo dục", "giao thông"]


def _document(i: int) -> bytes:
    from formats.edxml import build_document
    from tests.factories import make_document

    due = None if i % 3 else datetime(2024, 1, 1).date()
    pkg = make_document(
        sender=A,
        recipients=[B],
        number=f"{i:04d}",
        subject=f"Về việc {WORDS[i % len(WORDS)]} năm 2026, lần {i}",
        due_date=due,
    )
    return build_document(pkg)


def _directory(db_url: str, n: int) -> None:
    """n agencies straight into the table (a directory synchronised from the national hub)."""
    from sqlalchemy import create_engine, insert

    from axis.adapters.tables import Agency

    now = datetime.now(UTC)
    rows = [
        {
            "code": f"{i // 1000:03d}.{i % 100:02d}.{(i // 100) % 10:02d}.B{i % 97:02d}",
            "name": f"Ủy ban nhân dân xã số {i} huyện Hà Trung",
            "parent_code": None,
            "active": True,
            "created_at": now,
        }
        for i in range(n)
    ]
    engine = create_engine(db_url)
    seen: set[str] = set()
    rows = [r for r in rows if not (r["code"] in seen or seen.add(r["code"]))]
    with engine.begin() as conn:
        for k in range(0, len(rows), 5000):
            conn.execute(insert(Agency), rows[k : k + 5000])
    engine.dispose()


def _sign_in(url: str, name: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=url, timeout=60, headers={"Origin": url})
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"csrf": token, "name": name, "password": password})
    assert r.status_code == 303, r.text
    return c


def _times(client: httpx.Client, path: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.get(path)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, (path, r.status_code)
    return out


def _p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


class _Load:
    """An agency system sending documents as fast as the hub takes them (one connection)."""

    def __init__(self, url: str, key: str, start: int) -> None:
        self.stop = threading.Event()
        self.sent = 0
        self._thread = threading.Thread(target=self._run, args=(url, key, start), daemon=True)

    def _run(self, url: str, key: str, start: int) -> None:
        bodies = [_document(start + i) for i in range(2000)]
        with httpx.Client(
            base_url=url, timeout=60, headers={"Authorization": f"Bearer {key}"}
        ) as c:
            for body in bodies:
                if self.stop.is_set():
                    break
                c.post("/v1/messages", content=body, headers={"Content-Type": "application/xml"})
                self.sent += 1

    def __enter__(self) -> _Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=500)
    ap.add_argument("--agencies", type=int, default=150_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--pg", help="PostgreSQL admin URL (postgresql://postgres@127.0.0.1/postgres)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="axis-bench-console-"))
    port = free_port()
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(work / "data"),
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_PORT": str(port),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    pg_name = None
    if args.pg:
        import psycopg

        pg_name = f"axis_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        env["AXIS_DATABASE_URL"] = (
            args.pg.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + f"/{pg_name}"
        )
        axis(env, "db", "upgrade")
    db_url = env.get("AXIS_DATABASE_URL") or f"sqlite:///{work / 'data' / 'axis.db'}"
    proc = None
    try:
        if not args.pg:
            axis(env, "db", "upgrade")
        key_a = axis(env, "agency", "add", A, "Văn phòng Chính phủ").strip().splitlines()[-1]
        axis(env, "agency", "add", B, "Bộ Tài chính")
        clerk = axis(env, "user", "add", "clerk.b", "--role", "clerk", "--agency", B)
        archivist = axis(env, "user", "add", "archivist", "--role", "archivist")
        t0 = time.perf_counter()
        _directory(db_url, args.agencies)
        directory_s = time.perf_counter() - t0
        proc = subprocess.Popen(
            [sys.executable, "-m", "axis.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        assert wait_healthy(url, proc, seconds=60), "the hub did not start"
        with httpx.Client(
            base_url=url, timeout=60, headers={"Authorization": f"Bearer {key_a}"}
        ) as api:
            for i in range(args.docs):
                r = api.post(
                    "/v1/messages",
                    content=_document(i),
                    headers={"Content-Type": "application/xml"},
                )
                assert r.status_code == 202, r.text
        b = _sign_in(url, "clerk.b", clerk.strip().splitlines()[-1])
        r = _sign_in(url, "archivist", archivist.strip().splitlines()[-1])
        doc_id = re.search(r'href="/documents/([0-9a-f]{32})"', b.get("/inbox").text).group(1)
        pages = [
            ("GET /healthz (baseline)", b, "/healthz"),
            ("inbox, first page", b, "/inbox"),
            ("inbox, words 'kế hoạch'", b, "/inbox?q=k%E1%BA%BF+ho%E1%BA%A1ch"),
            ("inbox, overdue", b, "/inbox?state=overdue"),
            ("inbox, sender + dates", b, "/inbox?sender=V%C4%83n+ph%C3%B2ng&from=2020-01-01"),
            # every document is a Quyết định: a full page; no Công văn: every row looked at
            ("inbox, type 'Quyết định'", b, "/inbox?type=Quy%E1%BA%BFt+%C4%91%E1%BB%8Bnh"),
            ("inbox, type 'Công văn' (none)", b, "/inbox?type=C%C3%B4ng+v%C4%83n"),
            ("archive search 'ke hoach'", r, "/archive?q=ke+hoach"),
            (
                "archive search 'kế hoạch' + agency",
                r,
                f"/archive?q=k%E1%BA%BF+ho%E1%BA%A1ch&agency={A}",
            ),
            ("document page", b, f"/documents/{doc_id}"),
            (f"directory 'Hà Trung' ({args.agencies:,} agencies)", b, "/directory?q=H%C3%A0+Trung"),
            ("directory by code", b, "/directory?q=000.00.00.G0"),
        ]
        db = "PostgreSQL" if args.pg else "SQLite"
        print(
            f"\nconsole pages, {db}, {args.docs} documents, directory of {args.agencies:,} "
            f"(loaded in {directory_s:.1f} s), {args.requests} requests each, sequential"
        )
        for label, load in (("idle", False), ("while an agency system sends", True)):
            ctx = _Load(url, key_a, 10_000) if load else None
            if ctx:
                ctx.__enter__()
            try:
                print(f"\n{label}")
                print(f"{'page':<44} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/healthz':>12}")
                base = None
                for name, client, path in pages:
                    n = args.requests if "directory" not in name else max(20, args.requests // 4)
                    t = _times(client, path, n)
                    p95 = _p(t, 0.95)
                    base = base or p95
                    print(
                        f"{name:<44} {statistics.median(t):8.1f} {p95:8.1f} {max(t):8.1f} "
                        f"{p95 / base:12.1f}"
                    )
            finally:
                if ctx:
                    ctx.__exit__()
                    print(f"(the agency system sent {ctx.sent} documents meanwhile)")
        print(f"load average: {os.getloadavg()}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        if pg_name:
            import psycopg

            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
