"""Checks a document package passes before it is accepted: pluggable, run in order, once.

Each check gives findings and, optionally, a report stored with the message under its name
(the signature report is served at /v1/messages/{id}/report). Later checks see earlier reports:
the clerical rules compare the envelope with the signers the signature check found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from formats.findings import Finding
from formats.model import DocumentPackage


@dataclass
class CheckInput:
    package: DocumentPackage
    raw: bytes
    sender_code: str
    # Lookups into the hub's data, so checks stay free of the database.
    agency_known: Callable[[str], bool]
    lookup_document: Callable[[str], tuple[str, list[str]] | None]  # -> (sender, recipients)
    reports: dict[str, dict] = field(default_factory=dict)
    # Facts a check leaves for later checks (e.g. signer certificates for the rules).
    facts: dict[str, object] = field(default_factory=dict)


class PackageCheck(Protocol):
    name: str

    def __call__(self, item: CheckInput) -> list[Finding]:
        """Return findings; may add item.reports[self.name] and item.facts."""
        ...


def run_checks(checks: list[PackageCheck], item: CheckInput) -> list[Finding]:
    findings: list[Finding] = []
    for check in checks:
        findings.extend(check(item))
    return findings
