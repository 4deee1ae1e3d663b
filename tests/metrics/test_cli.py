"""`axis stats` on the hub's host: the table, and the detailed list as CSV and XLSX files."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

from openpyxl import load_workbook

from tests.metrics.conftest import A, generate_traffic, register, running, traffic_range


def _axis(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "axis.cli", *args],
        env={**os.environ, **env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_axis_stats_prints_the_figures_and_writes_the_list(sqlite_env, tmp_path):
    with running(sqlite_env) as live:
        keys = register(live)
        generate_traffic(live, keys)
        with live.client(keys.operator) as op:
            api = op.get(f"/v1/stats/agencies/{A}", params=traffic_range()).json()
            rows = op.get(
                "/v1/stats/documents", params={**traffic_range(), "agency": A, "format": "json"}
            ).json()["items"]
    rng = traffic_range()
    span = ["--from", rng["from"], "--to", rng["to"]]
    table = _axis(sqlite_env, "stats", *span)
    assert table.returncode == 0, table.stderr
    line = next(ln for ln in table.stdout.splitlines() if A in ln)
    cells = [c.strip() for c in line.replace("│", "|").split("|") if c.strip()]
    assert cells[:3] == [A, str(api["totals"]["sent"]), str(api["totals"]["received"])]

    one = _axis(sqlite_env, "stats", "--agency", A, "--granularity", "day", *span)
    assert one.returncode == 0, one.stderr
    assert str(api["totals"]["sent"]) in one.stdout

    out_csv, out_xlsx = tmp_path / "a.csv", tmp_path / "a.xlsx"
    done = _axis(
        sqlite_env, "stats", "--agency", A, *span, "--csv", str(out_csv), "--xlsx", str(out_xlsx)
    )
    assert done.returncode == 0, done.stderr
    with out_csv.open(encoding="utf-8-sig") as fh:
        listed = list(csv.DictReader(fh))
    assert [r["document_id"] for r in listed] == [r["document_id"] for r in rows]
    sheet = load_workbook(out_xlsx, read_only=True)["documents"]
    assert len(list(sheet.values)) == len(rows) + 1

    bad = _axis(sqlite_env, "stats", "--from", "2026-12-01", "--to", "2026-01-01")
    assert bad.returncode == 1
    assert "STATS_RANGE_REVERSED" in bad.stderr
