"""Whole journeys in a real browser (Playwright driving Debian's Chromium), on SQLite and
PostgreSQL: clerk A composes and sends a signed document; clerk B finds it, reads the
signature explained, acknowledges, sends 03 then 06; A sees the timeline; a leader signs a
draft; an archivist finds and exports the record; an operator retries a dead letter. Every
page visited passes axe-core and our own check (tests/console/a11y.py); what a sender wrote is
shown as text, never run."""

from __future__ import annotations

import json
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from axis.service import push, users
from axis.worker import Worker
from signing.sign import load_pkcs12, sign_pdf
from tests.console import a11y
from tests.console.conftest import A, B, C, People, totp_code
from tests.signing.pki import P12_PASSWORD, start_pki
from tests.signing.samples import make_pdf, signature_png
from tests.support.live import LiveHub

SUBJECT = 'Về việc <script>alert(1)</script> =HYPERLINK("http://evil.example","x") kế hoạch'


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = start_pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()


@pytest.fixture
def hub(tmp_path, database_url, pki, monkeypatch):
    monkeypatch.setenv("AXIS_TEST_P12_PASSWORD", P12_PASSWORD)
    signers = {
        "signers": {
            "chu-tich": {
                "agency": A,
                "name": "Nguyễn Văn An",
                "position": "CHỦ TỊCH",
                "role": "leader",
                "image": str(signature_png(tmp_path / "sig.png")),
                "p12": str(pki.p12["leader"]),
                "password_env": "AXIS_TEST_P12_PASSWORD",
            }
        }
    }
    (tmp_path / "signers.json").write_text(json.dumps(signers))
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_RULES": "off",
        "AXIS_SIGNATURE_POLICY": "lenient",
        "AXIS_TRUST_ROOTS": str(pki.trust_root),
        "AXIS_REVOCATION_POLICY": "soft-fail",
        "AXIS_SIGNERS": str(tmp_path / "signers.json"),
        # A push that fails once is given up on at once: the operator's dead letter.
        "AXIS_PUSH_GIVE_UP_AFTER_S": "0",
    }
    with LiveHub.start(env) as live:
        yield live


def _off_the_loop(fn, *args, **kwargs):  # noqa: ANN001, ANN202
    """pyHanko runs asyncio.run(); Playwright's sync API holds an event loop in this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


class Visits:
    """Each page the journeys see, checked for accessibility once per path."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}
        self.count = 0

    def check(self, page) -> None:  # noqa: ANN001
        path = page.url.split("?")[0].split("/", 3)[-1]
        found = a11y.check(page)
        self.count += 1
        if found:
            self.problems.setdefault("/" + path, []).extend(found)
        self.problems.setdefault("checked:" + "/" + path, [])


def _render(pdf: bytes, stem) -> object:  # noqa: ANN001
    """Page 1 as pixels (poppler's pdftoppm, greyscale, 50 dpi); the drafts here have one."""
    import subprocess

    from PIL import Image

    stem.with_suffix(".pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-gray", "-png", "-singlefile",
         str(stem.with_suffix(".pdf")), str(stem)],
        check=True,
    )  # fmt: skip
    return Image.open(stem.with_suffix(".png")).convert("L")


def _changed_box(one, other):  # noqa: ANN001, ANN202
    """Where two renderings of a page differ visibly (left, top, right, bottom), or None."""
    from PIL import ImageChops

    assert one.size == other.size
    return ImageChops.difference(one, other).point(lambda v: 255 if v > 48 else 0).getbbox()


def _sign_in(browser, live: LiveHub, people: People, name: str, visits: Visits, uri: str = ""):  # noqa: ANN202, E501
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs  # a script that ran would have opened one
    page.goto(f"{live.url}/")
    assert "/login" in page.url
    visits.check(page)
    page.fill("#name", name)
    page.fill("#password", people.passwords[name])
    if uri:
        page.fill("#code", totp_code(uri))
    page.click("main button[type=submit]")
    assert "/login" not in page.url, page.content()
    return context, page


