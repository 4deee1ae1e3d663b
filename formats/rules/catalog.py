"""Every rule the hub applies: stable code, default severity, what it checks.

Defaults follow one line: reject (error) what Decree 30/2020 or QCVN 102:2016 forbids or what
makes the metadata contradict itself; warn about real-world variations that a clerk should fix
but that must not stop a document (DOMAIN.md); "info" says what could not be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Level
    checks: str  # one line for `axis check --rules` listings and reports


_RULES = [
    # Document type and number/symbol (Decree 30 Annex I, Annex III).
    Rule("RULE_DOC_TYPE_UNKNOWN", "warning", "TypeName is a document type of Decree 30"),
    Rule("RULE_TYPE_NOTATION_MISMATCH", "error", "CodeNotation starts with the type abbreviation"),
    Rule("RULE_NUMBER_SYMBOL", "error", "number and symbol are well formed (n/TYPE-AGENCY)"),
    Rule(
        "RULE_NUMBER_LEADING_ZERO",
        "warning",  # in CodeNumber; the printed "Số:" line of the PDF is an error
        "numbers below 10 have one leading zero (05, not 5), in CodeNumber and the PDF",
    ),
    Rule("RULE_NUMBER_SPACES", "error", "no spaces inside the number and symbol"),
    Rule("RULE_DOCUMENT_ID_MISMATCH", "error", "DocumentId = OrganId,yyyy/MM/dd,number/notation"),
    # Dates and priority.
    Rule("RULE_DATE_INVALID", "error", "dates are real calendar dates"),
    Rule("RULE_DATE_FUTURE", "error", "PromulgationDate is not in the future"),
    Rule("RULE_DUE_BEFORE_PROMULGATION", "error", "DueDate is not before PromulgationDate"),
    Rule("RULE_PRIORITY_RANGE", "error", "Priority is 0 to 4"),
    # Agencies.
    Rule("RULE_AGENCY_CODE_FORMAT", "error", "agency codes are well formed (QCVN 102)"),
    Rule("RULE_AGENCY_UNKNOWN", "error", "agency codes are in the directory"),
    # Mandatory fields and lengths (Decree 30 Annex VI).
    Rule("RULE_FIELD_MISSING", "error", "mandatory fields are present"),
    Rule("RULE_FIELD_TOO_LONG", "warning", "fields fit the lengths of Decree 30 Annex VI"),
    Rule("RULE_FIELD_LEGACY_ENCODING", "error", "envelope text is Unicode, not TCVN3/VNI"),
    # Revoke / update / replace.
    Rule("RULE_REFERENCE_UNKNOWN", "error", "the document revoked/updated/replaced exists"),
    Rule("RULE_REFERENCE_OTHER_SENDER", "error", "it was sent by the same agency"),
    Rule("RULE_REFERENCE_RECIPIENTS", "error", "it went to the recipients named"),
    # The PDF against the envelope (Decree 30 Annex I).
    Rule("RULE_PDF_NO_TEXT", "warning", "the PDF has a text layer (a scan cannot be checked)"),
    Rule("RULE_PDF_LEGACY_ENCODING", "error", "the PDF text is Unicode, not TCVN3/VNI"),
    Rule("RULE_PDF_UNREADABLE", "error", "the PDF can be opened to read its text"),
    Rule("RULE_PDF_NATIONAL_TITLE", "error", "page 1 has CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"),
    Rule("RULE_PDF_MOTTO", "error", "page 1 has Độc lập - Tự do - Hạnh phúc"),
    Rule("RULE_PDF_NUMBER_LINE", "error", 'the "Số:" line equals Code'),
    Rule("RULE_PDF_PLACE_DATE", "error", "the place-and-date line equals PromulgationInfo"),
    Rule("RULE_PDF_SIGNER_NAME", "error", "the signature page names SignerInfo/FullName"),
    Rule("RULE_PDF_PAGE_SIZE", "error", "pages are A4 ±5 mm (portrait, or landscape for tables)"),
    # Signatures against the envelope.
    Rule("RULE_CERT_SIGNER_NAME", "error", "the leader's certificate names SignerInfo/FullName"),
    Rule("RULE_CERT_AGENCY", "error", "the agency certificate belongs to the sending agency"),
    # A rule that could not be applied says so instead of passing.
    Rule("RULE_NOT_CHECKED", "info", "a rule could not be applied (the message says which)"),
]

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}
