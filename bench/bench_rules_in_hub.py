"""What the Decree 30 rules (with the text extraction they need) add to the hub's CPU per
accepted package: the real server, the same Decree-30-valid packages, rules off then on, in one
run. CPU is the server process's own (user + system, from /proc), so the client's share of the
two cores does not count.

    python -m bench.bench_rules_in_hub [--packages 300] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import axis, cpu_seconds, free_port, wait_healthy  # noqa: E402
from formats.edxml import build_document  # noqa: E402
from tests.rules.documents import RECIPIENTS, SENDER, PdfSpec, good_package, make_pdf  # noqa: E402


def _packages(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        number = f"{i + 10}"
        pkg = good_package(make_pdf(PdfSpec(number_line=f"Số: {number}/QĐ-UBND")))
        pkg = replace(
            pkg,
            code=replace(pkg.code, number=number),
            document_id=pkg.document_id.replace(",05/", f",{number}/"),
        )
        out.append(build_document(pkg))
    return out


async def _round(rules: str, packages: list[bytes], concurrency: int) -> dict:
    data = Path(tempfile.mkdtemp(prefix="axis-bench-rules-"))
    port = free_port()
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(data),
        "AXIS_PORT": str(port),
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": rules,
        "PYTHONPATH": str(ROOT),
    }
    key = axis(env, "agency", "add", SENDER, "UBND Hà Nội").strip().splitlines()[-1]
    for code in RECIPIENTS:
        axis(env, "agency", "add", code, f"Cơ quan {code}")
    server = subprocess.Popen(
        [sys.executable, "-m", "axis.cli", "serve"], env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    statuses: dict[int, int] = {}
    try:
        if not wait_healthy(url, server):
            raise RuntimeError("the hub did not start")
        queue = list(packages)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/xml"}
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            await client.post("/v1/messages", content=b"<warm-up/>", headers=headers)
            cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()

            async def worker():
                while queue:
                    r = await client.post("/v1/messages", content=queue.pop(), headers=headers)
                    statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            cpu, wall = cpu_seconds(server.pid) - cpu0, time.perf_counter() - t0
    finally:
        server.terminate()
        server.wait(30)
    accepted = statuses.get(202, 0)
    return {
        "rules": rules or "defaults",
        "statuses": statuses,
        "accepted": accepted,
        "cpu_ms": cpu / max(accepted, 1) * 1000,
        "rate": accepted / wall,
    }


async def _main(args) -> int:
    print(f"building {args.packages} Decree-30-valid packages (2-page Quyết định PDF)...")
    packages = _packages(args.packages)
    off = await _round("off", packages, args.concurrency)
    on = await _round("", packages, args.concurrency)
    print()
    print("| rules | accepted | server CPU ms/package | packages/s |")
    print("|---|---|---|---|")
    for r in (off, on):
        print(
            f"| {r['rules']} | {r['accepted']} {r['statuses']} | {r['cpu_ms']:.2f} | "
            f"{r['rate']:.1f} |"
        )
    added = on["cpu_ms"] / off["cpu_ms"] - 1
    print(f"\nrules add {added:+.1%} to the hub's CPU per accepted package (target <= +20%)")
    return 0 if on["accepted"] == off["accepted"] == args.packages else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=4)
    sys.exit(asyncio.run(_main(parser.parse_args())))


if __name__ == "__main__":
    main()
