"""Console pages over HTTP: a session of one agency never shows another's documents, what a
sender wrote is inert in pages and exports, forms say in Vietnamese what to fix, uploads have
the API's size limit."""

from __future__ import annotations

import csv
import io
import re

import pytest

from formats.edxml import build_document
from tests.console.conftest import A, B, C, People, csrf_of
from tests.factories import make_document

XML = {"Content-Type": "application/xml"}
EVIL = '<script>alert(1)</script> =HYPERLINK("http://evil.example","x")'


@pytest.fixture
def sent(people: People) -> str:
    """A document from A to C whose subject is hostile; its message id."""
    body = build_document(make_document(sender=A, recipients=[C], subject=EVIL))
    with people.live.client(people.keys[A]) as api:
        r = api.post("/v1/messages", content=body, headers=XML)
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_another_agency_sees_nothing_of_it(people, sent):
    b = people.client("clerk.b")
    token = csrf_of(b.get("/inbox").text)
    assert sent not in b.get("/inbox").text
    assert sent not in b.get("/inbox", params={"q": "HYPERLINK"}).text
    for path in (f"/documents/{sent}", f"/documents/{sent}/files/1"):
        r = b.get(path)
        assert r.status_code == 404 and "MESSAGE_NOT_FOUND" in r.text, path
    r = b.post(f"/documents/{sent}/ack", data={"csrf": token})
    assert r.status_code == 404
    r = b.post(f"/documents/{sent}/status", data={"csrf": token, "code": "06", "note": "x"})
    assert r.status_code == 404
    # C still has it waiting, untouched, and the sender sees no status from anyone.
    c = people.client("clerk.c")
    assert sent in c.get("/inbox", params={"state": "pending"}).text
    a = people.client("clerk.a")
    page = a.get(f"/documents/{sent}").text
    assert 'data-code="06"' not in page
    # The statistics page of a clerk is its own agency's, whatever agency it asks for.
    r = b.get("/dashboard", params={"agency": C})
    assert r.status_code == 200 and B in r.text and "UBND tỉnh Bắc Ninh" not in r.text


