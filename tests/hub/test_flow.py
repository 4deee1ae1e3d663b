"""The walk of one document through the hub, over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

from formats import edxml
from tests.hub.conftest import RECIPIENTS, SENDER, document, status


def test_send_returns_a_receipt_and_routes_to_each_recipient(sender, recipients, outsider):
    body = document()
    response = sender.send(body)
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["kind"] == "edoc"
    assert receipt["document_id"] == "000.00.00.G22,2024/03/05,15/QĐ-UBND"
    assert receipt["sha256"] == hashlib.sha256(body).hexdigest()
    assert sorted(receipt["recipients"]) == sorted(RECIPIENTS)
    assert receipt["received_at"].endswith("+07:00")
    for r in recipients:
        [item] = r.inbox()
        assert item["id"] == receipt["id"]
        assert item["from"] == SENDER
        assert item["subject"].startswith("Về việc phê duyệt")
        got = r.http.get(f"/v1/messages/{receipt['id']}")
        assert got.status_code == 200
        assert got.content == body
        assert got.headers["content-type"].startswith("application/xml")
    assert outsider.inbox() == []
    assert outsider.http.get(f"/v1/messages/{receipt['id']}").status_code == 404
    assert sender.http.get(f"/v1/messages/{receipt['id']}").content == body


def test_resending_the_same_package_returns_the_first_receipt_and_delivers_once(sender, recipients):
    body = document()
    first = sender.send(body)
    again = sender.send(body)
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == first.json()
    for r in recipients:
        assert len(r.inbox()) == 1


def test_same_document_id_with_other_bytes_is_a_conflict(sender, recipients):
    assert sender.send(document()).status_code == 202
    response = sender.send(document(subject="Một trích yếu khác"))
    assert response.status_code == 409
    assert response.json()["error"] == "DOCUMENT_ID_CONFLICT"
    assert len(recipients[0].inbox()) == 1


def test_ack_removes_from_inbox_and_sends_status_01_to_the_sender(sender, recipients):
    receipt = sender.send(document()).json()
    first, second = recipients
    response = first.ack(receipt["id"])
    assert response.status_code == 200 and response.json()["acked"] is True
    assert first.inbox() == []
    assert len(second.inbox()) == 1
    [item] = sender.inbox()
    assert item["kind"] == "status" and item["status_code"] == "01"
    assert item["from"] == first.code
    # The status item is a real status package the sender's system can parse.
    body = sender.http.get(f"/v1/messages/{item['id']}").content
    parsed = edxml.parse(body)
    assert parsed.ok, parsed.findings
    assert parsed.package.status_code == "01"
    assert parsed.package.response_for.document_id == receipt["document_id"]
    assert parsed.package.sender.organ_id == first.code
    # Acknowledging twice is harmless and sends no second 01.
    assert first.ack(receipt["id"]).status_code == 200
    assert len(sender.inbox()) == 1


def test_ack_of_a_message_not_yours_is_404(sender, recipients, outsider):
    receipt = sender.send(document()).json()
    assert outsider.ack(receipt["id"]).status_code == 404
    assert recipients[0].ack("0" * 32).status_code == 404


def test_statuses_are_relayed_to_the_sender_and_shown_in_the_timeline(sender, recipients):
    receipt = sender.send(document()).json()
    first, second = recipients
    first.ack(receipt["id"])
    for code in ("03", "04", "05", "06"):
        response = first.http.post(
            f"/v1/messages/{receipt['id']}/status",
            json={
                "code": code,
                "description": f"bước {code}",
                "staff": {"staff": "Lê Thị Cúc", "department": "Văn thư"},
            },
        )
        assert response.status_code == 202, response.text
    codes = [i["status_code"] for i in sender.inbox()]
    assert codes == ["01", "03", "04", "05", "06"]
    timeline = sender.http.get(f"/v1/messages/{receipt['id']}/timeline").json()
    lines = {line["agency"]: line for line in timeline["recipients"]}
    assert set(lines) == set(RECIPIENTS)
    assert lines[first.code]["acked_at"] is not None
    assert [e["code"] for e in lines[first.code]["events"]] == ["01", "03", "04", "05", "06"]
    assert lines[first.code]["events"][1]["staff"]["staff"] == "Lê Thị Cúc"
    assert lines[second.code]["acked_at"] is None and lines[second.code]["events"] == []
    # A recipient sees its own line only.
    own = first.http.get(f"/v1/messages/{receipt['id']}/timeline").json()
    assert [line["agency"] for line in own["recipients"]] == [first.code]


def test_status_package_posted_to_messages_is_relayed(sender, recipients):
    receipt = sender.send(document()).json()
    body = status("03", recipients[0].code, receipt["document_id"])
    response = recipients[0].send(body)
    assert response.status_code == 202, response.text
    assert response.json()["kind"] == "status"
    [item] = sender.inbox()
    assert item["status_code"] == "03"
    assert sender.http.get(f"/v1/messages/{item['id']}").content == body
    assert recipients[0].send(body).status_code == 200  # the same package again


def test_status_codes_outside_the_table_and_from_non_recipients_are_refused(
    sender, recipients, outsider
):
    receipt = sender.send(document()).json()
    bad = recipients[0].http.post(f"/v1/messages/{receipt['id']}/status", json={"code": "07"})
    assert bad.status_code == 422
    assert bad.json()["findings"][0]["code"] == "STATUS_UNKNOWN_CODE"
    # a stranger to the document hears what it would about a document that does not exist:
    # no oracle of other agencies' DocumentIds (issue 16)
    stranger = outsider.send(status("03", outsider.code, receipt["document_id"]))
    unknown_id = receipt["document_id"].replace("15/", "99/")
    unknown = outsider.send(status("03", outsider.code, unknown_id))
    assert stranger.status_code == unknown.status_code == 422
    assert stranger.json()["findings"][0]["code"] == "STATUS_DOCUMENT_UNKNOWN"
    assert stranger.text.replace(receipt["document_id"], "X") == unknown.text.replace(
        unknown_id, "X"
    )
    assert (
        outsider.http.post(f"/v1/messages/{receipt['id']}/status", json={"code": "03"}).status_code
        == 404
    )
    assert sender.inbox() == []


def test_revoke_reaches_recipients_and_the_recall_flow_shows_in_the_timeline(sender, recipients):
    receipt = sender.send(document()).json()
    revoke = sender.send(document(business=1))
    assert revoke.status_code == 202, revoke.text
    first, second = recipients
    items = first.inbox()
    assert [i["business"] for i in items] == ["new", "revoke"]
    resp = first.http.post(
        f"/v1/messages/{items[1]['id']}/status",
        json={"code": "15", "description": "Đồng ý thu hồi"},
    )
    assert resp.status_code == 202, resp.text
    second.http.post(f"/v1/messages/{items[1]['id']}/status", json={"code": "16"})
    timeline = sender.http.get(f"/v1/messages/{receipt['id']}/timeline").json()
    lines = {line["agency"]: [e["code"] for e in line["events"]] for line in timeline["recipients"]}
    assert lines[first.code] == ["13", "15"]
    assert lines[second.code] == ["13", "16"]
    # A revoked document cannot be updated any more.
    again = sender.send(document(business=2, subject="Sau thu hồi"))
    assert again.status_code == 422
    assert again.json()["findings"][0]["code"] == "REFERENCE_REVOKED"


def test_update_of_a_document_is_accepted_with_the_same_document_id(sender, recipients):
    sender.send(document())
    update = sender.send(document(business=2, subject="Cập nhật: phê duyệt kế hoạch"))
    assert update.status_code == 202, update.text
    assert [i["business"] for i in recipients[0].inbox()] == ["new", "update"]


def test_revoke_of_an_unknown_document_is_refused(sender, recipients):
    response = sender.send(document(business=1, number="99"))
    assert response.status_code == 422
    assert response.json()["findings"][0]["code"] == "REFERENCE_UNKNOWN"
    assert recipients[0].inbox() == []


def test_another_agency_cannot_revoke_a_document(live_hub, sender, recipients, parties):
    sender.send(document())
    thief = parties[recipients[0].code]
    body = document(sender=thief.code, recipients=[recipients[1].code], business=1)
    # Its Business/DocumentId names the original (sent by SENDER); rewrite it to point there.
    body = body.replace(f"{thief.code},2024/03/05".encode(), f"{SENDER},2024/03/05".encode(), 1)
    pkg = edxml.parse(body).package
    assert pkg.sender.organ_id == thief.code
    response = thief.send(body)
    assert response.status_code == 422, response.text
    assert response.json()["findings"][0]["code"] in ("REFERENCE_OTHER_SENDER", "REFERENCE_UNKNOWN")


def test_inbox_pages_with_a_cursor_oldest_first(sender, recipients):
    ids = [sender.send(document(number=f"{n:02d}")).json()["id"] for n in range(1, 8)]
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = recipients[0].http.get("/v1/inbox", params=params).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


def test_batch_ack(sender, recipients):
    ids = [sender.send(document(number=f"{n:02d}")).json()["id"] for n in range(1, 4)]
    response = recipients[0].http.post("/v1/inbox/ack", json={"ids": ids + ["f" * 32]})
    results = response.json()["results"]
    assert [r["acked"] for r in results] == [True, True, True, False]
    assert recipients[0].inbox() == []
    assert [i["status_code"] for i in sender.inbox()] == ["01", "01", "01"]


def test_identical_statuses_in_the_same_second_are_both_relayed(sender, recipients):
    """The hub builds status packages with second-resolution timestamps: two equal ones in one
    second have equal bytes and must still both go through (no resend dedupe for them)."""
    receipt = sender.send(document()).json()
    first = recipients[0]
    for _ in range(2):
        r = first.http.post(f"/v1/messages/{receipt['id']}/status", json={"code": "03"})
        assert r.status_code == 202, r.text
    revoke = sender.send(document(business=1)).json()
    assert first.ack(receipt["id"]).status_code == 200
    assert first.ack(revoke["id"]).status_code == 200
    assert [i["status_code"] for i in sender.inbox()] == ["03", "03", "01", "01"]
