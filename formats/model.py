"""What an edXML package says, as plain dataclasses (QCVN 102:2016; see shared/DOMAIN.md).

Parsing fills these leniently; building writes them canonically. Strings are NFC-normalised
by the parser so that Vietnamese text compares equal whatever form the sender used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum


class BusinessDocType(IntEnum):
    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


# Status codes an agency may send about a document (DOMAIN.md "Status packages").
STATUS_CODES: dict[str, str] = {
    "01": "arrived at the recipient's system",
    "02": "refused",
    "03": "received and registered",
    "04": "leader assigned it for handling",
    "05": "being handled",
    "06": "completed",
    "13": "recall requested",
    "15": "recall or update accepted",
    "16": "recall or update refused",
}


@dataclass
class Organization:
    organ_id: str
    organ_name: str = ""
    organization_in_charge: str = ""
    organ_add: str = ""
    email: str = ""
    telephone: str = ""
    fax: str = ""
    website: str = ""


@dataclass
class Code:
    number: str = ""  # CodeNumber, kept as text: "05" and "5" are different answers to a rule
    notation: str = ""  # CodeNotation, e.g. "QĐ-UBND"

    def __str__(self) -> str:
        return f"{self.number}/{self.notation}" if self.notation else self.number


@dataclass
class PromulgationInfo:
    place: str = ""
    date: date | None = None


@dataclass
class DocumentType:
    type: str = ""
    type_detail: str = ""
    type_name: str = ""  # the source of truth, e.g. "Quyết định"


@dataclass
class SignerInfo:
    competence: str = ""
    position: str = ""
    full_name: str = ""


@dataclass
class OtherInfo:
    priority: int | None = None
    sphere_of_promulgation: str = ""
    typer_notation: str = ""
    promulgation_amount: int | None = None
    page_amount: int | None = None
    direction: bool | None = None
    appendixes: list[str] = field(default_factory=list)


@dataclass
class ResponseFor:
    organ_id: str = ""
    code: str = ""
    promulgation_date: date | None = None
    document_id: str = ""


@dataclass
class TraceHeader:
    organ_id: str = ""  # real trace entries may lack it (EDXML_TRACE_INCOMPLETE, a warning)
    timestamp: datetime | None = None  # naive, as written (Vietnam local time by convention)


@dataclass
class StaffInfo:
    department: str = ""
    staff: str = ""
    email: str = ""
    mobile: str = ""


@dataclass
class Receiver:
    receiver_type: int  # 0 removed, 1 added
    organ_id: str


@dataclass
class ReplacementInfo:
    document_id: str
    organ_ids: list[str] = field(default_factory=list)


@dataclass
class Business:
    doc_type: BusinessDocType = BusinessDocType.NEW
    reason: str = ""
    document_id: str = ""  # the document revoked / updated / replaced
    paper: int | None = None
    staff: StaffInfo | None = None
    document_info: int | None = None
    document_receiver: int | None = None
    receivers: list[Receiver] = field(default_factory=list)
    replacements: list[ReplacementInfo] = field(default_factory=list)


@dataclass
class Reference:
    content_id: str  # without the "cid:" prefix
    content_type: str = ""
    description: str = ""
    attachment_name: str = ""


@dataclass
class ZipEntry:
    """One file inside an attachment sent zipped the SDK's way (ContentType application/zip,
    a name that is not *.zip): recorded with its real name, type and digest."""

    name: str
    content_type: str
    data: bytes
    sha256: str


@dataclass
class Attachment:
    content_id: str
    name: str
    content_type: str
    data: bytes  # decoded once (base64, then unzipped when the sender zipped it)
    sha256: str  # hex digest of data
    description: str = ""
    was_zipped: bool = False  # the sender zipped one file: `data` is that file, unzipped
    # Zipped the SDK's way: `data` stays the zip as sent, `entries` are the files inside it.
    entries: list[ZipEntry] = field(default_factory=list)

    @property
    def is_zip_as_sent(self) -> bool:
        return bool(self.entries)

    @property
    def is_pdf(self) -> bool:
        return _looks_like_pdf(self.data, self.content_type)


def _looks_like_pdf(data: bytes, content_type: str) -> bool:
    return data[:5] == b"%PDF-" or content_type.lower() == "application/pdf"


@dataclass(frozen=True)
class PdfFile:
    """A PDF of a package, wherever it sits: an attachment, or a file inside an attachment
    zipped the SDK's way. `path` names it in findings and reports."""

    path: str
    name: str
    data: bytes


@dataclass
class DocumentPackage:
    sender: Organization
    recipients: list[Organization]
    document_id: str
    code: Code = field(default_factory=Code)
    promulgation: PromulgationInfo = field(default_factory=PromulgationInfo)
    document_type: DocumentType = field(default_factory=DocumentType)
    subject: str = ""
    content: str = ""
    signer: SignerInfo = field(default_factory=SignerInfo)
    due_date: date | None = None
    other: OtherInfo = field(default_factory=OtherInfo)
    steering_type: str = ""
    to_places: list[str] = field(default_factory=list)
    response_for: list[ResponseFor] = field(default_factory=list)
    trace: list[TraceHeader] = field(default_factory=list)
    business: Business = field(default_factory=Business)
    has_xml_signature: bool = False
    references: list[Reference] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)

    kind = "edoc"

    def pdf_files(self) -> list[PdfFile]:
        """Every PDF the package carries, in order; the first is the document itself.

        A PDF zipped the SDK's way is judged like any other: its signatures and its form are
        what the recipient will open."""
        found = []
        for i, att in enumerate(self.attachments, 1):
            path = f"AttachmentEncoded/Attachment[{i}]"
            if att.is_zip_as_sent:
                found += [
                    PdfFile(f"{path}/entry[{j}]", entry.name, entry.data)
                    for j, entry in enumerate(att.entries, 1)
                    if _looks_like_pdf(entry.data, entry.content_type)
                ]
            elif att.is_pdf:
                found.append(PdfFile(path, att.name, att.data))
        return found


@dataclass
class StatusPackage:
    response_for: ResponseFor
    sender: Organization
    status_code: str
    description: str = ""
    timestamp: datetime | None = None
    staff: StaffInfo | None = None
    trace: list[TraceHeader] = field(default_factory=list)
    # How it was sent: "edxml" (the national SDK's MessageHeader shape, what the hub writes),
    # "status" (a bare <Status> root) or "soap" (a Status inside a SOAP envelope).
    shape: str = field(default="edxml", compare=False)

    kind = "status"


Package = DocumentPackage | StatusPackage
