"""The hub applies the Decree 30 rules policy at the door, and `axis check` agrees with it."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta

import pytest

from formats.edxml import build_document
from tests.factories import make_attachment
from tests.rules.documents import RECIPIENTS, SENDER, PdfSpec, good_package, make_pdf
from tests.support.live import LiveHub


@pytest.fixture
def rules_hub(tmp_path, database_url):
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "",
    }
    with LiveHub.start(env) as hub:
        keys = {code: hub.add_agency(code) for code in [SENDER, *RECIPIENTS]}
        yield hub, keys


def _send(hub: LiveHub, key: str, body: bytes):
    with hub.client(key) as c:
        return c.post("/v1/messages", content=body, headers={"Content-Type": "application/xml"})


def _codes(findings: list[dict], severity: str | None = None) -> set[str]:
    return {f["code"] for f in findings if severity is None or f["severity"] == severity}


def _bad_number_line() -> bytes:
    pdf = make_pdf(PdfSpec(number_line="Số: 5/QĐ-UBND"))  # printed without the leading zero
    return build_document(good_package(pdf))


def test_a_well_formed_decree_30_document_is_accepted(rules_hub):
    hub, keys = rules_hub
    response = _send(hub, keys[SENDER], build_document(good_package()))
    assert response.status_code == 202, response.text
    assert not _codes(response.json()["findings"], "error")


def test_a_document_that_breaks_the_law_is_rejected_with_rule_codes(rules_hub, tmp_path):
    hub, keys = rules_hub
    body = _bad_number_line()
    response = _send(hub, keys[SENDER], body)
    assert response.status_code == 422, response.text
    hub_errors = _codes(response.json()["findings"], "error")
    assert "RULE_NUMBER_LEADING_ZERO" in hub_errors
    with hub.client(keys[RECIPIENTS[0]]) as c:
        assert c.get("/v1/inbox").json()["items"] == []

    # The clerk's offline check gives the same verdict before sending.
    package = tmp_path / "bad.edxml"
    package.write_bytes(body)
    result = subprocess.run(
        [sys.executable, "-m", "axis.cli", "check", str(package), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    offline = json.loads(result.stdout)
    offline_errors = {f["code"] for f in offline["findings"] if f["severity"] == "error"}
    assert offline_errors == hub_errors


def test_warnings_are_listed_in_the_receipt_and_stored_with_the_message(rules_hub):
    hub, keys = rules_hub
    pkg = good_package()
    pkg = replace(
        pkg, code=replace(pkg.code, number="5"), document_id=pkg.document_id.replace(",05/", ",5/")
    )
    response = _send(hub, keys[SENDER], build_document(pkg))
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert "RULE_NUMBER_LEADING_ZERO" in _codes(receipt["findings"], "warning")
    with hub.client(keys[SENDER]) as c:
        report = c.get(f"/v1/messages/{receipt['id']}/report").json()
    assert "RULE_NUMBER_LEADING_ZERO" in _codes(report["findings"])


def test_a_scanned_pdf_says_the_text_rules_could_not_be_checked(rules_hub):
    from tests.rules.documents import scanned_pdf

    hub, keys = rules_hub
    pkg = good_package()
    pkg.attachments = [make_attachment("05-QD-UBND.pdf", scanned_pdf())]
    response = _send(hub, keys[SENDER], build_document(pkg))
    body = response.json()
    assert "RULE_PDF_NO_TEXT" in _codes(body["findings"])


def test_rule_findings_are_counted_per_agency_and_rule(rules_hub):
    """Refusals count under `rejections`, warnings of accepted packages under `warnings`."""
    hub, keys = rules_hub
    _send(hub, keys[SENDER], _bad_number_line())
    pkg = good_package()
    pkg = replace(
        pkg, code=replace(pkg.code, number="5"), document_id=pkg.document_id.replace(",05/", ",5/")
    )
    assert _send(hub, keys[SENDER], build_document(pkg)).status_code == 202
    with hub.client(keys[SENDER]) as c:
        stats = c.get(
            f"/v1/stats/agencies/{SENDER}",
            params={
                "from": str(date.today() - timedelta(days=30)),
                "to": str(date.today() + timedelta(days=1)),
                "granularity": "day",
            },
        ).json()
    text = json.dumps(stats)
    assert "RULE_NUMBER_LEADING_ZERO" in text
    rejections = stats.get("rejections") or stats.get("totals", {}).get("rejections") or {}
    warnings = stats.get("warnings") or stats.get("totals", {}).get("warnings") or {}
    assert rejections.get("RULE_NUMBER_LEADING_ZERO") == 1, stats
    assert warnings.get("RULE_NUMBER_LEADING_ZERO") == 1, stats
