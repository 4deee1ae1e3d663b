"""`axis trust list|show|add|remove` and `axis verify` with the trust list, through typer's
CliRunner, each test with its own data dir (where local changes are kept)."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from axis.cli.main import app
from signing.sign import load_pkcs12, sign_pdf
from signing.trustlist import load_manifest
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf

runner = CliRunner()


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "data"))
    for name in ("AXIS_TRUST_ROOTS", "AXIS_TRUST_INTERMEDIATES", "AXIS_TRUST_SHIPPED"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _json(*args: str) -> dict:
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_list_and_show_the_shipped_list(env):
    m = load_manifest()
    listed = _json("trust", "list")
    assert listed["version"] == listed["shipped_version"] == m.label
    assert len(listed["sha256"]) == 64
    assert {c["sha256"] for c in listed["certificates"]} == {a.sha256 for a in m.anchors}
    fast = next(c for c in listed["certificates"] if c["name"] == "FastCA SHA-256")
    assert fast["status"] == "expired" and fast["not_after"].startswith("2025-12-22")
    by_name = {c["name"]: c for c in listed["certificates"]}
    assert by_name["VNPT SmartCA RS"]["status"] == "expired"  # 2026-11-18
    assert by_name["Viettel-CA RS"]["not_after"].startswith("2027-09-26")

    shown = _json("trust", "show", "Vietnam National Root CA")
    assert shown["role"] == "root" and shown["self_signed"] is True
    assert shown["sha256"].startswith("bac8bf60")
    assert shown["source"]["repository"] == "nguyentvtk/eSign.Files"
    assert shown == _json("trust", "show", "bac8bf60")  # by fingerprint prefix too

    text = runner.invoke(app, ["trust", "list"])
    assert text.exit_code == 0 and m.label in text.output and "hết hạn" in text.output
    missing = runner.invoke(app, ["trust", "show", "no such CA"])
    assert missing.exit_code == 2 and "no certificate" in missing.output


def test_add_and_remove_are_local_changes(env, pki):
    base = _json("trust", "list")
    added = _json("trust", "add", str(pki.intermediate), "--name", "CA thử nghiệm")
    [entry] = added["added"]
    assert entry["role"] == "intermediate" and entry["origin"] == "local"
    assert "next start" in added["effective"]
    after = _json("trust", "list")
    assert after["version"] == f"{base['version']}+local"
    assert after["sha256"] != base["sha256"]
    assert _json("trust", "show", "CA thử nghiệm")["origin"] == "local"

    # removing a shipped anchor is remembered; adding its file back restores the list
    gone = _json("trust", "remove", "rootcag2")["removed"]
    assert gone["name"] == "RootCA chuyên dùng Chính phủ G2"
    listed = _json("trust", "list")
    assert gone["sha256"] in listed["removed"]
    assert gone["sha256"] not in {c["sha256"] for c in listed["certificates"]}
    from signing.trustlist import SHIPPED_DIR

    r = runner.invoke(app, ["trust", "add", str(SHIPPED_DIR / "rootcag2.crt")])
    assert r.exit_code == 0 and "added root" in r.output
    r = runner.invoke(app, ["trust", "remove", entry["sha256"][:10]])
    assert r.exit_code == 0 and "removed intermediate" in r.output
    assert _json("trust", "list") == base

    # refusals: a leaf certificate, a bad role, an unknown name, a configured root
    r = runner.invoke(app, ["trust", "add", str(pki.cert["leader"])])
    assert r.exit_code == 2 and "not a CA" in r.output
    r = runner.invoke(app, ["trust", "add", str(pki.intermediate), "--role", "leaf"])
    assert r.exit_code == 2
    assert runner.invoke(app, ["trust", "remove", "nothing-like-it"]).exit_code == 2
    r = runner.invoke(
        app, ["trust", "remove", "Test RootCA"], env={"AXIS_TRUST_ROOTS": str(pki.trust_root)}
    )
    assert r.exit_code == 2 and "AXIS_TRUST_ROOTS" in r.output


def test_verify_uses_the_trust_list_and_shows_its_version(env, pki):
    pdf = env / "signed.pdf"
    pdf.write_bytes(sign_pdf(make_pdf(), load_pkcs12(pki.p12["leader"], P12_PASSWORD)))
    label = load_manifest().label
    # the shipped list alone does not trust the test PKI
    r = runner.invoke(app, ["verify", str(pdf)])
    assert r.exit_code == 1 and "SIG_CHAIN_UNTRUSTED" in r.output, r.output
    assert f"trust list {label}" in r.output
    r = runner.invoke(app, ["verify", str(pdf), "--trust", str(pki.trust_root), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["trust_list"]["version"] == f"{label}+configured"
    # the operator's local addition counts on the next run
    assert runner.invoke(app, ["trust", "add", str(pki.trust_root)]).exit_code == 0
    r = runner.invoke(app, ["verify", str(pdf), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["trust_list"]["version"] == f"{label}+local"
    # without the list and without roots there is nothing to trust
    r = runner.invoke(app, ["verify", str(pdf), "--no-trust-list"])
    assert r.exit_code == 0  # the local addition remains
    r = runner.invoke(app, ["trust", "remove", "Test RootCA"])
    r = runner.invoke(app, ["verify", str(pdf), "--no-trust-list"])
    assert r.exit_code == 2 and "no trust roots" in r.output


def test_the_hub_no_longer_warns_that_every_document_will_be_refused(env, caplog):
    from axis.checks.signatures import SignaturesCheck
    from axis.config import Settings

    with caplog.at_level(logging.INFO, logger="axis.signatures"):
        check = SignaturesCheck.from_settings(Settings())
    assert "every document will be refused" not in caplog.text
    assert f"trust list {load_manifest().label}" in caplog.text
    assert check.config.trust.trust_list["version"] == load_manifest().label
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="axis.signatures"):
        SignaturesCheck.from_settings(Settings(trust_shipped=False))
    assert "every document will be refused" in caplog.text