def test_the_journeys(hub, chromium, pki, tmp_path):
    live = hub
    people = People(live)
    people.add("leader.a", "leader", A, full_name="Nguyễn Văn An", signer_id="chu-tich")
    totp = users.enable_totp(live.hub.db, live.hub.secret_box, "leader.a")
    visits = Visits()
    signed = _off_the_loop(sign_pdf, make_pdf(), load_pkcs12(pki.p12["leader"], P12_PASSWORD))
    (tmp_path / "qd-15.pdf").write_bytes(signed)
    (tmp_path / "=cmd calc.csv").write_bytes(b'=HYPERLINK("http://evil.example")\n')

    # 1. Clerk A composes: the directory answers as she types, the check shows the findings
    # and the signature explained, then she sends.
    ctx_a, a = _sign_in(chromium, live, people, "clerk.a", visits)
    a.goto(f"{live.url}/compose")
    visits.check(a)
    a.type("#recipients", "Tài chính", delay=20)
    a.wait_for_selector(f'#recipients-list li[data-code="{B}"]')
    a.click(f'#recipients-list li[data-code="{B}"]')
    assert B in a.input_value("#recipients")
    a.fill("#number", "15")
    a.fill("#notation", "QĐ-UBND")
    a.fill("#type_name", "Quyết định")
    a.fill("#subject", SUBJECT)
    a.fill("#place", "Hà Nội")
    a.fill("#competence", "TM. ỦY BAN NHÂN DÂN")
    a.fill("#position", "Chủ tịch")
    a.fill("#full_name", "Nguyễn Văn An")
    a.fill("#due_date", "2020-01-31")  # long past: the document is overdue at once
    a.set_input_files("#main-pdf", str(tmp_path / "qd-15.pdf"))
    a.set_input_files("#attachments", str(tmp_path / "=cmd calc.csv"))
    a.click("#check")
    visits.check(a)
    assert "Không có lỗi" in a.inner_text("#check-verdict")
    sig = a.locator("#check-result .sig").first
    assert sig.get_attribute("data-verdict") == "passed"
    assert "Ký bởi" in sig.inner_text()
    a.click("#send-checked")
    assert "/documents/" in a.url and "done=sent" in a.url
    visits.check(a)
    message_id = a.url.split("/documents/")[1].split("?")[0]
    assert a.inner_text("#doc-subject") == SUBJECT  # as text: the script did not run

    # 2. Clerk B finds it in the inbox (filters), reads the signature explained, acks, 03, 06.
    ctx_b, b = _sign_in(chromium, live, people, "clerk.b", visits)
    b.goto(f"{live.url}/inbox")
    visits.check(b)
    b.fill("#f-q", "kế hoạch")
    b.fill("#f-sender", "Văn phòng")
    b.select_option("#f-state", "overdue")
    b.click("form.filters button[type=submit]")
    row = b.locator(f'#inbox tr[data-id="{message_id}"]')
    assert row.count() == 1
    assert "<script>alert(1)</script>" in row.inner_text()
    assert "Quá hạn" in row.inner_text()
    b.select_option("#f-state", "06")
    b.click("form.filters button[type=submit]")
    assert b.locator(f'#inbox tr[data-id="{message_id}"]').count() == 0
    b.goto(f"{live.url}/inbox")
    b.click(f'#inbox tr[data-id="{message_id}"] a')
    visits.check(b)
    explained = b.inner_text("#signatures")
    assert "Hợp lệ" in explained and "Ký bởi" in explained and "tin cậy" in explained
    assert b.locator("iframe.pdf").count() == 1
    # The PDF is served to be framed by our own page only, and the CSV as a download.
    pdf = b.request.get(f"{live.url}/documents/{message_id}/files/1?view=1")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in pdf.headers["content-security-policy"]
    csv = b.request.get(f"{live.url}/documents/{message_id}/files/2?view=1")
    assert csv.headers["content-disposition"].startswith("attachment;")
    assert csv.headers["content-type"] == "application/octet-stream"
    b.click("#ack")
    assert "done=ack" in b.url
    for code, note in (("03", "Đã vào sổ văn bản đến"), ("06", "Đã xử lý xong")):
        b.select_option("#status-code", code)
        b.fill("#status-note", note)
        b.click("#send-status")
        assert f"done={code}" in b.url
    codes = b.locator(f'#timeline tr[data-recipient="{B}"] li').evaluate_all(
        "els => els.map(e => e.dataset.code)"
    )
    assert codes[-2:] == ["03", "06"]
    # The second language passes the same checks.
    b.goto(f"{live.url}/lang/en?next=/inbox")
    assert b.inner_text("h1") == "Inbox"
    visits.check(b)
    b.goto(f"{live.url}/lang/vi?next=/inbox")

    # 3. A sees the timeline and each recipient's progress on the sent page.
    a.goto(f"{live.url}/documents/{message_id}")
    line = a.inner_text(f'#timeline tr[data-recipient="{B}"]')
    assert "Đã tiếp nhận" in line and "Hoàn thành" in line and "Đã xử lý xong" in line
    a.goto(f"{live.url}/sent")
    visits.check(a)
    assert "06" in a.inner_text(f'.sent-doc[data-id="{message_id}"] tr[data-recipient="{B}"]')
    # A session of agency C never sees it: its inbox is empty and the page answers 404.
    ctx_c, c = _sign_in(chromium, live, people, "clerk.c", visits)
    c.goto(f"{live.url}/inbox")
    assert c.locator("#inbox tr[data-id]").count() == 0
    assert c.goto(f"{live.url}/documents/{message_id}").status == 404
    visits.check(c)  # the error page
    ctx_c.close()

    # 4. A leader signs a draft with the key the hub holds; it goes out to B.
    a.goto(f"{live.url}/compose")
    a.fill("#recipients", B)
    a.fill("#number", "16")
    a.fill("#notation", "QĐ-UBND")
    a.fill("#subject", "Quyết định trình ký")
    a.set_input_files(
        "#main-pdf", {"name": "du-thao.pdf", "mimeType": "application/pdf", "buffer": make_pdf()}
    )
    annex = {"name": "phu-luc.xlsx", "mimeType": "application/octet-stream", "buffer": b"PK\x03"}
    a.set_input_files("#attachments", annex)
    a.select_option("#leader", "leader.a")
    a.click("#submit-draft")
    assert "/drafts" in a.url
    ctx_l, leader = _sign_in(chromium, live, people, "leader.a", visits, totp)
    assert "/drafts" in leader.url
    visits.check(leader)
    # The preview: the draft with the stamp drawn where signing puts it, not signed.
    leader.click("#drafts tr[data-draft] a.preview")
    visits.check(leader)
    assert "Nghị định 30" in leader.inner_text("#stamp-where")
    assert leader.inner_text("#draft-files") == "du-thao.pdf\nphu-luc.xlsx"  # the attachment too
    src = leader.get_attribute("#preview", "src")
    assert "#page=1&" in src
    preview = leader.request.get(live.url + src.split("#")[0])
    assert preview.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in preview.headers["content-security-policy"]
    preview_pdf = preview.body()
    assert b"/ByteRange" not in preview_pdf  # a picture of a signature, not one
    leader.fill("#code", totp_code(totp))  # again, to sign
    leader.click("#sign")
    assert "/documents/" in leader.url and "done=sent" in leader.url
    signed_sig = leader.locator("#signatures .sig").first
    assert signed_sig.get_attribute("data-verdict") == "passed"
    signed_pdf = leader.request.get(leader.url.split("?")[0] + "/files/1").body()
    sent_annex = leader.request.get(leader.url.split("?")[0] + "/files/2")
    assert sent_annex.body() == b"PK\x03"  # sent with the signed PDF
    assert "phu-luc.xlsx" in sent_annex.headers["content-disposition"]
    # The signed page looks like the preview: the stamp is where the leader saw it.
    draft_png, preview_png, signed_png = (
        _render(pdf, tmp_path / name)
        for pdf, name in ((make_pdf(), "draft"), (preview_pdf, "preview"), (signed_pdf, "signed"))
    )
    drawn = _changed_box(draft_png, preview_png)
    print("stamp preview: drawn in", drawn, "of", draft_png.size)
    width, height = draft_png.size
    # Decree 30: on the right, above the bottom margin, under the text.
    assert drawn is not None and drawn[0] > width / 2 and drawn[1] > height / 2, drawn
    assert _changed_box(preview_png, signed_png) is None, "the signed stamp is not as previewed"
    signed_id = leader.url.split("/documents/")[1].split("?")[0]
    ctx_l.close()

    # 4b. Clerk A revokes that document: the form, the check (nothing sent yet), the
    # confirmation; B receives the revoke and accepts it (15); A's timeline shows 13, 15.
    a.goto(f"{live.url}/documents/{signed_id}")
    a.click("#change-revoke")
    visits.check(a)
    a.click("#check")  # no reason given: the browser asks for it (required), nothing posted
    assert "/change/revoke" in a.url and a.locator("#check-result").count() == 0
    a.fill("#reason", "Ban hành nhầm đối tượng")
    a.click("#check")
    visits.check(a)
    assert "Không có lỗi" in a.inner_text("#check-verdict")
    b.goto(f"{live.url}/inbox")
    assert "Thu hồi" not in b.inner_text("#inbox")  # checked, not sent
    a.click("#confirm")
    assert "done=revoke" in a.url
    assert "Đã gửi đề nghị thu hồi" in a.inner_text("#done")
    b.goto(f"{live.url}/inbox")
    b.click('#inbox tr:has(span.badge:text("Thu hồi")) a')
    assert "Ban hành nhầm đối tượng" in b.inner_text("#business-reason")
    b.select_option("#status-code", "15")
    b.click("#send-status")
    assert "done=15" in b.url
    a.goto(f"{live.url}/documents/{signed_id}")
    assert a.locator("#revoked").count() == 1 and a.locator("#changes").count() == 0
    codes = a.locator(f'#timeline tr[data-recipient="{B}"] li').evaluate_all(
        "els => els.map(e => e.dataset.code)"
    )
    assert codes[-2:] == ["13", "15"]

    # 5. The archivist finds the record without diacritics, opens it, exports a BagIt zip.
    ctx_r, r = _sign_in(chromium, live, people, "archivist", visits)
    assert "/archive" in r.url
    visits.check(r)
    r.fill("#a-q", "ke hoach")
    r.click("form.filters button[type=submit]")
    visits.check(r)
    assert r.locator("#records tr[data-id]").count() == 1
    r.click("#records tr[data-id] a")
    visits.check(r)
    assert "archivist:user:archivist" in r.inner_text("#events")
    r.go_back()
    with r.expect_download() as dl:
        r.click("#export")
    with zipfile.ZipFile(dl.value.path()) as z:
        names = z.namelist()
    assert any(n.endswith("bagit.txt") for n in names)
    assert any(n.endswith("manifest-sha256.txt") for n in names)
    r.click("#audit")
    visits.check(r)
    assert "Toàn vẹn" in r.inner_text("#audit-verdict")
    ctx_r.close()

    # 6. An operator retries a dead letter (a push to a closed port, given up on at once).
    push.set_webhook(  # a closed port on this machine, allowed as an operator would
        live.hub.db, C, "http://127.0.0.1:9/push", allowed_networks="127.0.0.0/8"
    )
    with live.client(people.keys[A]) as api:
        from formats.edxml import build_document
        from tests.factories import make_attachment, make_document

        body = build_document(
            make_document(
                sender=A,
                recipients=[C],
                number="17",
                attachments=[make_attachment("a.pdf", signed)],
            )
        )
        assert (
            api.post(
                "/v1/messages", content=body, headers={"Content-Type": "application/xml"}
            ).status_code
            == 202
        )
    worker = Worker(live.hub, push.PushSettings(connect_timeout_s=1))
    _off_the_loop(worker.run, until_idle=True)
    [dead] = push.dead_letters(live.hub.db)
    ctx_o, o = _sign_in(chromium, live, people, "admin", visits)
    for path in (
        "/dashboard",
        "/admin/agencies",
        "/admin/systems",
        "/admin/users",
        "/admin/webhooks",
        "/admin/trust",
        "/admin/upstream",
        "/admin/deadletters",
    ):
        o.goto(live.url + path)
        visits.check(o)
    o.check(f"#job-{dead['job_id']}")
    o.click("#retry")
    assert o.inner_text("#requeued").endswith("1")
    assert push.dead_letters(live.hub.db) == []
    assert push.queue_stats(live.hub.db)["jobs"]["ready"] == 1

    # Nothing a sender wrote ran anywhere.
    for page in (a, b, o):
        assert page.dialogs == []
    problems = {k: v for k, v in visits.problems.items() if v}
    assert problems == {}, problems
    checked = sorted(k[8:] for k in visits.problems if k.startswith("checked:"))
    print(f"accessibility checked: {visits.count} pages, {len(checked)} paths:", checked)
    assert len(checked) >= 15
    for ctx in (ctx_a, ctx_b, ctx_o):
        ctx.close()


