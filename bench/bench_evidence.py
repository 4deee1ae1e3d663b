"""What the evidence log costs (issue 18: at most ~10% fewer accepted packages/s, ~2 ms CPU per
document), measured against the same hub without it, in the same run.

Two hubs built in this process (service layer, no HTTP: the figure is the evidence's own cost,
not hidden by the HTTP stack), one with AXIS_EVIDENCE_ENABLED=false, take the same workload in
alternating rounds: documents (20 KB PDF, 2 recipients) submitted by concurrent threads, each
acknowledged by both recipients (each ack sends status 01 back: 3 messages, 2 receipts of
acknowledgement, 3 accepted receipts, 12 log entries per document). Prints accepted documents/s
of each, the ratio, and the process CPU per document; then the cost of sealing (a head over the
round's entries, without a TSA) and of `verify_log` per entry.

    python -m bench.bench_evidence [--documents 300] [--rounds 3] [--threads 8]
                                   [--db sqlite|postgresql] [--own]

--own: the CPU of the evidence code itself, timed around it (its preparers, handlers, the
entries' write at commit, the receipts handed out) with `thread_time`, one thread, a hub with
the log on only: no difference of two totals, so it holds up on a machine under load better
than on vs off does (but is still inflated by it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.bootstrap import build_hub  # noqa: E402
from axis.config import Settings  # noqa: E402
from axis.domain import Principal  # noqa: E402
from axis.service import agencies, evidence, messages, statuses  # noqa: E402
from formats.edxml import build_document  # noqa: E402
from tests.factories import make_document, minimal_pdf  # noqa: E402

PG_ADMIN = os.environ.get("AXIS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SENDERS = [f"000.00.{n:02d}.H26" for n in range(1, 5)]
RECIPIENTS = [f"000.00.{n:02d}.G06" for n in range(1, 5)]


def _database(kind: str, tag: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='axis-bench-ev-')}/axis.db"
    import psycopg

    name = f"axis_bench_ev_{tag}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _hub(kind: str, on: bool):
    data = Path(tempfile.mkdtemp(prefix="axis-bench-ev-data-"))
    settings = Settings(
        data_dir=data,
        database_url=_database(kind, "on" if on else "off"),
        signature_policy="off",
        rules="off",
        evidence_enabled=on,
        sqlite_synchronous="NORMAL",
    )
    hub = build_hub(settings)
    for code in SENDERS + RECIPIENTS:
        agencies.add_agency(hub.db, code, f"Cơ quan {code}")
    return hub


def _packages(n: int, round_no: int, tag: str) -> list[tuple[str, list[str], bytes]]:
    pdf = minimal_pdf(["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], size=20_000)
    out = []
    for i in range(n):
        sender = SENDERS[i % len(SENDERS)]
        to = [RECIPIENTS[(i + k) % len(RECIPIENTS)] for k in range(2)]
        pkg = make_document(
            sender=sender,
            recipients=to,
            number=f"{round_no}{i:05d}",
            notation=f"QĐ-{tag}",
            attachments=[("van-ban.pdf", pdf, "application/pdf")],
        )
        out.append((sender, to, build_document(pkg)))
    return out


def _one(hub, item) -> None:  # noqa: ANN001
    sender, to, body = item
    receipt, created = messages.submit(hub, body, Principal("b", "agency", sender))
    assert created
    for code in to:
        [res] = statuses.acknowledge(hub, Principal("b", "agency", code), [receipt.id])
        assert res["acked"]


def _round(hub, items, threads: int) -> tuple[float, float]:  # noqa: ANN001
    c0, t0 = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda it: _one(hub, it), items))
    return time.perf_counter() - t0, time.process_time() - c0


def _own_cpu(args) -> None:  # noqa: ANN001
    import functools

    from sqlalchemy import event as sa_event
    from sqlalchemy.orm import Session

    spent = [0.0]

    def timed(f):  # noqa: ANN001, ANN202
        @functools.wraps(f)
        def run(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t0 = time.thread_time()
            try:
                return f(*a, **k)
            finally:
                spent[0] += time.thread_time() - t0

        return run

    for name in [n for n in vars(evidence.Evidence) if n.startswith(("on_", "prepare_"))]:
        setattr(evidence.Evidence, name, timed(getattr(evidence.Evidence, name)))
    sa_event.remove(Session, "before_commit", evidence._before_commit)
    sa_event.listen(Session, "before_commit", timed(evidence._before_commit))
    for name in ("sign_receipt", "ack_receipt"):
        setattr(evidence, name, timed(getattr(evidence, name)))
    hub = _hub(args.db, True)
    for item in _packages(10, 0, "warm"):
        _one(hub, item)
    own, total = [], []
    for r in range(1, args.rounds + 1):
        items = _packages(args.documents, r, "own")
        spent[0], t0 = 0.0, time.thread_time()
        for item in items:
            _one(hub, item)
        total.append((time.thread_time() - t0) / args.documents * 1000)
        own.append(spent[0] / args.documents * 1000)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"evidence code's own CPU — {args.db}, {args.documents} documents x {args.rounds} "
        f"rounds, one thread: median {statistics.median(own):.2f} ms per document "
        f"(min {min(own):.2f}) of {statistics.median(total):.2f} ms; load average {load}"
    )
    hub.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--documents", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--own", action="store_true", help="the evidence code's own CPU only")
    args = ap.parse_args()
    if args.own:
        _own_cpu(args)
        return
    hubs = {"off": _hub(args.db, False), "on": _hub(args.db, True)}
    for name, hub in hubs.items():  # warm up: caches, key, statements
        _round(hub, _packages(20, 0, name), args.threads)
    rates: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    for r in range(1, args.rounds + 1):
        order = ["off", "on"] if r % 2 else ["on", "off"]
        for name in order:
            items = _packages(args.documents, r, name)
            wall, used = _round(hubs[name], items, args.threads)
            rates[name].append(args.documents / wall)
            cpu[name].append(used / args.documents * 1000)
    print(f"\nevidence log on vs off — {args.db}, {args.documents} documents x {args.rounds} "
          f"rounds, {args.threads} threads (submit + 2 acks each)")  # fmt: skip
    print(f"{'':6} {'documents/s':>12} {'CPU ms/doc':>11}")
    for name in ("off", "on"):
        print(
            f"{name:6} {statistics.median(rates[name]):12.1f} {statistics.median(cpu[name]):11.2f}"
        )
    ratio = statistics.median(rates["on"]) / statistics.median(rates["off"])
    extra = statistics.median(cpu["on"]) - statistics.median(cpu["off"])
    print(f"ratio on/off {ratio:.3f} ({(1 - ratio) * 100:+.1f}% fewer documents/s); "
          f"evidence CPU {extra:.2f} ms per document (target <= 2 ms)")  # fmt: skip
    hub = hubs["on"]
    with hub.db.read() as s:
        from sqlalchemy import func, select

        from axis.adapters.evidence_tables import EvidenceEntry

        entries = s.scalar(select(func.count()).select_from(EvidenceEntry))
    t0 = time.process_time()
    res = evidence.seal(hub, force=True)
    seal_ms = (time.process_time() - t0) * 1000
    t0 = time.process_time()
    rep = evidence.verify_log(hub)
    verify_s = time.process_time() - t0
    print(f"seal: one head over {res.count} entries in {seal_ms:.0f} ms CPU; "
          f"verify-log: {entries} entries in {verify_s:.2f} s CPU "
          f"({verify_s / max(entries, 1) * 1e6:.0f} µs/entry), ok={rep.ok}")  # fmt: skip
    for h in hubs.values():
        h.close()


if __name__ == "__main__":
    main()
