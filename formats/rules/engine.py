"""Entry points: one package (the hub, once per package) or one bare PDF (`axis check`)."""

from __future__ import annotations

from collections.abc import Callable

from formats.findings import Finding
from formats.model import DocumentPackage, PdfFile
from formats.rules.certificates import check_signers
from formats.rules.context import RuleContext, SignerFacts
from formats.rules.envelope import check_envelope
from formats.rules.pdf_checks import check_pdf
from formats.rules.pdf_text import PdfText
from formats.rules.policy import RulePolicy
from formats.rules.references import check_references
from formats.rules.report import FindingList


def main_pdf(pkg: DocumentPackage) -> PdfFile | None:
    """The document itself: the package's first PDF (DocumentPackage.pdf_files)."""
    pdfs = pkg.pdf_files()
    return pdfs[0] if pdfs else None


def pdf_path(pkg: DocumentPackage) -> str:
    found = main_pdf(pkg)
    return found.path if found else "AttachmentEncoded/Attachment[1]"


def check_package(
    pkg: DocumentPackage,
    *,
    pdf_texts: PdfText | None,
    signers: list[SignerFacts],
    ctx: RuleContext,
    policy: RulePolicy,
) -> list[Finding]:
    """Every Decree 30 rule on one document package; findings in a stable order.

    `pdf_texts` is `extract_pdf_text(main_pdf(pkg).data)` (None when there is no PDF);
    `signers` the signer facts of the signature report (may be empty).
    """
    if policy.all_off or not isinstance(pkg, DocumentPackage):
        return []
    out = FindingList(policy)
    steps: list[tuple[str, Callable[[], None]]] = [
        ("envelope", lambda: check_envelope(pkg, ctx, out)),
        ("references", lambda: check_references(pkg, ctx, out)),
        ("pdf", lambda: check_pdf(pkg, pdf_texts, pdf_path(pkg), out)),
        ("signatures", lambda: check_signers(pkg, signers, ctx, out)),
    ]
    for name, step in steps:
        _guarded(name, step, out)
    return out.items


def check_pdf_only(pdf_text: PdfText, *, policy: RulePolicy, path: str = "pdf") -> list[Finding]:
    """The form of a bare PDF (no envelope to compare with): for a clerk before sending."""
    if policy.all_off:
        return []
    out = FindingList(policy)
    _guarded("pdf", lambda: check_pdf(None, pdf_text, path, out), out)
    return out.items


def _guarded(name: str, step: Callable[[], None], out: FindingList) -> None:
    try:
        step()
    except Exception as exc:  # noqa: BLE001 - a rule bug must not reject or crash the hub
        out.add(
            "RULE_NOT_CHECKED",
            name,
            f"the {name} rules stopped on an unexpected input ({type(exc).__name__}: {exc}); "
            "please report this document to the hub operators.",
        )
