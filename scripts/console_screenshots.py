"""Screenshots of the console's main pages for the README (docs/img/console-*.png).

    PYTHONPATH=. python scripts/console_screenshots.py

A throwaway hub (SQLite, signatures and rules off) with two agencies, a few documents and
statuses, seen by clerks, a leader (a draft with the stamp preview; the signer's key is not
needed for a preview), an archivist and an operator in Debian's Chromium."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from axis.service import users  # noqa: E402
from formats.edxml import build_document  # noqa: E402
from tests.factories import make_document  # noqa: E402
from tests.signing.samples import make_pdf, signature_png  # noqa: E402
from tests.support.live import LiveHub  # noqa: E402

A, B = "000.00.00.G22", "000.00.00.G06"
OUT = ROOT / "docs" / "img"
SUBJECTS = [
    "Về việc triển khai kế hoạch chuyển đổi số năm 2026",
    "Về việc báo cáo tình hình thực hiện dự toán ngân sách quý IV",
    "Về việc tổ chức hội nghị tổng kết công tác văn thư, lưu trữ",
]


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="axis-shots-"))
    env = {
        "AXIS_DATA_DIR": str(work / "data"),
        "AXIS_DATABASE_URL": f"sqlite:///{work / 'axis.db'}",
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_SIGNERS": str(work / "signers.json"),
    }
    signer = {
        "agency": B,
        "name": "Nguyễn Văn An",
        "position": "BỘ TRƯỞNG",
        "role": "leader",
        "image": str(signature_png(work / "chu-ky.png")),
        "p12": str(work / "not-needed-for-a-preview.p12"),
    }
    (work / "signers.json").write_text(json.dumps({"signers": {"bo-truong": signer}}))
    with LiveHub.start(env) as live:
        key_a = live.add_agency(A, "Văn phòng Chính phủ")
        key_b = live.add_agency(B, "Bộ Tài chính")
        pw = {
            "van.thu": users.add_user(live.hub.db, "van.thu", "clerk", B, full_name="Lê Thị Cúc"),
            "van.thu.a": users.add_user(live.hub.db, "van.thu.a", "clerk", A),
            "lanh.dao": users.add_user(
                live.hub.db,
                "lanh.dao",
                "leader",
                B,
                full_name="Nguyễn Văn An",
                signer_id="bo-truong",
            ),
            "luu.tru": users.add_user(live.hub.db, "luu.tru", "archivist"),
            "admin": users.add_user(live.hub.db, "admin", "operator"),
        }
        ids = []
        with live.client(key_a) as a:
            for i, subject in enumerate(SUBJECTS, 1):
                body = build_document(
                    make_document(sender=A, recipients=[B], number=f"{i:02d}", subject=subject)
                )
                r = a.post(
                    "/v1/messages", content=body, headers={"Content-Type": "application/xml"}
                )
                ids.append(r.json()["id"])
        with live.client(key_b) as b:
            b.post(f"/v1/messages/{ids[0]}/ack")
            b.post(f"/v1/messages/{ids[0]}/status", json={"code": "03", "description": "Đã vào sổ"})
        (work / "du-thao.pdf").write_bytes(make_pdf(text="QUYET DINH so 07/QD-BTC (du thao)"))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for user, shots in (
                (
                    "van.thu",
                    [
                        ("inbox", "/inbox"),
                        ("document", f"/documents/{ids[0]}"),
                        ("compose", "/compose"),
                    ],
                ),
                ("lanh.dao", []),
                ("van.thu.a", [("revoke", f"/documents/{ids[1]}/change/revoke")]),
                ("luu.tru", [("archive", "/archive?q=ke+hoach")]),
                ("admin", [("dashboard", "/dashboard")]),
            ):
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                page.goto(f"{live.url}/login")
                page.fill("#name", user)
                page.fill("#password", pw[user])
                page.click("main button[type=submit]")
                if user == "van.thu":  # a draft put before the leader
                    page.goto(f"{live.url}/compose")
                    page.fill("#recipients", A)
                    page.fill("#number", "07")
                    page.fill("#notation", "QĐ-BTC")
                    page.fill("#type_name", "Quyết định")
                    page.fill("#subject", "Về việc phân bổ kinh phí chuyển đổi số năm 2026")
                    page.set_input_files("#main-pdf", str(work / "du-thao.pdf"))
                    page.select_option("#leader", "lanh.dao")
                    page.click("#submit-draft")
                if user == "lanh.dao":
                    page.goto(f"{live.url}/drafts")
                    draft = page.get_attribute("#drafts tr[data-draft]", "data-draft")
                    shots = [("sign-preview", f"/drafts/{draft}")]
                for name, path in shots:
                    page.goto(live.url + path)
                    if name == "sign-preview":
                        page.wait_for_timeout(1500)  # the PDF viewer in its frame
                        page.locator("#preview").scroll_into_view_if_needed()
                    page.screenshot(path=str(OUT / f"console-{name}.png"), full_page=False)
                    print(OUT / f"console-{name}.png")
                page.close()
            browser.close()


if __name__ == "__main__":
    main()
