"""Validation reports: one per PDF, one entry per signature, JSON-able and human-readable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from formats.findings import Finding

Indication = Literal["TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE"]
TOTAL_PASSED: Indication = "TOTAL_PASSED"
TOTAL_FAILED: Indication = "TOTAL_FAILED"
INDETERMINATE: Indication = "INDETERMINATE"
_RANK = {TOTAL_PASSED: 0, INDETERMINATE: 1, TOTAL_FAILED: 2}
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _local(iso: str) -> str:
    """Reports store UTC; people read Vietnam time (+07:00)."""
    try:
        return datetime.fromisoformat(iso).astimezone(VN_TZ).isoformat(timespec="seconds")
    except ValueError:
        return iso


@dataclass
class CertInfo:
    subject: str  # RFC 4514-ish human string
    common_name: str | None
    organization: str | None
    organizational_unit: str | None
    serial_number_attr: str | None  # subject serialNumber attribute (agency code, ID number)
    agency_code: str | None  # an agency identifier found in the subject, e.g. 000.00.00.G22
    issuer: str
    serial: str  # certificate serial, hex
    not_before: str
    not_after: str
    sha256: str
    key_algorithm: str
    key_bits: int | None


@dataclass
class SignatureReport:
    index: int  # 1-based, in signing order
    field_name: str
    kind: Literal["signature", "document_timestamp"]
    indication: Indication
    sub_indication: str | None
    signer: CertInfo | None = None
    chain: list[CertInfo] = field(default_factory=list)
    signing_time: str | None = None  # claimed by the signer (not proof)
    timestamp_time: str | None = None  # from an RFC 3161 token (proof of existence)
    coverage: str | None = None  # ENTIRE_FILE | ENTIRE_REVISION | CONTIGUOUS_BLOCK_FROM_START...
    modification_level: str | None = None  # NONE | LTA_UPDATES | FORM_FILLING | ANNOTATIONS...
    digest_algorithm: str | None = None
    signature_algorithm: str | None = None
    key_usage: list[str] = field(default_factory=list)
    pades_level: str | None = None  # B-B | B-T | B-LT | B-LTA, None for non-PAdES
    subfilter: str | None = None
    findings: list[Finding] = field(default_factory=list)
    # the index of a later signature that covers annotations added after this one
    countersigned_by: int | None = None

    @property
    def passed(self) -> bool:
        return self.indication == TOTAL_PASSED

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["findings"] = [f.to_dict() for f in self.findings]
        return d


@dataclass
class PdfReport:
    sha256: str
    size: int
    signatures: list[SignatureReport] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # about the file itself
    indication: Indication | None = None  # worst over signatures/file; None if unsigned
    sub_indication: str | None = None
    duration_ms: float = 0.0
    # the trust list the verdict was reached with: {"version": ..., "sha256": ...}
    trust_list: dict[str, Any] | None = None

    @property
    def all_findings(self) -> list[Finding]:
        out = list(self.findings)
        for s in self.signatures:
            out.extend(s.findings)
        return out

    @property
    def passed_signatures(self) -> list[SignatureReport]:
        return [s for s in self.signatures if s.kind == "signature" and s.passed]

    def finish(self) -> None:
        """Compute the overall indication: the worst of the file and its signatures."""
        worst: tuple[Indication, str | None] | None = None
        if self.indication is not None:  # set by a file-level failure
            worst = (self.indication, self.sub_indication)
        for s in self.signatures:
            if worst is None or _RANK[s.indication] > _RANK[worst[0]]:
                worst = (s.indication, s.sub_indication)
        if worst is not None:
            self.indication, self.sub_indication = worst

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "indication": self.indication,
            "sub_indication": self.sub_indication,
            "duration_ms": round(self.duration_ms, 2),
            "signatures": [s.to_dict() for s in self.signatures],
            "findings": [f.to_dict() for f in self.findings],
            "trust_list": dict(self.trust_list) if self.trust_list is not None else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PdfReport:
        """The inverse of to_dict (a stored report rendered again, e.g. as a summary)."""

        def findings(items) -> list[Finding]:
            return [Finding(f["code"], f["severity"], f["path"], f["message"]) for f in items]

        def cert(c) -> CertInfo | None:
            return CertInfo(**c) if c else None

        sigs = []
        for s in d.get("signatures", []):
            s = dict(s)
            s["signer"] = cert(s.get("signer"))
            s["chain"] = [cert(c) for c in s.get("chain", [])]
            s["findings"] = findings(s.get("findings", []))
            sigs.append(SignatureReport(**s))
        return cls(
            sha256=d["sha256"],
            size=d["size"],
            signatures=sigs,
            findings=findings(d.get("findings", [])),
            indication=d.get("indication"),
            sub_indication=d.get("sub_indication"),
            duration_ms=d.get("duration_ms", 0.0),
            trust_list=d.get("trust_list"),
        )

    def render_summary(self) -> str:
        """A few lines for a clerk: verdict per signature, who signed, when, why not."""
        lines: list[str] = []
        head = self.indication or "NO_SIGNATURE"
        if self.sub_indication:
            head += f" ({self.sub_indication})"
        n = sum(1 for s in self.signatures if s.kind == "signature")
        lines.append(f"{head}: {n} signature(s)")
        for s in self.signatures:
            verdict = s.indication + (f"/{s.sub_indication}" if s.sub_indication else "")
            who = "?"
            if s.signer is not None:
                who = s.signer.common_name or s.signer.subject
                if s.signer.organization and s.signer.organization != who:
                    who += f", {s.signer.organization}"
            label = "document timestamp" if s.kind == "document_timestamp" else "signature"
            lines.append(f"  #{s.index} {label} [{s.field_name}] {verdict}: {who}")
            when = s.timestamp_time or s.signing_time
            details = []
            if when:
                stamped = " (timestamped)" if s.timestamp_time else " (claimed by the signer)"
                details.append(f"time {_local(when)}{stamped}")
            if s.pades_level:
                details.append(f"level {s.pades_level}")
            if s.coverage:
                details.append(f"coverage {s.coverage}")
            if details:
                lines.append("     " + ", ".join(details))
            for f in s.findings:
                lines.append(f"     {f.severity.upper()} {f.code}: {f.message}")
        for f in self.findings:
            lines.append(f"  {f.severity.upper()} {f.code}: {f.message}")
        if self.trust_list:
            version = self.trust_list.get("version") or "(no version)"
            lines.append(f"  trust list {version}, sha256 {self.trust_list.get('sha256', '')[:16]}")
        return "\n".join(lines)
