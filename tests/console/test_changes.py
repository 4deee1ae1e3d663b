"""Revoke, update and replace from the console, over HTTP, on SQLite and PostgreSQL: the
clerk of the agency that sent a document checks the change (nothing sent), confirms, and the
recipients receive it as the API's and the national protocol's packages; anyone else is
refused; forms say in Vietnamese what is missing. (The browser journey is in
test_journeys.py.)"""

from __future__ import annotations

import re

import httpx
import pytest

from formats import edxml
from formats.edxml import build_document
from formats.model import BusinessDocType
from tests.console.conftest import A, C, People, csrf_of
from tests.factories import make_document, minimal_pdf

XML = {"Content-Type": "application/xml"}
_DRAFT = re.compile(r'name="draft" value="(\d+)"')


@pytest.fixture
def sent(people: People) -> str:
    """A document A sent to C through the API; its message id."""
    body = build_document(make_document(sender=A, recipients=[C]))
    with people.live.client(people.keys[A]) as api:
        r = api.post("/v1/messages", content=body, headers=XML)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def _check_and_confirm(
    client: httpx.Client, message_id: str, kind: str, data: dict, files: dict | None = None
) -> str:
    """Step 1 (check) then step 2 (confirm); the new message's id."""
    path = f"/documents/{message_id}/change/{kind}"
    token = csrf_of(client.get(path).text)
    r = client.post(path, data={"csrf": token, "action": "check", **data}, files=files or {})
    assert r.status_code == 200, r.text
    assert "Không có lỗi" in r.text, r.text
    [draft] = _DRAFT.findall(r.text)
    r = client.post(path, data={"csrf": token, "action": "confirm", "draft": draft})
    assert r.status_code == 303, r.text
    target = r.headers["location"]
    assert target.endswith(f"?done={kind}")
    return target.split("/documents/")[1].split("?")[0]


def _package(people: People, agency: str, message_id: str):  # noqa: ANN202
    with people.live.client(people.keys[agency]) as api:
        r = api.get(f"/v1/messages/{message_id}")
        assert r.status_code == 200, r.text
        return edxml.parse(r.content).package


def test_revoke_from_the_console(people, sent):
    a = people.client("clerk.a")
    page = a.get(f"/documents/{sent}").text
    assert 'id="change-revoke"' in page and 'id="change-replace"' in page
    path = f"/documents/{sent}/change/revoke"
    token = csrf_of(a.get(path).text)
    # No reason: the form says so in Vietnamese, and nothing is checked or sent.
    r = a.post(path, data={"csrf": token, "action": "check", "reason": " "})
    assert r.status_code == 422 and "Lý do: không được để trống" in r.text
    assert 'id="confirm"' not in r.text
    # Checking sends nothing: C has only the original.
    r = a.post(path, data={"csrf": token, "action": "check", "reason": "Sai thể thức"})
    assert r.status_code == 200 and 'id="confirm"' in r.text
    c = people.client("clerk.c")
    assert c.get("/inbox").text.count("data-id=") == 1
    revoke = _check_and_confirm(a, sent, "revoke", {"reason": "Sai thể thức"})
    # C receives the revoke, the same package the API's clients send.
    pkg = _package(people, C, revoke)
    assert pkg.business.doc_type == BusinessDocType.REVOKE
    assert pkg.business.reason == "Sai thể thức"
    assert pkg.business.document_id == pkg.document_id == f"{A},2024/03/05,15/QĐ-UBND"
    inbox = c.get("/inbox").text
    assert inbox.count("data-id=") == 2 and "Thu hồi" in inbox
    # C answers 15 (recall accepted) from the document page; A's timeline shows 13 then 15.
    doc = c.get(f"/documents/{revoke}").text
    assert 'value="15"' in doc and "Sai thể thức" in doc
    r = c.post(f"/documents/{revoke}/status", data={"csrf": csrf_of(doc), "code": "15"})
    assert r.status_code == 303
    page = a.get(f"/documents/{sent}").text
    assert 'id="revoked"' in page and 'id="change-revoke"' not in page
    codes = re.findall(r'data-code="(\d\d)"', page.split('id="timeline"')[1])
    assert codes[-2:] == ["13", "15"]
    # A revoked document cannot be updated any more: the check says why and offers no confirm.
    path = f"/documents/{sent}/change/update"
    r = a.post(
        path,
        data={
            "csrf": token,
            "action": "check",
            "reason": "Cập nhật",
            "subject": "Mới",
            "priority": "0",
        },
    )
    assert r.status_code == 200 and 'data-code="REFERENCE_REVOKED"' in r.text
    assert 'id="confirm"' not in r.text


