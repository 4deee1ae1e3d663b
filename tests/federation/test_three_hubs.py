"""Province A <-> national <-> province B, three real hubs over HTTP, each its own database and
store. A's agency sends to B's agency through the national hub; B's document system (a connected
system of B, speaking the national protocol) pulls, acknowledges and sends status 03; A's sender
sees 01 and 03. Then the national hub is killed mid-way: what is sent meanwhile waits in A's
forward queue, and once the national hub is back everything arrives, once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from axis.adapters.tables import Delivery, Message
from axis.adapters.upstream import UpstreamError, VxpClient
from axis.service import agencies, evidence, federation
from formats import edxml
from tests.factories import make_document, make_status
from tests.federation.hubs import Served, WorkerThread, host, settings_for, wait_for

A1 = "000.00.01.H41"  # an agency of province A (native API key at hub A)
B1 = "000.00.01.H53"  # an agency of province B (hosted by B's document system)
B2 = "000.00.02.H53"  # another one, hosted by the same system
NOWHERE = "000.00.09.H99"  # in no directory


@pytest.fixture
def federation_hubs(tmp_path, three_databases):
    national_db, a_db, b_db = three_databases
    national = Served("national", settings_for(tmp_path, "national", national_db)).start()
    secret_a = host(national.hub, "HUB-TINH-A", "Trục tỉnh A", [A1])
    secret_b = host(national.hub, "HUB-TINH-B", "Trục tỉnh B", [B1, B2])
    up = f"{national.url}/vxp"
    a = Served(
        "a",
        settings_for(
            tmp_path,
            "a",
            a_db,
            upstream_url=up,
            upstream_system_id="HUB-TINH-A",
            upstream_secret=secret_a,
            upstream_timeout_s=5,
        ),
    ).start()
    b = Served(
        "b",
        settings_for(
            tmp_path,
            "b",
            b_db,
            upstream_url=up,
            upstream_system_id="HUB-TINH-B",
            upstream_secret=secret_b,
            upstream_timeout_s=5,
        ),
    ).start()
    key_a1 = agencies.add_agency(a.hub.db, A1, "UBND tỉnh A")
    secret_qlvb_b = host(b.hub, "QLVB-TINH-B", "QLVB tỉnh B", [B1, B2])
    workers = [WorkerThread.start(a.hub), WorkerThread.start(b.hub)]
    try:
        yield national, a, b, key_a1, VxpClient(f"{b.url}/vxp", "QLVB-TINH-B", secret_qlvb_b)
    finally:
        for w in workers:
            w.stop()
        for s in (b, a, national):
            s.stop()


def _send(a: Served, key: str, number: str, to: list[str]) -> dict:
    pkg = make_document(sender=A1, recipients=to, number=number, notation="UBND-VP")
    with a.client(key) as c:
        r = c.post("/v1/messages", content=edxml.build_document(pkg))
    return {"status": r.status_code, **r.json()}


def _timeline(a: Served, key: str, message_id: str) -> list[dict]:
    with a.client(key) as c:
        r = c.get(f"/v1/messages/{message_id}/timeline")
    assert r.status_code == 200, r.text
    [line] = [x for x in r.json()["recipients"] if x["agency"] == B1]
    return line["events"]


def _codes(events: list[dict]) -> list[str]:
    return [e["code"] for e in events if e["event"] == "status"]


def _take_all(qlvb: VxpClient, expected: int) -> list[dict]:
    """B's document system: list, fetch each, acknowledge each (the SDK's pattern)."""
    items = wait_for(
        f"{expected} documents at B",
        lambda: (lambda got: got if len(got) >= expected else None)(qlvb.received("edoc")),
    )
    taken = []
    for item in items:
        raw = qlvb.get_edoc(item["docId"])
        qlvb.update_status(item["docId"], "done")
        taken.append({"item": item, "package": edxml.parse(raw).package})
    return taken


def _status_03(qlvb: VxpClient, document_id: str) -> None:
    raw = edxml.build_status(make_status("03", sender=B1, document_id=document_id))
    qlvb.send_edoc(raw, sender=B1, kind="status")


def test_a_document_crosses_three_hubs_and_its_statuses_come_back(federation_hubs):
    national, a, b, key_a1, qlvb = federation_hubs
    # The directories are synchronised by the workers: B1 is known at A, A1 at B.
    wait_for(
        "B1 in A's upstream directory", lambda: federation.figures(a.hub)["directory_agencies"] >= 2
    )
    refused = _send(a, key_a1, "01", [NOWHERE])
    assert refused["status"] == 422
    assert "RECIPIENT_UNKNOWN" in {f["code"] for f in refused["findings"]}

    sent = _send(a, key_a1, "01", [B1])
    assert sent["status"] == 202, sent
    [taken] = _take_all(qlvb, 1)
    assert taken["item"]["from"] == A1 and taken["item"]["to"] == B1
    assert taken["package"].document_id == sent["document_id"]
    _status_03(qlvb, sent["document_id"])
    events = wait_for(
        "01 and 03 in A's timeline",
        lambda: (lambda ev: ev if {"01", "03"} <= set(_codes(ev)) else None)(
            _timeline(a, key_a1, sent["id"])
        ),
    )
    assert Counter(_codes(events)) == {"01": 1, "03": 1}
    assert "forwarded" in [e["event"] for e in events]
    figures = federation.figures(a.hub)
    assert figures["forwarded"] == 1 and figures["pending"] == 0 and figures["pulled"] >= 2

    # -- the national hub is killed: A keeps accepting, its queue holds the packages ----------
    national.stop()
    during = [_send(a, key_a1, f"{n:02d}", [B1]) for n in range(2, 7)]
    assert all(s["status"] == 202 for s in during), during
    wait_for("failed forwards", lambda: federation.figures(a.hub)["failures"] > 0)
    stuck = federation.figures(a.hub)
    assert stuck["pending"] == 5 and stuck["oldest_pending_s"] > 0
    with pytest.raises(UpstreamError):  # B's side sees the national hub down too
        VxpClient(f"{national.url}/vxp", "x", "y", timeout_s=2).received()
    # ...and the national hub comes back, on the same port and data.
    national.start()
    taken = _take_all(qlvb, 5)
    assert sorted(t["package"].document_id for t in taken) == sorted(
        s["document_id"] for s in during
    )
    for t in taken:
        _status_03(qlvb, t["package"].document_id)
    for s in during:
        events = wait_for(
            f"01 and 03 for {s['document_id']}",
            lambda s=s: (lambda ev: ev if {"01", "03"} <= set(_codes(ev)) else None)(
                _timeline(a, key_a1, s["id"])
            ),
        )
        assert Counter(_codes(events)) == {"01": 1, "03": 1}, events

    # Nothing delivered twice: one message per document at B and at the national hub, one
    # delivery each; nothing left pending anywhere.
    assert qlvb.received("edoc") == []
    for served, expected_docs in ((b, 6), (national, 6)):
        with served.hub.db.read() as session:
            per_doc = session.execute(
                select(Message.document_id, func.count())
                .where(Message.kind == "edoc", Message.sender_code == A1)
                .group_by(Message.document_id)
            ).all()
            assert len(per_doc) == expected_docs and all(n == 1 for _, n in per_doc), served.name
            pending = session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.pending.is_(True))
            )
        assert pending == 0, served.name  # B's statuses for A1 went up: not pending
    final = federation.figures(a.hub)
    assert final["forwarded"] == 6 and final["pending"] == 0 and final["dead"] == 0
    b_fig = federation.figures(b.hub)
    assert b_fig["pulled"] == 6 and b_fig["forwarded"] >= 6  # its 03s (and 01s) went up
    _operators_see_it(a, final)

    # Two recipients at B: the national hub lists the package once for each, B takes it once
    # and delivers it to both.
    both = _send(a, key_a1, "07", [B1, B2])
    taken = _take_all(qlvb, 2)
    assert sorted(t["item"]["to"] for t in taken) == [B1, B2]
    with b.hub.db.read() as session:
        [msg] = session.scalars(
            select(Message).where(
                Message.document_id == both["document_id"], Message.kind == "edoc"
            )
        ).all()
        recipients = session.scalars(
            select(Delivery.recipient_code).where(Delivery.message_id == msg.id)
        ).all()
    assert sorted(recipients) == [B1, B2]

    # Every fact of the crossing, the far recipients' 01s included, is in each hub's evidence
    # log: nothing changed behind it (timestamps aside: these hubs have no TSA).
    for served in (a, national, b):
        report = evidence.verify_log(served.hub, roots=[])
        assert report.entries > 0
        breaks = [f for f in report.errors if not f["code"].startswith("EVIDENCE_NO_TIMESTAMP")]
        assert breaks == [], (served.name, breaks)


def _operators_see_it(a: Served, figures: dict) -> None:
    """/metrics, the stats API and `axis upstream status --json` show the same figures."""
    operator = agencies.new_staff_key(a.hub.db, "operator")
    with httpx.Client(base_url=a.url, timeout=30) as c:  # /metrics is the operators' (issue 16)
        metrics = c.get("/metrics", headers={"Authorization": f"Bearer {operator}"}).text
    up = a.settings.upstream_url
    assert f'axis_upstream_forwarded_total{{upstream="{up}"}} 6.0' in metrics
    assert f'axis_upstream_pending{{upstream="{up}"}} 0.0' in metrics
    assert f'axis_upstream_forward_failures_total{{upstream="{up}"}} {figures["failures"]}.0' in (
        metrics
    )
    with a.client(operator) as c:
        stats = c.get("/v1/stats/agencies").json()
        admin = c.get("/v1/admin/upstream").json()
    assert stats["upstreams"][0]["forwarded"] == 6 and admin["failures"] == figures["failures"]
    s = a.settings
    env = {
        **os.environ,
        "AXIS_DATA_DIR": str(s.data_dir),
        "AXIS_DATABASE_URL": s.database_url,
        "AXIS_UPSTREAM_URL": up,
        "AXIS_UPSTREAM_SYSTEM_ID": s.upstream_system_id,
        "AXIS_UPSTREAM_SECRET": s.upstream_secret,
    }
    p = subprocess.run(
        [sys.executable, "-m", "axis.cli", "upstream", "status", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["forwarded"], out["pending"], out["dead"]) == (6, 0, 0)
    assert out["failures"] == figures["failures"] and out["directory_agencies"] >= 2
