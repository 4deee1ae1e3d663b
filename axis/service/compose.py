"""A document composed by a person (the console's compose form): the envelope fields and the
files become an edXML package, which then goes through the one submit path
(`messages.preview` to see the findings, `messages.submit` to send)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import select

from axis.adapters.tables import Agency, Document, Message
from axis.domain import VIETNAM, Forbidden, NotFound, Principal, Receipt, Rejected, nfc
from axis.service import inbox, messages
from axis.service.context import Hub
from formats import edxml
from formats.edxml import build_document
from formats.findings import Finding
from formats.model import (
    Attachment,
    Business,
    BusinessDocType,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Reference,
    ReplacementInfo,
    SignerInfo,
    StaffInfo,
    TraceHeader,
)

MAX_FILES = 20
_CODE = re.compile(r"[0-9A-Z.]{1,35}")


@dataclass
class UploadedFile:
    name: str
    data: bytes
    content_type: str = ""


@dataclass
class ComposeForm:
    recipients: str = ""  # codes separated by commas (or new lines)
    number: str = ""
    notation: str = ""
    type_name: str = "Công văn"
    subject: str = ""
    content: str = ""
    place: str = ""
    date: str = ""  # yyyy-mm-dd (an HTML date field); today by default
    competence: str = ""
    position: str = ""
    full_name: str = ""
    due_date: str = ""
    priority: str = "0"
    main: UploadedFile | None = None
    attachments: list[UploadedFile] = field(default_factory=list)

    @classmethod
    def from_fields(cls, fields: dict) -> ComposeForm:
        known = {k: str(v).strip() for k, v in fields.items() if k in _TEXT_FIELDS}
        return cls(**known)

    def fields(self) -> dict:
        return {k: getattr(self, k) for k in _TEXT_FIELDS}


_TEXT_FIELDS = [
    "recipients",
    "number",
    "notation",
    "type_name",
    "subject",
    "content",
    "place",
    "date",
    "competence",
    "position",
    "full_name",
    "due_date",
    "priority",
]


def _bad(path: str, message: str) -> Finding:
    return Finding.error("FORM_INVALID", path, message)


def _date(value: str, path: str, label: str, findings: list[Finding]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        findings.append(_bad(path, f"{label}: nhập ngày dạng năm-tháng-ngày, ví dụ 2026-12-03"))
        return None


def safe_file_name(name: str) -> str:
    """A sender's file name as a name only: no directories, no control characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:200] or "tep-dinh-kem"


