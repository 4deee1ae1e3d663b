"""End-to-end throughput of the hub on its embedded default (SQLite + local store).

Starts the real server (`axis serve`) in its own process, registers agencies, and has
concurrent agency clients send realistic packages (a ~100 KB PDF, 3 recipients each) while the
recipients pull their inboxes and acknowledge (each ack sends status 01 back to the sender).
Prints accepted packages/s and p50/p99 latency of POST /v1/messages (after --warmup packages,
not measured: a new process's first requests fill its caches), and, as the baseline
measured in the same run, the rate of GET /healthz with the same client and concurrency
(the HTTP stack's ceiling on this machine). Then checks every receipt is durable: each
accepted message is in the database and its package in the store, byte for byte.

The load generator is `bench.harness.HttpConnection`, a minimal keep-alive client (one
connection per concurrent worker), so that on a small machine it takes little CPU from the
server; its own CPU (senders and pullers, over the send phase) per accepted document is printed.

    python -m bench.hub_throughput [--packages 2000] [--concurrency 16] [--workers N] [--poll 0.25]
        [--warmup 50] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.localstore import LocalStore  # noqa: E402
from axis.cli.serving import default_workers  # noqa: E402
from bench.harness import (  # noqa: E402
    HttpConnection,
    axis,
    cpu_seconds,
    free_port,
    wait_healthy,
)
from formats.edxml import build_document  # noqa: E402
from tests.factories import make_document, minimal_pdf  # noqa: E402

SENDERS = [f"000.00.{n:02d}.H26" for n in range(1, 9)]
RECIPIENTS = [f"000.00.{n:02d}.G06" for n in range(1, 7)]


def _packages(n: int) -> list[tuple[str, bytes]]:
    pdf = minimal_pdf(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], size=100_000)
    out = []
    for i in range(n):
        sender = SENDERS[i % len(SENDERS)]
        recipients = [RECIPIENTS[(i + k) % len(RECIPIENTS)] for k in range(3)]
        pkg = make_document(
            sender=sender,
            recipients=recipients,
            number=f"{i + 10:04d}",
            attachments=[("van-ban.pdf", pdf, "application/pdf")],
        )
        out.append((sender, build_document(pkg)))
    return out


async def _send_all(url: str, keys: dict[str, str], packages, concurrency: int):
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    receipts: list[dict] = []
    queue: asyncio.Queue = asyncio.Queue()
    for item in packages:
        queue.put_nowait(item)

    async def worker():
        async with HttpConnection(url) as conn:
            while not queue.empty():
                sender, body = queue.get_nowait()
                t0 = time.perf_counter()
                r = await conn.request(
                    "POST",
                    "/v1/messages",
                    content=body,
                    headers={
                        "Authorization": f"Bearer {keys[sender]}",
                        "Content-Type": "application/xml",
                    },
                )
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code == 202:
                    receipts.append(r.json())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses, receipts


PAGE = 200


async def _pull_and_ack(
    url: str, keys: dict[str, str], stop: asyncio.Event, poll_s: float
) -> tuple[int, int]:
    """Each agency's system polls its inbox every `poll_s` seconds and acknowledges what it
    found (a full page is followed by the next at once). Returns (items acked, polls)."""
    acked = polls = 0

    async def pull_once(conn: HttpConnection, code: str) -> int:
        """Acknowledge one page of `code`'s inbox; how many items the page held."""
        nonlocal acked, polls
        polls += 1
        headers = {"Authorization": f"Bearer {keys[code]}"}
        r = await conn.request("GET", f"/v1/inbox?limit={PAGE}", headers=headers)
        if r.status_code != 200:
            raise RuntimeError(f"GET /v1/inbox: {r.status_code} {r.content[:200]!r}")
        ids = [i["id"] for i in r.json()["items"]]
        if ids:
            r = await conn.request("POST", "/v1/inbox/ack", json={"ids": ids}, headers=headers)
            if r.status_code != 200:
                raise RuntimeError(f"POST /v1/inbox/ack: {r.status_code}")
            acked += sum(1 for x in r.json()["results"] if x["acked"])
        return len(ids)

    async def one(code: str):
        async with HttpConnection(url) as conn:
            while True:
                if await pull_once(conn, code) == PAGE:
                    continue
                if stop.is_set():
                    return
                await asyncio.sleep(poll_s)

    await asyncio.gather(*(one(c) for c in RECIPIENTS + SENDERS))
    # A sender's puller can find its inbox empty and stop while a recipient's ack (which sends
    # it status 01) is still in flight: sweep every inbox, one at a time, until none holds
    # anything, so that "acknowledged" counts everything.
    async with HttpConnection(url) as conn:
        while True:
            found = 0
            for code in RECIPIENTS + SENDERS:
                found += await pull_once(conn, code)
            if not found:
                break
    return acked, polls


