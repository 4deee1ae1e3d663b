"""Clerical format rules of Decree 30/2020 and consistency between envelope, PDF and signatures.

The hub calls, once per document package::

    text = extract_pdf_text(found.data) if (found := main_pdf(pkg)) else None
    findings = check_package(pkg, pdf_texts=text, signers=facts, ctx=ctx, policy=policy)

Every finding has a stable `RULE_*` code (see `RULES`) and a message a clerk can act on.
"""

from formats.rules.catalog import RULES, Rule
from formats.rules.context import CertAgencyMap, RuleContext, SignerFacts, load_cert_map
from formats.rules.engine import check_package, check_pdf_only, main_pdf
from formats.rules.pdf_text import PdfText, extract_pdf_text
from formats.rules.policy import PolicyError, RulePolicy, load_policy
from formats.rules.report import rules_of

__all__ = [
    "RULES",
    "CertAgencyMap",
    "PdfText",
    "PolicyError",
    "Rule",
    "RuleContext",
    "RulePolicy",
    "SignerFacts",
    "check_package",
    "check_pdf_only",
    "extract_pdf_text",
    "load_cert_map",
    "load_policy",
    "main_pdf",
    "rules_of",
]
