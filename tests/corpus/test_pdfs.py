"""Real signed PDFs (tests/corpus/pdfs, provenance in its README): axis's verdict on the
integrity and modification of every signature, beside poppler's pdfsig.

Axis's verdict per signature (in signing order; ``ts:`` marks a document timestamp):
  intact         nothing written after the signed revision (or the signature covers the file)
  updated        later incremental updates, all legitimate: LTV/DSS/VRI data, document
                 timestamps, new signature fields, object freeing and other housekeeping
  modified       the signed bytes, the ByteRange, or what a reader shows changed
  bad-value      the signed bytes are intact, but the signature value does not verify with
                 the signer's key
  indeterminate  updates that pyHanko's rules cannot explain, with the pages unchanged
  unreadable     the signature's CMS cannot be read
Trust is not judged here: these files chain to foreign or test CAs, so with no trust anchors a
file is at best INDETERMINATE (NO_CERTIFICATE_CHAIN_FOUND or a crypto constraint); a modified
one is TOTAL_FAILED, whatever the trust.

pdfsig (poppler) checks the digest of the signed ranges and the signature value, nothing after:
"valid" is its "Signature is Valid.", "mismatch" its "Digest Mismatch.", "unverified" its
"Signature has not yet been verified." (it does not verify ETSI.RFC3161 document timestamps,
nor signatures whose type or ByteRange it cannot handle), "invalid" its "Signature is Invalid."
(the value does not verify). Where it says "valid" and axis says
"modified", the change comes after the signed bytes: the difference analysis pdfsig lacks.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from signing.report import INDETERMINATE, TOTAL_FAILED, TOTAL_PASSED
from signing.validate import TrustConfig, ValidationConfig, validate_pdf

PDFS = Path(__file__).parent / "pdfs"
NO_TRUST = ValidationConfig(trust=TrustConfig(()), time_limit=60)
MODIFIED = {
    "SIG_HASH_FAILURE",
    "SIG_COVERAGE_INCOMPLETE",
    "SIG_MODIFIED_AFTER_SIGNING",
}
PDFSIG = {
    "Signature is Valid.": "valid",
    "Digest Mismatch.": "mismatch",
    "Signature has not yet been verified.": "unverified",
    "Signature is Invalid.": "invalid",
}

# file: (axis per signature, pdfsig per signature, why; and any disagreement explained)
TABLE: dict[str, tuple[list[str], list[str], str]] = {
    "pades-bes.pdf": (["intact"], ["valid"], "PAdES B-B, nothing after it."),
    "doc-firmado-T.pdf": (["intact"], ["valid"], "PAdES B-T (signature timestamp)."),
    "doc-firmado-LT.pdf": (["updated"], ["valid"], "B-LT: a DSS added after signing."),
    "doc-firmado.pdf": (
        ["updated", "ts:intact"],
        ["valid", "unverified"],
        "B-LTA: DSS and a document timestamp after the signature.",
    ),
    "PAdES-LT.pdf": (
        ["updated", "updated", "ts:updated", "updated"],
        ["valid", "valid", "unverified", "valid"],
        "Three signatures and a document timestamp; the last LTV update rewrites a /VRI entry "
        "the fourth signature covers (DSS2471Test: no undefined change). pyHanko's default "
        "DSS rule calls that suspicious; VRI is validation data, never displayed.",
    ),
    "Signature-P-HU_POL-7.pdf": (
        ["updated", "ts:updated", "updated", "ts:intact"],
        ["valid", "unverified", "valid", "unverified"],
        "Hungarian LTA chain whose later LTV updates rewrite VRI entries.",
    ),
    "pades-lt-extended-abde.pdf": (
        ["updated", "ts:updated", "intact"],
        ["valid", "unverified", "valid"],
        "LibreOffice hybrid PDF: its trailer's /AdditionalStreams refers ahead to the object "
        "a later revision makes the DSS (pyHanko alone: unexplained update).",
    ),
    "pades-ltv.pdf": (
        ["updated", "ts:updated", "ts:intact"],
        ["valid", "unverified", "unverified"],
        "Same LibreOffice trailer; pyHanko's own orphan walk raises KeyError on it.",
    ),
    "pades-tst-with-sig-type.pdf": (
        ["updated", "ts:intact"],
        ["valid", "unverified"],
        "A document timestamp typed /Sig (SubFilter ETSI.RFC3161): judged as a timestamp "
        "(DSS1899Test), not failed as a signature.",
    ),
    "AD-RB.pdf": (
        ["updated", "intact"],
        ["unverified", "valid"],
        "The second signing tool frees an object the document no longer uses (pyHanko's "
        "default policy refuses any freeing). pdfsig: 'Signature Type: unknown', it does not "
        "verify the first signature.",
    ),
    "DSS-1683.pdf": (
        ["intact"],
        ["valid"],
        "Intact; axis answers INDETERMINATE for its weak algorithm (crypto constraints), "
        "pdfsig does not judge algorithms.",
    ),
    "DSS-2821.pdf": (
        ["ts:indeterminate", "updated"],
        ["unverified", "valid"],
        "After the document timestamp a tagged-PDF structure tree is rewritten: pages and "
        "content unchanged, the update unexplained (DSS2821Test: undefined changes too).",
    ),
    "timestamped-fields.pdf": (
        ["ts:indeterminate", "ts:intact"],
        ["unverified", "unverified"],
        "Structure tree entries added with signature fields after the first timestamp: pages "
        "unchanged, update not explained by a rule. DSS classes it an extension change; axis "
        "stays undecided (INDETERMINATE, not a failure).",
    ),
    "Signature-P-DE_SCI-4.pdf": (
        ["indeterminate", "ts:intact"],
        ["valid", "unverified"],
        "The page's /Resources is replaced by an identical copy under a new object number: "
        "what is shown is the same, the update is not explained by a rule.",
    ),
    "dss-2236-hide.pdf": (
        ["modified"],
        ["valid"],
        "Shadow attack 'hide' (DSS-2236): an object the page uses is overwritten after "
        "signing. pdfsig checks only the signed bytes: disagreement by design.",
    ),
    "dss-2236-replace.pdf": (
        ["modified"],
        ["valid"],
        "Shadow attack 'replace': a text field's appearance replaced after signing. pyHanko "
        "calls that form filling; a hub must not. pdfsig: signed bytes intact.",
    ),
    "pades-signed-annot-added.pdf": (
        ["modified"],
        ["valid"],
        "A visible FreeText annotation added after signing (an overlay). pdfsig: bytes only.",
    ),
    "pdf-signed-added-page.pdf": (
        ["modified"],
        ["valid"],
        "A page added after signing. pdfsig: bytes only.",
    ),
    "dss-1376-DSS1376-rev_n-4.pdf": (
        ["modified"],
        ["valid"],
        "A text field filled ('Value One') after the signature: a change to what is shown. "
        "pdfsig: bytes only.",
    ),
    "pades-spoofing-replaced-reason.pdf": (
        ["modified"],
        ["valid"],
        "The signature dictionary is redefined after signing (spoofed /Reason): the ByteRange "
        "no longer covers the revision. pdfsig checks the ranges' digest only.",
    ),
    "siwa.pdf": (
        ["modified"],
        ["valid"],
        "Signature wrapping: the ByteRange does not cover the revision (pdfsig notes 'Not "
        "total document signed' yet says valid).",
    ),
    "pdf-eof.pdf": (
        ["modified"],
        ["unverified"],
        "ByteRange past the signed revision's end; pdfsig refuses the ByteRange values.",
    ),
    "pdf-byterange-overlap.pdf": (
        ["updated", "modified"],
        ["valid", "mismatch"],
        "The second signature's ByteRange overlaps its own /Contents: digest mismatch.",
    ),
    "hello_signed_INCSAVE_signed_EDITED.pdf": (
        ["updated", "modified"],
        ["valid", "mismatch"],
        "Signed bytes of the second signature edited: both validators see the mismatch.",
    ),
    "pades-lta-copied-doctst.pdf": (
        ["updated", "ts:modified"],
        ["valid", "unverified"],
        "A document timestamp copied from another file: its digest does not match. pdfsig "
        "does not verify document timestamps.",
    ),
    # Real Vietnamese documents, from production packages that crossed the national axis.
    "vn-petrolimex-2440.pdf": (
        ["bad-value", "updated", "intact"],
        ["invalid", "valid", "valid"],
        "Petrolimex to the Ministry of Finance, 2025: a head of department, the chairman and "
        "the corporation's seal sign in turn (VNPT-CA). The first signature's digest matches "
        "but its value does not verify with its certificate's key (recovered with the key, it "
        "is no PKCS#1 DigestInfo): both validators call it invalid. The later signatures "
        "add only their own fields (FORM_FILLING).",
    ),
    "vn-pvn-9087.pdf": (
        ["intact"],
        ["valid"],
        "PetroVietnam's seal (Viettel-CA SHA2) over a whole scanned letter, 2025.",
    ),
}


def axis_integrity(sig) -> str:
    found = {f.code for f in sig.findings}
    prefix = "ts:" if sig.kind == "document_timestamp" else ""
    if "SIG_MALFORMED" in found:
        return prefix + "unreadable"
    if found & MODIFIED:
        return prefix + "modified"
    if "SIG_CRYPTO_FAILURE" in found:
        return prefix + "bad-value"
    if "SIG_MODIFICATION_UNDECIDED" in found:
        return prefix + "indeterminate"
    return prefix + ("intact" if sig.modification_level == "NONE" else "updated")


def pdfsig_verdicts(path: Path) -> list[str]:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, timeout=60)
    return [
        PDFSIG.get(v, v)
        for v in (
            line.split(":", 1)[1].strip()
            for line in out.stdout.splitlines()
            if "Signature Validation:" in line
        )
    ]


def test_every_file_is_in_the_table():
    assert sorted(p.name for p in PDFS.glob("*.pdf")) == sorted(TABLE)
    readme = (PDFS / "README.md").read_text()
    for name in TABLE:  # provenance: listed with the start of its SHA-256
        digest = hashlib.sha256((PDFS / name).read_bytes()).hexdigest()[:16]
        assert f"| {name} |" in readme and digest in readme, name


@pytest.mark.parametrize("name", sorted(TABLE))
def test_axis_verdict(name):
    expected, _, why = TABLE[name]
    rep = validate_pdf((PDFS / name).read_bytes(), NO_TRUST)
    assert [axis_integrity(s) for s in rep.signatures] == expected, (why, rep.render_summary())
    # the integrity verdict decides the indication as far as it can without trust
    if any(v.endswith(("modified", "bad-value")) for v in expected):
        assert rep.indication == TOTAL_FAILED
    else:
        assert rep.indication == INDETERMINATE  # untrusted chains, never a failure
    assert rep.indication != TOTAL_PASSED


@pytest.mark.parametrize("name", sorted(TABLE))
def test_pdfsig_verdict(name):
    _, expected, why = TABLE[name]
    assert pdfsig_verdicts(PDFS / name) == expected, why


# With Vietnam's shipped trust list (offline, revocation not checked: the CAs' responders are
# out of reach here), what a hub would say of the real Vietnamese documents.
VN_TRUST = {
    "vn-petrolimex-2440.pdf": (
        [TOTAL_FAILED, TOTAL_PASSED, TOTAL_PASSED],
        "the chairman's and the seal's signatures chain through VNPT-CA SHA2 to the Vietnam "
        "National Root CA; the first signature's value is broken",
    ),
    "vn-pvn-9087.pdf": (
        [INDETERMINATE],
        "issued by Viettel-CA SHA2, an intermediate the file does not embed and the trust "
        "list does not ship yet (not found in public sources): no chain, never a failure",
    ),
}


@pytest.mark.parametrize("name", sorted(VN_TRUST))
def test_shipped_trust_list_on_real_vietnamese_documents(name):
    from signing import trustlist

    expected, why = VN_TRUST[name]
    config = ValidationConfig(
        trust=trustlist.effective().trust_config(), revocation="off", time_limit=60
    )
    rep = validate_pdf((PDFS / name).read_bytes(), config)
    assert [s.indication for s in rep.signatures] == expected, (why, rep.render_summary())
