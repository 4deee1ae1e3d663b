"""Smaller edges of issue 16 (item 9), against the real server on SQLite and PostgreSQL:
LIKE wildcards in the directory search, webhooks to this machine or the cloud's metadata
service, encodings and base64 cut short over HTTP."""

from __future__ import annotations

import base64
import re

import pytest

from tests.hub.conftest import document

XML = {"Content-Type": "application/xml"}


def test_directory_search_treats_wildcards_as_letters(live_hub, sender):
    live_hub.add_agency("000.00.00.H53", "Ủy ban nhân dân tỉnh 100% số")
    everything = sender.http.get("/v1/agencies").json()["items"]
    assert len(everything) > 2
    for q, expected in (("%", ["000.00.00.H53"]), ("_", []), ("G2_", []), ("G22", [sender.code])):
        r = sender.http.get("/v1/agencies", params={"q": q})
        assert r.status_code == 200
        assert [a["code"] for a in r.json()["items"]] == expected, q


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/push",
        "http://localhost/push",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/push",
        "http://[::ffff:127.0.0.1]/push",
        "http://0.0.0.0/push",
        "http://[fe80::1]/push",
        "http://224.0.0.1/push",
        "http://example.org:99999/push",
    ],
)
def test_webhooks_to_this_machine_or_link_local_are_refused(live_hub, sender, url):
    with live_hub.client(live_hub.staff_key("operator")) as op:
        r = op.put(f"/v1/admin/webhooks/{sender.code}", json={"url": url})
        assert r.status_code == 422, r.text
        assert r.json()["error"] in ("WEBHOOK_URL_FORBIDDEN", "WEBHOOK_URL_INVALID")
        # a private (government network) address is an agency system's: allowed
        r = op.put(f"/v1/admin/webhooks/{sender.code}", json={"url": "http://10.20.30.40/push"})
        assert r.status_code == 200, r.text


def test_a_utf8_package_declared_latin1_is_refused_with_its_code(sender):
    body = document().replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')
    r = sender.send(body)
    assert r.status_code == 400, r.text
    assert [f["code"] for f in r.json()["findings"]] == ["EDXML_ENCODING_MISMATCH"]
    assert sender.inbox() == []


def test_an_attachment_cut_short_is_refused_not_stored(sender, recipients):
    body = document()
    encoded = re.search(rb"<edXML:ContentTransferEncoded>([^<]+)<", body).group(1)
    assert base64.b64decode(encoded)  # whole
    cut = body.replace(encoded, encoded[:-3])
    r = sender.send(cut)
    assert r.status_code == 422, r.text
    assert "EDXML_BAD_BASE64" in [f["code"] for f in r.json()["findings"]]
    assert recipients[0].inbox() == []


def test_a_nul_character_anywhere_is_a_422_not_a_500(live_hub, sender):
    """PostgreSQL refuses NUL in text; each of these was a 500 there (and then a reset
    connection for the next request). Now one rule at the database's door, on both."""
    with live_hub.client(live_hub.staff_key("operator")) as op:
        for method, path, kwargs in (
            ("GET", "/v1/agencies", {"params": {"cursor": "\x00"}}),
            ("GET", "/v1/agencies", {"params": {"q": "a\x00"}}),
            ("GET", "/v1/stats/documents", {"params": {"agency": "\x00"}}),
            ("GET", "/v1/stats/overdue", {"params": {"agency": "\x00"}}),
            ("GET", "/v1/stats/agencies/%00", {}),
            ("GET", "/v1/admin/deadletters", {"params": {"agency": "\x00"}}),
            ("POST", "/v1/admin/deadletters/retry", {"json": {"agency": "\x00"}}),
            ("POST", "/v1/agencies/%00/deactivate", {}),
            ("POST", "/v1/agencies/%00/keys", {}),
        ):
            r = op.request(method, path, **kwargs)
            assert r.status_code == 422, (method, path, r.status_code, r.text)
            assert r.json()["error"] == "TEXT_NUL_CHARACTER"
        assert op.get("/v1/agencies").status_code == 200  # the connection is still good
