"""Concurrent writers count exactly: upserts of the same period rows neither lose increments nor
deadlock (PostgreSQL locks the rows in key order), on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.metrics.conftest import XML, A, B, C, D, doc, register, running, traffic_range

PER_THREAD = 6


def test_concurrent_sends_and_acks_count_exactly(hub_env):
    with running(hub_env) as live:
        keys = register(live)
        clients = {code: live.client(key) for code, key in keys.agencies.items()}

        def send(i: int) -> list[str]:
            sender = A if i % 2 else D
            ids = []
            for n in range(PER_THREAD):
                r = clients[sender].post(
                    "/v1/messages", content=doc(100 + i * 10 + n, sender=sender), headers=XML
                )
                assert r.status_code == 202, r.text
                ids.append(r.json()["id"])
            return ids

        with ThreadPoolExecutor(4) as pool:
            ids = [m for batch in pool.map(send, range(4)) for m in batch]

        def ack(args: tuple[str, list[str]]) -> None:
            who, batch = args
            for message_id in batch:
                assert clients[who].post(f"/v1/messages/{message_id}/ack").status_code == 200

        halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(ack, [(who, half) for who in (B, C) for half in halves]))

        with live.client(keys.operator) as op:
            body = op.get("/v1/stats/agencies", params=traffic_range()).json()
        per = {a["code"]: a for a in body["agencies"]}
        n = 4 * PER_THREAD
        assert body["totals"]["sent"] == n
        assert per[A]["sent"] == per[D]["sent"] == n // 2
        assert per[B]["received"] == per[C]["received"] == n
        assert per[B]["acknowledged"] == per[C]["acknowledged"] == n
        assert body["totals"]["acknowledged"] == 2 * n
        assert body["statuses"] == {"01": 2 * n}
        assert body["totals"]["latency"]["ack"]["count"] == 2 * n
        for c in clients.values():
            c.close()
