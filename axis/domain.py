"""Domain vocabulary of the hub: who is calling, and the errors a use case can end in."""

from __future__ import annotations

import os
import re
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from formats.findings import Finding

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
# The days a client may name in a query (statistics, archive search): wide enough for any
# document the hub holds or will hold, narrow enough that date arithmetic cannot overflow.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)

ROLES = ("agency", "operator", "archivist", "signer")


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str  # agency | operator | archivist | signer
    agency_code: str | None = None
    signer_id: str | None = None  # for a signer key: the leader or seal it may sign as
    system_id: str | None = None  # acting through a connected system (VXP) that hosts the agency

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"


class HubError(Exception):
    """A use case ended in a refusal the client can act on. Maps to one HTTP status."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self, message: str, *, findings: list[Finding] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.findings = findings or []
        if code:
            self.code = code

    def to_dict(self) -> dict:
        return {
            "error": self.code,
            "message": self.message,
            "findings": [f.to_dict() for f in self.findings],
        }


class BadPackage(HubError):
    status, code = 400, "BAD_PACKAGE"


class Unauthorized(HubError):
    status, code = 401, "UNAUTHORIZED"


class Forbidden(HubError):
    status, code = 403, "FORBIDDEN"


class NotFound(HubError):
    status, code = 404, "NOT_FOUND"


class Conflict(HubError):
    status, code = 409, "CONFLICT"


class TooLarge(HubError):
    status, code = 413, "TOO_LARGE"


class Gone(HubError):
    status, code = 410, "GONE"


class Rejected(HubError):
    status, code = 422, "REJECTED"


class Unavailable(HubError):
    """A transient failure of the hub's database or store: 503 with Retry-After."""

    status, code = 503, "UNAVAILABLE"
    retry_after = 5

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 5) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


@dataclass
class Receipt:
    id: str
    kind: str
    document_id: str
    sha256: str
    received_at: datetime
    recipients: list[str]
    findings: list[dict] = field(default_factory=list)
    evidence: dict | None = None  # the signed receipt (axis.service.evidence)

    @classmethod
    def of(cls, msg) -> Receipt:  # noqa: ANN001 - any message row (axis.adapters.tables.Message)
        return cls(
            id=msg.id,
            kind=msg.kind,
            document_id=msg.document_id,
            sha256=msg.sha256,
            received_at=msg.received_at,
            recipients=list(msg.recipients),
            findings=list(msg.findings or []),
        )

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "document_id": self.document_id,
            "sha256": self.sha256,
            "received_at": show_time(self.received_at),
            "recipients": self.recipients,
            "findings": self.findings,
        } | ({"evidence": self.evidence} if self.evidence else {})


def utcnow() -> datetime:
    return datetime.now(UTC)


def show_time(dt: datetime | None) -> str | None:
    """Times are stored in UTC and shown in Vietnam time (+07:00)."""
    if dt is None:
        return None
    return dt.astimezone(VIETNAM).isoformat(timespec="milliseconds")


def new_id() -> str:
    """32 hex chars, sortable by creation time (48-bit ms clock + 80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


_MESSAGE_ID = re.compile(r"[0-9a-f]{32}")


def is_message_id(value: str) -> bool:
    """Ids are ours (see new_id); anything else cannot name a message, whatever its bytes."""
    return _MESSAGE_ID.fullmatch(value) is not None


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()
