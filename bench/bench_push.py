"""Push delivery throughput on PostgreSQL: worker processes POSTing to a local webhook receiver.

A fresh database gets N queued push jobs (messages accepted through the service layer, not
measured); then `axis worker` processes (one, then two, same run) drain the queue into a receiver
that answers 200 at once (uvicorn, its own process). A delivery is the whole walk: claim, POST
the signed package, acknowledge (status 01 to the sender, with its own push job when the sender
has a webhook; here it has none), record the attempt. The rate is measured from the database's
own times (first attempt to last job finished), so process start-up is not counted. Baseline in
the same run: plain POSTs of the same bodies to the same receiver from one process with the
same concurrency (the HTTP ceiling without any database work).

    python -m bench.bench_push [--jobs 2000] [--concurrency 8] [--metrics on|off]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import free_port  # noqa: E402
from formats.edxml import build_document  # noqa: E402
from tests.factories import make_document, minimal_pdf  # noqa: E402

SENDER = "000.00.01.H26"
RECIPIENTS = [f"000.00.{n:02d}.G06" for n in range(1, 5)]

RECEIVER = textwrap.dedent(
    """
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(app, host="127.0.0.1", port=PORT, log_level="warning", access_log=False)
    """
)


def _wait_http(url: str) -> None:
    for _ in range(300):
        try:
            httpx.post(url, content=b"x", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


def _enqueue(hub, keys, start: int, n: int, pdf: bytes) -> list[bytes]:
    from axis.service import keys as key_service
    from axis.service import messages

    principal = key_service.authenticate(hub.db, keys[SENDER])
    bodies = []
    for i in range(start, start + n):
        body = build_document(
            make_document(
                sender=SENDER,
                recipients=[RECIPIENTS[i % len(RECIPIENTS)]],
                number=f"{i + 10:05d}",
                attachments=[("van-ban.pdf", pdf, "application/pdf")],
            )
        )
        messages.submit(hub, body, principal)
        bodies.append(body)
    return bodies


def _drain(env: dict, hub, workers: int, expected_done: int) -> tuple[float, int]:
    from sqlalchemy import func, select

    from axis.adapters.push_tables import PushAttempt, PushJob

    with hub.db.read() as s:
        since = s.scalar(select(func.max(PushAttempt.id))) or 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from axis.cli.main import app; app()", "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            with hub.db.read() as s:
                done = s.scalar(select(func.count()).where(PushJob.state == "done"))
            if done >= expected_done:
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
    with hub.db.read() as s:
        first = s.scalar(select(func.min(PushAttempt.started_at)).where(PushAttempt.id > since))
        last = s.scalar(select(func.max(PushJob.finished_at)))
        attempts = s.scalar(select(func.count()).where(PushAttempt.id > since))
    return (last - first).total_seconds(), attempts


def _baseline(url: str, bodies: list[bytes], concurrency: int) -> float:
    with httpx.Client(limits=httpx.Limits(max_connections=concurrency)) as client:

        def post(body: bytes) -> int:
            return client.post(url, content=body).status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            codes = list(pool.map(post, bodies))
        assert set(codes) == {200}
        return len(bodies) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8, help="POSTs in flight per worker")
    parser.add_argument("--size", type=int, default=20_000, help="PDF bytes per package")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("AXIS_TEST_DATABASE_URL")
        or "postgresql://postgres@127.0.0.1:5432/postgres",
    )
    parser.add_argument("--metrics", choices=["on", "off"], default="on")
    args = parser.parse_args()

    name = f"axis_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = args.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    db_url = f"{base}/{name}"
    data = Path(tempfile.mkdtemp(prefix="axis-bench-push-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/push"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AXIS_DATA_DIR": str(data),
        "AXIS_DATABASE_URL": db_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_PUSH_CONCURRENCY": str(args.concurrency),
        "AXIS_PUSH_POLL_S": "0.1",
        "AXIS_METRICS_ENABLED": "true" if args.metrics == "on" else "false",
    }
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER.replace("PORT", str(port))])
    try:
        subprocess.run(
            [sys.executable, "-c", "from axis.cli.main import app; app()", "db", "upgrade"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        from axis.bootstrap import build_hub
        from axis.config import Settings
        from axis.service import agencies, push

        settings = Settings(data_dir=data, database_url=db_url, signature_policy="off", rules="off")
        hub = build_hub(settings, create_schema=False)
        keys = {c: agencies.add_agency(hub.db, c, f"Cơ quan {c}") for c in [SENDER, *RECIPIENTS]}
        for code in RECIPIENTS:
            push.set_webhook(hub.db, code, url)
        _wait_http(url)
        pdf = minimal_pdf(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], size=args.size)
        print(f"queueing {args.jobs} push jobs ({len(pdf)} B PDF each)...")
        bodies = _enqueue(hub, keys, 0, args.jobs, pdf)
        one_s, one_attempts = _drain(env, hub, 1, args.jobs)
        print(f"queueing {args.jobs} more...")
        _enqueue(hub, keys, args.jobs, args.jobs, pdf)
        two_s, two_attempts = _drain(env, hub, 2, 2 * args.jobs)
        baseline = _baseline(url, bodies[: min(len(bodies), 2000)], args.concurrency)
        hub.close()
    finally:
        receiver.terminate()
        receiver.wait(10)
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    rows = [(1, args.jobs / one_s, one_attempts), (2, args.jobs / two_s, two_attempts)]
    print()
    print(
        f"push delivery on PostgreSQL, {args.jobs} jobs per run, {args.concurrency} in flight"
        f" per worker, metrics {args.metrics}"
    )
    print("| workers | deliveries/s | attempts | plain POST/s (baseline) | ratio |")
    print("|---------|--------------|----------|-------------------------|-------|")
    for workers, rate, attempts in rows:
        print(
            f"| {workers:>7} | {rate:>12.1f} | {attempts:>8} | {baseline:>23.1f} "
            f"| {rate / baseline:>5.3f} |"
        )
    print(f"two workers : one = {rows[1][1] / rows[0][1]:.2f}")


if __name__ == "__main__":
    main()