def test_what_a_sender_wrote_is_inert(people, sent):
    c = people.client("clerk.c")
    for path in ("/inbox", f"/documents/{sent}"):
        html = c.get(path).text
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert html.count("<script") == 1  # ours: /static/console.js, nothing inline
    # The CSV export of the statistics page keeps the subject as text, not a formula.
    r = c.get("/dashboard/documents.csv", params={"by": "sent"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    [row] = [x for x in rows if "HYPERLINK" in x["subject"]]
    assert row["subject"] == EVIL  # text in a CSV cell; not a formula (it starts with "<")
    assert not any(v.startswith(("=", "+", "@")) for x in rows for v in x.values() if v)


def test_a_formula_subject_is_neutralised_in_the_export(people):
    body = build_document(
        make_document(sender=A, recipients=[C], number="99", subject='=HYPERLINK("x")')
    )
    with people.live.client(people.keys[A]) as api:
        assert api.post("/v1/messages", content=body, headers=XML).status_code == 202
    c = people.client("clerk.c")
    text = c.get("/dashboard/documents.csv", params={"by": "sent"}).content.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["subject"] == '\'=HYPERLINK("x")'


def test_compose_says_what_to_fix(people):
    a = people.client("clerk.a")
    token = csrf_of(a.get("/compose").text)
    r = a.post(
        "/compose",
        data={"csrf": token, "action": "send", "recipients": "", "number": ""},
        files={"main": ("ghi-chu.txt", b"not a pdf", "text/plain")},
    )
    assert r.status_code == 422
    for words in ("Nơi nhận", "Số: không được để trống", "Trích yếu", "không phải PDF"):
        assert words in r.text, words
    # Too large for the hub: refused before it is read, as the API refuses it.
    r = a.post(
        "/compose",
        data={"csrf": token, "action": "check", "recipients": B, "number": "1"},
        files={"main": ("big.pdf", b"%PDF-1.4\n" + b"0" * 300_000, "application/pdf")},
    )
    assert r.status_code == 413 and "FORM_TOO_LARGE" in r.text
    # An unknown recipient is a finding of the check, in the hub's words, and nothing is sent.
    r = a.post(
        "/compose",
        data={
            "csrf": token,
            "action": "check",
            "recipients": "000.00.00.X99",
            "number": "12",
            "notation": "UBND-VP",
            "subject": "Thử",
        },
        files={"main": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
    )
    assert r.status_code == 200 and 'data-code="RECIPIENT_UNKNOWN"' in r.text
    assert "send-checked" not in r.text
    assert "/documents/" not in a.get("/sent").text


def test_the_directory_answers_as_you_type(people):
    a = people.client("clerk.a")
    found = a.get("/directory", params={"q": "Tài chính"}).json()
    assert found == [{"code": B, "name": "Bộ Tài chính"}]
    assert a.get("/directory", params={"q": "G0"}).json()[0]["code"] == B
    assert a.get("/directory", params={"q": "x"}).json() == []
    assert people.client("archivist").get("/directory", params={"q": "Bộ"}).status_code == 403


def test_odd_paths_are_pages_not_json(people, sent):
    c = people.client("clerk.c")
    for path in (f"/documents/{sent}/files/x", f"/documents/{sent}/files/9", "/drafts/abc/pdf"):
        r = c.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), path
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_inbox_and_sent_filter_by_document_type(people):
    """The type as the sender wrote it (or another name systems use for it) filters the
    inbox of the recipient and the sent page of the sender; agency isolation holds."""
    from formats.model import DocumentType

    sent = {}
    with people.live.client(people.keys[A]) as api:
        for number, notation, type_name in (
            ("31", "QĐ-UBND", "Quyết định"),
            ("32", "UBND-VP", "Công văn"),
            ("33", "SY-UBND", "Sao y bản chính"),
        ):
            pkg = make_document(
                sender=A,
                recipients=[C],
                number=number,
                notation=notation,
                subject=f"Văn bản số {number}",
                document_type=DocumentType(type="1", type_name=type_name),
            )
            r = api.post("/v1/messages", content=build_document(pkg), headers=XML)
            assert r.status_code == 202, r.text
            sent[number] = r.json()["id"]
    c = people.client("clerk.c")

    def listed(client, path: str, type_name: str) -> set[str]:
        r = client.get(path, params={"type": type_name})
        assert r.status_code == 200, r.text
        return {n for n, mid in sent.items() if f'data-id="{mid}"' in r.text}

    assert listed(c, "/inbox", "") == {"31", "32", "33"}
    assert listed(c, "/inbox", "Quyết định") == {"31"}
    assert listed(c, "/inbox", "Công văn") == {"32"}
    assert listed(c, "/inbox", "Sao y") == {"33"}  # "Sao y bản chính" is the same type
    assert listed(c, "/inbox", "Thông báo") == set()
    assert "<option selected>Công văn</option>" in c.get("/inbox", params={"type": "Công văn"}).text
    a = people.client("clerk.a")
    assert listed(a, "/sent", "Công văn") == {"32"}
    assert listed(a, "/sent", "") == {"31", "32", "33"}
    # Another agency's documents of that type are not in B's inbox.
    assert listed(people.client("clerk.b"), "/inbox", "Quyết định") == set()
    r = c.get("/inbox", params={"type": "<script>"})
    assert r.status_code == 422 and "Loại văn bản: chọn trong danh sách" in r.text


def test_the_stamp_preview_is_the_leaders_own(people):
    """Only the leader a draft is put before previews its stamp; a leader without a key is
    told why on the draft's page; the draft's attachments are downloads for its clerk and its
    leader (the signing itself is in test_journeys)."""
    from tests.factories import minimal_pdf

    people.add("leader.a", "leader", A)
    a = people.client("clerk.a")
    r = a.post(
        "/compose",
        data={
            "csrf": csrf_of(a.get("/compose").text),
            "action": "draft",
            "recipients": B,
            "number": "5",
            "notation": "QĐ-UBND",
            "subject": "Dự thảo",
            "leader": "leader.a",
        },
        files=[
            ("main", ("du-thao.pdf", minimal_pdf(), "application/pdf")),
            ("attachments", ("../=phu luc.csv", b"=1+1\n", "text/csv")),
        ],
    )
    assert r.status_code == 303, r.text
    [draft] = re.findall(r'data-draft="(\d+)"', people.client("leader.a").get("/drafts").text)
    # The attachment waits with the draft: a download for its clerk and its leader only.
    for client in (a, people.client("leader.a")):
        r = client.get(f"/drafts/{draft}/files/1")
        assert r.status_code == 200 and r.content == b"=1+1\n"
        assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''%3Dphu%20luc.csv"
        assert r.headers["content-type"] == "application/octet-stream"
    assert a.get(f"/drafts/{draft}/files/2").status_code == 404
    people.add("clerk.a2", "clerk", A)
    assert people.client("clerk.a2").get(f"/drafts/{draft}/files/1").status_code == 404
    assert people.client("clerk.b").get(f"/drafts/{draft}/files/1").status_code == 404
    r = a.get(f"/drafts/{draft}/preview")
    assert r.status_code == 403 and "ROLE_NOT_ALLOWED" in r.text
    leader = people.client("leader.a")
    r = leader.get(f"/drafts/{draft}/preview")
    assert r.status_code == 422 and "chưa gắn khóa ký" in r.text
    page = leader.get(f"/drafts/{draft}")
    assert page.status_code == 200 and 'id="preview-problem"' in page.text
    assert "LEADER_NO_SIGNER" in page.text and 'id="sign"' in page.text
    people.add("leader.b", "leader", B)
    assert people.client("leader.b").get(f"/drafts/{draft}").status_code == 404
