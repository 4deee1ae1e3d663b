"""A document composed by a person (the console's compose form): the envelope fields and the
files become an edXML package, which then goes through the one submit path
(`messages.preview` to see the findings, `messages.submit` to send)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from axis.adapters.tables import Agency
from axis.domain import VIETNAM, Principal, Receipt, Rejected, nfc
from axis.service import messages
from axis.service.context import Hub
from formats.edxml import build_document
from formats.findings import Finding
from formats.model import (
    Attachment,
    Code,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Reference,
    SignerInfo,
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
    files = [main, *form.attachments]
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
        references=[
            Reference(
                content_id=a.content_id,
                content_type=a.content_type,
                description=a.description,
                attachment_name=a.name,
            )
            for a in attachments
        ],
        attachments=attachments,
    )
    return build_document(pkg)


def send(hub: Hub, principal: Principal, form: ComposeForm) -> Receipt:
    receipt, _ = messages.submit(hub, build(hub, principal, form), principal)
    return receipt
