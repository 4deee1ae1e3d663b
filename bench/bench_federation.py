"""Federation throughput and latency: province A -> national -> province B, against one hub.

Three real hubs (each its own database and store, served over HTTP by uvicorn in threads of this
process, tests/federation/hubs.py), A's and B's workers in threads. Documents are sent with the
native API by A's agency A1 (4 senders in parallel); B's document system (a connected system of
B) takes them with the national protocol (list -> getEdoc -> updateStatus done), as the SDK does.

Baseline, same run: the same documents from A1 to A2, an agency of hub A hosted by a connected
system of A that takes them the same way (one hub, no hop).

Figures:
- documents per second, first send to last document taken by the receiving system, and the ratio
  federated / single hub;
- per hop, the time from a document's acceptance at one hub to its acceptance at the next (the
  hubs' own received_at): A -> national (forward queue) and national -> B (pull, every
  AXIS_UPSTREAM_POLL_S), p50 and p99;
- catch-up: the national hub is stopped, M documents are sent, it is started again on the same
  port and data; the time from its restart until all M are accepted at B.

    python -m bench.bench_federation [--docs 200] [--catchup 50] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from axis.adapters.tables import Message  # noqa: E402
from axis.adapters.upstream import VxpClient  # noqa: E402
from axis.service import agencies  # noqa: E402
from formats.edxml import build_document  # noqa: E402
from tests.factories import make_document  # noqa: E402
from tests.federation.hubs import (  # noqa: E402
    Served,
    WorkerThread,
    host,
    settings_for,
    wait_for,
)

A1, A2, B1 = "000.00.01.H41", "000.00.02.H41", "000.00.01.H53"


def _databases(kind: str, tmp: Path) -> list[str]:
    if kind == "sqlite":
        return [f"sqlite:///{tmp / f'{n}.db'}" for n in ("national", "a", "b")]
    from tests.support.databases import DatabaseFactory

    factory = DatabaseFactory()
    return [factory.create() for _ in range(3)]


def _packages(first: int, n: int, to: str) -> list[bytes]:
    return [
        build_document(make_document(sender=A1, recipients=[to], number=str(i), notation="UBND-VP"))
        for i in range(first, first + n)
    ]


def _send_all(a: Served, key: str, packages: list[bytes]) -> list[dict]:
    def one(body: bytes) -> dict:
        with a.client(key) as c:
            r = c.post("/v1/messages", content=body)
        assert r.status_code == 202, r.text
        return r.json()

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, packages))


def _take_until(system: VxpClient, n: int, timeout: float = 600) -> float:
    """The receiving system takes documents until it has n; returns when it had the last."""
    taken = 0
    deadline = time.monotonic() + timeout
    while taken < n:
        items = system.received("edoc")
        for item in items:
            system.get_edoc(item["docId"])
            system.update_status(item["docId"], "done")
            taken += 1
        if not items:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {taken} of {n} documents arrived")
            time.sleep(0.02)
    return time.monotonic()


def _received_at(served: Served, document_ids: list[str]) -> dict[str, float]:
    with served.hub.db.read() as session:
        rows = session.execute(
            select(Message.document_id, Message.received_at).where(
                Message.kind == "edoc", Message.document_id.in_(document_ids)
            )
        ).all()
    return {d: at.timestamp() for d, at in rows}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(docs: int, catchup: int, database: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="axis-bench-fed-") as tmpdir:
        tmp = Path(tmpdir)
        national_db, a_db, b_db = _databases(database, tmp)
        national = Served("national", settings_for(tmp, "national", national_db)).start()
        secret_a = host(national.hub, "HUB-TINH-A", "Trục tỉnh A", [A1])
        secret_b = host(national.hub, "HUB-TINH-B", "Trục tỉnh B", [B1])
        up = f"{national.url}/vxp"
        a = Served(
            "a",
            settings_for(
                tmp,
                "a",
                a_db,
                upstream_url=up,
                upstream_system_id="HUB-TINH-A",
                upstream_secret=secret_a,
            ),
        ).start()
        b = Served(
            "b",
            settings_for(
                tmp,
                "b",
                b_db,
                upstream_url=up,
                upstream_system_id="HUB-TINH-B",
                upstream_secret=secret_b,
            ),
        ).start()
        key = agencies.add_agency(a.hub.db, A1, "UBND tỉnh A")
        secret_qa = host(a.hub, "QLVB-A", "QLVB tỉnh A", [A2])
        secret_qb = host(b.hub, "QLVB-B", "QLVB tỉnh B", [B1])
        workers = [WorkerThread.start(a.hub), WorkerThread.start(b.hub)]
        system_a = VxpClient(f"{a.url}/vxp", "QLVB-A", secret_qa)
        system_b = VxpClient(f"{b.url}/vxp", "QLVB-B", secret_qb)
        try:
            wait_for("the directories", lambda: _knows(a, B1), timeout=60)
            # Single hub: A1 -> A2, taken by A's own system.
            local = _packages(1, docs, A2)
            t0 = time.monotonic()
            _send_all(a, key, local)
            single_s = _take_until(system_a, docs) - t0
            # Federated: A1 -> B1 through the national hub, taken by B's system.
            far = _packages(10_001, docs, B1)
            t0 = time.monotonic()
            receipts = _send_all(a, key, far)
            fed_s = _take_until(system_b, docs) - t0
            ids = [r["document_id"] for r in receipts]
            at_a = _received_at(a, ids)
            at_n = _received_at(national, ids)
            at_b = _received_at(b, ids)
            hop1 = [at_n[d] - at_a[d] for d in ids]
            hop2 = [at_b[d] - at_n[d] for d in ids]
            # Catch-up: the national hub away while documents are sent.
            national.stop()
            later = _packages(20_001, catchup, B1)
            receipts = _send_all(a, key, later)
            time.sleep(3)
            t_restart = time.monotonic()
            national.start()
            caught_up = _take_until(system_b, catchup) - t_restart
        finally:
            system_a.close()
            system_b.close()
            for w in workers:
                w.stop()
            for s in (b, a, national):
                s.stop()
    return {
        "database": database,
        "docs": docs,
        "single_docs_per_s": docs / single_s,
        "federated_docs_per_s": docs / fed_s,
        "ratio": (docs / fed_s) / (docs / single_s),
        "hop_a_national_p50_ms": 1000 * statistics.median(hop1),
        "hop_a_national_p99_ms": 1000 * _pct(hop1, 0.99),
        "hop_national_b_p50_ms": 1000 * statistics.median(hop2),
        "hop_national_b_p99_ms": 1000 * _pct(hop2, 0.99),
        "catchup_docs": catchup,
        "catchup_s": caught_up,
        "poll_s": 0.2,
    }


def _knows(a: Served, code: str) -> bool:
    from axis.service import federation

    with a.hub.db.read() as session:
        return bool(federation.far_codes(session, [code]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--catchup", type=int, default=50)
    ap.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = ap.parse_args()
    r = run(args.docs, args.catchup, args.database)
    print(
        f"federation A -> national -> B ({r['database']}, {r['docs']} documents, "
        f"pull every {r['poll_s']} s)"
    )
    print(f"{'figure':<44}{'value':>12}")
    rows = [
        ("single hub, documents/s (A1 -> A2)", f"{r['single_docs_per_s']:.1f}"),
        ("federated, documents/s (A1 -> N -> B1)", f"{r['federated_docs_per_s']:.1f}"),
        ("ratio federated / single hub", f"{r['ratio']:.2f}"),
        (
            "hop A -> national p50 / p99 (ms)",
            f"{r['hop_a_national_p50_ms']:.0f} / {r['hop_a_national_p99_ms']:.0f}",
        ),
        (
            "hop national -> B p50 / p99 (ms)",
            f"{r['hop_national_b_p50_ms']:.0f} / {r['hop_national_b_p99_ms']:.0f}",
        ),
        (f"catch-up after restart, {r['catchup_docs']} documents (s)", f"{r['catchup_s']:.2f}"),
    ]
    for name, value in rows:
        print(f"{name:<44}{value:>12}")


if __name__ == "__main__":
    main()
