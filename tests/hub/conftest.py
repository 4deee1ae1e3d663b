"""Agencies registered on a live hub, and helpers to send packages between them."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from formats.edxml import build_document, build_status
from tests.factories import make_document, make_status

SENDER = "000.00.00.G22"
RECIPIENTS = ["000.00.00.G06", "000.00.00.H26"]
OUTSIDER = "000.00.00.G12"


@dataclass
class Party:
    code: str
    key: str
    http: httpx.Client

    def send(self, body: bytes, **headers: str) -> httpx.Response:
        return self.http.post(
            "/v1/messages", content=body, headers={"Content-Type": "application/xml", **headers}
        )

    def inbox(self, **params) -> list[dict]:
        response = self.http.get("/v1/inbox", params=params)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def ack(self, message_id: str) -> httpx.Response:
        return self.http.post(f"/v1/messages/{message_id}/ack")


@pytest.fixture
def parties(live_hub):
    out = {}
    for code in [SENDER, *RECIPIENTS, OUTSIDER]:
        key = live_hub.add_agency(code)
        out[code] = Party(code, key, live_hub.client(key))
    yield out
    for p in out.values():
        p.http.close()


@pytest.fixture
def sender(parties) -> Party:
    return parties[SENDER]


@pytest.fixture
def recipients(parties) -> list[Party]:
    return [parties[c] for c in RECIPIENTS]


@pytest.fixture
def outsider(parties) -> Party:
    return parties[OUTSIDER]


def document(**kw) -> bytes:
    kw.setdefault("sender", SENDER)
    kw.setdefault("recipients", RECIPIENTS)
    return build_document(make_document(**kw))


def status(code: str, sender: str, document_id: str, **kw) -> bytes:
    return build_status(make_status(status_code=code, sender=sender, document_id=document_id, **kw))
