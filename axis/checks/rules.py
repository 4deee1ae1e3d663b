"""Decree 30 clerical rules, as a hub check: the hub's directory and history go in as lookups."""

from __future__ import annotations

from axis.domain import utcnow
from axis.service.checks import CheckInput
from formats.findings import Finding
from formats.rules import (
    CertAgencyMap,
    RuleContext,
    RulePolicy,
    check_package,
    extract_pdf_text,
    load_cert_map,
    load_policy,
    main_pdf,
)

SIGNER_FACTS = "signers"  # item.facts key the signature check fills with SignerFacts


class RulesCheck:
    name = "rules"

    def __init__(self, policy: RulePolicy, cert_agency: CertAgencyMap | None = None) -> None:
        self.policy = policy
        self.cert_agency = cert_agency or CertAgencyMap()

    @classmethod
    def from_settings(cls, rules: str | None, cert_agency_map: str | None) -> RulesCheck:
        """Read once at start-up; a bad policy or mapping file stops the hub with its reason."""
        return cls(load_policy(rules), load_cert_map(cert_agency_map))

    def __call__(self, item: CheckInput) -> list[Finding]:
        if self.policy.all_off:
            return []
        found = main_pdf(item.package)
        text = extract_pdf_text(found.data) if found and self.policy.needs_pdf_text() else None
        ctx = RuleContext(
            now=utcnow(),
            known_agency=item.agency_known,
            lookup_document=item.lookup_document,
            cert_agency=self.cert_agency,
        )
        return check_package(
            item.package,
            pdf_texts=text,
            signers=list(item.facts.get(SIGNER_FACTS, [])),
            ctx=ctx,
            policy=self.policy,
        )
