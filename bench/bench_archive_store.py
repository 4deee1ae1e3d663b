"""Object store put throughput: ~140 KB objects, as the hub writes them (LocalStore).

Compares the local store with and without the directory fsync (the baseline is the bare
write+fsync of a file in the same run, so the ratio survives a shared, noisy machine).
Run: .venv/bin/python -m bench.bench_archive_store [N]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archive.localstore import LocalStore

SIZE = 140 * 1024


def _bare(root: Path, blobs: list[bytes]) -> float:
    started = time.perf_counter()
    for i, b in enumerate(blobs):
        with open(root / f"f{i}", "wb") as f:
            f.write(b)
            f.flush()
            os.fsync(f.fileno())
    return time.perf_counter() - started


def _store(
    store: LocalStore, blobs: list[bytes], retain: datetime | None = None
) -> tuple[float, list[float]]:
    lat = []
    started = time.perf_counter()
    for b in blobs:
        t = time.perf_counter()
        store.put(b, retain_until=retain)
        lat.append(time.perf_counter() - t)
    return time.perf_counter() - started, sorted(lat)


def main(n: int = 400) -> None:
    blobs = [os.urandom(SIZE) for _ in range(n)]
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_DIR")) as tmp:
        root = Path(tmp)
        (root / "bare").mkdir()
        base = _bare(root / "bare", blobs)
        print(f"{'variant':<28}{'puts/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'ratio':>8}")
        print(f"{'bare write+fsync':<28}{n / base:>10.0f}{'':>10}{'':>10}{1.0:>8.2f}")
        until = datetime.now(UTC) + timedelta(days=3650)
        variants = (
            ("new shards", True, None, False),
            ("new shards, no dir fsync", False, None, False),
            ("steady", True, None, True),
            ("steady + retention", True, until, True),
        )
        for i, (label, fsync_dir, retain, steady) in enumerate(variants):
            store = LocalStore(root / f"s{i}", fsync_dir=fsync_dir)
            if steady:
                _all_shards(store.root)
            total, lat = _store(store, blobs, retain)
            p50, p95 = lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.95)] * 1e3
            print(f"{label:<28}{n / total:>10.0f}{p50:>10.2f}{p95:>10.2f}{total / base:>8.2f}")


def _all_shards(root: Path) -> None:
    """Every ab/ directory, as in a store past its first few thousand objects (the first
    puts into an empty store each create a directory, and fsync its parent)."""
    for a in range(256):
        (root / f"{a:02x}").mkdir(exist_ok=True)
    os.sync()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
