"""The middle hub killed for real. Province A <-> national <-> province B, each its own database
and store; the national hub is a real `axis serve` (two API processes) plus `axis worker`, and
A's worker is a real `axis worker` too: both are killed with SIGKILL (the whole process group)
in the middle of the flow and started again on the same port, database and store.

B's document system is the national SDK itself (interop/vxp run.sh, unmodified): it lists,
fetches, acknowledges (updateStatus done) and sends status 03 (built by the reference library,
edxml-ref.sh build-status) back with sendEdoc messagetype status. A's sending agency uses the
native API and must see 01 and 03 once each.

1. A's worker is killed mid-forward: the national hub has accepted the package, its answer is
   held back by a relay (tests/federation/processes.py), the worker dies without hearing it.
   A new worker takes the job when its lease expires and sends the same bytes again: the
   national hub's resend detection answers with the same DocId, B gets the document once.
2. The national hub is killed while A forwards and B pulls; A keeps accepting. Restarted, every
   document A gave a receipt for reaches B exactly once, and no letter is dead anywhere."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from axis.adapters.tables import Delivery, Message
from axis.adapters.upstream_tables import ForwardJob
from axis.bootstrap import build_hub
from axis.service import agencies, federation
from formats import edxml
from tests.factories import make_document
from tests.federation.hubs import Served, WorkerThread, host, settings_for, wait_for
from tests.federation.processes import HoldingRelay, HubProcess, WorkerProcess, hub_env
from tests.vxp.kit import Kit, require_kit

A1 = "000.00.01.H41"  # an agency of province A (native API key at hub A)
B1 = "000.00.01.H53"  # an agency of province B, hosted by B's document system (the SDK)
QLVB_B = "QLVB-TINH-B"
EDOC = {"servicetype": "eDoc", "messagetype": "edoc"}
STATUS = {"servicetype": "eDoc", "messagetype": "status"}
VN = ZoneInfo("Asia/Ho_Chi_Minh")
DURING = 8  # documents sent while the national hub is killed and restarted


class Hubs:
    def __init__(self, tmp: Path, databases: list[str]) -> None:
        national_db, a_db, b_db = databases
        self.tmp = tmp
        logs = tmp / "logs"
        # The national hub: set up through its database, then served by real processes.
        national_settings = settings_for(tmp, "national", national_db)
        self.national_hub = build_hub(national_settings)
        secret_a = host(self.national_hub, "HUB-TINH-A", "Trục tỉnh A", [A1])
        secret_b = host(self.national_hub, "HUB-TINH-B", "Trục tỉnh B", [B1])
        self.national = HubProcess("national", national_settings, logs).start()
        # A's worker speaks to the national hub through a relay that can hold its answers.
        self.relay = HoldingRelay(self.national.port)
        self.a = Served(
            "a",
            settings_for(
                tmp,
                "a",
                a_db,
                upstream_url=f"{self.relay.url}/vxp",
                upstream_system_id="HUB-TINH-A",
                upstream_secret=secret_a,
                upstream_timeout_s=5,
            ),
        ).start()
        self.key_a1 = agencies.add_agency(self.a.hub.db, A1, "UBND tỉnh A")
        # A long upstream timeout: the worker must still be waiting for the held answer when it
        # is killed, however loaded the machine.
        env = hub_env(self.a.settings, AXIS_UPSTREAM_TIMEOUT_S="30")
        self.a_worker = WorkerProcess(env, logs / "a-worker.log").start()
        self.b = Served(
            "b",
            settings_for(
                tmp,
                "b",
                b_db,
                upstream_url=f"{self.national.url}/vxp",
                upstream_system_id="HUB-TINH-B",
                upstream_secret=secret_b,
                upstream_timeout_s=5,
            ),
        ).start()
        self.secret_sdk = host(self.b.hub, QLVB_B, "QLVB tỉnh B", [B1])
        self.b_worker = WorkerThread.start(self.b.hub)

    def close(self) -> None:
        self.b_worker.stop()
        self.a_worker.stop()
        self.relay.close()
        self.national.stop()
        self.b.stop()
        self.a.stop()
        self.national_hub.close()

    def logs(self) -> str:
        parts = [self.national.logs()]
        for log in sorted((self.tmp / "logs").glob("a-worker*.log")):
            parts.append(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)


@pytest.fixture
def hubs(tmp_path, three_databases):
    h = Hubs(tmp_path, three_databases)
    try:
        yield h
    finally:
        h.close()


@pytest.fixture
def kit(tmp_path) -> Kit:
    scratch = tmp_path / "kit"
    scratch.mkdir()
    return Kit(require_kit(), scratch)


# -- helpers ----------------------------------------------------------------------------------


def _send(h: Hubs, number: str) -> dict:
    pkg = make_document(sender=A1, recipients=[B1], number=number, notation="UBND-VP")
    with h.a.client(h.key_a1) as c:
        r = c.post("/v1/messages", content=edxml.build_document(pkg))
    assert r.status_code == 202, r.text
    return r.json()


def _edocs_from_a1(hub, document_ids: list[str] | None = None) -> Counter:  # noqa: ANN001
    """Document messages from A1 at a hub, per DocumentId."""
    with hub.db.read() as session:
        q = select(Message.document_id).where(Message.kind == "edoc", Message.sender_code == A1)
        if document_ids is not None:
            q = q.where(Message.document_id.in_(document_ids))
        return Counter(session.scalars(q).all())


def _forward_job(h: Hubs, message_id: str) -> ForwardJob | None:
    with h.a.hub.db.read() as session:
        job = session.scalars(select(ForwardJob).where(ForwardJob.message_id == message_id)).first()
        if job is not None:
            session.expunge(job)
        return job


def _timeline_codes(h: Hubs, message_id: str) -> list[str]:
    with h.a.client(h.key_a1) as c:
        r = c.get(f"/v1/messages/{message_id}/timeline")
    assert r.status_code == 200, r.text
    [line] = [x for x in r.json()["recipients"] if x["agency"] == B1]
    return [e["code"] for e in line["events"] if e["event"] == "status"]


def _ok(step: dict) -> dict:
    result = step["result"]
    assert result is not None and result["status"] in ("OK", "SUCCESS"), step
    assert result["errorCode"] == "0", step
    return result


def _build_status(kit: Kit, document_id: str, out: Path) -> Path:
    """Status 03 from B1 about this document, written by the reference edXML library."""
    organ, day, code = document_id.split(",", 2)
    spec = {
        "from": {"organId": B1, "organName": "Sở Nội vụ tỉnh B"},
        "responseFor": {
            "organId": organ,
            "code": code,
            "documentId": document_id,
            "promulgationDate": day,
        },
        "statusCode": "03",
        "description": "Đã tiếp nhận và vào sổ văn bản đến",
        "timestamp": datetime.now(VN).strftime("%Y/%m/%d %H:%M:%S"),
        "staffInfo": {"department": "Văn thư", "staff": "Trần Thị Bình", "email": "vt@b.gov.vn"},
    }
    path = out.with_suffix(".json")
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    kit.ref("build-status", str(path), str(out))
    return out


def _sdk_round(
    h: Hubs, kit: Kit, expected: set[str], statuses: dict[str, Future], files: Path
) -> Counter:
    """B's document system, the national SDK: list what waits, get each, acknowledge each, send
    status 03 for each back. Returns the listed items per DocumentId."""
    url = f"{h.b.url}/vxp"
    [listed] = kit.batch(
        url, QLVB_B, h.secret_sdk, [{"call": "getReceivedEdocList", "headers": EDOC}]
    )
    items = _ok(listed)["knobsticks"]
    assert all(i["from"] == A1 and i["to"] == B1 for i in items), items
    steps = kit.batch(
        url,
        QLVB_B,
        h.secret_sdk,
        [
            step
            for i in items
            for step in (
                {"call": "getEdoc", "headers": {"docId": i["id"], "filePath": str(files)}},
                {"call": "updateStatus", "headers": {"status": "done", "docId": i["id"]}},
            )
        ],
    )
    per_document: Counter = Counter()
    for got, acked in zip(steps[::2], steps[1::2], strict=True):
        raw = Path(_ok(got)["filePath"]).read_bytes()
        per_document[edxml.parse(raw).package.document_id] += 1
        _ok(acked)
    assert set(per_document) == expected, (per_document, expected)
    steps = kit.batch(
        url,
        QLVB_B,
        h.secret_sdk,
        [
            *(
                {
                    "call": "sendEdoc",
                    "headers": {"from": B1, **STATUS},
                    "file": str(statuses[d].result(timeout=300)),
                }
                for d in sorted(per_document)
            ),
            {"call": "countReceiveEdoc", "headers": EDOC},
        ],
    )
    for sent in steps[:-1]:
        assert _ok(sent)["docID"], sent
    assert _ok(steps[-1])["count"] == 0  # everything listed was taken
    return per_document


def _quiet(h: Hubs) -> bool:
    """Nothing left to move: no forward pending at A or B, nothing pending at the national hub."""
    for hub in (h.a.hub, h.b.hub):
        f = federation.figures(hub)
        if f["pending"] or f["pull_unacked"]:
            return False
    with h.national_hub.db.read() as session:
        pending = session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.pending.is_(True))
        )
    return pending == 0


# -- the test ---------------------------------------------------------------------------------


def test_the_middle_hub_killed_mid_flow_loses_nothing_and_delivers_once(hubs: Hubs, kit: Kit):
    h = hubs
    files = h.tmp / "sdk-files"
    wait_for("each province in the other's directory", lambda: _knows(h.a.hub, B1), 90)
    wait_for("A1 in B's directory", lambda: _knows(h.b.hub, A1), 90)
    builder = ThreadPoolExecutor(2)  # the reference library's JVMs, while the hubs work
    statuses: dict[str, Future] = {}
    receipts: list[dict] = []
    try:
        # -- 1. A's worker killed mid-forward: the national hub took it, the answer is held --
        h.relay.hold.set()
        first = _send(h, "01")
        receipts.append(first)
        statuses[first["document_id"]] = builder.submit(
            _build_status, kit, first["document_id"], h.tmp / "st-01.edxml"
        )
        wait_for(
            "the national hub to accept A's forward",
            lambda: _edocs_from_a1(h.national_hub)[first["document_id"]] == 1,
            60,
        )
        assert h.relay.held.wait(10)
        h.a_worker.kill()
        h.relay.hold.clear()
        job = _forward_job(h, first["id"])
        assert (job.state, job.attempts) == ("leased", 1), job.__dict__
        h.a_worker.start()  # a new worker: takes the job when its lease (4 s) expires
        job = wait_for(
            "the forward job done by the new worker",
            lambda: (lambda j: j if j.state == "done" else None)(_forward_job(h, first["id"])),
            60,
        )
        # (more than one expiry only if a loaded machine made an attempt outlast its lease)
        assert job.attempts >= 2 and job.failures >= 1, job.__dict__
        wait_for(
            "the first document at B",
            lambda: _edocs_from_a1(h.b.hub)[first["document_id"]] == 1,
            60,
        )
        # B's document system (the SDK) takes it and answers 03; its 01 and 03 travel back
        # through the national hub while the next step kills it.
        taken = _sdk_round(h, kit, {first["document_id"]}, statuses, files)

        # -- 2. the national hub killed while A forwards and B pulls ---------------------------
        errors: list[BaseException] = []

        def sender() -> None:
            try:
                for n in range(2, 2 + DURING):
                    receipt = _send(h, f"{n:02d}")
                    receipts.append(receipt)
                    statuses[receipt["document_id"]] = builder.submit(
                        _build_status, kit, receipt["document_id"], h.tmp / f"st-{n:02d}.edxml"
                    )
                    time.sleep(0.25)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        thread = threading.Thread(target=sender)
        thread.start()
        wait_for(
            "three documents of the stream at the national hub",
            lambda: sum(_edocs_from_a1(h.national_hub).values()) >= 1 + 3,
            90,
        )
        h.national.kill()
        killed_at = time.monotonic()
        thread.join(120)
        assert not errors, errors
        assert len(receipts) == 1 + DURING
        # A went on accepting; its forwards fail and wait in the queue.
        wait_for("A's forwards failing", lambda: federation.figures(h.a.hub)["failures"] > 1, 30)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - killed_at)))
        at_national = sum(_edocs_from_a1(h.national_hub).values())
        stuck = federation.figures(h.a.hub)
        assert stuck["pending"] >= len(receipts) - at_national > 0, (stuck, at_national)
        print(f"killed with {at_national} of {len(receipts)} at the national hub")
        h.national.start()
        document_ids = [r["document_id"] for r in receipts]
        wait_for(
            "every document at B",
            lambda: set(_edocs_from_a1(h.b.hub, document_ids)) == set(document_ids),
            120,
        )
        taken += _sdk_round(h, kit, set(document_ids) - {first["document_id"]}, statuses, files)

        # -- 3. statuses back at A, once; nothing left anywhere --------------------------------
        for r in receipts:
            wait_for(
                f"01 and 03 for {r['document_id']} at A",
                lambda r=r: {"01", "03"} <= set(_timeline_codes(h, r["id"])),
                120,
            )
        wait_for("every queue drained", lambda: _quiet(h), 60)
    except BaseException:
        print(h.logs())
        raise
    finally:
        builder.shutdown(wait=True, cancel_futures=True)

    # Exactly once, counted on both ends and in the middle.
    assert taken == Counter({d: 1 for d in document_ids})  # B's system listed each once
    assert _edocs_from_a1(h.national_hub, document_ids) == Counter({d: 1 for d in document_ids})
    assert _edocs_from_a1(h.b.hub, document_ids) == Counter({d: 1 for d in document_ids})
    with h.b.hub.db.read() as session:
        deliveries = Counter(
            session.execute(
                select(Message.document_id)
                .join(Delivery, Delivery.message_id == Message.id)
                .where(Message.kind == "edoc", Delivery.recipient_code == B1)
            ).scalars()
        )
    assert deliveries == Counter({d: 1 for d in document_ids})
    for r in receipts:
        assert Counter(_timeline_codes(h, r["id"])) == {"01": 1, "03": 1}, r
    # No dead letters at either province, nothing unacknowledged, all forwarded once each.
    a_fig, b_fig = federation.figures(h.a.hub), federation.figures(h.b.hub)
    assert (a_fig["dead"], a_fig["pending"], a_fig["forwarded"]) == (0, 0, len(receipts)), a_fig
    assert (b_fig["dead"], b_fig["pending"]) == (0, 0), b_fig
    assert b_fig["forwarded"] == 2 * len(receipts), b_fig  # one 01 and one 03 per document
    assert a_fig["failures"] >= 2  # the lease expiry, and the national hub away


def _knows(hub, code: str) -> bool:  # noqa: ANN001
    with hub.db.read() as session:
        return bool(federation.far_codes(session, [code]))
