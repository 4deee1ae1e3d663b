"""Federation throughput and latency: province A -> national -> province B, against one hub.

Three real hubs, each its own database and store: the national hub is a real `axis serve` (two
API processes) plus `axis worker` (tests/federation/processes.py); A and B are served over HTTP by
uvicorn in threads of this process with their workers in threads (tests/federation/hubs.py).
Documents are sent with the native API by A's agency A1 (4 senders in parallel); B's document
system (a connected system of B) takes them with the national protocol (list -> getEdoc ->
updateStatus done), as the SDK does.

Baseline, same run: the same documents from A1 to A2, an agency of hub A hosted by a connected
system of A that takes them the same way (one hub, no hop).

Figures:
- documents per second, first send to last document taken by the receiving system, and the ratio
  federated / single hub;
- per hop, the time from a document's acceptance at one hub to its acceptance at the next (the
  hubs' own received_at): A -> national (forward queue) and national -> B (pull, every
  AXIS_UPSTREAM_POLL_S), p50 and p99;
- catch-up: the national hub is killed (SIGKILL to its process group: API processes and
  worker), M documents are sent, it is started again on the same port and data; the time from
  the restart command until it answers, and until all M are taken by B's system.
The load average is printed beside (the machine is shared: compare ratios, not absolutes).

    python -m bench.bench_federation [--docs 200] [--catchup 50] [--database sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
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
from tests.federation.processes import HubProcess  # noqa: E402

A1, A2, B1 = "000.00.01.H41", "000.00.02.H41", "000.00.01.H53"


def _databases(kind: str, tmp: Path, factory) -> list[str]:  # noqa: ANN001
    if kind == "sqlite":
        return [f"sqlite:///{tmp / f'{n}.db'}" for n in ("national", "a", "b")]
    if not factory.available:
        raise SystemExit(f"PostgreSQL unavailable: {factory.describe()}")
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


def _received_at(hub, document_ids: list[str]) -> dict[str, float]:  # noqa: ANN001
    with hub.db.read() as session:
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
    from axis.bootstrap import build_hub
    from tests.support.databases import DatabaseFactory

    factory = DatabaseFactory()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="axis-bench-fed-") as tmpdir:
        tmp = Path(tmpdir)
        national_db, a_db, b_db = _databases(database, tmp, factory)
        national_settings = settings_for(tmp, "national", national_db)
        national_hub = build_hub(national_settings)  # set up and read through its database
        secret_a = host(national_hub, "HUB-TINH-A", "Trục tỉnh A", [A1])
        secret_b = host(national_hub, "HUB-TINH-B", "Trục tỉnh B", [B1])
        national = HubProcess("national", national_settings, tmp / "logs").start()
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
            at_a = _received_at(a.hub, ids)
            at_n = _received_at(national_hub, ids)
            at_b = _received_at(b.hub, ids)
            hop1 = [at_n[d] - at_a[d] for d in ids]
            hop2 = [at_b[d] - at_n[d] for d in ids]
            # Catch-up: the national hub killed (SIGKILL, all its processes), documents sent
            # meanwhile wait in A's forward queue; then it is started again on its data.
            national.kill()
            later = _packages(20_001, catchup, B1)
            receipts = _send_all(a, key, later)
            time.sleep(3)
            t_restart = time.monotonic()
            national.start()
            answering_s = time.monotonic() - t_restart
            caught_up = _take_until(system_b, catchup) - t_restart
            ids = [r["document_id"] for r in receipts]
            once = _received_at(b.hub, ids)
            assert len(once) == catchup, "a document of the catch-up is missing at B"
        finally:
            system_a.close()
            system_b.close()
            for w in workers:
                w.stop()
            national.stop()
            for s in (b, a):
                s.stop()
            national_hub.close()
            factory.drop_all()
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
        "restart_answering_s": answering_s,
        "catchup_s": caught_up,
        "poll_s": 0.2,
        "load_before": load_before,
        "load_after": os.getloadavg(),
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
        ("national hub answering after restart (s)", f"{r['restart_answering_s']:.2f}"),
        (f"catch-up after restart, {r['catchup_docs']} documents (s)", f"{r['catchup_s']:.2f}"),
    ]
    for name, value in rows:
        print(f"{name:<44}{value:>12}")
    before, after = (" ".join(f"{x:.2f}" for x in r[k]) for k in ("load_before", "load_after"))
    print(f"load average before: {before}; after: {after} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
