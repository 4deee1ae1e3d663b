"""Peak memory of an API process receiving a large package (issue 17, item 5).

Serves the hub with one API process (`axis serve --workers 1`, signatures and rules off so the
figure is the package's own cost), reads the process's resident memory when idle, sends one
package whose PDF attachment is --mb megabytes (base64 in the edXML: the body is a third
larger), and reads the peak (VmHWM) and the resident memory once idle again.

    python -m bench.bench_memory [--mb 45]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import axis, free_port, wait_healthy  # noqa: E402
from formats.edxml import build_document  # noqa: E402
from tests.factories import make_document, minimal_pdf  # noqa: E402


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def _api_pid(server: subprocess.Popen) -> int:
    """The process that serves requests: uvicorn's only worker, else the server itself."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return int(children[-1]) if children else server.pid


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=45)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="axis-bench-mem-"))
    port = free_port()
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(data),
        "AXIS_PORT": str(port),
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_MAX_BODY_BYTES": str(200 << 20),
        "PYTHONPATH": str(ROOT),
    }
    sender, recipient = "000.00.00.G22", "000.00.00.G06"
    key = axis(env, "agency", "add", sender, "VPCP", cwd=ROOT).strip().splitlines()[-1]
    axis(env, "agency", "add", recipient, "BTC", cwd=ROOT)
    pdf = minimal_pdf(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], size=int(args.mb * (1 << 20)))
    body = build_document(
        make_document(
            sender=sender, recipients=[recipient], attachments=[("big.pdf", pdf, "application/pdf")]
        )
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "axis.cli", "serve", "--workers", "1"], env=env, cwd=ROOT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, server, seconds=60):
            raise RuntimeError("the hub did not start")
        pid = _api_pid(server)
        httpx.get(f"{url}/healthz")
        idle = _status(pid)
        r = httpx.post(
            f"{url}/v1/messages",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/xml"},
            timeout=300,
        )
        time.sleep(2)
        after = _status(pid)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(data, ignore_errors=True)
    mib = 1024
    size, pdf_size = len(body) / (1 << 20), len(pdf) / (1 << 20)
    print(f"package {size:.1f} MiB (PDF {pdf_size:.1f} MiB): {r.status_code}")
    print("| API process | MiB |")
    print("|---|---|")
    print(f"| idle before | {idle['VmRSS'] / mib:.0f} |")
    print(f"| peak while receiving (VmHWM) | {after['VmHWM'] / mib:.0f} |")
    print(f"| peak above idle | {(after['VmHWM'] - idle['VmRSS']) / mib:.0f} |")
    print(f"| idle after | {after['VmRSS'] / mib:.0f} |")
    return 0 if r.status_code == 202 else 1


if __name__ == "__main__":
    raise SystemExit(main())
