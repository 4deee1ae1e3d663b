"""Signature policy: from validation reports to the findings that accept or reject a package.

- ``strict`` (default in the hub): the main document carries at least one TOTAL_PASSED
  signature, and no signature or file anywhere is TOTAL_FAILED.
- ``lenient``: nothing is TOTAL_FAILED (INDETERMINATE signatures are warnings).
- ``off``: validate and report, never reject (errors become warnings).

A package is rejected when ``formats.findings.has_errors(findings)``.
"""

from __future__ import annotations

from typing import Literal

from formats.findings import Finding
from signing.report import TOTAL_FAILED, PdfReport

Policy = Literal["strict", "lenient", "off"]
POLICIES: tuple[str, ...] = ("strict", "lenient", "off")


def _join(name: str, path: str) -> str:
    return f"{name}/{path}" if path else name


def evaluate(reports: list[tuple[str, PdfReport]], policy: Policy, main_name: str) -> list[Finding]:
    """Findings for a package's PDFs; ``reports`` pairs a name (the attachment's path in the
    package, e.g. "attachment[1]" or its file name) with its report; ``main_name`` names the
    main document among them."""
    if policy not in POLICIES:
        raise ValueError(f"signature policy must be one of {POLICIES}, not {policy!r}")
    out: list[Finding] = []
    names = set()
    for name, rep in reports:
        names.add(name)
        main_unmet = (
            policy == "strict"
            and name == main_name
            and (not rep.passed_signatures or rep.indication == TOTAL_FAILED)
        )
        for f in rep.all_findings:
            sev = f.severity
            if policy == "off" and sev == "error":
                sev = "warning"
            elif main_unmet and sev == "warning":
                sev = "error"  # in the main document, nothing short of a pass will do
            out.append(Finding(f.code, sev, _join(name, f.path), f.message))
        if main_unmet:
            out.append(
                Finding.error(
                    "SIG_MAIN_NOT_VALID",
                    name,
                    "the main document must carry at least one valid signature "
                    "(TOTAL_PASSED) from a trusted signer",
                )
            )
    if main_name not in names:
        sev = "error" if policy == "strict" else "warning"
        out.append(
            Finding(
                "SIG_MAIN_MISSING",
                "warning" if policy == "off" else sev,
                main_name,
                "the main document was not found among the validated PDFs",
            )
        )
    return out
