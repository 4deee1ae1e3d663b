"""Rules on the envelope alone: type, number and symbol, DocumentId, dates, priority, agencies,
mandatory fields and their lengths (Decree 30/2020 Annex I, III, VI; QCVN 102:2016)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

from formats.agency_code import MAX_LENGTH, is_valid_agency_code
from formats.model import BusinessDocType, DocumentPackage
from formats.rules.context import RuleContext
from formats.rules.doctypes import DocType, doc_type
from formats.rules.legacy_encoding import decode_tcvn3, detect_legacy
from formats.rules.report import FindingList
from formats.rules.symbols import check_notation, check_number
from formats.rules.text import nfc

H = "MessageHeader"
_EDXML_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")


def as_date(value: object) -> tuple[date | None, bool]:
    """(date, well_formed): the parser gives dates; a raw "yyyy/MM/dd" string is read here."""
    if value is None or value == "":
        return None, True
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    m = _EDXML_DATE.match(str(value).strip())
    if not m:
        return None, False
    try:
        return date(int(m[1]), int(m[2]), int(m[3])), True
    except ValueError:
        return None, False


def fmt(d: date) -> str:
    return d.strftime("%Y/%m/%d")


def code_problem(code: str) -> str | None:
    """None for a well-formed agency code (formats.agency_code), else what is wrong."""
    if is_valid_agency_code(code):
        return None
    if is_valid_agency_code(code.upper()):
        return f'"{code}": letters in agency codes are upper case ("{code.upper()}")'
    return (
        f'"{code}" is not an agency code: 000.00.00.G22 form, or up to {MAX_LENGTH} characters '
        "of 0-9 and A-Z in groups separated by single dots"
    )


def check_document_type(pkg: DocumentPackage, out: FindingList) -> DocType | None:
    name = nfc(pkg.document_type.type_name).strip()
    if not name:
        if pkg.document_type.type:
            # Type numbers differ between implementations (DOMAIN.md): cannot tell the type.
            out.add(
                "RULE_FIELD_MISSING",
                f"{H}/DocumentType/TypeName",
                f"TypeName is empty (Type is {pkg.document_type.type!r}, whose numbering differs "
                'between systems): write the type, e.g. "Quyết định" or "Công văn".',
                severity="warning",
            )
            out.not_checked(
                "RULE_TYPE_NOTATION_MISMATCH",
                f"{H}/DocumentType/TypeName",
                "without TypeName the type abbreviation cannot be compared with the symbol.",
            )
        return None
    dtype = doc_type(name)
    if dtype is None:
        out.add(
            "RULE_DOC_TYPE_UNKNOWN",
            f"{H}/DocumentType/TypeName",
            f'TypeName "{name}" is not a document type of Decree 30/2020 (Quyết định, Công văn, '
            "Thông báo, Kế hoạch, Báo cáo, Tờ trình …): check the spelling.",
        )
    return dtype


def check_code(pkg: DocumentPackage, dtype: DocType | None, out: FindingList) -> None:
    number, notation = pkg.code.number, pkg.code.notation
    if not number.strip() or not notation.strip():
        return  # reported by the mandatory-field rule
    if out.enabled("RULE_NUMBER_SYMBOL", "RULE_NUMBER_LEADING_ZERO", "RULE_NUMBER_SPACES"):
        check_number(number, notation, f"{H}/Code/CodeNumber", out)
    if out.enabled("RULE_NUMBER_SYMBOL", "RULE_NUMBER_SPACES", "RULE_TYPE_NOTATION_MISMATCH"):
        check_notation(number, notation, dtype, f"{H}/Code/CodeNotation", out)


def check_document_id(pkg: DocumentPackage, out: FindingList) -> None:
    doc_id = nfc(pkg.document_id).strip()
    if not doc_id or not out.enabled("RULE_DOCUMENT_ID_MISMATCH", "RULE_DATE_INVALID"):
        return
    path = f"{H}/DocumentId"
    parts = doc_id.split(",", 2)
    if len(parts) != 3 or "/" not in parts[2]:
        # Systems on the national axis identify documents by UUIDs and other forms of their
        # own: a DocumentId that claims nothing cannot contradict the envelope, so it is only
        # a warning; one in the conventional form is held to what it claims (below).
        out.add(
            "RULE_DOCUMENT_ID_MISMATCH",
            path,
            f'DocumentId "{doc_id}" is not of the conventional form "OrganId,yyyy/MM/dd,'
            'number/symbol" (e.g. "000.00.00.H53,2020/01/05,05/QĐ-UBND"); it is kept as sent.',
            severity="warning",
        )
        return
    organ, day, code = (p.strip() for p in parts)
    problems = []
    if organ.casefold() != pkg.sender.organ_id.strip().casefold():
        problems.append(f'agency "{organ}" but From/OrganId is "{pkg.sender.organ_id}"')
    parsed, ok = as_date(day)
    if not ok:
        out.add("RULE_DATE_INVALID", path, f'DocumentId "{doc_id}": "{day}" is not a real date.')
    promulgated, _ = as_date(pkg.promulgation.date)
    if parsed and promulgated and parsed != promulgated:
        problems.append(f'date "{day}" but PromulgationDate is "{fmt(promulgated)}"')
    number, _, notation = code.partition("/")
    env_number, env_notation = pkg.code.number.strip(), nfc(pkg.code.notation).strip()
    same_number = number == env_number or (
        number.isdigit() and env_number.isdigit() and int(number) == int(env_number)
    )
    if not same_number or notation != env_notation:
        problems.append(f'number "{code}" but Code is "{env_number}/{env_notation}"')
    if problems:
        out.add(
            "RULE_DOCUMENT_ID_MISMATCH",
            path,
            f'DocumentId "{doc_id}" disagrees with the envelope: ' + "; ".join(problems) + ".",
        )


def check_dates(pkg: DocumentPackage, ctx: RuleContext, out: FindingList) -> None:
    promulgated, ok = as_date(pkg.promulgation.date)
    path = f"{H}/PromulgationInfo/PromulgationDate"
    if not ok:
        out.add(
            "RULE_DATE_INVALID",
            path,
            f'PromulgationDate "{pkg.promulgation.date}" is not a real date (yyyy/MM/dd).',
        )
    due, due_ok = as_date(pkg.due_date)
    if not due_ok:
        out.add("RULE_DATE_INVALID", f"{H}/DueDate", f'DueDate "{pkg.due_date}" is not a date.')
    today = ctx.today_in_vietnam()
    if promulgated and promulgated > today:
        out.add(
            "RULE_DATE_FUTURE",
            path,
            f"PromulgationDate {fmt(promulgated)} is in the future (today is {fmt(today)} in "
            "Vietnam): a document is dated the day it is signed.",
        )
    if promulgated and due and due < promulgated:
        out.add(
            "RULE_DUE_BEFORE_PROMULGATION",
            f"{H}/DueDate",
            f"DueDate {fmt(due)} is before the document's date {fmt(promulgated)}.",
        )


def check_priority(pkg: DocumentPackage, out: FindingList) -> None:
    priority = pkg.other.priority
    if priority is not None and not (isinstance(priority, int) and 0 <= priority <= 4):
        out.add(
            "RULE_PRIORITY_RANGE",
            f"{H}/OtherInfo/Priority",
            f"Priority {priority!r} is not one of 0 (thường), 1 (khẩn), 2 (thượng khẩn), "
            "3 (hỏa tốc), 4 (hỏa tốc hẹn giờ).",
        )


def _agency_codes(pkg: DocumentPackage) -> Iterator[tuple[str, str, bool]]:
    """(path, code, must_be_in_directory) for every agency code the package names."""
    yield f"{H}/From/OrganId", pkg.sender.organ_id, True
    for i, org in enumerate(pkg.recipients, 1):
        yield f"{H}/To[{i}]/OrganId", org.organ_id, True
    for i, rf in enumerate(pkg.response_for, 1):
        yield f"{H}/ResponseFor[{i}]/OrganId", rf.organ_id, False
    for i, trace in enumerate(pkg.trace, 1):
        yield f"TraceHeaderList/TraceHeader[{i}]/OrganId", trace.organ_id, False
    b = "TraceHeaderList/Bussiness"
    for i, rec in enumerate(pkg.business.receivers, 1):
        yield f"{b}/BussinessDocumentInfo/ReceiverList/Receiver[{i}]/OrganId", rec.organ_id, True
    for i, rep in enumerate(pkg.business.replacements, 1):
        for j, organ in enumerate(rep.organ_ids, 1):
            yield f"{b}/ReplacementInfoList/ReplacementInfo[{i}]/OrganId[{j}]", organ, True


def check_agencies(pkg: DocumentPackage, ctx: RuleContext, out: FindingList) -> None:
    check_known = out.enabled("RULE_AGENCY_UNKNOWN")
    offline = ctx.known_agency is None
    seen: set[str] = set()
    for path, raw, in_directory in _agency_codes(pkg):
        code = raw.strip()
        if not code:
            continue  # missing sender/recipient codes are reported as missing fields
        if problem := code_problem(code):
            # Codes are compared without regard to case, so a lower-case code still routes:
            # worth telling the sender, not worth refusing the document.
            lower_only = is_valid_agency_code(code.upper())
            severity = "warning" if lower_only else None
            out.add("RULE_AGENCY_CODE_FORMAT", path, f"Agency code {problem}.", severity)
            if not lower_only:
                continue
        if not in_directory or not check_known or offline or code in seen:
            continue
        seen.add(code)
        if not ctx.agency_is_known(code):
            out.add(
                "RULE_AGENCY_UNKNOWN",
                path,
                f'Agency code "{code}" is not in the directory of agencies: check it with the '
                "receiving agency or the directory (danh mục mã định danh).",
            )
    if offline and check_known:
        out.not_checked(
            "RULE_AGENCY_UNKNOWN",
            f"{H}/From/OrganId",
            "offline, agency codes were not looked up in the directory.",
        )


# (path, value getter, severity when missing or None if optional, Annex VI maximum length).
# Lengths: Decree 30/2020 Annex VI (văn bản metadata), as far as it sets them.
_FIELDS = [
    ("From/OrganId", lambda p: p.sender.organ_id, "error", None),
    ("From/OrganName", lambda p: p.sender.organ_name, "warning", 200),
    ("DocumentId", lambda p: p.document_id, "error", None),
    ("Code/CodeNumber", lambda p: p.code.number, "error", 11),
    ("Code/CodeNotation", lambda p: p.code.notation, "error", 30),
    ("PromulgationInfo/PromulgationDate", lambda p: p.promulgation.date, "error", None),
    ("PromulgationInfo/Place", lambda p: p.promulgation.place, "warning", None),
    ("DocumentType/TypeName", lambda p: p.document_type.type_name or p.document_type.type,
     "error", 100),
    ("Subject", lambda p: p.subject, "error", 500),
    ("SignerInfo/FullName", lambda p: p.signer.full_name, "error", 50),
    ("SignerInfo/Position", lambda p: p.signer.position, "warning", None),
]  # fmt: skip


def check_fields(pkg: DocumentPackage, out: FindingList) -> None:
    missing = out.enabled("RULE_FIELD_MISSING")
    too_long = out.enabled("RULE_FIELD_TOO_LONG")
    for path, get, severity, limit in _FIELDS:
        value = get(pkg)
        text = value.strip() if isinstance(value, str) else value
        if text in (None, "") and missing:
            what = "missing or not a date yyyy/MM/dd" if "Date" in path else "missing"
            out.add(
                "RULE_FIELD_MISSING",
                f"{H}/{path}",
                f"{path} is {what}; it is required.",
                severity=severity,
            )
        elif limit and too_long and isinstance(text, str) and len(nfc(text)) > limit:
            out.add(
                "RULE_FIELD_TOO_LONG",
                f"{H}/{path}",
                f"{path} has {len(nfc(text))} characters; Decree 30 Annex VI allows {limit}.",
            )
    if missing and not pkg.recipients:
        out.add("RULE_FIELD_MISSING", f"{H}/To", "At least one recipient (To) is required.")
    for i, org in enumerate(pkg.recipients, 1):
        if missing and not org.organ_id.strip():
            out.add("RULE_FIELD_MISSING", f"{H}/To[{i}]/OrganId", f"To[{i}]/OrganId is required.")
    b = pkg.business
    if (
        missing
        and b.doc_type != BusinessDocType.NEW
        and not b.document_id.strip()
        and not b.replacements
    ):
        out.add(
            "RULE_FIELD_MISSING",
            "TraceHeaderList/Bussiness/DocumentId",
            f"A {b.doc_type.name.lower()} must name the DocumentId of the document it concerns.",
        )


def check_legacy_text(pkg: DocumentPackage, out: FindingList) -> None:
    """Old document systems still send TCVN3/VNI bytes as if they were Latin-1 ("VÒ viÖc")."""
    if not out.enabled("RULE_FIELD_LEGACY_ENCODING"):
        return
    for path, value in (
        ("Subject", pkg.subject),
        ("SignerInfo/FullName", pkg.signer.full_name),
        ("From/OrganName", pkg.sender.organ_name),
        ("PromulgationInfo/Place", pkg.promulgation.place),
    ):
        if value and (encoding := detect_legacy(value, min_marks=2)):
            hint = f', which reads "{decode_tcvn3(value)[:80]}"' if encoding == "TCVN3" else ""
            out.add(
                "RULE_FIELD_LEGACY_ENCODING",
                f"{H}/{path}",
                f'{path} "{value[:80]}" is {encoding} text sent as Unicode{hint}: the document '
                "system must send Unicode (TCVN 6909:2001).",
            )


def check_envelope(pkg: DocumentPackage, ctx: RuleContext, out: FindingList) -> None:
    check_fields(pkg, out)
    check_legacy_text(pkg, out)
    dtype = check_document_type(pkg, out)
    check_code(pkg, dtype, out)
    check_document_id(pkg, out)
    check_dates(pkg, ctx, out)
    check_priority(pkg, out)
    check_agencies(pkg, ctx, out)
