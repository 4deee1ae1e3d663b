"""Revoke, update and replace must concern a document this agency sent to these recipients."""

from __future__ import annotations

from formats.model import BusinessDocType, DocumentPackage
from formats.rules.context import RuleContext
from formats.rules.report import FindingList

_B = "TraceHeaderList/Bussiness"
_CODES = ("RULE_REFERENCE_UNKNOWN", "RULE_REFERENCE_OTHER_SENDER", "RULE_REFERENCE_RECIPIENTS")
_VERB = {
    BusinessDocType.REVOKE: "revoke",
    BusinessDocType.UPDATE: "update",
    BusinessDocType.REPLACE: "replace",
}


def check_references(pkg: DocumentPackage, ctx: RuleContext, out: FindingList) -> None:
    b = pkg.business
    if b.doc_type == BusinessDocType.NEW or not out.enabled(*_CODES):
        return
    verb = _VERB[b.doc_type]
    targets: list[tuple[str, str, list[str] | None]] = []  # (path, DocumentId, named recipients)
    if b.document_id.strip():
        targets.append((f"{_B}/DocumentId", b.document_id.strip(), None))
    for i, rep in enumerate(b.replacements, 1):
        if rep.document_id.strip():
            path = f"{_B}/ReplacementInfoList/ReplacementInfo[{i}]/DocumentId"
            targets.append((path, rep.document_id.strip(), [o.strip() for o in rep.organ_ids]))
    if not targets:
        return  # the missing DocumentId is a RULE_FIELD_MISSING
    if ctx.lookup_document is None:
        out.not_checked(
            "RULE_REFERENCE_UNKNOWN",
            targets[0][0],
            f"offline, the document to {verb} could not be looked up.",
        )
        return
    sender = pkg.sender.organ_id.strip()
    added = {r.organ_id.strip() for r in b.receivers if r.receiver_type == 1}
    removed = [(i, r.organ_id.strip()) for i, r in enumerate(b.receivers, 1) if not r.receiver_type]
    for path, doc_id, named in targets:
        found = ctx.lookup_document(doc_id)
        if found is None:
            out.add(
                "RULE_REFERENCE_UNKNOWN",
                path,
                f'The document to {verb}, "{doc_id}", was never sent through the hub: '
                "check its DocumentId.",
            )
            continue
        original_sender, original_recipients = found
        if original_sender.strip() != sender:
            out.add(
                "RULE_REFERENCE_OTHER_SENDER",
                path,
                f'"{doc_id}" was sent by {original_sender}, not by {sender}: an agency may only '
                f"{verb} its own documents.",
            )
            continue
        before = {r.strip() for r in original_recipients}
        if named is None:
            # The package goes to recipients of the original, or to ones it explicitly adds.
            named_here = [(f"MessageHeader/To[{i}]/OrganId", o.organ_id.strip())
                          for i, o in enumerate(pkg.recipients, 1)]  # fmt: skip
            named_here += [
                (f"{_B}/BussinessDocumentInfo/ReceiverList/Receiver[{i}]/OrganId", organ)
                for i, organ in removed
            ]
            allowed = before | added
        else:
            named_here = [(path, organ) for organ in named]
            allowed = before
        strangers = sorted({organ for _, organ in named_here if organ and organ not in allowed})
        if strangers:
            first_path = next(p for p, organ in named_here if organ in strangers)
            out.add(
                "RULE_REFERENCE_RECIPIENTS",
                first_path,
                f'"{doc_id}" was not sent to {", ".join(strangers)}: a {verb} goes to the '
                "recipients of the original document (add new ones as ReceiverType 1).",
            )
