"""Many agency systems at once: every receipt durable, nothing delivered or counted twice, and a
twin that loses a race gets the same answer as one that came later (on SQLite the concurrent
units of work share a group commit; on PostgreSQL they are concurrent transactions)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from formats.edxml import build_document
from tests.factories import make_document
from tests.hub.conftest import RECIPIENTS, SENDER

THREADS = 12


def _all_at_once(calls):
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def _own_totals(party) -> dict:
    r = party.http.get(f"/v1/stats/agencies/{party.code}")
    assert r.status_code == 200, r.text
    return r.json()["totals"]


def test_concurrent_documents_are_all_durable_and_counted_once(sender, recipients):
    bodies = [
        build_document(make_document(sender=SENDER, recipients=RECIPIENTS, number=f"{n:02d}"))
        for n in range(1, 3 * THREADS + 1)
    ]
    responses = _all_at_once([lambda b=b: sender.send(b) for b in bodies])
    assert [r.status_code for r in responses] == [202] * len(bodies)
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == len(bodies)
    for party in recipients:
        items = party.inbox(limit=1000)
        assert {i["id"] for i in items} == ids
        fetched = party.http.get(f"/v1/messages/{items[0]['id']}")
        assert fetched.status_code == 200 and fetched.content in bodies
        assert _own_totals(party)["received"] == len(bodies)
    totals = _own_totals(sender)
    assert (totals["sent"], totals["accepted"]) == (len(bodies), len(bodies))


def test_the_same_package_sent_at_once_is_accepted_once(sender, recipients):
    body = build_document(make_document(sender=SENDER, recipients=RECIPIENTS, number="77"))
    responses = _all_at_once([lambda: sender.send(body)] * THREADS)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * (THREADS - 1) + [202]
    assert len({r.json()["id"] for r in responses}) == 1  # every twin got the first receipt
    for party in recipients:
        assert len(party.inbox()) == 1
    assert _own_totals(sender)["accepted"] == 1


def test_one_document_id_with_other_bytes_at_once_is_accepted_once(sender, recipients):
    bodies = [
        build_document(
            make_document(sender=SENDER, recipients=RECIPIENTS, number="88", subject=f"Bản {n}")
        )
        for n in range(THREADS)
    ]
    responses = _all_at_once([lambda b=b: sender.send(b) for b in bodies])
    codes = sorted(r.status_code for r in responses)
    assert codes == [202] + [409] * (THREADS - 1)
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {
        "DOCUMENT_ID_CONFLICT"
    }
    for party in recipients:
        assert len(party.inbox()) == 1
    # The losers' units rolled back with their figures: one document sent, one accepted.
    totals = _own_totals(sender)
    assert (totals["sent"], totals["accepted"]) == (1, 1)


def test_concurrent_acks_send_each_status_01_once(sender, recipients):
    bodies = [
        build_document(make_document(sender=SENDER, recipients=RECIPIENTS, number=f"{n:02d}"))
        for n in range(1, THREADS + 1)
    ]
    ids = [sender.send(b).json()["id"] for b in bodies]
    calls = [
        (lambda p=party, m=message_id: p.ack(m))
        for party in recipients
        for message_id in ids
        for _twice in range(2)
    ]
    responses = _all_at_once(calls)
    assert all(r.status_code == 200 for r in responses)
    statuses = sender.inbox(limit=1000)
    assert len(statuses) == len(ids) * len(recipients)
    assert {s["status_code"] for s in statuses} == {"01"}
    for party in recipients:
        assert party.inbox() == []
        assert _own_totals(party)["acknowledged"] == len(ids)
