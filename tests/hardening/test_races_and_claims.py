"""Races and residue (issue 16, item 8), against the real server on SQLite and PostgreSQL:
concurrent submissions of one DocumentId leave no orphan object in the store, and an agency
cannot take another agency's DocumentId (with the rules off)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from archive.catalog import objects as archive_objects
from formats.edxml import build_document
from tests.factories import make_document
from tests.hub.conftest import RECIPIENTS, SENDER, document

XML = {"Content-Type": "application/xml"}


def _store_keys(live_hub) -> set[str]:
    return set(live_hub.hub.store.keys())


def _referenced(live_hub) -> set[str]:
    with live_hub.hub.db.read() as session:
        return set(session.scalars(select(archive_objects.c.sha256)))


def test_concurrent_submissions_of_one_document_id_leave_no_orphans(live_hub, sender):
    before = _store_keys(live_hub)
    bodies = [document(subject=f"Về việc số {i}: nội dung khác nhau") for i in range(8)]

    def post(body: bytes) -> int:
        with httpx.Client(base_url=live_hub.url, timeout=60) as c:
            headers = {"Authorization": f"Bearer {sender.key}", **XML}
            return c.post("/v1/messages", content=body, headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(post, bodies))
    assert codes == [202] + [409] * 7, codes
    added = _store_keys(live_hub) - before
    assert added and added <= _referenced(live_hub), "objects no record references"

    # twins with the same bytes: one message, the others get its receipt (200), no new object
    twin = document(number="77", subject="Gửi lại cùng một gói")
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(post, [twin] * 6))
    assert codes == [200] * 5 + [202], codes
    assert _store_keys(live_hub) <= _referenced(live_hub) | before


def test_an_agency_cannot_claim_another_agencys_document_id(live_hub, parties, sender):
    thief = parties[RECIPIENTS[0]]
    stolen = make_document(sender=thief.code, recipients=[RECIPIENTS[1]])
    stolen_id = f"{SENDER.lower()},2024/03/05,15/QĐ-UBND"  # the owner's id, any case
    from dataclasses import replace

    body = build_document(replace(stolen, document_id=stolen_id))
    r = thief.send(body)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "DOCUMENT_ID_NOT_SENDERS"
    # the owner's real document is accepted afterwards
    assert sender.send(document()).status_code == 202
    # a DocumentId in another form (real national-axis packages carry UUIDs) says nothing
    uuid_doc = replace(stolen, document_id="3f2b1c9e-5d7a-4e21-9c1b-0a7e5f3d2c11")
    assert thief.send(build_document(uuid_doc)).status_code == 202