def recipient_codes(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for part in re.split(r"[,;\s]+", text):
        # A suggestion reads "CODE — name": keep the code.
        if part and (code := nfc(part).upper()):
            seen.setdefault(code, None)
    return list(seen)


def build(hub: Hub, principal: Principal, form: ComposeForm) -> bytes:
    """The package of a composed document; refuses (422, a finding per field) what is missing."""
    return build_document(package(hub, principal, form))


def package(hub: Hub, principal: Principal, form: ComposeForm) -> DocumentPackage:
    """The DocumentPackage of a composed document (see `build`)."""
    if principal.role != "agency" or not principal.agency_code:
        raise Rejected("only an agency's clerk composes documents", code="ROLE_NOT_AGENCY")
    findings: list[Finding] = []
    codes = recipient_codes(form.recipients)
    if not codes:
        findings.append(_bad("recipients", "Nơi nhận: chọn ít nhất một cơ quan nhận"))
    for code in codes:
        if not _CODE.fullmatch(code):
            findings.append(_bad("recipients", f"Nơi nhận: {code!r} không phải mã định danh"))
    for name, label in (("number", "Số"), ("notation", "Ký hiệu"), ("subject", "Trích yếu")):
        if not getattr(form, name):
            findings.append(_bad(name, f"{label}: không được để trống"))
    if len(form.subject) > 2000:
        findings.append(_bad("subject", "Trích yếu: tối đa 2000 ký tự"))
    today = datetime.now(VIETNAM).date()
    issued = _date(form.date, "date", "Ngày ban hành", findings) or today
    due = _date(form.due_date, "due_date", "Hạn xử lý", findings)
    if form.priority not in ("0", "1", "2", "3", "4"):
        findings.append(_bad("priority", "Độ khẩn: chọn một mức trong danh sách"))
    main = form.main
    if main is None or not main.data:
        findings.append(_bad("main", "Văn bản chính: tải lên tệp PDF đã ký số"))
    elif not main.data.startswith(b"%PDF-"):
        findings.append(_bad("main", "Văn bản chính: tệp không phải PDF"))
    if len(form.attachments) > MAX_FILES:
        findings.append(_bad("attachments", f"Tệp kèm theo: tối đa {MAX_FILES} tệp"))
    if findings:
        raise Rejected(
            "Biểu mẫu chưa đầy đủ; sửa các mục dưới đây rồi gửi lại. (The form is incomplete.)",
            findings=findings,
            code="FORM_INVALID",
        )
    with hub.db.read() as session:
        names = dict(
            session.execute(
                select(Agency.code, Agency.name).where(
                    Agency.code.in_([principal.agency_code, *codes])
                )
            ).all()
        )
    attachments = _attachments([main, *form.attachments])
    sender = principal.agency_code
    code = Code(number=nfc(form.number), notation=nfc(form.notation))
    pkg = DocumentPackage(
        sender=Organization(organ_id=sender, organ_name=names.get(sender, "")),
        recipients=[Organization(organ_id=c, organ_name=names.get(c, "")) for c in codes],
        document_id=f"{sender},{issued:%Y/%m/%d},{code}",
        code=code,
        promulgation=PromulgationInfo(place=nfc(form.place), date=issued),
        document_type=DocumentType(type_name=nfc(form.type_name)),
        subject=nfc(form.subject),
        content=nfc(form.content),
        signer=SignerInfo(
            competence=nfc(form.competence),
            position=nfc(form.position),
            full_name=nfc(form.full_name),
        ),
        due_date=due,
        other=OtherInfo(priority=int(form.priority)),
        trace=[TraceHeader(organ_id=sender, timestamp=datetime.now(VIETNAM).replace(tzinfo=None))],
        references=_references(attachments),
        attachments=attachments,
    )
    return pkg


def _attachments(files: list[UploadedFile]) -> list[Attachment]:
    """The files of a package: the main document first, then the others."""
    attachments = []
    for i, f in enumerate(files, 1):
        name = safe_file_name(f.name)
        is_pdf = f.data.startswith(b"%PDF-")
        attachments.append(
            Attachment(
                content_id=f"{i}-{name}",
                name=name,
                content_type="application/pdf" if is_pdf else "application/octet-stream",
                data=f.data,
                sha256=hashlib.sha256(f.data).hexdigest(),
                description="Văn bản chính" if i == 1 else "Tệp kèm theo",
            )
        )
    return attachments


def _references(attachments: list[Attachment]) -> list[Reference]:
    return [
        Reference(
            content_id=a.content_id,
            content_type=a.content_type,
            description=a.description,
            attachment_name=a.name,
        )
        for a in attachments
    ]


def send(hub: Hub, principal: Principal, form: ComposeForm) -> Receipt:
    receipt, _ = messages.submit(hub, build(hub, principal, form), principal)
    return receipt


# Revoke (thu hồi), update (cập nhật), replace (thay thế) a document the agency sent: a
# package with its Bussiness block, sent through the same `messages.submit` as the API's
# POST /v1/messages and the national protocol's sendEdoc (which check the reference).
CHANGES: dict[str, BusinessDocType] = {
    "revoke": BusinessDocType.REVOKE,
    "update": BusinessDocType.UPDATE,
    "replace": BusinessDocType.REPLACE,
}
CHANGE_NAMES = {int(v): k for k, v in CHANGES.items()}


@dataclass
class Original:
    package: DocumentPackage
    message: Message
    revoked: bool


def original(hub: Hub, principal: Principal, message_id: str) -> Original:
    """A document this agency sent, to revoke, update or replace it (another agency's: 404,
    as `inbox.fetch` answers; one it received: 403)."""
    raw, msg = inbox.fetch(hub, principal, message_id)
    if msg.kind != "edoc" or msg.sender_code != principal.agency_code:
        raise Forbidden(
            "Chỉ cơ quan đã gửi văn bản mới được thu hồi, cập nhật hoặc thay thế văn bản đó."
            " (Only the agency that sent a document may revoke, update or replace it.)",
            code="REFERENCE_OTHER_SENDER",
        )
    with hub.db.read() as session:
        doc = session.get(Document, msg.document_id)
        revoked = bool(doc is not None and doc.revoked)
    pkg = edxml.parse(raw, max_bytes=hub.settings.max_body_bytes).package
    return Original(pkg, msg, revoked)


def form_of(pkg: DocumentPackage) -> ComposeForm:
    """The compose form filled in from a document (to update or replace it)."""
    return ComposeForm(
        recipients=", ".join(o.organ_id for o in pkg.recipients),
        number=pkg.code.number,
        notation=pkg.code.notation,
        type_name=pkg.document_type.type_name,
        subject=pkg.subject,
        content=pkg.content,
        place=pkg.promulgation.place,
        date=pkg.promulgation.date.isoformat() if pkg.promulgation.date else "",
        competence=pkg.signer.competence,
        position=pkg.signer.position,
        full_name=pkg.signer.full_name,
        due_date=pkg.due_date.isoformat() if pkg.due_date else "",
        priority=str(pkg.other.priority or 0),
    )


def change(
    hub: Hub,
    principal: Principal,
    message_id: str,
    kind: str,
    reason: str,
    form: ComposeForm,
    staff: StaffInfo,
) -> bytes:
    """The package that revokes, updates or replaces the document of `message_id`.

    A revoke repeats the document with the reason; an update keeps its DocumentId with the
    form's subject, summary, due date, priority and (if given) new files; a replacement is a
    new document (its own number) that names the one it replaces, for the recipients the two
    share. Refuses (422, a finding per field) what is missing."""
    doc_type = CHANGES.get(kind)
    if doc_type is None:
        raise NotFound("Không có thao tác này. (No such action.)", code="CHANGE_UNKNOWN")
    orig = original(hub, principal, message_id)
    pkg = orig.package
    findings: list[Finding] = []
    reason = nfc(reason.strip())
    if not reason:
        findings.append(_bad("reason", "Lý do: không được để trống"))
    elif len(reason) > 2000:
        findings.append(_bad("reason", "Lý do: tối đa 2000 ký tự"))
    trace = [
        TraceHeader(
            organ_id=principal.agency_code,
            timestamp=datetime.now(VIETNAM).replace(tzinfo=None),
        )
    ]
    business = Business(doc_type=doc_type, reason=reason, paper=0, staff=staff)
    if doc_type == BusinessDocType.REPLACE:
        if not form.recipients.strip():
            form = replace(form, recipients=", ".join(o.organ_id for o in pkg.recipients))
        try:
            new = package(hub, principal, form)
        except Rejected as exc:
            raise _incomplete([*findings, *exc.findings]) from None
        if findings:
            raise _incomplete(findings)
        before = {o.organ_id for o in pkg.recipients}
        shared = [o.organ_id for o in new.recipients if o.organ_id in before]
        business.replacements = [ReplacementInfo(document_id=pkg.document_id, organ_ids=shared)]
        return build_document(replace(new, business=business))
    business.document_id = pkg.document_id
    if doc_type == BusinessDocType.REVOKE:
        if findings:
            raise _incomplete(findings)
        return build_document(replace(pkg, trace=trace, business=business))
    # An update.
    subject = nfc(form.subject)
    if not subject:
        findings.append(_bad("subject", "Trích yếu: không được để trống"))
    due = _date(form.due_date, "due_date", "Hạn xử lý", findings)
    if form.priority not in ("0", "1", "2", "3", "4"):
        findings.append(_bad("priority", "Độ khẩn: chọn một mức trong danh sách"))
    attachments = pkg.attachments
    if form.main is not None and form.main.data:
        if not form.main.data.startswith(b"%PDF-"):
            findings.append(_bad("main", "Văn bản chính: tệp không phải PDF"))
        attachments = _attachments([form.main, *form.attachments])
    elif form.attachments:
        # New attachments, the same main document.
        main = pkg.attachments[0] if pkg.attachments else None
        kept = [UploadedFile(main.name, main.data)] if main is not None else []
        attachments = _attachments([*kept, *form.attachments])
    if len(attachments) > MAX_FILES + 1:
        findings.append(_bad("attachments", f"Tệp kèm theo: tối đa {MAX_FILES} tệp"))
    if findings:
        raise _incomplete(findings)
    new = replace(
        pkg,
        subject=subject,
        content=nfc(form.content),
        due_date=due,
        other=replace(pkg.other, priority=int(form.priority)),
        attachments=attachments,
        references=_references(attachments)
        if attachments is not pkg.attachments
        else pkg.references,
        trace=trace,
        business=business,
    )
    return build_document(new)


def _incomplete(findings: list[Finding]) -> Rejected:
    return Rejected(
        "Biểu mẫu chưa đầy đủ; sửa các mục dưới đây rồi gửi lại. (The form is incomplete.)",
        findings=findings,
        code="FORM_INVALID",
    )
