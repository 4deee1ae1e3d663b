"""The signatures against the envelope: the leader is SignerInfo, the agency is the sender.

Signer facts come from the signature report as plain data (signing/ decides trust; this only
compares names and agencies). Which signature is the agency's is told by `role_hint` or, when
absent, by the certificate → agency mapping: a certificate the mapping knows is an agency's.
"""

from __future__ import annotations

from formats.model import DocumentPackage
from formats.rules.context import RuleContext, SignerFacts
from formats.rules.report import FindingList
from formats.rules.text import ascii_fold, key, squash_spaces

_CODES = ("RULE_CERT_SIGNER_NAME", "RULE_CERT_AGENCY")


def check_signers(
    pkg: DocumentPackage, signers: list[SignerFacts], ctx: RuleContext, out: FindingList
) -> None:
    if not out.enabled(*_CODES):
        return
    if not signers:
        out.not_checked(
            _CODES,
            "signatures",
            "no signature to compare (the PDF is unsigned, or was not checked).",
        )
        return
    # The operator's mapping first; else an agency code the certificate subject carries.
    mapped = [(s, ctx.cert_agency.agency_of(s) or s.agency_code or None) for s in signers]
    agencies = [(s, a) for s, a in mapped if s.role_hint == "agency" or (s.role_hint is None and a)]
    leaders = [s for s, a in mapped if s.role_hint == "leader" or (s.role_hint is None and not a)]
    _check_leader(pkg, leaders, out)
    configured = bool(ctx.cert_agency) or any(s.agency_code for s in signers)
    _check_agency(pkg, agencies, configured, out)


def _same_person(cert_name: str, full_name: str) -> bool:
    # Certificates often spell names upper case without diacritics ("NGUYEN VAN AN").
    return key(cert_name) == key(full_name) or ascii_fold(cert_name) == ascii_fold(full_name)


def _check_leader(pkg: DocumentPackage, leaders: list[SignerFacts], out: FindingList) -> None:
    if not out.enabled("RULE_CERT_SIGNER_NAME"):
        return
    name = squash_spaces(pkg.signer.full_name)
    if not name:
        return  # reported as a missing field
    if not leaders:
        out.not_checked(
            "RULE_CERT_SIGNER_NAME", "signatures", "no signature was recognised as the leader's."
        )
        return
    if any(_same_person(s.common_name, name) for s in leaders):
        return
    shown = ", ".join(f'"{s.common_name}"' for s in leaders)
    out.add(
        "RULE_CERT_SIGNER_NAME",
        leaders[0].path or "signatures",
        f'The signer named in SignerInfo is "{name}" but the signing certificate is issued to '
        f"{shown}: the person who signs must be the one named.",
    )


def _check_agency(
    pkg: DocumentPackage,
    agencies: list[tuple[SignerFacts, str | None]],
    configured: bool,
    out: FindingList,
) -> None:
    if not out.enabled("RULE_CERT_AGENCY"):
        return
    if not configured:
        out.not_checked(
            "RULE_CERT_AGENCY", "signatures", "no certificate → agency mapping is configured."
        )
        return
    if not agencies:
        out.not_checked(
            "RULE_CERT_AGENCY", "signatures", "no signature was recognised as the agency's."
        )
        return
    sender = pkg.sender.organ_id.strip()
    for signer, agency in agencies:
        where = signer.path or "signatures"
        subject = signer.common_name or signer.organization or "?"
        if agency is None:
            out.not_checked(
                "RULE_CERT_AGENCY",
                where,
                f'the agency certificate "{subject}" is not in the certificate → agency mapping.',
            )
        elif agency != sender:
            out.add(
                "RULE_CERT_AGENCY",
                where,
                f'The agency signature is made with the certificate of "{subject}" ({agency}), '
                f"but the document is sent by {sender}: an agency signs with its own "
                "certificate.",
            )
