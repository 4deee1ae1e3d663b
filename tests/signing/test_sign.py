"""Signing: every signature we produce is valid for poppler's pdfsig and for our validator,
qpdf finds no damage, Decree 30 stamps land where they should with Vietnamese intact."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.sign import (
    Appearance,
    SigningError,
    load_pem,
    load_pkcs11,
    load_pkcs12,
    sign_pdf,
)
from signing.validate import validate_pdf
from tests.signing.pki import P12_PASSWORD
from tests.signing.samples import make_pdf, seal_png, signature_png

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdfsig") and shutil.which("qpdf")), reason="poppler-utils/qpdf missing"
)


def pdfsig(path) -> list[dict[str, str]]:
    """pdfsig's verdict per signature: {'type': ..., 'validation': ...}."""
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    sigs = []
    for block in re.split(r"^Signature #\d+:", out, flags=re.M)[1:]:
        typ = re.search(r"Signature Type: (.+)", block)
        val = re.search(r"Signature Validation: (.+)", block)
        sigs.append(
            {"type": typ.group(1) if typ else "", "validation": val.group(1) if val else ""}
        )
    return sigs


def assert_independently_valid(tmp_path, data: bytes, expect: int) -> None:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    # poppler cannot verify document timestamps (it prints type "unknown" for them)
    sigs = [s for s in pdfsig(path) if s["type"] not in ("ETSI.RFC3161", "unknown")]
    assert len(sigs) == expect, sigs
    assert all(s["validation"] == "Signature is Valid." for s in sigs), sigs
    q = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert q.returncode == 0, q.stdout + q.stderr
    assert "No syntax or stream encoding errors" in q.stdout


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("img")
    return signature_png(d / "chu-ky.png"), seal_png(d / "con-dau.png")


@pytest.fixture(scope="module")
def leader(pki):
    return load_pkcs12(pki.p12["leader"], P12_PASSWORD)


@pytest.fixture(scope="module")
def agency(pki):
    return load_pkcs12(pki.p12["agency"], P12_PASSWORD)


def _rect(data: bytes, field: str) -> list[float]:
    import io

    from pyhanko.sign.fields import enumerate_sig_fields

    r = PdfFileReader(io.BytesIO(data))
    for name, _v, ref in enumerate_sig_fields(r):
        if name == field:
            return [float(x) for x in ref.get_object()["/Rect"]]
    raise AssertionError(f"no field {field}")


def test_leader_agency_attachment_in_sequence(
    tmp_path, pki, leader, agency, images, offline_config
):
    sig_png, seal = images
    doc = make_pdf()
    one = sign_pdf(
        doc,
        leader,
        level="B-T",
        tsa_url=pki.tsa_url,
        appearance=Appearance(
            role="leader",
            image=str(sig_png),
            name="Nguyễn Văn An",
            position="KT. CHỦ TỊCH\nPHÓ CHỦ TỊCH",
        ),
    )
    two = sign_pdf(
        one,
        agency,
        level="B-LT",
        tsa_url=pki.tsa_url,
        trust=[str(pki.trust_root)],
        appearance=Appearance(role="agency", image=str(seal)),
    )
    three = sign_pdf(
        two,
        agency,
        level="B-LTA",
        tsa_url=pki.tsa_url,
        trust=[str(pki.trust_root)],
        appearance=Appearance(role="attachment", number="15/QĐ-UBND"),
    )
    assert_independently_valid(tmp_path, three, expect=3)
    rep = validate_pdf(three, offline_config)
    sigs = [s for s in rep.signatures if s.kind == "signature"]
    assert [s.indication for s in sigs] == ["TOTAL_PASSED"] * 3, rep.render_summary()
    assert [s.field_name for s in sigs] == ["leader-1", "agency-1", "attachment-1"]

    # the seal sits on the left third of the leader's stamp
    lx1, ly1, lx2, ly2 = _rect(three, "leader-1")
    sx1, sy1, sx2, sy2 = _rect(three, "agency-1")
    third = lx1 + (lx2 - lx1) / 3
    assert sx1 < lx1 < sx2 <= third + 1 and sy1 < (ly1 + ly2) / 2 < sy2
    # the attachment stamp is at the top right of page 1 (A4 595 x 842)
    ax1, ay1, ax2, ay2 = _rect(three, "attachment-1")
    assert ax2 > 595 - 80 and ay2 > 842 - 40 and ax1 > 595 / 2

    path = tmp_path / "three.pdf"
    path.write_bytes(three)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout
    assert "Nguyễn Văn An" in text and "PHÓ CHỦ TỊCH" in text
    assert "15/QĐ-UBND" in text
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", text), text


