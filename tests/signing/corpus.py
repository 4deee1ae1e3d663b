"""Good and bad signed PDFs built from the test PKI, for tests and the benchmark.

Each bad case is made the way an attacker or a broken tool would make it, from a genuinely
signed file: bytes changed, the ByteRange narrowed and re-signed, the CMS replaced, and so on.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
from dataclasses import dataclass

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.sign import Appearance, LoadedSigner, load_pkcs12, sign_pdf
from tests.signing.pki import P12_PASSWORD, TestPKI
from tests.signing.samples import make_pdf

_BR = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def signer(pki: TestPKI, label: str) -> LoadedSigner:
    return load_pkcs12(pki.p12[label], P12_PASSWORD)


def _last_byterange(data: bytes) -> re.Match:
    matches = list(_BR.finditer(data))
    assert matches, "no /ByteRange in PDF"
    return matches[-1]


def sign_with_tsa_time(pki: TestPKI, label: str, when: str) -> bytes:
    """B-T signature whose timestamp the test TSA issues as of ``when`` (certomancer's
    fake-time header): a document signed back then, validated now."""
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    ts = RequestsHTTPTimeStamper(pki.tsa_url, headers={"X-Certomancer-Fake-Time": when})
    w = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer(pki, label).signer, timestamper=ts)
    return pdf_signer.sign_pdf(w).getvalue()


def tamper_signed_bytes(signed: bytes) -> bytes:
    """Change one byte of page content covered by the signature (wrong digest)."""
    i = signed.index(b"trang 1")
    return signed[:i] + b"X" + signed[i + 1 :]


def garbage_cms(signed: bytes, seed: int = 7) -> bytes:
    """Replace the CMS in /Contents with random bytes of the same size."""
    m = _last_byterange(signed)
    start, end = int(m.group(2)), int(m.group(3))  # the <...> hex string
    rnd = hashlib.sha256(str(seed).encode()).digest() * ((end - start) // 64 + 1)
    hexed = rnd.hex().encode()[: end - start - 2]
    return signed[: start + 1] + hexed + signed[end - 1 :]


def truncated_cms(signed: bytes) -> bytes:
    """Keep the first 200 bytes of the CMS, zero the rest."""
    m = _last_byterange(signed)
    start, end = int(m.group(2)), int(m.group(3))
    body = signed[start + 1 : end - 1]
    cut = body[:400] + b"0" * (len(body) - 400)
    return signed[: start + 1] + cut + signed[end - 1 :]


def byterange_gap(signed: bytes, ls: LoadedSigner, gap: int = 40) -> bytes:
    """Narrow the first range so ``gap`` bytes before /Contents are unsigned, and sign *that*:
    the digest is right, but part of the file is not covered."""
    m = _last_byterange(signed)
    a, b, c, d = (int(x) for x in m.groups())
    new_b = b - gap
    old = m.group(0)
    new = f"/ByteRange [{a} {new_b} {c} {d}]".encode()
    new = new + b" " * (len(old) - len(new))
    assert len(new) == len(old)
    out = signed[: m.start()] + new + signed[m.end() :]
    covered = out[a : a + new_b] + out[c : c + d]
    digest = hashlib.sha256(covered).digest()
    cms = asyncio.run(ls.signer.async_sign(digest, "sha256", use_pades=True)).dump()
    hexed = cms.hex().encode()
    room = c - b - 2
    assert len(hexed) <= room
    return out[: b + 1] + hexed + b"0" * (room - len(hexed)) + out[c - 1 :]


def modified_after_signing(signed: bytes) -> bytes:
    """Append an incremental update that replaces the page content (not an allowed change)."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    stream = generic.StreamObject(
        stream_data=b"BT /F1 14 Tf 85 760 Td (SO TIEN: 999.999.999) Tj ET"
    )
    page["/Contents"] = w.add_object(stream)
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def broken_xref(signed: bytes) -> bytes:
    """Point startxref at garbage."""
    i = signed.rindex(b"startxref")
    return signed[:i] + b"startxref\n999999999\n%%EOF\n"