async def _baseline(url: str, key: str, n: int, concurrency: int) -> tuple[float, float]:
    """GET /healthz rate with the same client and concurrency, and client CPU (ms) per request."""
    remaining = n
    headers = {"Authorization": f"Bearer {key}"}

    async def worker():
        nonlocal remaining
        async with HttpConnection(url) as conn:
            while remaining > 0:
                remaining -= 1
                r = await conn.request("GET", "/healthz", headers=headers)
                if r.status_code != 200:
                    raise RuntimeError(f"GET /healthz: {r.status_code}")

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, client_cpu = time.perf_counter() - t0, time.process_time() - c0
    return n / elapsed, client_cpu / n * 1000


async def _run(args) -> int:
    data = Path(tempfile.mkdtemp(prefix="axis-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(data),
        "AXIS_PORT": str(port),
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "PYTHONPATH": str(ROOT),
    }
    keys = {
        code: axis(env, "agency", "add", code, f"Cơ quan {code}").strip().splitlines()[-1]
        for code in SENDERS + RECIPIENTS
    }
    print(f"building {args.warmup} + {args.packages} packages (~100 KB PDF, 3 recipients each)...")
    packages = _packages(args.warmup + args.packages)
    warmup, packages = packages[: args.warmup], packages[args.warmup :]
    server = subprocess.Popen(
        [sys.executable, "-m", "axis.cli", "serve", "--workers", str(args.workers)], env=env
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, server):
            raise RuntimeError("the hub did not start")
        baseline, healthz_client_ms = await _baseline(url, keys[SENDERS[0]], 3000, args.concurrency)
        stop = asyncio.Event()
        puller = asyncio.create_task(_pull_and_ack(url, keys, stop, args.poll))
        # Not measured, as bench_postgres: a new process's first requests fill its caches.
        *_, warm_receipts = await _send_all(url, keys, warmup, args.concurrency)
        cpu0, t0, client0 = cpu_seconds(server.pid), time.perf_counter(), time.process_time()
        latencies, statuses, receipts = await _send_all(url, keys, packages, args.concurrency)
        elapsed = time.perf_counter() - t0
        client_cpu = time.process_time() - client0
        stop.set()
        acked, polls = await puller
        drained = time.perf_counter() - t0
        server_cpu = cpu_seconds(server.pid) - cpu0
    finally:
        server.terminate()
        server.wait(30)

    accepted = statuses.get(202, 0)
    rate = accepted / elapsed
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    durable = _verify(data, warm_receipts + receipts)
    if args.keep:
        print(f"data kept in {data}")
    else:
        shutil.rmtree(data, ignore_errors=True)  # a run leaves ~300 MB of packages
    print()
    print("| measure                         | value        |")
    print("|---------------------------------|--------------|")
    print(f"| API processes                   | {args.workers:>12} |")
    print(f"| measured after a warm-up of     | {args.warmup:>12} |")
    print(f"| accepted packages/s             | {rate:>12.1f} |")
    print(f"| POST /v1/messages p50 (ms)      | {p50:>12.1f} |")
    print(f"| POST /v1/messages p99 (ms)      | {p99:>12.1f} |")
    print(f"| statuses                        | {str(statuses):>12} |")
    print(f"| acked (all, warm-up included)   | {acked:>12} |")
    print(f"| inbox polls (every {args.poll:g} s)       | {polls:>12} |")
    print(f"| all drained after (s)           | {drained:>12.1f} |")
    per_doc = server_cpu / max(accepted, 1) * 1000
    print(f"| server CPU per document, ms     | {per_doc:>12.1f} |")
    client_per_doc = client_cpu / max(accepted, 1) * 1000
    print(f"| client CPU per document, ms     | {client_per_doc:>12.1f} |")
    print(f"| baseline GET /healthz /s        | {baseline:>12.1f} |")
    print(f"| client CPU per healthz, ms      | {healthz_client_ms:>12.3f} |")
    print(f"| ratio accepted/s : healthz/s    | {rate / baseline:>12.3f} |")
    print(f"| receipts durable                | {durable:>12} |")
    target = rate >= 200 and p99 < 200
    print(f"target (>=200/s, p99 < 200 ms): {'met' if target else 'NOT met'}")
    return 0 if durable == "yes" and accepted == args.packages else 1


def _verify(data: Path, receipts: list[dict]) -> str:
    """Every receipt names a message in the database and a package in the store."""
    import sqlite3

    conn = sqlite3.connect(data / "axis.db")
    store = LocalStore(data / "objects")
    ids = {row[0]: row[1] for row in conn.execute("SELECT id, sha256 FROM messages")}
    for r in receipts:
        if ids.get(r["id"]) != r["sha256"]:
            return f"no: {r['id']} missing"
        path = store.path_of(r["sha256"])
        if not path.is_file():
            return f"no: {r['sha256']} not in the store"
        if hashlib.sha256(path.read_bytes()).hexdigest() != r["sha256"]:
            return f"no: {r['sha256']} altered"
    return "yes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="API processes (default: what `axis serve` starts on this machine)",
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=0.25,
        help="seconds between an agency system's inbox polls (real systems: seconds)",
    )
    parser.add_argument("--warmup", type=int, default=50, help="packages sent first, not measured")
    parser.add_argument("--keep", action="store_true", help="keep the hub's data dir afterwards")
    sys.exit(asyncio.run(_run(parser.parse_args())))


if __name__ == "__main__":
    main()
