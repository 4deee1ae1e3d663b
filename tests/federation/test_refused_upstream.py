"""Packages a hub refuses when it pulls them from its upstream must not block the ones behind.

The hub tells the upstream `updateStatus fail` for a package it refuses for good; an axis
upstream keeps such an item pending and lists it again (`fail` is what the SDK's clients send
when a fetch failed: try again). The listing is capped (AXIS_INBOX_PAGE_MAX, oldest first): once
a page was full of refused items, nothing newer was ever listed, so nothing more was pulled.
Items a system reported `fail` for now come after the others."""

from __future__ import annotations

from axis.service import agencies, federation
from formats import edxml
from tests.factories import make_document
from tests.federation.hubs import Served, WorkerThread, host, settings_for, wait_for

N1 = "000.00.00.G22"  # an agency of the national hub (native key there)
B1 = "000.00.01.H53"  # hosted by hub B, upstream and at B
GHOST = "000.00.09.H53"  # hosted by hub B upstream, unknown at B: B refuses what comes for it


def test_refused_packages_do_not_starve_the_pull(tmp_path, three_databases):
    national_db, _, b_db = three_databases
    national = Served(
        "national", settings_for(tmp_path, "national", national_db, inbox_page_max=2)
    ).start()
    b = None
    worker = None
    try:
        secret_b = host(national.hub, "HUB-TINH-B", "Trục tỉnh B", [B1, GHOST])
        key_n1 = agencies.add_agency(national.hub.db, N1, "Văn phòng Chính phủ")
        b = Served(
            "b",
            settings_for(
                tmp_path,
                "b",
                b_db,
                upstream_url=f"{national.url}/vxp",
                upstream_system_id="HUB-TINH-B",
                upstream_secret=secret_b,
                upstream_timeout_s=5,
            ),
        ).start()
        host(b.hub, "QLVB-TINH-B", "QLVB tỉnh B", [B1])
        sent = []
        with national.client(key_n1) as c:
            for number, to in (("1", GHOST), ("2", GHOST), ("3", GHOST), ("4", B1)):
                pkg = make_document(sender=N1, recipients=[to], number=number)
                r = c.post("/v1/messages", content=edxml.build_document(pkg))
                assert r.status_code == 202, r.text
                sent.append(r.json())
        worker = WorkerThread.start(b.hub)
        wait_for(
            "the three refusals at B",
            lambda: federation.figures(b.hub)["pull_refused"] == 3,
            60,
        )
        wait_for(
            "the package for B1 pulled past the refused ones",
            lambda: federation.figures(b.hub)["pulled"] == 1,
            30,
        )
        # The refused ones stay listed upstream (after the others), with B's reason.
        with national.client(key_n1) as c:
            line = c.get(f"/v1/messages/{sent[0]['id']}/timeline").json()["recipients"][0]
        failed = [e for e in line["events"] if e["event"] == "fetch_failed"]
        assert len(failed) == 1 and "RECIPIENT_UNKNOWN" in failed[0]["description"], line
    finally:
        if worker is not None:
            worker.stop()
        for s in (b, national):
            if s is not None:
                s.stop()
