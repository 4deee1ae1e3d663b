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
        [--warmup 50] [--keep] [--evidence on|off|both] [--rounds 1] [--postgres [ADMIN_URL]]
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
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.localstore import LocalStore  # noqa: E402
from axis.cli.serving import default_workers  # noqa: E402
from bench.harness import (  # noqa: E402
    FreshPostgres,
    HttpConnection,
    add_postgres_argument,
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


async def _send_all(
    url: str, keys: dict[str, str], packages, concurrency: int, refusals: list | None = None
):
    """POST every package; `refusals` collects the error codes of what was not accepted."""
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
                elif refusals is not None:
                    try:
                        found = r.json().get("findings", [])
                        codes = sorted({f["code"] for f in found if f["severity"] == "error"})
                    except ValueError:
                        codes = []
                    refusals.append(f"{r.status_code} {' '.join(codes)}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, statuses, receipts


PAGE = 200


async def _pull_and_ack(
    url: str, keys: dict[str, str], stop: asyncio.Event, poll_s: float, agencies: list[str]
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

    await asyncio.gather(*(one(c) for c in agencies))
    # A sender's puller can find its inbox empty and stop while a recipient's ack (which sends
    # it status 01) is still in flight: sweep every inbox, one at a time, until none holds
    # anything, so that "acknowledged" counts everything.
    async with HttpConnection(url) as conn:
        while True:
            found = 0
            for code in agencies:
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


@dataclass
class Run:
    """What one measured run gives (see `measure`)."""

    label: str
    workers: int
    warmup: int
    rate: float
    p50: float
    p99: float
    statuses: dict[int, int]
    acked: int
    polls: int
    poll: float
    drained: float
    server_cpu_ms: float  # per accepted document
    client_cpu_ms: float
    baseline: float
    healthz_client_ms: float
    durable: str
    accepted: int
    receipts: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # what `after` returned

    def print_table(self) -> None:
        print()
        print("| measure                         | value        |")
        print("|---------------------------------|--------------|")
        print(f"| API processes                   | {self.workers:>12} |")
        print(f"| measured after a warm-up of     | {self.warmup:>12} |")
        print(f"| accepted packages/s             | {self.rate:>12.1f} |")
        print(f"| POST /v1/messages p50 (ms)      | {self.p50:>12.1f} |")
        print(f"| POST /v1/messages p99 (ms)      | {self.p99:>12.1f} |")
        print(f"| statuses                        | {str(self.statuses):>12} |")
        print(f"| acked (all, warm-up included)   | {self.acked:>12} |")
        print(f"| inbox polls (every {self.poll:g} s)       | {self.polls:>12} |")
        print(f"| all drained after (s)           | {self.drained:>12.1f} |")
        print(f"| server CPU per document, ms     | {self.server_cpu_ms:>12.1f} |")
        print(f"| client CPU per document, ms     | {self.client_cpu_ms:>12.1f} |")
        print(f"| baseline GET /healthz /s        | {self.baseline:>12.1f} |")
        print(f"| client CPU per healthz, ms      | {self.healthz_client_ms:>12.3f} |")
        print(f"| ratio accepted/s : healthz/s    | {self.rate / self.baseline:>12.3f} |")
        print(f"| receipts durable                | {self.durable:>12} |")


async def measure(
    label: str,
    packages: list[tuple[str, bytes]],
    *,
    env: dict[str, str],
    agencies: list[str],
    workers: int,
    concurrency: int = 16,
    poll: float = 0.25,
    warmup: int = 50,
    database_url: str | None = None,
    keep: bool = False,
    after=None,
    server_root: Path = ROOT,
) -> Run:
    """Serve a fresh hub (`axis serve --workers N`, its settings from `env` on top of this
    process's), register `agencies`, send `packages` ((sender, body) pairs; the first `warmup`
    not measured) while every agency pulls and acknowledges, then check every receipt durable.
    `database_url`: an empty database to use instead of the embedded SQLite (upgraded here).
    `after(url, keys, receipts)`, awaited while the hub still runs, may return a dict of its
    own findings (kept in `Run.extra`). `server_root`: the checkout whose hub is served (another
    version of axis, measured in the same sitting)."""
    data = Path(tempfile.mkdtemp(prefix="axis-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(data),
        "AXIS_PORT": str(port),
        "PYTHONPATH": str(server_root),
        **env,
    }
    if database_url:
        env["AXIS_DATABASE_URL"] = database_url
        axis(env, "db", "upgrade", cwd=server_root)
    keys = {
        code: axis(env, "agency", "add", code, f"Cơ quan {code}", cwd=server_root)
        .strip()
        .splitlines()[-1]
        for code in agencies
    }
    warm, packages = packages[:warmup], packages[warmup:]
    server = subprocess.Popen(
        [sys.executable, "-m", "axis.cli", "serve", "--workers", str(workers)],
        env=env,
        cwd=server_root,
    )
    url = f"http://127.0.0.1:{port}"
    extra: dict = {}
    try:
        if not wait_healthy(url, server, seconds=180):  # a loaded machine starts slowly
            raise RuntimeError("the hub did not start")
        baseline, healthz_client_ms = await _baseline(url, keys[agencies[0]], 3000, concurrency)
        stop = asyncio.Event()
        puller = asyncio.create_task(_pull_and_ack(url, keys, stop, poll, agencies))
        # Not measured, as bench_postgres: a new process's first requests fill its caches.
        refusals: list[str] = []
        _, warm_statuses, warm_receipts = await _send_all(url, keys, warm, concurrency, refusals)
        cpu0, t0, client0 = cpu_seconds(server.pid), time.perf_counter(), time.process_time()
        latencies, statuses, receipts = await _send_all(url, keys, packages, concurrency, refusals)
        elapsed = time.perf_counter() - t0
        client_cpu = time.process_time() - client0
        stop.set()
        acked, polls = await puller
        drained = time.perf_counter() - t0
        server_cpu = cpu_seconds(server.pid) - cpu0  # acknowledgements included, as before
        if after is not None:
            extra = await after(url, keys, warm_receipts + receipts) or {}
    finally:
        server.terminate()
        server.wait(30)

    accepted = statuses.get(202, 0)
    lat = sorted(latencies) or [0.0]
    durable = _verify(data, database_url, warm_receipts + receipts)
    if keep:
        print(f"data kept in {data}")
    else:
        shutil.rmtree(data, ignore_errors=True)  # a run leaves ~300 MB of packages
    return Run(
        label=label,
        workers=workers,
        warmup=warmup,
        rate=accepted / elapsed,
        p50=statistics.median(lat) * 1000,
        p99=lat[max(0, int(len(lat) * 0.99) - 1)] * 1000,
        statuses=statuses,
        acked=acked,
        polls=polls,
        poll=poll,
        drained=drained,
        server_cpu_ms=server_cpu / max(accepted, 1) * 1000,
        client_cpu_ms=client_cpu / max(accepted, 1) * 1000,
        baseline=baseline,
        healthz_client_ms=healthz_client_ms,
        durable=durable,
        accepted=accepted,
        receipts=receipts,
        extra={**extra, "warmup_statuses": warm_statuses, "refusals": refusals},
    )


async def _run(args) -> int:
    print(f"building {args.warmup} + {args.packages} packages (~100 KB PDF, 3 recipients each)...")
    packages = _packages(args.warmup + args.packages)
    # --evidence both: the same packages through a hub without the evidence log, then one with
    # it (issue 18's "same run, evidence on vs off"), alternating when --rounds > 1
    modes = ["off", "on"] if args.evidence == "both" else [args.evidence]
    runs: dict[str, list[Run]] = {m: [] for m in modes}
    for r in range(args.rounds):
        for mode in modes if r % 2 == 0 else modes[::-1]:
            with FreshPostgres(args.postgres) as database_url:
                run = await _measure_mode(args, packages, mode, database_url)
            print(f"\n{run.label}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            run.print_table()
            runs[mode].append(run)

    where = "PostgreSQL" if args.postgres else "SQLite"
    ok = all(r.durable == "yes" and r.accepted == args.packages for rs in runs.values() for r in rs)
    if len(modes) == 2:
        rate = {m: statistics.median(r.rate for r in runs[m]) for m in modes}
        cpu = {m: statistics.median(r.server_cpu_ms for r in runs[m]) for m in modes}
        print(
            f"{where}, evidence on/off: {rate['on']:.1f} / {rate['off']:.1f} accepted/s = "
            f"{rate['on'] / rate['off']:.3f} (target >= 0.90); server CPU "
            f"{cpu['on']:.2f} / {cpu['off']:.2f} ms per document: evidence "
            f"{cpu['on'] - cpu['off']:+.2f} ms (target <= 2 ms)"
        )
        return 0 if ok else 1
    run = runs[modes[0]][-1]
    target = run.rate >= 200 and run.p99 < 200
    print(f"target (>=200/s, p99 < 200 ms): {'met' if target else 'NOT met'}")
    return 0 if ok else 1


async def _measure_mode(args, packages, mode: str, database_url: str | None) -> Run:
    where = " (PostgreSQL)" if database_url else ""
    return await measure(
        ("unsigned" if args.evidence == "on" else f"unsigned, evidence {mode}") + where,
        packages,
        env={**UNSIGNED_ENV, "AXIS_EVIDENCE_ENABLED": "true" if mode == "on" else "false"},
        agencies=SENDERS + RECIPIENTS,
        workers=args.workers,
        concurrency=args.concurrency,
        poll=args.poll,
        warmup=args.warmup,
        database_url=database_url,
        keep=args.keep,
    )


# The headline's settings: unsigned documents, nothing refused for signatures or rules.
UNSIGNED_ENV = {"AXIS_SIGNATURE_POLICY": "off", "AXIS_RULES": "off"}


def _verify(data: Path, database_url: str | None, receipts: list[dict]) -> str:
    """Every receipt names a message in the database and a package in the store."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_url or f"sqlite:///{data / 'axis.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sqlalchemy.text("SELECT id, sha256 FROM messages"))
            ids = {row[0]: row[1] for row in rows}
    finally:
        engine.dispose()
    store = LocalStore(data / "objects")
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
    parser.add_argument(
        "--evidence",
        choices=["on", "off", "both"],
        default="on",
        help="AXIS_EVIDENCE_ENABLED of the hub; both: off and on in the same sitting, and the "
        "ratio (issue 18)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="runs of each --evidence mode, alternating"
    )
    add_postgres_argument(parser)
    sys.exit(asyncio.run(_run(parser.parse_args())))


if __name__ == "__main__":
    main()
