"""Push delivery to real webhook receivers, with a worker running in a thread of the test."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from axis.adapters.push_tables import PushJob
from axis.adapters.tables import Message
from axis.service import push
from formats import edxml
from tests.deploy.conftest import (
    HOOKED,
    PULLER,
    SENDER,
    Receiver,
    WorkerThread,
    document,
    fast_settings,
    wait_for,
)


def _inbox(deployment, code: str) -> list[dict]:
    with deployment.client(code) as c:
        return c.get("/v1/inbox").json()["items"]


def test_push_posts_the_signed_package_and_counts_as_the_acknowledgement(deployment, receiver):
    secret = deployment.hook(HOOKED, receiver.url)
    body = document(1)
    receipt = deployment.send(body)
    with WorkerThread(deployment, fast_settings()):
        wait_for(lambda: deployment.timeline(receipt["id"])[HOOKED]["acked_at"], what="the ack")
    [got] = receiver.of(receipt["id"])
    assert got.body == body
    assert got.kind == "edoc" and got.attempt == "1"
    assert push.verify(secret, got.timestamp, got.body, got.signature)
    assert not push.verify(secret, got.timestamp, got.body + b" ", got.signature)
    assert not push.verify("another secret", got.timestamp, got.body, got.signature)
    # The pushed recipient is done; the sender got status 01 from it; pull works alongside.
    assert _inbox(deployment, HOOKED) == []
    statuses = _inbox(deployment, SENDER)
    assert [(s["kind"], s["status_code"], s["from"]) for s in statuses] == [
        ("status", "01", HOOKED)
    ]
    assert [i["id"] for i in _inbox(deployment, PULLER)] == [receipt["id"]]
    line = deployment.timeline(receipt["id"])[HOOKED]
    assert line["push"]["state"] == "done"
    assert [a["outcome"] for a in line["push"]["attempts"]] == ["delivered"]
    assert line["push"]["attempts"][0]["http_status"] == 200
    assert [e["code"] for e in line["events"]] == ["01"]
    assert "push" not in deployment.timeline(receipt["id"])[PULLER]


def test_endpoints_that_fail_timeout_close_or_are_slow_are_retried_with_the_same_key(
    deployment, receiver
):
    script = {1: "500", 2: "timeout", 3: "close", 4: "slow"}
    receiver.behaviour = lambda _id, n: script.get(n, "ok")
    deployment.hook(HOOKED, receiver.url)
    receipt = deployment.send(document(2))
    with WorkerThread(deployment, fast_settings()):
        wait_for(lambda: deployment.timeline(receipt["id"])[HOOKED]["acked_at"], what="the ack")
    got = receiver.of(receipt["id"])
    assert [r.answered for r in got] == ["500", "timeout", "close", "slow"]
    assert [r.attempt for r in got] == ["1", "2", "3", "4"]
    assert {r.body for r in got} == {got[0].body}  # same bytes, same X-Axis-Message-Id
    attempts = deployment.timeline(receipt["id"])[HOOKED]["push"]["attempts"]
    assert [a["outcome"] for a in attempts] == ["http_error", "timeout", "connection", "delivered"]
    assert attempts[0]["http_status"] == 500 and "internal error" in attempts[0]["error"]
    assert attempts[3]["duration_ms"] >= 250
    # One acknowledgement, one status 01, however many attempts.
    assert [s["status_code"] for s in _inbox(deployment, SENDER)] == ["01"]
    # The recipient sees its own push line in its timeline too.
    own = deployment.timeline(receipt["id"], as_code=HOOKED)
    assert list(own) == [HOOKED] and own[HOOKED]["push"]["state"] == "done"


@pytest.mark.hub_env(AXIS_PUSH_GIVE_UP_AFTER_S="1")  # the deadline is set when enqueued
def test_a_job_that_keeps_failing_becomes_a_dead_letter_that_an_operator_retries(
    deployment, receiver
):
    receiver.behaviour = lambda _id, _n: "500"
    deployment.hook(HOOKED, receiver.url)
    receipt = deployment.send(document(3))
    settings = fast_settings()
    # Dead letters are for operators: an agency key is refused.
    with deployment.client(SENDER) as agency:
        r = agency.get("/v1/admin/deadletters")
        assert r.status_code == 403 and r.json()["error"] == "ROLE_NOT_OPERATOR"
    with WorkerThread(deployment, settings):
        [dead] = wait_for(
            lambda: deployment.operator.get("/v1/admin/deadletters").json()["items"],
            what="a dead letter",
        )
        assert dead["message_id"] == receipt["id"] and dead["recipient"] == HOOKED
        assert dead["attempts"] >= 2 and dead["last_error"].startswith("http_error 500")
        assert deployment.timeline(receipt["id"])[HOOKED]["push"]["state"] == "dead"
        assert [i["id"] for i in _inbox(deployment, HOOKED)] == [receipt["id"]]  # pull still can
        stats = deployment.operator.get("/v1/admin/push").json()
        assert stats["jobs"]["dead"] == 1
        tried = len(receiver.of(receipt["id"]))
        receiver.behaviour = lambda _id, _n: "ok"
        r = deployment.operator.post("/v1/admin/deadletters/retry", json={"agency": HOOKED})
        assert r.json() == {"requeued": 1}
        wait_for(lambda: deployment.timeline(receipt["id"])[HOOKED]["acked_at"], what="the ack")
    assert len(receiver.of(receipt["id"])) == tried + 1
    line = deployment.timeline(receipt["id"])[HOOKED]
    assert line["push"]["state"] == "done"
    assert line["push"]["attempts"][-1]["outcome"] == "delivered"
    assert deployment.operator.get("/v1/admin/deadletters").json()["items"] == []


def test_a_pull_acknowledgement_finishes_the_push_job(deployment):
    down = Receiver(behaviour=lambda _id, _n: "500").start()
    url = down.url
    down.stop()  # nothing listens there any more: connection refused
    deployment.hook(HOOKED, url)
    receipt = deployment.send(document(4))
    with WorkerThread(deployment, fast_settings()):
        wait_for(
            lambda: deployment.timeline(receipt["id"])[HOOKED]["push"]["attempts"],
            what="a failed attempt",
        )
        with deployment.client(HOOKED) as c:
            assert c.post(f"/v1/messages/{receipt['id']}/ack").status_code == 200
        line = deployment.timeline(receipt["id"])[HOOKED]
        assert line["push"]["state"] == "done"
        assert {a["outcome"] for a in line["push"]["attempts"]} == {"connection"}
    assert [s["status_code"] for s in _inbox(deployment, SENDER)] == ["01"]


def test_status_packages_are_pushed_back_to_a_sender_with_a_webhook(deployment, receiver):
    deployment.hook(HOOKED, receiver.url)
    deployment.hook(SENDER, receiver.url)
    receipt = deployment.send(document(5))
    with WorkerThread(deployment, fast_settings()):
        wait_for(lambda: len(receiver.requests) >= 2, what="the status push")
        wait_for(lambda: _inbox(deployment, SENDER) == [], what="the status acked by push")
    kinds = sorted(r.kind for r in receiver.requests)
    assert kinds == ["edoc", "status"]
    [status] = [r for r in receiver.requests if r.kind == "status"]
    parsed = edxml.parse(status.body).package
    assert parsed.status_code == "01" and parsed.response_for.document_id == receipt["document_id"]
    with deployment.live.hub.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 2
        states = s.scalars(select(PushJob.state)).all()
    assert sorted(states) == ["done", "done"]
    assert receipt["id"] in {r.message_id for r in receiver.requests}


def test_webhook_admin_validates_and_lists_without_secrets(deployment, receiver):
    r = deployment.operator.put(f"/v1/admin/webhooks/{HOOKED}", json={"url": "ftp://x/y"})
    assert r.status_code == 422 and r.json()["error"] == "WEBHOOK_URL_INVALID"
    r = deployment.operator.put("/v1/admin/webhooks/000.00.00.X99", json={"url": receiver.url})
    assert r.status_code == 404 and r.json()["error"] == "AGENCY_NOT_FOUND"
    first = deployment.hook(HOOKED, receiver.url)
    assert deployment.hook(HOOKED, receiver.url + "/v2") == first  # the secret is kept
    rotated = deployment.operator.put(
        f"/v1/admin/webhooks/{HOOKED}", json={"url": receiver.url, "rotate_secret": True}
    ).json()["secret"]
    assert rotated != first and len(rotated) == 64
    [item] = deployment.operator.get("/v1/admin/webhooks").json()["items"]
    assert item["agency"] == HOOKED and "secret" not in item
    assert deployment.operator.delete(f"/v1/admin/webhooks/{HOOKED}").status_code == 204
    # Without a webhook, no job is created: pull only.
    receipt = deployment.send(document(6))
    assert "push" not in deployment.timeline(receipt["id"])[HOOKED]
    with deployment.client(HOOKED) as agency:
        assert (
            agency.put(f"/v1/admin/webhooks/{HOOKED}", json={"url": receiver.url}).status_code
            == 403
        )


def test_finished_jobs_are_pruned_but_dead_letters_kept(deployment, receiver):
    deployment.hook(HOOKED, receiver.url)
    receipt = deployment.send(document(7))
    with WorkerThread(deployment, fast_settings()):
        wait_for(lambda: deployment.timeline(receipt["id"])[HOOKED]["acked_at"], what="the ack")
    db = deployment.live.hub.db
    assert push.prune(db, older_than_days=1) == (0, 0)  # too recent
    assert push.prune(db, older_than_days=0) == (1, 1)
    assert "push" not in deployment.timeline(receipt["id"])[HOOKED]


def test_backoff_is_exponential_capped_and_jittered():
    settings = push.PushSettings(backoff_base_s=5, backoff_max_s=3600)
    for attempts, full in [(1, 5), (2, 10), (3, 20), (10, 2560), (11, 3600), (30, 3600)]:
        delays = {push.backoff(attempts, settings) for _ in range(50)}
        assert all(full / 2 <= d <= full for d in delays), (attempts, delays)
        assert len(delays) > 1  # jittered: a burst of failures does not retry in lockstep


def test_signatures_refuse_stale_timestamps():
    body = b"<edXML/>"
    now = 1_800_000_000
    sig = push.sign("s3cret", str(now), body)
    assert push.verify("s3cret", str(now), body, sig, now=now + 299)
    assert not push.verify("s3cret", str(now), body, sig, now=now + 301)  # a replay
    assert not push.verify("s3cret", "not-a-time", body, sig, now=now)
