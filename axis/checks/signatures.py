"""PDF signature validation, as a hub check: every PDF of every package, then the policy.

Validation is CPU-bound and runs in the thread the submission already runs in (never the
event loop), with the per-PDF time limit of the configuration. The signers it found are left
for the rules, which compare them with SignerInfo and the sending agency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from axis.checks.rules import SIGNER_FACTS
from axis.config import Settings
from axis.service.checks import CheckInput
from formats.findings import Finding
from formats.model import PdfFile
from formats.rules import SignerFacts
from signing.policy import evaluate
from signing.report import TOTAL_FAILED, PdfReport
from signing.validate import ValidationConfig, validate_pdf

log = logging.getLogger("axis.signatures")


class SignaturesCheck:
    name = "signatures"

    def __init__(self, config: ValidationConfig, policy: str) -> None:
        self.config = config
        self.policy = policy

    @classmethod
    def from_settings(cls, settings: Settings) -> SignaturesCheck:
        from axis.service.trust import trust_list

        tl = trust_list(settings)  # a bad or altered certificate file stops the hub at start-up
        if not tl.roots and settings.signature_policy == "strict":
            log.warning(
                "AXIS_SIGNATURE_POLICY=strict with no trust root (AXIS_TRUST_SHIPPED=false and "
                "no AXIS_TRUST_ROOTS): no signature can be trusted, so every document will be "
                "refused"
            )
        else:
            log.info(
                "trust list %s: %d roots, %d intermediates (sha256 %s)",
                tl.version,
                len(tl.roots),
                len(tl.intermediates),
                tl.identity()["sha256"][:16],
            )
        config = ValidationConfig(
            trust=tl.trust_config(),
            revocation=settings.revocation_policy,
            allow_fetching=settings.revocation_fetch,
            time_limit=settings.validation_timeout_s,
            max_bytes=settings.max_body_bytes,
        )
        config.engine()
        return cls(config, settings.signature_policy)

    def __call__(self, item: CheckInput) -> list[Finding]:
        pkg = item.package
        pdfs = pkg.pdf_files()
        main_name = pdfs[0].path if pdfs else "AttachmentEncoded"
        result = self.validate(pdfs, main_name)
        item.reports[self.name] = {
            "policy": self.policy,
            "main": main_name,
            "trust_list": self.config.trust.trust_list,
            "documents": result.documents,
        }
        item.facts[SIGNER_FACTS] = result.signers
        return result.findings

    def validate(self, pdfs: list[PdfFile], main_name: str) -> SignatureResult:
        """Validate each PDF, then apply the policy: the hub's check of one package, and
        `axis check` on a package or a bare PDF."""
        reports, documents, signers = [], [], []
        for pdf in pdfs:
            name, file_name = pdf.path, pdf.name
            report = validate_pdf(pdf.data, self.config)
            reports.append((name, report))
            documents.append(
                {
                    "name": name,
                    "attachment_name": file_name,
                    "summary": report.render_summary(),
                    **report.to_dict(),
                }
            )
            signers += [
                SignerFacts.from_cert_info(s.signer, path=f"{name}/signature[{s.index}]")
                for s in report.signatures
                if s.kind == "signature" and s.signer is not None
            ]
        findings = evaluate(reports, self.policy, main_name)  # type: ignore[arg-type]
        failed = any(r.indication == TOTAL_FAILED for _, r in reports)
        return SignatureResult(findings, documents, signers, reports, failed)


@dataclass
class SignatureResult:
    findings: list[Finding]
    documents: list[dict]  # one report per PDF, as stored with the message
    signers: list[SignerFacts]
    reports: list[tuple[str, PdfReport]]
    any_failed: bool  # a signature or a file is TOTAL_FAILED
