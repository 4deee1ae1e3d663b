"""The end-to-end benchmark runs as its users run it: the real server with two API processes,
real agency clients sending, pulling and acknowledging, every receipt checked durable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_the_benchmark_accepts_every_package_and_finds_every_receipt_durable():
    result = subprocess.run(
        [sys.executable, "-m", "bench.hub_throughput", "--packages", "24", "--warmup", "4"]
        + ["--workers", "2", "--concurrency", "4", "--poll", "0.05"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = {
        cells[0].strip(): cells[1].strip()
        for line in result.stdout.splitlines()
        if line.startswith("| ") and len(cells := line.strip("|").split("|")) == 2
    }
    assert rows["statuses"] == "{202: 24}"
    assert rows["receipts durable"] == "yes"
    # Every document reached its 3 recipients and each one's status 01 came back, all acked:
    # 28 documents (warm-up included) x 3 deliveries x 2 (the document, then its status).
    assert rows["acked (all, warm-up included)"] == str(28 * 3 * 2)
