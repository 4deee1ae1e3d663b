"""The one shape every problem takes on its way to a client: a finding with a stable code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str  # stable, e.g. EDXML_MISSING_ELEMENT; tests and clients match on it
    severity: Severity
    path: str  # where: an XPath-like path in the package, or "attachment[2]/signature[1]"
    message: str  # for a clerk: what is wrong and how to fix it

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def error(cls, code: str, path: str, message: str) -> Finding:
        return cls(code, "error", path, message)

    @classmethod
    def warning(cls, code: str, path: str, message: str) -> Finding:
        return cls(code, "warning", path, message)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