def test_update_and_replace_from_the_console(people, sent):
    a = people.client("clerk.a")
    update = _check_and_confirm(
        a,
        sent,
        "update",
        {"reason": "Bổ sung phụ lục", "subject": "Về việc kế hoạch (cập nhật)", "priority": "1"},
        files={"attachments": ("phu-luc.pdf", minimal_pdf(["Phu luc"]), "application/pdf")},
    )
    pkg = _package(people, C, update)
    assert pkg.business.doc_type == BusinessDocType.UPDATE
    assert pkg.document_id == f"{A},2024/03/05,15/QĐ-UBND"  # the same document, updated
    assert pkg.subject == "Về việc kế hoạch (cập nhật)" and pkg.other.priority == 1
    # The main file kept, the new attachment added.
    assert [att.name for att in pkg.attachments] == ["QD-15-UBND.pdf", "phu-luc.pdf"]
    replacement = _check_and_confirm(
        a,
        sent,
        "replace",
        {
            "reason": "Thay thế do sai số liệu",
            "number": "21",
            "notation": "QĐ-UBND",
            "type_name": "Quyết định",
            "subject": "Về việc kế hoạch (thay thế)",
            "priority": "0",
        },
        files={"main": ("qd-21.pdf", minimal_pdf(["QD 21"]), "application/pdf")},
    )
    pkg = _package(people, C, replacement)
    assert pkg.business.doc_type == BusinessDocType.REPLACE
    assert pkg.code.number == "21" and [o.organ_id for o in pkg.recipients] == [C]
    [rep] = pkg.business.replacements
    assert rep.document_id == f"{A},2024/03/05,15/QĐ-UBND" and rep.organ_ids == [C]
    inbox = people.client("clerk.c").get("/inbox").text
    assert "Cập nhật" in inbox and "Thay thế" in inbox
    # A replacement needs its number and PDF: said in Vietnamese.
    path = f"/documents/{sent}/change/replace"
    token = csrf_of(a.get(path).text)
    r = a.post(path, data={"csrf": token, "action": "check", "reason": "x", "subject": "x"})
    assert r.status_code == 422
    for words in ("Số: không được để trống", "Văn bản chính"):
        assert words in r.text, words


def test_only_the_sender_changes_a_document(people, sent):
    a = people.client("clerk.a")
    token = csrf_of(a.get(f"/documents/{sent}/change/revoke").text)
    # The recipient: it may read the document, not revoke it.
    c = people.client("clerk.c")
    assert 'id="change-revoke"' not in c.get(f"/documents/{sent}").text
    for kind in ("revoke", "update", "replace"):
        r = c.get(f"/documents/{sent}/change/{kind}")
        assert r.status_code == 403 and "REFERENCE_OTHER_SENDER" in r.text, kind
    c_token = csrf_of(c.get("/inbox").text)
    r = c.post(
        f"/documents/{sent}/change/revoke",
        data={"csrf": c_token, "action": "check", "reason": "x"},
    )
    assert r.status_code == 403 and "REFERENCE_OTHER_SENDER" in r.text
    # Another agency: the document does not exist for it.
    b = people.client("clerk.b")
    r = b.get(f"/documents/{sent}/change/revoke")
    assert r.status_code == 404 and "MESSAGE_NOT_FOUND" in r.text
    # No CSRF token, or another site's form: refused before anything is read.
    r = a.post(f"/documents/{sent}/change/revoke", data={"action": "check", "reason": "x"})
    assert r.status_code == 403 and "CSRF_FAILED" in r.text
    r = a.post(
        f"/documents/{sent}/change/revoke",
        data={"csrf": token, "action": "check", "reason": "x"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403 and "CSRF_FAILED" in r.text
    # A confirm of a package never checked sends nothing.
    r = a.post(
        f"/documents/{sent}/change/revoke",
        data={"csrf": token, "action": "confirm", "draft": "999"},
    )
    assert r.status_code == 404 and "DRAFT_NOT_FOUND" in r.text
    assert a.get(f"/documents/{sent}/change/recall").status_code == 404
    # Archivists and operators have no such page.
    r = people.client("archivist").get(f"/documents/{sent}/change/revoke")
    assert r.status_code == 403 and "ROLE_NOT_ALLOWED" in r.text
    # Nothing of all this reached C.
    assert c.get("/inbox").text.count("data-id=") == 1
