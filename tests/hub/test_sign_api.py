"""POST /v1/sign: leaders whose keys the hub holds (PKCS#12 file or a PKCS#11 token in
SoftHSM2) get their PDF back signed; pdfsig, an independent verifier, agrees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import httpx
import pytest

from axis.service.signers import issue_signer_key
from signing.validate import ValidationConfig, validate_pdf
from tests.hardening.hostile import HOSTILE_PDFS
from tests.signing.hsm import TokenSpec, make_tokens
from tests.signing.pki import P12_PASSWORD, start_pki
from tests.signing.samples import make_pdf, signature_png
from tests.support.live import LiveHub

AGENCY = "000.00.00.G22"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = start_pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def token(pki, tmp_path_factory):
    made = make_tokens(
        tmp_path_factory.mktemp("hsm"),
        [TokenSpec(f"axis-hub-{os.getpid()}", "leader", pki.key["leader"], pki.cert["leader"])],
    )
    [tok] = made.values()
    return tok


@pytest.fixture
def sign_hub(tmp_path, pki, token, monkeypatch):
    tok = token
    monkeypatch.setenv("AXIS_TEST_P12_PASSWORD", P12_PASSWORD)
    monkeypatch.setenv("AXIS_TEST_PIN", tok.pin)
    signers = {
        "signers": {
            "chu-tich": {
                "agency": AGENCY,
                "name": "Nguyễn Văn An",
                "position": "CHỦ TỊCH",
                "role": "leader",
                "image": str(signature_png(tmp_path / "sig.png")),
                "p12": str(pki.p12["leader"]),
                "password_env": "AXIS_TEST_P12_PASSWORD",
                "level": "B-T",
                "tsa": pki.tsa_url,
            },
            "token": {
                "agency": AGENCY,
                "name": "Nguyễn Văn An",
                "role": "leader",
                "pkcs11_module": tok.module,
                "token": tok.label,
                "key": tok.key_label,
                "pin_env": "AXIS_TEST_PIN",
                "chain": [str(pki.intermediate)],
            },
        }
    }
    path = tmp_path / "signers.json"
    path.write_text(json.dumps(signers, ensure_ascii=False))
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_SIGNERS": str(path),
        "AXIS_SIGNATURE_POLICY": "off",
        "AXIS_RULES": "off",
        "AXIS_TRUST_ROOTS": str(pki.trust_root),
    }
    with LiveHub.start(env) as hub:
        hub.add_agency(AGENCY)
        yield hub


def _pdfsig_valid(data: bytes, tmp_path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(data)
    return subprocess.run(
        [shutil.which("pdfsig") or "pdfsig", str(path)], capture_output=True, text=True, timeout=60
    ).stdout


@pytest.mark.parametrize("signer_id", ["chu-tich", "token"])
def test_a_leader_signs_through_the_hub(sign_hub, pki, tmp_path, signer_id):
    key = issue_signer_key(sign_hub.hub.db, sign_hub.hub.signers, signer_id)
    with sign_hub.client(key) as c:
        response = c.post(
            "/v1/sign", content=make_pdf(), headers={"Content-Type": "application/pdf"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    report = validate_pdf(response.content, ValidationConfig.from_paths([str(pki.trust_root)]))
    assert report.indication == "TOTAL_PASSED", report.render_summary()
    assert report.signatures[0].signer.common_name == "Nguyễn Văn An"
    if signer_id == "chu-tich":
        assert report.signatures[0].pades_level == "B-T"
    assert "Signature is Valid" in _pdfsig_valid(response.content, tmp_path)


def test_only_signer_keys_sign_and_only_pdfs(sign_hub):
    agency_key = sign_hub.add_agency("000.00.00.G06")
    with sign_hub.client(agency_key) as c:
        r = c.post("/v1/sign", content=make_pdf(), headers={"Content-Type": "application/pdf"})
        assert r.status_code == 403 and r.json()["error"] == "ROLE_NOT_SIGNER"
    key = issue_signer_key(sign_hub.hub.db, sign_hub.hub.signers, "chu-tich")
    with sign_hub.client(key) as c:
        r = c.post("/v1/sign", content=b"hello", headers={"Content-Type": "application/pdf"})
        assert r.status_code == 400 and r.json()["error"] == "SIGN_NOT_A_PDF"
        r = c.post("/v1/sign?level=B-X", content=make_pdf())
        assert r.status_code == 422
        broken = make_pdf()[:200]
        r = c.post("/v1/sign", content=broken, headers={"Content-Type": "application/pdf"})
        assert r.status_code == 422 and r.json()["error"] == "SIGN_FAILED"


def test_hostile_page_trees_answer_at_once_and_the_hub_keeps_serving(sign_hub):
    """A looping page tree used to spin a thread and a core for good (issue 16): each is
    refused with its code within the time limit, and the hub then signs a real PDF."""
    key = issue_signer_key(sign_hub.hub.db, sign_hub.hub.signers, "chu-tich")
    with httpx.Client(
        base_url=sign_hub.url, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as c:
        for name, make in HOSTILE_PDFS.items():
            started = time.monotonic()
            r = c.post("/v1/sign", content=make(), headers={"Content-Type": "application/pdf"})
            assert r.status_code == 422, (name, r.text)
            assert r.json()["error"] == "PDF_PAGE_TREE_INVALID", name
            assert time.monotonic() - started < 5, name
        r = c.post("/v1/sign", content=make_pdf(), headers={"Content-Type": "application/pdf"})
        assert r.status_code == 200, r.text


def test_a_signer_key_only_signs(sign_hub):
    key = issue_signer_key(sign_hub.hub.db, sign_hub.hub.signers, "chu-tich")
    with sign_hub.client(key) as c:
        for path in ("/v1/inbox", "/v1/agencies", "/v1/stats/agencies", f"/v1/messages/{'0' * 32}"):
            r = c.get(path)
            assert r.status_code == 403 and r.json()["error"] == "ROLE_SIGNER_ONLY_SIGNS", path
