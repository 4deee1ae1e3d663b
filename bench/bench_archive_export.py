"""BagIt export of N archived records (default 10,000): time and memory along the way.

Memory must stay flat: the resident set size after the first 10% of the records is the
baseline, and the ratio of each later sample to it is printed (≈1.0 is flat). Records are
archived the hub's way first (objects into a local store, records into a SQLite catalog).

Run: .venv/bin/python -m bench.bench_archive_export [N]
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from archive import catalog
from archive.export import export_bags
from archive.localstore import LocalStore
from archive.records import add_record, archive_package
from formats.model import (
    Attachment,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    PromulgationInfo,
)


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def package(i: int, rnd: random.Random) -> DocumentPackage:
    data = rnd.randbytes(20_000)
    import hashlib

    return DocumentPackage(
        sender=Organization("000.00.00.H26", "Ủy ban nhân dân thành phố Hà Nội"),
        recipients=[Organization("000.00.00.G06", "Bộ Tài chính")],
        document_id=f"000.00.00.H26,2024/01/01,{i}/QĐ-UBND",
        code=Code(str(i), "QĐ-UBND"),
        promulgation=PromulgationInfo("Hà Nội", date(2015, 1, 1) + timedelta(days=i % 3650)),
        document_type=DocumentType(type_name="Quyết định"),
        subject=f"Về việc phê duyệt kế hoạch số {i}",
        attachments=[
            Attachment(
                f"cid{i}", f"QD-{i}.pdf", "application/pdf", data, hashlib.sha256(data).hexdigest()
            )
        ],
    )


def main(n: int = 10_000) -> None:
    rnd = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        engine = create_engine(f"sqlite:///{root / 'catalog.db'}")
        catalog.metadata.create_all(engine)
        store = LocalStore(root / "objects", fsync_dir=False)
        started = time.perf_counter()
        with engine.begin() as conn:
            for i in range(n):
                pkg = package(i, rnd)
                draft = archive_package(
                    store,
                    pkg,
                    package=f"<edXML n='{i}'/>".encode() * 100,
                    report=b"{}",
                    message_id=f"m{i}",
                    retention_years=10,
                    accepted_at=datetime(2025, 1, 1, tzinfo=UTC),
                )
                add_record(conn, draft)
        archive_s = time.perf_counter() - started

        samples: list[tuple[int, float, float]] = []
        done = 0
        t0 = time.perf_counter()

        def tick(k: int) -> None:
            nonlocal done
            done += k
            if done % max(1, n // 10) == 0:
                samples.append((done, time.perf_counter() - t0, rss_mib()))

        with engine.begin() as conn:
            result = export_bags(conn, store, root / "bags", actor="bench", progress=tick)
        total = time.perf_counter() - t0
        print(
            f"archived {n} records in {archive_s:.1f} s; exported {result.records} bags, "
            f"{result.objects} objects, {result.bytes / 2**20:.0f} MiB in {total:.1f} s "
            f"({result.records / total:.0f} bags/s)"
        )
        print(f"{'records':>8}{'seconds':>10}{'RSS MiB':>10}{'RSS ratio':>11}")
        base = samples[0][2]
        for k, s, m in samples:
            print(f"{k:>8}{s:>10.1f}{m:>10.1f}{m / base:>11.2f}")
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
