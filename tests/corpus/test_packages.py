"""Real edXML packages nobody on this project wrote (README.md here: where each comes from).

For each one the table says what axis must do and why: what the parser reads (kind, error and
warning codes), whether the reference edXML library of the national SDK reads it, and the
hub's HTTP answer at its default rules with signatures off (AXIS_SIGNATURE_POLICY=off),
through the real hub over HTTP, on SQLite and PostgreSQL.

The hub is set up as the package assumes: its sender and recipients are agencies of the
directory, and the document a status answers, or a revoke/update/replace acts on, was sent
before. That earlier document is setup, not what is judged: it goes in through the service
layer with no checks (its DocumentId comes from the real package, whatever its form).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from axis.domain import HubError, Principal
from axis.service import messages
from formats.agency_code import is_valid_agency_code
from formats.edxml import build_document, parse
from formats.model import BusinessDocType, DocumentPackage, StatusPackage
from tests.factories import make_document

PACKAGES = Path(__file__).parent / "packages"
KIT = Path(os.environ.get("AXIS_VXP_SDK_DIR", "/work/shared/interop/vxp"))


@dataclass(frozen=True)
class Expect:
    kind: str | None  # "edoc", "status", or None when nothing could be read
    errors: tuple[str, ...]  # error finding codes of the parser, in order
    warnings: tuple[str, ...]  # warning codes of the parser, as a set
    http: int  # the hub's answer at default rules, signatures off
    refused_for: tuple[str, ...]  # the error codes of a 4xx answer
    reference_reads: bool  # the national SDK's reference library reads it
    why: str


TRACE = ("EDXML_TRACE_INCOMPLETE",)
GATEWAY_ATTACHMENTS = (
    "EDXML_NONSTANDARD_ATTACHMENTS",
    "EDXML_NO_CONTENT_ID",
    "EDXML_NOT_IN_MANIFEST",
)
SDK_STATUS = Expect(
    "status",
    (),
    (),
    202,
    (),
    True,
    "the national SDK's own status shape (MessageHeader with StatusCode, no To): routed to the "
    "sender of ResponseFor/DocumentId",
)

TABLE: dict[str, Expect] = {
    "sdk_status.edxml": SDK_STATUS,
    "sdk_status_inbox_01.edxml": SDK_STATUS,
    "sdk_status_rejection_02.edxml": SDK_STATUS,
    "sdk_status_acceptance_03.edxml": SDK_STATUS,
    "sdk_status_assignment_04.edxml": SDK_STATUS,
    "sdk_status_processing_05.edxml": SDK_STATUS,
    "sdk_status_finish_06.edxml": SDK_STATUS,
    "sdk_status_cancellation_13.edxml": dataclasses.replace(
        SDK_STATUS,
        why="a recall request (13) from the document's own sender: routed to its recipients",
    ),
    "sdk_status_change-acceptance_15.edxml": SDK_STATUS,
    "sdk_status_change-rejection_16.edxml": SDK_STATUS,
    # The SDK's document examples (its resources/ folder).
    "sdk_edoc_new.edxml": Expect(
        None,
        ("EDXML_JUNK_BEFORE_XML",),
        (),
        400,
        ("EDXML_JUNK_BEFORE_XML",),
        False,
        "four stray bytes ('1212') before <?xml: not XML; the reference library refuses it too, "
        "so relaying it would hand recipients a file their systems cannot open",
    ),
    "sdk_edoc_new_bak.edxml": Expect(
        "edoc",
        (),
        (),
        422,
        ("RULE_DOCUMENT_ID_MISMATCH", "RULE_DUE_BEFORE_PROMULGATION", "RULE_NUMBER_SYMBOL"),
        True,
        "the same example without the stray bytes: read whole; the Decree 30 rules refuse its "
        "invented data (DocumentId of another agency, due date before the issue date)",
    ),
    "sdk_edoc.edxml": Expect(
        "edoc",
        ("EDXML_BAD_BASE64",),
        ("EDXML_UNDECLARED_PREFIX",),
        422,
        ("EDXML_BAD_BASE64",),
        True,
        "a JMeter template: undeclared edXML:/xlink: prefixes are recovered (warning), but the "
        "attachment is the placeholder ${__StringFromFile(...)}, not base64: an attachment that "
        "cannot be read is refused (the reference library decodes the junk into 17 bytes)",
    ),
    "sdk_edoc_bak.edxml": Expect(
        "edoc",
        ("EDXML_BAD_BASE64",),
        ("EDXML_UNDECLARED_PREFIX",),
        422,
        ("EDXML_BAD_BASE64",),
        True,
        "an earlier copy of the same template",
    ),
    "sdk_edoc_update.edxml": Expect(
        "edoc",
        (),
        (),
        422,
        ("RULE_DOCUMENT_ID_MISMATCH",),
        True,
        "an update (BussinessDocType 2), attachment zipped the SDK's way: read whole (the zip "
        "kept, its entry listed); the rules refuse its DocumentId (an example's invented data)",
    ),
    "sdk_edoc_replacement.edxml": Expect(
        "edoc",
        (),
        (),
        422,
        ("REFERENCE_UNKNOWN",),
        True,
        "a replacement (3): read whole; the hub finds what it replaces in ReplacementInfoList "
        "(the sample has no Bussiness/DocumentId) and refuses it before the rules run, since it "
        "never received that document",
    ),
    "sdk_edoc_revocation.edxml": Expect(
        "edoc",
        (),
        (),
        422,
        ("RULE_DOCUMENT_ID_MISMATCH", "RULE_FIELD_MISSING"),
        True,
        "a revocation (1): read whole; the rules refuse its DocumentId and a missing field",
    ),
    # A vendor gateway's packages (the same repository, built by its own code).
    "gateway_edxmlattachments_b.edxml": Expect(
        "edoc",
        (),
        GATEWAY_ATTACHMENTS,
        422,
        ("RULE_NUMBER_SYMBOL",),
        True,
        "its file sits in a non-standard <edXMLAttachments>: read (warnings), never dropped (the "
        "reference library drops it silently); the rules refuse its test number (its lower-case "
        "test code and free-form DocumentId are warnings)",
    ),
    "gateway_edxmlattachments_bienban.edxml": Expect(
        "edoc",
        (),
        GATEWAY_ATTACHMENTS,
        422,
        ("RULE_NUMBER_SYMBOL",),
        True,
        "as above, with a 24 KB text file whose AttachmentSize matches what it holds",
    ),
    "gateway_test_user.edxml": Expect(
        "edoc",
        (),
        ("EDXML_INCOMPLETE",),
        422,
        ("RULE_FIELD_MISSING",),
        True,
        "no Code, no PromulgationInfo: routing and the record do without (warnings); the "
        "rules want them",
    ),
    "gateway_test_with_content.edxml": Expect(
        "edoc",
        ("EDXML_BAD_ZIP",),
        ("EDXML_INCOMPLETE",),
        422,
        ("EDXML_BAD_ZIP",),
        False,
        "its attachment, labelled application/zip, is a truncated zip: refused, never accepted "
        "empty (the reference library fails the same way)",
    ),
    **{
        f"gateway_upload_{name}.edxml": Expect(
            "edoc",
            (),
            warnings,
            202,
            (),
            True,
            "read whole (a TraceHeader without OrganId is a warning); accepted: the lower-case "
            "code vxp.saas.03 routes (codes compare without regard to case) and a UUID "
            "DocumentId claims nothing the envelope could contradict (both are warnings)",
        )
        for name, warnings in (
            ("1da394ba", ()),
            ("1f881896", TRACE),
            ("b6e1f29d", TRACE),
            ("bb5d2f68", ()),
            ("bdb98a62", ()),
        )
    },
    # Packages received from the national axis (downloaded by the SDK, or saved from it).
    "vxp_received_2019_852e179c.edxml": Expect(
        "edoc",
        (),
        (),
        422,
        ("RULE_DUE_BEFORE_PROMULGATION", "RULE_PDF_UNREADABLE", "RULE_TYPE_NOTATION_MISMATCH"),
        True,
        "a 2019 test package through the national axis: read whole; the rules refuse its test "
        "data, and its zipped 'PDF' (17 random bytes) that no recipient could open",
    ),
    "vxp_received_2025_874e0f18.edxml": Expect(
        "edoc",
        (),
        TRACE,
        422,
        (
            "RULE_NUMBER_SYMBOL",
            "RULE_PDF_MOTTO",
            "RULE_PDF_NATIONAL_TITLE",
            "RULE_PDF_NUMBER_LINE",
            "RULE_PDF_PAGE_SIZE",
            "RULE_PDF_PLACE_DATE",
            "RULE_PDF_SIGNER_NAME",
        ),
        True,
        "through the national axis, whose hop left a TraceHeader without OrganId (a warning); "
        "its PDF is a test page, not an official letter: the rules say so",
    ),
    "vxp_received_2025_9e272474.edxml": Expect(
        "edoc",
        (),
        TRACE,
        422,
        ("RULE_PDF_PAGE_SIZE", "RULE_TYPE_NOTATION_MISMATCH"),
        True,
        "as above; its test page is US Letter (612x792 pt), which Decree 30 does not allow",
    ),
    "vxp_production_petrolimex_2440.edxml": Expect(
        "edoc",
        (),
        TRACE,
        202,
        (),
        True,
        "a production letter (Petrolimex to the Ministry of Finance) through the national axis: "
        "read whole, TraceHeader without OrganId a warning; accepted: the signer's name is "
        "looked for on the page with the signature block, not on the appendix (issue 14)",
    ),
    "vxp_production_9087_signed.edxml": Expect(
        "edoc",
        (),
        TRACE,
        422,
        ("RULE_CERT_SIGNER_NAME", "RULE_DOCUMENT_ID_MISMATCH"),
        True,
        "a production letter forwarded to a test unit (vxp.saas.03) with an enveloped XML "
        "signature: read whole; the rules refuse the forwarding: its conventional DocumentId "
        "names the original agency, not the sender "
        "(its scanned A4 pages, 592x831 pt, pass the page-size rule within 5 mm)",
    ),
}


def expected(name: str) -> Expect:
    return TABLE[name]


def corpus_files() -> list[str]:
    return sorted(p.name for p in PACKAGES.glob("*.edxml"))


def test_every_file_has_a_row_and_every_row_a_file():
    assert sorted(TABLE) == corpus_files()


# --- what the parser reads ------------------------------------------------------------------


@pytest.mark.parametrize("name", corpus_files())
def test_parser_reads_as_the_table_says(name):
    want = expected(name)
    result = parse((PACKAGES / name).read_bytes())
    kind = result.package.kind if result.package is not None else None
    errors = tuple(f.code for f in result.findings if f.severity == "error")
    warnings = {f.code for f in result.findings if f.severity != "error"}
    assert (kind, errors, warnings) == (want.kind, want.errors, set(want.warnings)), result.findings


# --- through the hub ------------------------------------------------------------------------


def _code(value: str) -> str | None:
    code = value.strip().upper()
    return code if is_valid_agency_code(code) else None


def _agency(live, code: str, keys: dict[str, str]) -> str:
    if code not in keys:
        keys[code] = live.add_agency(code)
    return keys[code]


def _seed(live, sender: str, recipients: list[str], document_id: str) -> None:
    """The earlier document a package answers or acts on (setup: no checks run on it)."""
    pkg = make_document(sender=sender, recipients=recipients, document_id=document_id)
    hub = dataclasses.replace(live.hub, checks=[])
    try:
        messages.submit(hub, build_document(pkg), Principal("seed", "agency", sender))
    except HubError as exc:  # pragma: no cover - a broken setup, said plainly
        raise AssertionError(f"could not seed {document_id!r}: {exc.findings}") from exc


def run_package(live, raw: bytes) -> tuple[int, dict]:
    """Register the package's agencies, send what it answers first, then POST it."""
    keys: dict[str, str] = {}
    pkg = parse(raw).package
    sender = _code(pkg.sender.organ_id) if pkg is not None else None
    sender = sender or "000.00.00.G01"
    _agency(live, sender, keys)
    if isinstance(pkg, DocumentPackage):
        recipients = [c for org in pkg.recipients if (c := _code(org.organ_id))]
        for code in recipients:
            _agency(live, code, keys)
        if pkg.business.doc_type != BusinessDocType.NEW:
            _seed(live, sender, recipients, pkg.business.document_id or pkg.document_id)
    elif isinstance(pkg, StatusPackage) and pkg.response_for.document_id:
        doc_id = pkg.response_for.document_id
        if pkg.status_code == "13":  # the sender recalls its own document
            other = _code(pkg.response_for.organ_id) or "000.00.00.G02"
            _agency(live, other, keys)
            _seed(live, sender, [other], doc_id)
        else:
            doc_sender = _code(doc_id.split(",")[0]) or _code(pkg.response_for.organ_id)
            doc_sender = doc_sender or "000.00.00.G02"
            _agency(live, doc_sender, keys)
            _seed(live, doc_sender, [sender], doc_id)
    with live.client(keys[sender]) as http:
        answer = http.post("/v1/messages", content=raw, headers={"Content-Type": "application/xml"})
    return answer.status_code, answer.json()


@pytest.mark.parametrize("name", corpus_files())
def test_hub_answers_as_the_table_says(default_rules_hub, name):
    want = expected(name)
    status, body = run_package(default_rules_hub, (PACKAGES / name).read_bytes())
    refused_for = tuple(
        sorted({f["code"] for f in body.get("findings", []) if f.get("severity") == "error"})
    )
    assert (status, refused_for) == (want.http, tuple(sorted(want.refused_for))), body


# --- the reference library ------------------------------------------------------------------


def _reference(path: Path) -> dict:
    script = KIT / "edxml-ref.sh"
    if not script.exists() or shutil.which("javac") is None:
        pytest.skip(f"the national SDK kit (with javac) is not at {KIT}")
    out = subprocess.run(
        [str(script), "parse", str(path)], capture_output=True, text=True, timeout=120
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize("name", corpus_files())
def test_reference_library_verdict(name):
    answer = _reference(PACKAGES / name)
    assert ("error" not in answer) == expected(name).reference_reads, answer
