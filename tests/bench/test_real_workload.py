"""The headline benchmark runs as its users run it, at a tiny size (to prove it works, not to
time it): signed documents through the strict policy and the rules, every accepted document's
report read back with both signatures TOTAL_PASSED, a tampered one refused, the unsigned run
beside it and the ratio printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(600)
def test_the_real_workload_benchmark_validates_every_document_and_refuses_a_tampered_one():
    result = subprocess.run(
        [sys.executable, "-m", "bench.real_workload", "--packages", "8", "--warmup", "2"]
        + ["--workers", "2", "--concurrency", "2", "--poll", "0.05"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=580,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    rows = [
        line
        for line in out.splitlines()
        if line.startswith("| unsigned") or line.startswith("| real")
    ]
    assert len(rows) == 2, out[-3000:]
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[6] == "{202: 8}" and cells[7] == "yes", row
    # warm-up included: all 10 documents' reports say both signatures passed
    assert "reports read back: 10/10 TOTAL_PASSED x2" in out
    assert "tampered document: 422 SIG_HASH_FAILURE" in out
    assert "ratio real : unsigned = " in out
