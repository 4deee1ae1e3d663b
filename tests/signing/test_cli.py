"""`axis sign` / `axis verify` through typer's CliRunner, with pdfsig as the second opinion."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from axis.cli.sign_commands import app
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf, signature_png

runner = CliRunner()


@pytest.fixture()
def doc(tmp_path):
    p = tmp_path / "cong-van.pdf"
    p.write_bytes(make_pdf())
    return p


def _pdfsig_valid(path) -> int:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    return out.count("Signature is Valid")


def test_sign_then_verify_agree_with_pdfsig(tmp_path, doc, pki, monkeypatch):
    monkeypatch.setenv("AXIS_P12_PASSWORD", P12_PASSWORD)
    img = signature_png(tmp_path / "chu-ky.png")
    out = tmp_path / "signed.pdf"
    r = runner.invoke(
        app,
        [
            "sign",
            str(doc),
            "-o",
            str(out),
            "--p12",
            str(pki.p12["leader"]),
            "--role",
            "leader",
            "--image",
            str(img),
            "--name",
            "Nguyễn Văn An",
            "--position",
            "CHỦ TỊCH",
            "--level",
            "B-T",
            "--tsa",
            pki.tsa_url,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "Nguyễn Văn An" in r.output
    out2 = tmp_path / "signed2.pdf"
    r = runner.invoke(
        app,
        [
            "sign",
            str(out),
            "-o",
            str(out2),
            "--pem-key",
            str(pki.key["agency"]),
            "--pem-cert",
            str(pki.cert["agency"]),
            "--chain",
            str(pki.intermediate),
            "--role",
            "attachment",
            "--number",
            "15/QĐ-UBND",
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["verify", str(out2), "--trust", str(pki.trust_root)])
    assert r.exit_code == 0, r.output
    assert "TOTAL_PASSED" in r.output and "Văn phòng Chính phủ" in r.output
    r = runner.invoke(app, ["verify", str(out2), "--trust", str(pki.trust_root), "--json"])
    report = json.loads(r.output)
    assert [s["indication"] for s in report["signatures"]] == ["TOTAL_PASSED"] * 2
    if shutil.which("pdfsig"):
        assert _pdfsig_valid(out2) == 2


def test_verify_exit_codes(tmp_path, corpus, pki, monkeypatch):
    monkeypatch.setenv("AXIS_TRUST_ROOTS", str(pki.trust_root))
    expect = {"leader-B-B": 0, "unknown-ca": 1, "wrong-digest": 2, "not-a-pdf": 2}
    for name, code in expect.items():
        p = tmp_path / f"{name}.pdf"
        p.write_bytes(corpus[name].data)
        r = runner.invoke(app, ["verify", str(p)])
        assert r.exit_code == code, (name, r.output)
    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(make_pdf())
    assert runner.invoke(app, ["verify", str(unsigned)]).exit_code == 1
    monkeypatch.delenv("AXIS_TRUST_ROOTS")
    monkeypatch.setenv("AXIS_TRUST_SHIPPED", "false")  # no shipped list, no root at all
    monkeypatch.setenv("AXIS_DATA_DIR", str(tmp_path / "data"))
    r = runner.invoke(app, ["verify", str(unsigned)])
    assert r.exit_code == 2 and "trust" in r.output


def test_sign_prompts_for_password_and_pin(tmp_path, doc, pki, monkeypatch, tokens):
    monkeypatch.delenv("AXIS_P12_PASSWORD", raising=False)
    monkeypatch.delenv("AXIS_PKCS11_PIN", raising=False)
    out = tmp_path / "a.pdf"
    r = runner.invoke(
        app,
        ["sign", str(doc), "-o", str(out), "--p12", str(pki.p12["leader"])],
        input=P12_PASSWORD + "\n",
    )
    assert r.exit_code == 0, r.output
    # an unencrypted PKCS#12 needs no password at all
    r = runner.invoke(
        app, ["sign", str(doc), "-o", str(out), "--p12", str(pki.p12_nopass["agency"])]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["sign", str(doc), "-o", str(out), "--p12", str(pki.p12["leader"])], input="wrong\n"
    )
    assert r.exit_code == 2
    token = tokens["agency"]
    r = runner.invoke(
        app,
        [
            "sign",
            str(doc),
            "-o",
            str(out),
            "--pkcs11-module",
            token.module,
            "--token",
            token.label,
            "--key",
            token.key_label,
            "--chain",
            str(pki.intermediate),
        ],
        input=token.pin + "\n",
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["verify", str(out), "--trust", str(pki.trust_root)])
    assert r.exit_code == 0, r.output


def test_sign_rejects_bad_arguments(tmp_path, doc, pki):
    out = tmp_path / "x.pdf"
    r = runner.invoke(app, ["sign", str(doc), "-o", str(out)])
    assert r.exit_code == 2 and "key source" in r.output
    r = runner.invoke(
        app,
        ["sign", str(doc), "-o", str(out), "--p12", str(pki.p12["leader"]), "--level", "B-T"],
        env={"AXIS_P12_PASSWORD": P12_PASSWORD},
    )
    assert r.exit_code == 2 and "timestamp" in r.output
