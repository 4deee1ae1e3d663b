"""A live hub (restartable on the same database), agencies, and traffic whose figures are known.

`generate_traffic` sends documents, refusals, acknowledgements, statuses and a revoke over HTTP
and returns the figures that traffic must produce, worked out here independently of the hub.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import httpx
import pytest

from axis.domain import VIETNAM
from formats.edxml import build_document
from tests.factories import make_document
from tests.support.live import LiveHub

A = "000.00.00.G22"  # sends most documents
B = "000.00.00.G06"  # receives, acknowledges everything, completes two
C = "000.00.00.H26"  # receives, acknowledges some, completes one
D = "000.00.00.G12"  # sends one document to A
AGENCIES = (A, B, C, D)
XML = {"Content-Type": "application/xml"}


def vn_today() -> date:
    return datetime.now(VIETNAM).date()


@pytest.fixture
def hub_env(tmp_path, database_url) -> dict[str, str]:
    return {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
    }


@contextmanager
def running(env: dict[str, str]) -> Iterator[LiveHub]:
    with LiveHub.start(env) as live:
        yield live


@pytest.fixture
def sqlite_env(tmp_path) -> dict[str, str]:
    return {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": f"sqlite:///{tmp_path / 'axis.db'}",
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
    }


@dataclass
class Keys:
    agencies: dict[str, str]
    operator: str


def register(live: LiveHub) -> Keys:
    return Keys(
        agencies={code: live.add_agency(code) for code in AGENCIES},
        operator=live.staff_key("operator"),
    )


def doc(number: int, *, sender: str = A, recipients=(B, C), due: date | None = None, **kw):
    kw.setdefault("subject", f"Về việc số {number}")
    pkg = make_document(
        sender=sender, recipients=list(recipients), number=f"{number:02d}", notation="QĐ-UBND", **kw
    )
    if due is not None:
        from dataclasses import replace

        pkg = replace(pkg, due_date=due)
    return build_document(pkg)


@dataclass
class Expected:
    """Figures per agency ('' = the hub) the traffic must produce, and the raw facts."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    rejections: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    document_ids: dict[int, str] = field(default_factory=dict)
    message_ids: dict[int, str] = field(default_factory=dict)

    def add(self, agency: str, **incs: int) -> None:
        for name, n in incs.items():
            self.counts[agency][name] += n
            self.counts[""][name] += n


def generate_traffic(live: LiveHub, keys: Keys) -> Expected:
    """Documents, refusals, acknowledgements, statuses and a revoke; returns what they count."""
    ex = Expected()
    http = {code: live.client(key) for code, key in keys.agencies.items()}
    today = vn_today()
    yesterday, later = today - timedelta(days=1), today + timedelta(days=10)
    try:
        dues = {1: yesterday, 2: yesterday, 3: later}
        bodies = {}
        for n in range(1, 6):
            bodies[n] = doc(n, due=dues.get(n))
            r = http[A].post("/v1/messages", content=bodies[n], headers=XML)
            assert r.status_code == 202, r.text
            ex.message_ids[n] = r.json()["id"]
            ex.document_ids[n] = r.json()["document_id"]
            ex.add(A, sent=1, accepted=1, bytes_sent=len(bodies[n]))
            for rcpt in (B, C):
                ex.add(rcpt, received=1, bytes_received=len(bodies[n]))
        for rcpt in (B, C):  # documents due by yesterday's end and later
            ex.add(rcpt, due=3, due_passed=2)
        # A resend of the same bytes is answered with the first receipt and counted once.
        assert http[A].post("/v1/messages", content=bodies[1], headers=XML).status_code == 200

        d_body = doc(7, sender=D, recipients=(A,))
        r = http[D].post("/v1/messages", content=d_body, headers=XML)
        assert r.status_code == 202, r.text
        ex.message_ids[7] = r.json()["id"]
        ex.add(D, sent=1, accepted=1, bytes_sent=len(d_body))
        ex.add(A, received=1, bytes_received=len(d_body))

        # Refusals: not edXML; an unknown recipient; a package from another agency's key.
        for who, body in (
            (A, b"<not-edxml/>"),
            (A, doc(8, recipients=(B, "000.00.00.G99"))),
            (B, doc(9)),
        ):
            r = http[who].post("/v1/messages", content=body, headers=XML)
            assert 400 <= r.status_code < 500, r.text
            codes = [f["code"] for f in r.json()["findings"]] or [r.json()["error"]]
            ex.add(who, rejected=1)
            ex.rejections.update(dict.fromkeys(codes, 1))

        # Acknowledgements: each sends status 01 (a status package) back to the sender.
        def ack(who: str, n: int) -> None:
            r = http[who].post(f"/v1/messages/{ex.message_ids[n]}/ack")
            assert r.status_code == 200, r.text
            ex.add(who, acknowledged=1, statuses=1, accepted=1)
            ex.statuses["01"] += 1

        def status(who: str, n: int, code: str, description: str = "") -> None:
            r = http[who].post(
                f"/v1/messages/{ex.message_ids[n]}/status",
                json={"code": code, "description": description},
            )
            assert r.status_code == 202, r.text
            ex.add(who, statuses=1, accepted=1, completed=int(code == "06"))
            ex.statuses[code] += 1

        for n in range(1, 6):
            ack(B, n)
        for n in (1, 2, 3):
            ack(C, n)
        ack(A, 7)
        status(B, 1, "03")
        status(B, 1, "06")  # after its deadline: late
        status(B, 3, "06")  # before its deadline: on time
        status(C, 2, "06")  # late
        status(A, 7, "06")
        # A second 06 is a status, not a second completion. (Other words: the same status twice
        # in one second builds the same bytes, which the hub refuses as a resend.)
        status(B, 1, "06", "Hoàn thành, bổ sung hồ sơ")
        ex.counts[B]["completed"] -= 1
        ex.counts[""]["completed"] -= 1
        ex.add(B, on_time=1, late=1)
        ex.add(C, late=1)

        # A revokes document 5.
        revoke = doc(5, business=1)
        r = http[A].post("/v1/messages", content=revoke, headers=XML)
        assert r.status_code == 202, r.text
        ex.message_ids[50] = r.json()["id"]
        # A revoke package is counted as accepted and as a revoke, not as a document sent or
        # received; its acknowledgement is not a document's.
        ex.add(A, accepted=1, revokes=1, bytes_sent=len(revoke))
        # C acknowledges the revoke package. (B acknowledged document 5 within this second, and
        # the hub's 01 about a revoke of it would be the same bytes: refused as a resend, 500.)
        r = http[C].post(f"/v1/messages/{ex.message_ids[50]}/ack")
        assert r.status_code == 200, r.text
        ex.add(C, statuses=1, accepted=1)
        ex.statuses["01"] += 1
    finally:
        for client in http.values():
            client.close()
    for code in ("", *AGENCIES):
        c = ex.counts[code]
        c["overdue"] = c["due_passed"] - 0  # nothing completed by a passed deadline
        c["overdue_open"] = c["overdue"] - c["late"]
    return ex


def operator(live: LiveHub, keys: Keys) -> httpx.Client:
    return live.client(keys.operator)


def traffic_range() -> dict[str, str]:
    today = vn_today()
    return {
        "from": (today - timedelta(days=2)).isoformat(),
        "to": (today + timedelta(days=15)).isoformat(),
        "granularity": "day",
    }
