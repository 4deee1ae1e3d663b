"""What real signing tools write, judged as the independent validators judge it (issue 14).

Each case is made with the project's certomancer PKI the way the real tool makes it, and each
legitimate case has its attack beside it, which must still be caught. poppler's pdfsig checks
the same files: it verifies bytes and signature values only (no modification analysis), so it
calls the attacks valid too; that is the difference the hub exists for."""

from __future__ import annotations

import io
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from signing.report import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED
from signing.sign import sign_pdf
from signing.validate import ValidationConfig, validate_pdf
from tests.signing.corpus import (
    annotation_after_signing,
    free_objects,
    page_added_after_signing,
    page_content_idnum,
    sign_blt_as_of,
    signer,
    with_orphan,
)
from tests.signing.samples import make_pdf


def pdfsig(data: bytes, tmp_path) -> list[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return [
        line.split(":", 1)[1].strip()
        for line in out.stdout.splitlines()
        if "Signature Validation:" in line
    ]


def codes(rep) -> list[str]:
    return [f.code for f in rep.all_findings]


@pytest.fixture(scope="module")
def orphan_signed(pki) -> tuple[bytes, int]:
    pdf, orphan = with_orphan(make_pdf())
    return sign_pdf(pdf, signer(pki, "leader")), orphan


def test_freed_object_after_signing_is_housekeeping(orphan_signed, offline_config, tmp_path):
    signed, orphan = orphan_signed
    data = free_objects(signed, [orphan])
    rep = validate_pdf(data, offline_config)
    assert rep.indication == TOTAL_PASSED, rep.render_summary()
    assert rep.signatures[0].modification_level == "LTA_UPDATES"
    assert pdfsig(data, tmp_path) == ["Signature is Valid."]


def test_freeing_an_object_the_page_uses_is_a_modification(orphan_signed, offline_config, tmp_path):
    signed, _ = orphan_signed
    data = free_objects(signed, [page_content_idnum(signed)])
    rep = validate_pdf(data, offline_config)
    assert (rep.indication, rep.sub_indication) == (TOTAL_FAILED, "FORMAT_FAILURE")
    assert "SIG_MODIFIED_AFTER_SIGNING" in codes(rep), rep.render_summary()
    # pdfsig checks the signed bytes only: the emptied page goes unnoticed
    assert pdfsig(data, tmp_path) == ["Signature is Valid."]


@pytest.mark.parametrize(
    ("attack", "reason"),
    [
        (annotation_after_signing, "a visible FreeText annotation was added"),
        (page_added_after_signing, "the page count changed from 1 to 2"),
    ],
)
def test_visible_changes_after_signing_are_caught(
    orphan_signed, offline_config, tmp_path, attack, reason
):
    signed, _ = orphan_signed
    data = attack(signed)
    rep = validate_pdf(data, offline_config)
    assert rep.indication == TOTAL_FAILED, rep.render_summary()
    (finding,) = [f for f in rep.all_findings if f.code == "SIG_MODIFIED_AFTER_SIGNING"]
    assert reason in finding.message
    assert pdfsig(data, tmp_path) == ["Signature is Valid."]


def test_number_stamped_between_leader_and_seal_is_vouched_for_by_the_seal(
    orphan_signed, pki, offline_config, tmp_path
):
    """How Vietnamese offices issue a document: the leader signs, the clerk stamps the number
    and date as an annotation, and the agency's seal signs the result. pdfsig and DSS accept
    it (DSS warns); axis accepts it with a warning naming the signature that covers it."""
    signed, _ = orphan_signed
    stamped = annotation_after_signing(signed, "Số: 05/QĐ-UBND ngày 05/01/2024")
    sealed = sign_pdf(stamped, signer(pki, "agency"))
    rep = validate_pdf(sealed, offline_config)
    assert rep.indication == TOTAL_PASSED, rep.render_summary()
    leader, seal = rep.signatures
    assert leader.countersigned_by == 2 and seal.countersigned_by is None
    (warning,) = [f for f in leader.findings if f.code == "SIG_ANNOTATED_BEFORE_COUNTERSIGNATURE"]
    assert "FreeText annotation was added" in warning.message and warning.severity == "warning"
    assert pdfsig(sealed, tmp_path) == ["Signature is Valid.", "Signature is Valid."]


@pytest.mark.parametrize(
    "attack",
    ["annotation after the seal", "content changed before the seal", "seal forged"],
)
def test_a_countersignature_covers_only_added_annotations(
    orphan_signed, pki, offline_config, attack
):
    signed, _ = orphan_signed
    if attack == "annotation after the seal":
        sealed = sign_pdf(annotation_after_signing(signed, "05/QĐ"), signer(pki, "agency"))
        data = annotation_after_signing(sealed)
    elif attack == "content changed before the seal":
        emptied = free_objects(signed, [page_content_idnum(signed)])
        data = sign_pdf(annotation_after_signing(emptied, "05/QĐ"), signer(pki, "agency"))
    else:  # the stamp changed after the seal signed it: only the seal's digest breaks
        sealed = sign_pdf(annotation_after_signing(signed, "SO 05"), signer(pki, "agency"))
        data = sealed.replace(b"SO 05", b"SO 06")
    rep = validate_pdf(data, offline_config)
    assert rep.signatures[0].indication == TOTAL_FAILED, rep.render_summary()
    assert "SIG_MODIFIED_AFTER_SIGNING" in [f.code for f in rep.signatures[0].findings]


def _sig_contents(data: bytes, index: int) -> bytes:
    from pyhanko.pdf_utils.reader import PdfFileReader

    r = PdfFileReader(io.BytesIO(data), strict=False)
    return r.embedded_signatures[index].pkcs7_content


def _add_vri(data: bytes, sig_contents: bytes, certs) -> bytes:
    from pyhanko.sign.validation import DocumentSecurityStore

    buf = io.BytesIO(data)
    DocumentSecurityStore.add_dss(buf, sig_contents, certs=certs, force_write=True)
    return buf.getvalue()


def test_vri_entry_rewritten_by_a_later_ltv_update(pki, offline_config, tmp_path):
    """The EU DSS library's LTV step rewrites the /VRI entry of a signature that an later
    signature already covers (their PAdES-LT.pdf); pyHanko's default rule refuses that."""
    from asn1crypto import pem, x509

    def cert(label):
        return x509.Certificate.load(pem.unarmor(pki.cert[label].read_bytes())[2])

    first = sign_pdf(make_pdf(), signer(pki, "leader"))
    sig1 = _sig_contents(first, 0)
    with_vri = _add_vri(first, sig1, [cert("leader")])
    second = sign_pdf(with_vri, signer(pki, "agency"))
    rewritten = _add_vri(second, sig1, [cert("leader"), cert("interm")])
    rep = validate_pdf(rewritten, offline_config)
    assert rep.indication == TOTAL_PASSED, rep.render_summary()
    assert [s.modification_level for s in rep.signatures] == ["FORM_FILLING", "LTA_UPDATES"]
    assert pdfsig(rewritten, tmp_path) == ["Signature is Valid.", "Signature is Valid."]


def test_vri_update_cannot_smuggle_page_content(pki, offline_config):
    """The DSS rule accounts only DSS objects: a page content change in the same update
    is still a modification."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.validation import DocumentSecurityStore

    first = sign_pdf(make_pdf(), signer(pki, "leader"))
    w = IncrementalPdfFileWriter(io.BytesIO(first))
    DocumentSecurityStore.supply_dss_in_writer(w, _sig_contents(first, 0), certs=[])
    page = w.root["/Pages"]["/Kids"][0].get_object()
    page["/Contents"] = w.add_object(generic.StreamObject(stream_data=b"BT ET"))
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    rep = validate_pdf(out.getvalue(), offline_config)
    assert rep.indication == TOTAL_FAILED
    assert "SIG_MODIFIED_AFTER_SIGNING" in codes(rep), rep.render_summary()


class _SigTypedTimestamp:
    """pyHanko always types a document timestamp /DocTimeStamp; some tools write /Sig. The
    test makes pyHanko write what those tools write (its placeholder class, swapped for the
    duration of one call): a tool's output, not a mock of what is tested."""

    def __init__(self, monkeypatch):
        from pyhanko.sign.signers import pdf_byterange, pdf_signer

        class SigTyped(pdf_byterange.DocumentTimestamp):
            def __init__(self, bytes_reserved=None):
                super().__init__(bytes_reserved=bytes_reserved)
                self["/Type"] = pdf_byterange.pdf_name("/Sig")

        monkeypatch.setattr(pdf_signer, "DocumentTimestamp", SigTyped)


def test_document_timestamp_typed_sig_is_a_timestamp(pki, offline_config, monkeypatch, tmp_path):
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign.signers import PdfTimeStamper
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    signed = sign_pdf(make_pdf(), signer(pki, "leader"))
    _SigTypedTimestamp(monkeypatch)
    out = io.BytesIO()
    PdfTimeStamper(RequestsHTTPTimeStamper(pki.tsa_url)).timestamp_pdf(
        IncrementalPdfFileWriter(io.BytesIO(signed)), "sha256", output=out
    )
    data = out.getvalue()
    assert b"/DocTimeStamp" not in data and b"/ETSI.RFC3161" in data
    rep = validate_pdf(data, offline_config)
    assert rep.indication == TOTAL_PASSED, rep.render_summary()
    sig, ts = rep.signatures
    assert (sig.kind, ts.kind) == ("signature", "document_timestamp")
    assert ts.timestamp_time is not None and sig.pades_level == "B-T"
    assert "SIG_TIMESTAMP_TYPED_SIG" in [f.code for f in ts.findings]
    assert len(pdfsig(data, tmp_path)) == 2


def test_blt_revocation_judged_at_the_timestamp_time(pki):
    """B-LT made two hours ago: its embedded OCSP answer was valid 10 minutes. Hard-fail
    offline judges it at the time the signature timestamp proves (ETSI EN 319 102-1)."""
    data = sign_blt_as_of(pki, "leader", datetime.now(UTC) - timedelta(hours=2))
    hard = ValidationConfig.from_paths([str(pki.trust_root)], revocation="hard-fail")
    rep = validate_pdf(data, hard)
    assert rep.indication == TOTAL_PASSED, rep.render_summary()
    assert rep.signatures[0].pades_level == "B-LT"
    assert "SIG_VALIDATED_AT_TIMESTAMP" in codes(rep)


def test_stale_revocation_without_a_timestamp_is_not_waived(pki):
    """The same file without a signature timestamp: nothing proves when it was signed, so
    the stale OCSP answer cannot be judged at an earlier time (hard-fail: try later)."""
    data = sign_blt_as_of(pki, "leader", datetime.now(UTC) - timedelta(hours=2), timestamp=False)
    hard = ValidationConfig.from_paths([str(pki.trust_root)], revocation="hard-fail")
    rep = validate_pdf(data, hard)
    assert (rep.indication, rep.sub_indication) == (INDETERMINATE, "TRY_LATER"), (
        rep.render_summary()
    )
    assert "SIG_VALIDATED_AT_TIMESTAMP" not in codes(rep)
