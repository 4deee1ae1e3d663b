"""Console pages over HTTP: a session of one agency never shows another's documents, what a
sender wrote is inert in pages and exports, forms say in Vietnamese what to fix, uploads have
the API's size limit."""

from __future__ import annotations

import csv
import io

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