def test_every_key_source_signs(tmp_path, pki, offline_config):
    doc = make_pdf()
    for signer in (
        load_pkcs12(pki.p12_nopass["leader"], None),
        load_pem(pki.key["agency"], pki.cert["agency"], [str(pki.intermediate)]),
    ):
        out = sign_pdf(doc, signer)
        assert_independently_valid(tmp_path, out, expect=1)
        assert validate_pdf(out, offline_config).indication == "TOTAL_PASSED"


def test_pkcs11_token_signs(tokens, pki, offline_config, tmp_path):
    token = tokens["leader"]
    signer = load_pkcs11(
        token.module, token.label, token.key_label, token.pin, chain=[str(pki.intermediate)]
    )
    assert signer.certificate.subject.native["common_name"] == "Nguyễn Văn An"
    out = sign_pdf(sign_pdf(make_pdf(), signer, level="B-T", tsa_url=pki.tsa_url), signer)
    assert_independently_valid(tmp_path, out, expect=2)
    rep = validate_pdf(out, offline_config)
    assert [s.indication for s in rep.signatures] == ["TOTAL_PASSED"] * 2
    with pytest.raises(SigningError):
        load_pkcs11(token.module, token.label, token.key_label, "000000")


def test_short_size_estimate_falls_back_to_measuring(pki, tmp_path):
    from dataclasses import replace

    small = replace(load_pkcs12(pki.p12["leader"], P12_PASSWORD), reserve_hex=1000)
    assert_independently_valid(tmp_path, sign_pdf(make_pdf(), small), expect=1)


def test_loaded_signers_are_cached_and_errors_are_clear(pki):
    a = load_pkcs12(pki.p12["leader"], P12_PASSWORD)
    assert load_pkcs12(pki.p12["leader"], P12_PASSWORD) is a
    with pytest.raises(SigningError):
        load_pkcs12(pki.p12["leader"], "wrong")
    with pytest.raises(SigningError, match="timestamp"):
        sign_pdf(make_pdf(), a, level="B-T")
    with pytest.raises(SigningError, match="not a readable PDF"):
        sign_pdf(b"not a pdf", a)
    with pytest.raises(SigningError, match="seal"):
        sign_pdf(make_pdf(), a, appearance=Appearance(role="agency"))


def test_lt_step_embeds_revocation_data_for_earlier_signatures(pki, leader, agency):
    from signing.validate import ValidationConfig

    one = sign_pdf(make_pdf(), leader, level="B-T", tsa_url=pki.tsa_url)
    two = sign_pdf(one, agency, level="B-LT", tsa_url=pki.tsa_url, trust=[str(pki.trust_root)])
    # offline and hard-fail: both signatures need revocation data from the file itself
    hard = ValidationConfig.from_paths([str(pki.trust_root)], revocation="hard-fail")
    rep = validate_pdf(two, hard)
    sigs = [s for s in rep.signatures if s.kind == "signature"]
    assert [s.indication for s in sigs] == ["TOTAL_PASSED"] * 2, rep.render_summary()
    assert [s.pades_level for s in sigs] == ["B-LT", "B-LT"]


def test_stamps_go_to_the_last_page_and_attachments_to_the_first(pki, leader, agency, images):
    import io

    from pyhanko.sign.fields import enumerate_sig_fields

    sig_png, seal = images
    doc = make_pdf(pages=3)
    out = sign_pdf(
        doc,
        leader,
        appearance=Appearance(
            role="leader", image=str(sig_png), name="Nguyễn Văn An", position="CHỦ TỊCH"
        ),
    )
    out = sign_pdf(out, agency, appearance=Appearance(role="attachment", number="15/QĐ-UBND"))
    r = PdfFileReader(io.BytesIO(out))
    kids = [ref.idnum for ref in r.root["/Pages"]["/Kids"]]  # flat page tree (make_pdf)
    on_page = {
        name: kids.index(ref.get_object().raw_get("/P").idnum)
        for name, _v, ref in enumerate_sig_fields(r)
    }
    assert on_page == {"leader-1": 2, "attachment-1": 0}
    with pytest.raises(SigningError, match="does not exist"):
        sign_pdf(doc, leader, appearance=Appearance(role="leader", page=5))
    # the seal follows the leader's signature to its page
    out = sign_pdf(doc, leader, appearance=Appearance(role="leader", page=1, name="An"))
    out = sign_pdf(out, agency, appearance=Appearance(role="agency", image=str(seal)))
    r = PdfFileReader(io.BytesIO(out))
    kids = [ref.idnum for ref in r.root["/Pages"]["/Kids"]]
    pages = {
        n: kids.index(f.get_object().raw_get("/P").idnum) for n, _v, f in enumerate_sig_fields(r)
    }
    assert pages == {"leader-1": 1, "agency-1": 1}
