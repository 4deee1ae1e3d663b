"""The hub validates every PDF signature of every package against its trust, with the real
test PKI (certomancer: OCSP, CRL, TSA on 127.0.0.1), and refuses what the policy forbids."""

from __future__ import annotations

import io
import zipfile

import pytest

from formats.edxml import build_document
from signing.sign import load_pkcs12, sign_pdf
from tests.factories import make_attachment, make_document
from tests.signing.corpus import tamper_signed_bytes
from tests.signing.pki import P12_PASSWORD, start_pki
from tests.signing.samples import make_pdf
from tests.support.live import LiveHub

SENDER, RECIPIENT = "000.00.00.G22", "000.00.00.G06"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = start_pki(tmp_path_factory.mktemp("pki"))
    yield p
    p.stop()


@pytest.fixture(scope="module")
def signed(pki) -> dict[str, bytes]:
    pdf = make_pdf()
    out = {}
    for label in ("leader", "revoked", "rogue-signer"):
        out[label] = sign_pdf(pdf, load_pkcs12(pki.p12[label], P12_PASSWORD))
    out["forged"] = tamper_signed_bytes(out["leader"])
    out["unsigned"] = pdf
    return out


def _hub(tmp_path, database_url, pki, policy: str):
    env = {
        "AXIS_DATA_DIR": str(tmp_path / "data"),
        "AXIS_DATABASE_URL": database_url,
        "AXIS_RULES": "off",
        "AXIS_SIGNATURE_POLICY": policy,
        "AXIS_TRUST_ROOTS": str(pki.trust_root),
        "AXIS_REVOCATION_POLICY": "hard-fail",
    }
    return LiveHub.start(env)


def _send(hub: LiveHub, key: str, pdf: bytes, number: str = "15"):
    body = build_document(
        make_document(
            sender=SENDER,
            recipients=[RECIPIENT],
            number=number,
            attachments=[make_attachment("qd.pdf", pdf)],
        )
    )
    with hub.client(key) as c:
        return c.post("/v1/messages", content=body, headers={"Content-Type": "application/xml"})


def _codes(response) -> set[str]:
    return {f["code"] for f in response.json()["findings"] if f["severity"] == "error"}


def test_strict_policy_accepts_a_trusted_signature_and_refuses_the_rest(
    tmp_path, database_url, pki, signed
):
    with _hub(tmp_path, database_url, pki, "strict") as hub:
        key = hub.add_agency(SENDER)
        hub.add_agency(RECIPIENT)
        good = _send(hub, key, signed["leader"])
        assert good.status_code == 202, good.text
        with hub.client(key) as c:
            report = c.get(f"/v1/messages/{good.json()['id']}/report").json()
        [doc] = report["signatures"]["documents"]
        assert doc["indication"] == "TOTAL_PASSED"
        assert doc["signatures"][0]["signer"]["common_name"] == "Nguyễn Văn An"
        # the verdict names the trust list it was reached with: the shipped one plus the root
        trust_list = report["signatures"]["trust_list"]
        assert trust_list["version"].startswith("vn-") and trust_list["version"].endswith(
            "+configured"
        )
        assert doc["trust_list"] == trust_list and len(trust_list["sha256"]) == 64

        expected = {
            "forged": "SIG_HASH_FAILURE",
            "revoked": "SIG_REVOKED",
            "rogue-signer": "SIG_CHAIN_UNTRUSTED",
            "unsigned": "SIG_MAIN_NOT_VALID",
        }
        for n, (label, code) in enumerate(expected.items(), start=20):
            response = _send(hub, key, signed[label], number=str(n))
            assert response.status_code == 422, (label, response.text)
            assert code in _codes(response), (label, response.json()["findings"])


def test_policy_off_validates_and_reports_but_never_refuses(tmp_path, database_url, pki, signed):
    with _hub(tmp_path, database_url, pki, "off") as hub:
        key = hub.add_agency(SENDER)
        hub.add_agency(RECIPIENT)
        response = _send(hub, key, signed["forged"])
        assert response.status_code == 202, response.text
        assert "SIG_HASH_FAILURE" in {f["code"] for f in response.json()["findings"]}


def _zipped_the_sdk_way(name: str, pdf: bytes):
    """The national SDK zips each file and keeps its name (PROTOCOL.md §10)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, pdf)
    return make_attachment(name, buffer.getvalue(), "application/zip")


def test_a_pdf_zipped_the_sdk_way_is_judged_like_any_other(tmp_path, database_url, pki, signed):
    with _hub(tmp_path, database_url, pki, "strict") as hub:
        key = hub.add_agency(SENDER)
        hub.add_agency(RECIPIENT)

        def send(pdf: bytes, number: str):
            pkg = make_document(
                sender=SENDER,
                recipients=[RECIPIENT],
                number=number,
                attachments=[_zipped_the_sdk_way("qd.pdf", pdf)],
            )
            with hub.client(key) as c:
                return c.post(
                    "/v1/messages",
                    content=build_document(pkg),
                    headers={"Content-Type": "application/xml"},
                )

        forged = send(signed["forged"], "30")
        assert forged.status_code == 422, forged.text
        assert "SIG_HASH_FAILURE" in _codes(forged)

        good = send(signed["leader"], "31")
        assert good.status_code == 202, good.text
        with hub.client(key) as c:
            report = c.get(f"/v1/messages/{good.json()['id']}/report").json()
        [doc] = report["signatures"]["documents"]
        assert doc["name"] == "AttachmentEncoded/Attachment[1]/entry[1]"
        assert doc["attachment_name"] == "qd.pdf" and doc["indication"] == "TOTAL_PASSED"