@dataclass
class Case:
    name: str
    data: bytes
    indication: str
    sub_indication: str | None
    code: str | None  # the finding code that must be present
    online: bool = False  # needs OCSP/CRL fetching from the PKI to get its verdict


def build_corpus(pki: TestPKI, with_slow: bool = True) -> list[Case]:
    """The validation corpus: good signatures at every level, then every kind of bad input."""
    pdf = make_pdf()
    leader, agency = signer(pki, "leader"), signer(pki, "agency")
    trust = [str(pki.trust_root)]
    bb = sign_pdf(pdf, leader)
    cases = [Case("leader-B-B", bb, "TOTAL_PASSED", None, None)]
    if with_slow:
        bt = sign_pdf(pdf, leader, level="B-T", tsa_url=pki.tsa_url)
        lt = sign_pdf(pdf, leader, level="B-LT", tsa_url=pki.tsa_url, trust=trust)
        lta = sign_pdf(pdf, leader, level="B-LTA", tsa_url=pki.tsa_url, trust=trust)
        two = sign_pdf(
            sign_pdf(pdf, leader, appearance=Appearance(role="leader", name="Nguyễn Văn An")),
            agency,
            level="B-T",
            tsa_url=pki.tsa_url,
        )
        five = pdf
        for i in range(5):
            five = sign_pdf(five, leader if i % 2 == 0 else agency)
        cases += [
            Case("leader-B-T", bt, "TOTAL_PASSED", None, None),
            Case("leader-B-LT", lt, "TOTAL_PASSED", None, None),
            Case("leader-B-LTA", lta, "TOTAL_PASSED", None, None),
            Case("leader-then-agency", two, "TOTAL_PASSED", None, None),
            Case("five-signatures", five, "TOTAL_PASSED", None, None),
        ]
    cases += [
        Case(
            "not-a-pdf",
            b"PK\x03\x04 this is a zip, not a PDF" * 10,
            "TOTAL_FAILED",
            "FORMAT_FAILURE",
            "SIG_NOT_A_PDF",
        ),
        Case("truncated", bb[: len(bb) // 2], "TOTAL_FAILED", "FORMAT_FAILURE", "SIG_MALFORMED"),
        Case("broken-xref", broken_xref(bb), "TOTAL_FAILED", None, None),
        Case(
            "byterange-gap",
            byterange_gap(bb, leader),
            "TOTAL_FAILED",
            "FORMAT_FAILURE",
            "SIG_COVERAGE_INCOMPLETE",
        ),
        Case("garbage-cms", garbage_cms(bb), "TOTAL_FAILED", "FORMAT_FAILURE", "SIG_MALFORMED"),
        Case("truncated-cms", truncated_cms(bb), "TOTAL_FAILED", "FORMAT_FAILURE", "SIG_MALFORMED"),
        Case(
            "wrong-digest",
            tamper_signed_bytes(bb),
            "TOTAL_FAILED",
            "HASH_FAILURE",
            "SIG_HASH_FAILURE",
        ),
        Case(
            "modified-after-signing",
            modified_after_signing(bb),
            "TOTAL_FAILED",
            "FORMAT_FAILURE",
            "SIG_MODIFIED_AFTER_SIGNING",
        ),
        Case(
            "unknown-ca",
            sign_pdf(pdf, signer(pki, "rogue-signer")),
            "INDETERMINATE",
            "NO_CERTIFICATE_CHAIN_FOUND",
            "SIG_CHAIN_UNTRUSTED",
        ),
        Case(
            "expired",
            sign_pdf(pdf, signer(pki, "expired")),
            "INDETERMINATE",
            "OUT_OF_BOUNDS_NO_POE",
            "SIG_EXPIRED",
        ),
        Case(
            "sha1",
            sign_pdf(pdf, leader, md_algorithm="sha1"),
            "INDETERMINATE",
            "CRYPTO_CONSTRAINTS_FAILURE",
            "SIG_WEAK_ALGORITHM",
        ),
        Case(
            "rsa-1024",
            sign_pdf(pdf, signer(pki, "weak")),
            "INDETERMINATE",
            "CRYPTO_CONSTRAINTS_FAILURE",
            "SIG_WEAK_ALGORITHM",
        ),
        Case(
            "encryption-only-key",
            sign_pdf(pdf, signer(pki, "nosign")),
            "INDETERMINATE",
            "CHAIN_CONSTRAINTS_FAILURE",
            "SIG_KEY_USAGE",
        ),
        # the expired certificate is valid 2020-01-01 .. 2021-01-01
        Case(
            "expired-timestamped-in-time",
            sign_with_tsa_time(pki, "expired", "2020-06-01T00:00:00+00:00"),
            "TOTAL_PASSED",
            None,
            "SIG_VALIDATED_AT_TIMESTAMP",
        ),
        Case(
            "expired-timestamped-late",
            sign_with_tsa_time(pki, "expired", "2022-01-01T00:00:00+00:00"),
            "TOTAL_FAILED",
            "EXPIRED",
            "SIG_EXPIRED",
        ),
        # the revoked certificate is revoked since 2021-06-01
        Case(
            "revoked-timestamped-before",
            sign_with_tsa_time(pki, "revoked", "2021-01-01T00:00:00+00:00"),
            "TOTAL_PASSED",
            None,
            "SIG_VALIDATED_AT_TIMESTAMP",
            online=True,
        ),
        Case(
            "revoked-timestamped-after",
            sign_with_tsa_time(pki, "revoked", "2022-01-01T00:00:00+00:00"),
            "TOTAL_FAILED",
            "REVOKED",
            "SIG_REVOKED",
            online=True,
        ),
        Case(
            "revoked",
            sign_pdf(pdf, signer(pki, "revoked")),
            "TOTAL_FAILED",
            "REVOKED",
            "SIG_REVOKED",
            online=True,
        ),
    ]
    return cases


def write_corpus(cases: list[Case], directory: str) -> None:
    os.makedirs(directory, exist_ok=True)
    for c in cases:
        with open(os.path.join(directory, c.name + ".pdf"), "wb") as f:
            f.write(c.data)


def sign_blt_as_of(pki: TestPKI, label: str, when, timestamp: bool = True) -> bytes:
    """A B-LT signature made at ``when`` (a past datetime): its timestamp, OCSP response and
    CRL are the ones the test PKI issued then (certomancer at a fixed time; OCSP answers are
    valid 10 minutes), embedded in the DSS. Validated now, the embedded answers are stale;
    the signature timestamp proves they were fresh when the signature was made."""
    from certomancer.registry import CertLabel, ServiceLabel
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.authority import CertTrustAnchor
    from pyhanko_certvalidator.fetchers.common_utils import format_ocsp_request

    arch = pki.arch
    services = arch.service_registry
    leaf, interm = arch.get_cert(CertLabel(label)), arch.get_cert(CertLabel("interm"))
    ocsp_req = format_ocsp_request(
        leaf,
        CertTrustAnchor(interm).authority,
        certid_hash_algo="sha256",
        request_nonces=False,
    )
    ocsp_resp = services.summon_responder(ServiceLabel("interm"), at_time=when).build_ocsp_response(
        ocsp_req
    )
    # the leaf's status from OCSP only (as online B-LT signing embeds it); the root's CRL
    # (valid 30 days) for the CA certificates
    crls = [services.get_crl(ServiceLabel("root"), at_time=when)]
    vc = ValidationContext(
        trust_roots=[arch.get_cert(CertLabel("root"))],
        other_certs=[interm],
        ocsps=[ocsp_resp],
        crls=crls,
        moment=when,
        allow_fetching=False,
        revocation_mode="hard-fail",
    )
    ts = RequestsHTTPTimeStamper(pki.tsa_url, headers={"X-Certomancer-Fake-Time": when.isoformat()})
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1",
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=vc,
    )
    w = IncrementalPdfFileWriter(io.BytesIO(make_pdf()))
    pdf_signer = signers.PdfSigner(
        meta, signer=signer(pki, label).signer, timestamper=ts if timestamp else None
    )
    return pdf_signer.sign_pdf(w).getvalue()


def with_orphan(pdf: bytes) -> tuple[bytes, int]:
    """An incremental update adding an object nothing refers to (as editors leave behind);
    returns the new file and the orphan's object number."""
    w = IncrementalPdfFileWriter(io.BytesIO(pdf))
    leftover = {generic.NameObject("/Leftover"): generic.BooleanObject(True)}
    ref = w.add_object(generic.DictionaryObject(leftover))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue(), ref.idnum


def free_objects(data: bytes, idnums: list[int]) -> bytes:
    """Append an incremental update whose classic xref section only frees ``idnums`` (what
    some Vietnamese signing tools write after signing: housekeeping, no new objects)."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    r = PdfFileReader(io.BytesIO(data), strict=False)
    trailer = r.trailer_view
    root = trailer.raw_get("/Root").reference
    prev = int(data[data.rindex(b"startxref") + 9 :].split()[0])
    ident = trailer["/ID"]
    body = b"\n"
    xref_at = len(data) + len(body)
    lines = [b"xref\n", b"0 1\n", b"0000000000 65535 f \n"]
    for n in sorted(idnums):
        gen = r.xrefs.get_historical_ref(generic.Reference(n, 0), r.xrefs.total_revisions - 1)
        assert gen is not None, f"object {n} is not in use"
        lines += [f"{n} 1\n".encode(), b"0000000000 00001 f \n"]
    ids = "".join(f"<{bytes(i.original_bytes).hex()}>" for i in ident)
    tail = (
        f"trailer\n<< /Size {trailer['/Size']} /Root {root.idnum} {root.generation} R "
        f"/Prev {prev} /ID [{ids}] >>\nstartxref\n{xref_at}\n%%EOF\n"
    ).encode()
    return data + body + b"".join(lines) + tail


def page_content_idnum(data: bytes) -> int:
    from pyhanko.pdf_utils.reader import PdfFileReader

    r = PdfFileReader(io.BytesIO(data), strict=False)
    page = r.root["/Pages"]["/Kids"][0].get_object()
    return page.raw_get("/Contents").reference.idnum


def annotation_after_signing(signed: bytes, text: str = "DA DUYET 999.999.999") -> bytes:
    """A visible FreeText annotation drawn on page 1 after signing (an overlay)."""
    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = w.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    annot = w.add_object(
        generic.DictionaryObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/Annot"),
                generic.NameObject("/Subtype"): generic.NameObject("/FreeText"),
                generic.NameObject("/Rect"): generic.ArrayObject(
                    [generic.NumberObject(x) for x in (80, 700, 400, 740)]
                ),
                generic.NameObject("/Contents"): generic.TextStringObject(text),
                generic.NameObject("/DA"): generic.TextStringObject("/Helv 14 Tf 0 g"),
                generic.NameObject("/F"): generic.NumberObject(4),
                generic.NameObject("/P"): page_ref,
            }
        )
    )
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else generic.ArrayObject()
    annots.append(annot)
    page["/Annots"] = annots
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def page_added_after_signing(signed: bytes) -> bytes:
    from pyhanko.pdf_utils.writer import PageObject

    w = IncrementalPdfFileWriter(io.BytesIO(signed))
    content = b"BT /F1 14 Tf 85 760 Td (PHU LUC) Tj ET"
    stream = w.add_object(generic.StreamObject(stream_data=content))
    w.insert_page(PageObject(contents=stream, media_box=(0, 0, 595, 842)))
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()
