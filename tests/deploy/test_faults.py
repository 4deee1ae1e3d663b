"""Faults a deployment lives with: a worker killed mid-delivery, the database going away."""

from __future__ import annotations

import os
import signal
import time

import psycopg
import pytest

from tests.deploy.conftest import (
    HOOKED,
    SENDER,
    axis_env,
    axis_process,
    document,
    wait_for,
)


def _statuses(deployment) -> list[str]:
    with deployment.client(SENDER) as c:
        return [i["status_code"] for i in c.get("/v1/inbox").json()["items"]]


def test_a_worker_killed_mid_delivery_is_recovered_by_another(
    deployment, receiver, database_url, tmp_path
):
    receiver.behaviour = lambda _id, n: "hang" if n == 1 else "ok"
    deployment.hook(HOOKED, receiver.url)
    receipt = deployment.send(document(10))
    env = axis_env(database_url, tmp_path / "data", AXIS_PUSH_LEASE_S="2")
    first = axis_process(env, "worker", log=tmp_path / "worker1.log")
    try:
        assert receiver.arrived.wait(60), (tmp_path / "worker1.log").read_text()
        os.kill(first.pid, signal.SIGKILL)  # in the middle of the POST
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
    receiver.release.set()
    second = axis_process(env, "worker", log=tmp_path / "worker2.log")
    try:
        try:
            wait_for(
                lambda: deployment.timeline(receipt["id"])[HOOKED]["acked_at"],
                timeout=90,
                what="redelivery after the lease expired",
            )
        except AssertionError as exc:
            line = deployment.timeline(receipt["id"])[HOOKED]
            raise AssertionError(
                f"{exc}\n{line}\n{(tmp_path / 'worker2.log').read_text()}"
            ) from None
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(20) == 0, (tmp_path / "worker2.log").read_text()
    got = receiver.of(receipt["id"])
    assert [r.answered for r in got] == ["hang", "ok"]
    assert {r.message_id for r in got} == {receipt["id"]}  # the same idempotency key
    assert got[0].body == got[1].body
    attempts = deployment.timeline(receipt["id"])[HOOKED]["push"]["attempts"]
    assert [a["outcome"] for a in attempts] == ["lease_expired", "delivered"]
    assert attempts[0]["worker"] != attempts[1]["worker"]
    assert _statuses(deployment) == ["01"]
    assert "stopped: 1 delivered" in (tmp_path / "worker2.log").read_text()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_worker_survives_the_database_going_away(
    deployment, receiver, database_url, database_factory, tmp_path
):
    # Closing a database to connections is a PostgreSQL server fault: no SQLite variant.
    name = database_url.rsplit("/", 1)[1]
    deployment.hook(HOOKED, receiver.url)
    env = axis_env(database_url, tmp_path / "data")
    log = tmp_path / "worker.log"
    worker = axis_process(env, "worker", log=log)
    try:
        warm = deployment.send(document(11))
        wait_for(lambda: deployment.timeline(warm["id"])[HOOKED]["acked_at"], timeout=60)
        # The next delivery is in flight when the database goes away.
        receiver.arrived.clear()
        receiver.behaviour = lambda _id, n: "hang" if n == 1 else "ok"
        receipt = deployment.send(document(12))
        assert receiver.arrived.wait(30)
        with psycopg.connect(database_factory.admin_url, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            receiver.release.set()  # the POST fails while the database is away
            time.sleep(3)
            assert worker.poll() is None, log.read_text()
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        wait_for(
            lambda: deployment.timeline(receipt["id"])[HOOKED]["acked_at"],
            timeout=60,
            what="delivery after the database came back",
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
    text = log.read_text()
    assert "database unavailable" in text
    attempts = deployment.timeline(receipt["id"])[HOOKED]["push"]["attempts"]
    assert [a["outcome"] for a in attempts] == ["connection", "delivered"]
    assert sorted(_statuses(deployment)) == ["01", "01"]