def test_a_cross_site_form_is_refused_in_the_browser(live, people, chromium):
    """A page on another origin posts a status form at the hub in a signed-in browser: the
    hub refuses it (no CSRF token, foreign Origin) and records nothing."""
    attack = (
        f'<html><body><form id="f" method="post" action="{live.url}/logout">'
        '<input name="csrf" value="guess"></form>'
        "<script>document.getElementById('f').submit()</script></body></html>"
    ).encode()

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(attack)

        def log_message(self, *args):  # noqa: ANN002
            pass

    server = HTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        visits = Visits()
        ctx, page = _sign_in(chromium, live, people, "clerk.a", visits)
        with page.expect_navigation(url=f"{live.url}/logout"):
            page.goto(f"http://127.0.0.1:{server.server_port}/")
        assert "CSRF_FAILED" in page.content()
        page.goto(f"{live.url}/inbox")  # still signed in: the forged sign-out did nothing
        assert page.url.endswith("/inbox")
        ctx.close()
    finally:
        server.shutdown()


def test_the_accessibility_check_can_fail(chromium):
    page = chromium.new_page()
    page.set_content(
        '<html><head><title>x</title></head><body><input name="q"><img src="a.png">'
        '<button></button><p id="d"></p><p id="d"></p></body></html>'
    )
    found = a11y.own(page)
    assert {p.split()[0] for p in found} >= {
        "html",
        "h1",
        "unlabelled",
        "img",
        "empty",
        "duplicate",
    }
    # axe-core finds these too, and what our check does not judge: grey on white.
    page.set_content(
        '<html lang="vi"><head><title>x</title></head><body><main><h1>x</h1>'
        '<input name="q"><img src="a.png"><button></button>'
        '<p style="color:#bbb;background:#fff">Chữ nhạt</p></main></body></html>'
    )
    rules = {line.split()[1] for line in a11y.axe(page)}
    page.close()
    assert rules >= {"label", "image-alt", "button-name", "color-contrast"}, rules
