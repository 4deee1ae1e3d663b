"""Catalog search over N generated records (default 1,000,000) on SQLite and PostgreSQL.

Typical archivist queries: agency + date range + words of the subject, and a few others.
The baseline, measured in the same run, is a primary-key lookup (the ratio column), since
absolute times drift on a shared machine. Target: p95 < 50 ms for agency + dates + words.

Run:  .venv/bin/python -m bench.bench_archive_search [--rows N] [--queries Q]
          [--only sqlite|postgresql] [--keep DIR]
PostgreSQL: a throwaway database archive_bench_<random> on $ARCHIVE_BENCH_PG
(default postgresql+psycopg://postgres@127.0.0.1:5432/postgres), dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine

from archive import catalog as c
from archive.search import search
from archive.textfold import fold, search_form

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

TYPES = [
    ("Quyết định", "QĐ"),
    ("Công văn", ""),
    ("Thông báo", "TB"),
    ("Kế hoạch", "KH"),
    ("Báo cáo", "BC"),
    ("Giấy mời", "GM"),
    ("Chỉ thị", "CT"),
    ("Tờ trình", "TTr"),
]
VERBS = [
    "phê duyệt",
    "điều động",
    "bổ nhiệm",
    "triển khai",
    "tăng cường",
    "hướng dẫn",
    "ban hành",
    "kiện toàn",
    "tổ chức",
    "thực hiện",
    "kiểm tra",
    "báo cáo",
    "sửa đổi",
    "bãi bỏ",
    "giao",
    "phân bổ",
    "quyết toán",
    "tuyển dụng",
    "khen thưởng",
    "xử lý",
]
OBJECTS = [
    "kế hoạch chuyển đổi số",
    "dự toán ngân sách",
    "cán bộ công chức",
    "công tác phòng chống thiên tai",
    "đề án cải cách hành chính",
    "quy chế làm việc",
    "chương trình đào tạo",
    "dự án đầu tư công",
    "nhiệm vụ khoa học công nghệ",
    "công tác văn thư lưu trữ",
    "hồ sơ đất đai",
    "giải phóng mặt bằng",
    "an toàn giao thông",
    "phòng cháy chữa cháy",
    "y tế cơ sở",
    "giáo dục phổ thông",
    "bảo hiểm xã hội",
    "thuế thu nhập",
    "môi trường đô thị",
    "nước sạch nông thôn",
    "du lịch văn hóa",
    "xây dựng nông thôn mới",
    "tài sản công",
    "thanh tra kiểm toán",
]
PLACES = [
    "tỉnh Bắc Ninh",
    "thành phố Hà Nội",
    "huyện Gia Lâm",
    "quận Ba Đình",
    "tỉnh Nghệ An",
    "tỉnh Đồng Nai",
    "thành phố Đà Nẵng",
    "tỉnh Lào Cai",
    "tỉnh Cà Mau",
    "tỉnh Quảng Ninh",
]
N_AGENCIES = 300
START = date(2015, 1, 1)
DAYS = 3650


def agency_code(i: int) -> str:
    return f"000.{i // 100:02d}.{i % 100:02d}.H{(i % 63) + 1:02d}"


def generate(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    accepted = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        a = int(rnd.paretovariate(1.2)) % N_AGENCIES  # a few big agencies, many small ones
        agency = agency_code(a)
        # Records arrive in time order, as the hub fills the catalog: the id follows the
        # acceptance date, and a document is issued a few days before it is sent.
        issued = START + timedelta(days=max(0, i * DAYS // n - rnd.randrange(0, 20)))
        type_name, abbr = TYPES[rnd.randrange(len(TYPES))]
        notation = f"{abbr}-UBND" if abbr else "UBND-VP"
        number = str(rnd.randrange(1, 5000))
        subject = (
            f"Về việc {rnd.choice(VERBS)} {rnd.choice(OBJECTS)} "
            f"{rnd.choice(PLACES)} năm {issued.year}"
        )
        agency_name = f"Ủy ban nhân dân {PLACES[a % len(PLACES)]}"
        search_text = search_form(f"{number}/{notation} {type_name} {subject} {agency_name}")
        yield {
            "id": i,
            "message_id": f"m{i}",
            "document_id": f"{agency},{issued:%Y/%m/%d},{number}/{notation}",
            "file_code": f"{agency}.{issued.year}.{notation}",
            "agency_id": agency,
            "agency_name": agency_name,
            "code_number": number,
            "code_notation": notation,
            "number_key": fold(f"{number}/{notation}"),
            "issued_date": issued,
            "issued_place": "",
            "type_name": type_name,
            "type_key": fold(type_name),
            "subject": subject,
            "content": "",
            "language": "vi",
            "signer_name": "Nguyễn Văn An",
            "signer_position": "Chủ tịch",
            "signer_competence": "",
            "retention_years": 10,
            "permanent": False,
            "retain_until": date(issued.year + 11, 1, 1),
            "access": "public",
            "state": "active",
            "legal_hold": False,
            "package_sha256": f"{i:064x}",
            "accepted_at": accepted,
            "search_text": search_text,
        }


COLUMNS = list(next(generate(1)).keys())


# -- loading ---------------------------------------------------------------------------------
def load_sqlite(engine: Engine, n: int) -> float:
    started = time.perf_counter()
    c.metadata.create_all(engine)
    with engine.begin() as conn:
        for ix in c.records.indexes:
            ix.drop(conn)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA journal_mode=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        placeholders = ",".join("?" for _ in COLUMNS)
        sql = f"INSERT INTO archive_records ({','.join(COLUMNS)}) VALUES ({placeholders})"
        batch: list[tuple] = []
        for row in generate(n):
            row["issued_date"] = row["issued_date"].isoformat()
            row["retain_until"] = row["retain_until"].isoformat()
            row["accepted_at"] = "2025-01-01 00:00:00.000000"
            batch.append(tuple(row[k] for k in COLUMNS))
            if len(batch) == 20_000:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)
        cur.execute(f"INSERT INTO {c.FTS_TABLE}({c.FTS_TABLE}) VALUES ('rebuild')")
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        for ix in c.records.indexes:
            ix.create(conn)
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def load_postgres(engine: Engine, n: int) -> float:
    started = time.perf_counter()
    c.metadata.create_all(engine)
    with engine.begin() as conn:
        for ix in c.records.indexes:
            ix.drop(conn)
        conn.execute(text("DROP INDEX ix_archive_records_tsv"))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        with cur.copy(f"COPY archive_records ({','.join(COLUMNS)}) FROM STDIN") as copy:
            for row in generate(n):
                copy.write_row(tuple(row[k] for k in COLUMNS))
        raw.commit()
        cur.execute("SELECT setval('archive_records_id_seq', %s)", (n,))
        raw.commit()
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(text("SET maintenance_work_mem = '512MB'"))
        for ix in c.records.indexes:
            ix.create(conn)
        conn.execute(
            text("CREATE INDEX ix_archive_records_tsv ON archive_records USING GIN (search_tsv)")
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE archive_records"))
    return time.perf_counter() - started


# -- queries ---------------------------------------------------------------------------------
def query_makers(rnd: random.Random, n: int) -> dict[str, Callable[[], dict[str, Any]]]:
    def agency() -> str:
        return agency_code(int(rnd.paretovariate(1.2)) % N_AGENCIES)

    def dates(span_days: int) -> tuple[date, date]:
        d0 = START + timedelta(days=rnd.randrange(DAYS - span_days))
        return d0, d0 + timedelta(days=span_days)

    def words(k: int) -> str:
        pool = " ".join([rnd.choice(VERBS), rnd.choice(OBJECTS)]).split()
        return " ".join(rnd.sample(pool, k=min(k, len(pool))))

    def agency_dates_words() -> dict[str, Any]:
        f, t = dates(365)
        return {"agency": agency(), "date_from": f, "date_to": t, "text": words(2)}

    def agency_dates_words_ascii() -> dict[str, Any]:
        q = agency_dates_words()
        q["text"] = fold(q["text"])
        return q

    def agency_dates() -> dict[str, Any]:
        f, t = dates(365)
        return {"agency": agency(), "date_from": f, "date_to": t}

    def words_only() -> dict[str, Any]:
        return {"text": words(3)}

    def dates_type_words() -> dict[str, Any]:
        f, t = dates(90)
        return {"date_from": f, "date_to": t, "type_name": rnd.choice(TYPES)[0], "text": words(1)}

    def number() -> dict[str, Any]:
        return {"number": f"{rnd.randrange(1, 5000)}/QĐ-UBND", "agency": agency()}

    return {
        "agency+dates+words": agency_dates_words,
        "agency+dates+words (no accents)": agency_dates_words_ascii,
        "agency+dates": agency_dates,
        "words only": words_only,
        "dates(90d)+type+word": dates_type_words,
        "agency+number/symbol": number,
    }


def pctl(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))]


Row = tuple[str, float, float, float, float, int]


def run_queries(engine: Engine, n: int, q: int) -> list[Row]:
    """Wall-clock p50/p95, and the p95 of this process's CPU time (meaningful for SQLite,
    which runs in-process: it shows the cost without the other tenants of a shared machine)."""
    rnd = random.Random(11)
    out: list[Row] = []
    with engine.connect() as conn:
        base = []
        for _ in range(q):
            rid = rnd.randrange(1, n + 1)
            t = time.perf_counter()
            conn.execute(select(c.records.c.subject).where(c.records.c.id == rid)).first()
            base.append(time.perf_counter() - t)
        base_p50 = statistics.median(base)
        out.append(("baseline: lookup by id", base_p50 * 1e3, pctl(base, 0.95) * 1e3, 0.0, 1.0, 1))
        for label, make in query_makers(rnd, n).items():
            # Warm-up with other parameters: a production catalog is read all day long.
            for _ in range(max(1, q // 4)):
                search(conn, limit=50, **make())
            lat, cpu, hits = [], [], 0
            for _ in range(q):
                params = make()
                t, tc = time.perf_counter(), time.process_time()
                page = search(conn, limit=50, **params)
                cpu.append(time.process_time() - tc)
                lat.append(time.perf_counter() - t)
                hits += len(page.items)
            p95 = pctl(lat, 0.95)
            out.append(
                (
                    label,
                    statistics.median(lat) * 1e3,
                    p95 * 1e3,
                    pctl(cpu, 0.95) * 1e3,
                    p95 / base_p50,
                    hits // q,
                )
            )
    return out


def print_table(title: str, load_s: float, rows: list[Row]) -> None:
    busy = f"machine load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    print(f"\n{title} (load {load_s:.0f} s; {busy})")
    print(f"{'query':<34}{'p50 ms':>9}{'p95 ms':>9}{'cpu p95':>9}{'p95/base':>10}{'avg hits':>10}")
    for label, p50, p95, cpu95, ratio, hits in rows:
        flag = "" if p95 < 50 or label.startswith("baseline") else "  > 50 ms"
        print(f"{label:<34}{p50:>9.2f}{p95:>9.2f}{cpu95:>9.2f}{ratio:>10.0f}{hits:>10}{flag}")


def bench_sqlite(n: int, q: int, keep: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = (keep or Path(tmp)) / f"archive-bench-{n}.db"
        fresh = not path.exists()
        engine = create_engine(f"sqlite:///{path}")
        load_s = load_sqlite(engine, n) if fresh else 0.0
        print_table(
            f"SQLite, {n:,} records, {path.stat().st_size / 2**20:.0f} MiB",
            load_s,
            run_queries(engine, n, q),
        )
        engine.dispose()


def bench_postgres(n: int, q: int, admin_url: str, keep: str | None = None) -> None:
    name = keep or f"archive_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name)
    engine = create_engine(url)
    try:
        load_s = 0.0 if exists else load_postgres(engine, n)
        print_table(f"PostgreSQL, {n:,} records", load_s, run_queries(engine, n, q))
    finally:
        engine.dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    ap.add_argument("--keep", type=Path, help="keep the SQLite file in this directory (reuse)")
    ap.add_argument("--pg-keep", metavar="DBNAME", help="keep (and reuse) this PostgreSQL database")
    args = ap.parse_args()
    if args.only in (None, "sqlite"):
        bench_sqlite(args.rows, args.queries, args.keep)
    if args.only in (None, "postgresql"):
        bench_postgres(
            args.rows, args.queries, os.environ.get("ARCHIVE_BENCH_PG", PG_ADMIN), args.pg_keep
        )


if __name__ == "__main__":
    main()
