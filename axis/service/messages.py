"""Submitting packages: parse once, check once, store once, route in one transaction."""

from __future__ import annotations

import hashlib

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from axis.adapters.database import insert_new, new_row
from axis.adapters.tables import Agency, Delivery, Document, Message, TimelineEvent
from axis.domain import (
    BadPackage,
    Conflict,
    Forbidden,
    HubError,
    Principal,
    Receipt,
    Rejected,
    TooLarge,
    new_id,
    nfc,
    utcnow,
)
from axis.service import archiving, evidence, statuses
from axis.service.checks import CheckInput, run_checks
from axis.service.context import Hub
from axis.service.events import MessageAccepted, MessageRejected
from formats import edxml
from formats.agency_code import document_id_agency
from formats.findings import Finding, has_errors
from formats.model import BusinessDocType, DocumentPackage, StatusPackage

_BUSINESS_EVENT = {
    BusinessDocType.REVOKE: "revoke",
    BusinessDocType.UPDATE: "update",
    BusinessDocType.REPLACE: "replace",
}


_RECEIPT_FIELDS = (
    Message.id,
    Message.kind,
    Message.document_id,
    Message.sha256,
    Message.received_at,
    Message.recipients,
    Message.findings,
)


def find_resent(hub: Hub, sender: str, sha256: str) -> Row | None:
    with hub.db.read() as session:
        return _resent(session, sender, sha256)


# The submit path's lookups, built once (building and keying a statement per call costs more
# than running it).
_RESENT = select(*_RECEIPT_FIELDS).where(
    Message.sender_code == bindparam("sender"), Message.resend_key == bindparam("sha256")
)
_AGENCIES = select(Agency.code, Agency.name, Agency.active).where(
    Agency.code.in_(bindparam("codes", expanding=True))
)
_DOCUMENT = select(Document.__table__).where(Document.document_id == bindparam("document_id"))


def _resent(session: Session, sender: str, sha256: str) -> Row | None:
    """What the receipt of the message an agency already sent with these bytes says, if any."""
    return session.connection().execute(_RESENT, {"sender": sender, "sha256": sha256}).first()


def submit(
    hub: Hub,
    raw: bytes,
    principal: Principal,
    *,
    via_upstream: bool = False,
    only_recipients: list[str] | None = None,
) -> tuple[Receipt, bool]:
    """Accept or refuse one package. Returns the receipt and whether it is new (202) or a
    resend of a package already accepted (200, nothing delivered twice).

    `only_recipients`: of the package's To, only these receive it (VXP sendEdoc's `to`).
    `via_upstream`: a package pulled from the upstream hub (axis.service.federation), sent by
    the agency its From names, which must not be a local one; it goes only to local agencies
    (those the upstream delivered it for), never back up."""
    try:
        receipt, created = _submit(hub, raw, principal, via_upstream, only_recipients)
    except HubError as exc:
        if (
            exc.status < 500
            and exc.code != "STATUS_DUPLICATE_ARRIVAL"
            and hub.events.wants(MessageRejected)
        ):
            with hub.db.write() as session:
                hub.events.publish(
                    session,
                    MessageRejected(
                        sender_code=principal.agency_code,
                        http_status=exc.status,
                        finding_codes=[f.code for f in exc.findings] or [exc.code],
                        size=len(raw),
                        at=utcnow(),
                    ),
                )
        raise
    if hub.evidence is not None:
        receipt.evidence = evidence.sign_receipt(hub, receipt, principal.agency_code or "")
    return receipt, created


def _submit(
    hub: Hub,
    raw: bytes,
    principal: Principal,
    via_upstream: bool = False,
    only_recipients: list[str] | None = None,
) -> tuple[Receipt, bool]:
    if not via_upstream and (principal.role != "agency" or not principal.agency_code):
        raise Forbidden("only agency keys send packages", code="ROLE_NOT_AGENCY")
    result = edxml.parse(raw, max_bytes=hub.settings.max_body_bytes)
    if result.package is None:
        if any(f.code == "EDXML_TOO_LARGE" for f in result.findings):
            raise TooLarge("the package is larger than this hub accepts", findings=result.findings)
        raise BadPackage("not a well-formed edXML package", findings=result.findings)
    pkg = result.package
    sender = nfc(pkg.sender.organ_id).upper()
    if via_upstream:
        principal = _far_sender(hub, sender, principal)
    if sender != principal.agency_code:
        raise Forbidden(
            f"From/OrganId {sender!r} is not the agency of this key ({principal.agency_code})",
            code="SENDER_MISMATCH",
            findings=[
                Finding.error(
                    "AUTH_SENDER_MISMATCH",
                    _from_path(pkg),
                    "the sender must be the agency the API key belongs to",
                )
            ],
        )
    sha256 = hashlib.sha256(raw).hexdigest()
    with hub.db.read() as session:  # one read transaction for everything looked up first
        earlier = _resent(session, sender, sha256)
        if earlier is not None and not (via_upstream and isinstance(pkg, DocumentPackage)):
            return Receipt.of(earlier), False
        if has_errors(result.findings):
            raise Rejected("the package is incomplete or malformed", findings=result.findings)
        route = (
            _route(
                session,
                sender,
                pkg,
                far_ok=hub.settings.upstream_enabled and not via_upstream,
                only=only_recipients
                if only_recipients is not None
                else (_local(session, _recipient_codes(pkg)) if via_upstream else None),
                resend=earlier is not None,
            )
            if isinstance(pkg, DocumentPackage)
            else None
        )
    if earlier is not None:  # pulled again, perhaps for another of our agencies
        return _add_recipients(hub, earlier, route[0] if route else []), False
    warnings = [f for f in result.findings if f.severity != "error"]
    if route is None:  # a status package
        receipt = statuses.submit_status_package(hub, principal, pkg, raw, sha256, warnings)
        return receipt, True
    return _submit_document(hub, sender, pkg, raw, sha256, warnings, *route)


def _check_document_id_owner(hub: Hub, pkg: DocumentPackage, sender: str) -> None:
    """A DocumentId in the conventional form names its sender: another agency may not take
    the DocumentId of an agency of this hub first (and make the owner's real document a
    conflict), whether the rules run or not (with them, RULE_DOCUMENT_ID_MISMATCH refuses it
    first). Other forms (UUIDs, which real systems send), or a code no agency here holds (a
    letter forwarded from its issuer elsewhere, as real packages are), are left alone."""
    named = document_id_agency(pkg.document_id)
    if named is None or named == sender:
        return
    with hub.db.read() as session:
        owner_here = session.get(Agency, named) is not None
    if owner_here:
        message = (
            f"DocumentId {pkg.document_id!r} là của đơn vị {named}, không phải của đơn vị gửi "
            f"{sender}: dùng mã văn bản của chính đơn vị mình"
        )
        raise Rejected(
            message,
            code="DOCUMENT_ID_NOT_SENDERS",
            findings=[
                Finding.error(
                    "DOCUMENT_ID_NOT_SENDERS",
                    "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/DocumentId",
                    message,
                )
            ],
        )


def preview(hub: Hub, raw: bytes, principal: Principal) -> tuple[list[Finding], dict]:
    """What the hub would say of this document package, without accepting it: the findings
    (parse, routing, signatures, clerical rules, as `submit` finds them) and the reports.
    Nothing is stored; the console shows these before a clerk sends (issue 19)."""
    if principal.role != "agency" or not principal.agency_code:
        raise Forbidden("only agencies send packages", code="ROLE_NOT_AGENCY")
    result = edxml.parse(raw, max_bytes=hub.settings.max_body_bytes)
    findings = list(result.findings)
    pkg = result.package
    if not isinstance(pkg, DocumentPackage):
        return findings, {}
    sender = nfc(pkg.sender.organ_id).upper()
    recipients = _recipient_codes(pkg)
    try:
        with hub.db.read() as session:
            _route(session, sender, pkg, far_ok=hub.settings.upstream_enabled)
        _check_document_id_owner(hub, pkg, sender)
    except HubError as exc:
        findings += exc.findings or [Finding.error(exc.code, "/", exc.message)]
    item = _check_input(hub, pkg, raw, sender, recipients)
    findings += run_checks(hub.checks, item)
    return findings, item.reports


def _check_input(
    hub: Hub, pkg: DocumentPackage, raw: bytes, sender: str, recipients: list[str]
) -> CheckInput:
    """What the checks see of a document: the same for sending and for its preview."""
    return CheckInput(
        package=pkg,
        raw=raw,
        sender_code=sender,
        agency_known=_agency_known(hub, {sender, *recipients}),
        lookup_document=_lookup_document(hub),
    )


def _from_path(pkg: DocumentPackage | StatusPackage) -> str:
    if isinstance(pkg, StatusPackage):
        return f"{statuses.status_path(pkg)}/From/OrganId"
    return "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/OrganId"


def _recipient_codes(pkg: DocumentPackage) -> list[str]:
    seen: dict[str, None] = {}
    for org in pkg.recipients:
        seen.setdefault(nfc(org.organ_id).upper(), None)
    return list(seen)


def _check_recipients(session: Session, codes: list[str], far_ok: bool = False) -> list[Finding]:
    found = {a.code: a for a in session.connection().execute(_AGENCIES, {"codes": codes})}
    if far_ok and (unknown := [c for c in codes if c not in found]):
        from axis.service.federation import far_codes

        far = far_codes(session, unknown)  # behind the upstream hub: forwarded
        codes = [c for c in codes if c not in far]
    findings = []
    for i, code in enumerate(codes, start=1):
        path = f"/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To[{i}]/OrganId"
        agency = found.get(code)
        if agency is None:
            findings.append(
                Finding.error(
                    "RECIPIENT_UNKNOWN", path, f"recipient {code} is not in the hub's directory"
                )
            )
        elif not agency.active:
            findings.append(
                Finding.error(
                    "RECIPIENT_INACTIVE", path, f"recipient {code} ({agency.name}) is inactive"
                )
            )
    return findings


def _referenced_document(session: Session, sender: str, pkg: DocumentPackage) -> Row | None:
    """For a revoke, update or replace: the document it acts on, checked to be the sender's."""
    business = pkg.business
    if business.doc_type == BusinessDocType.NEW:
        return None
    # A replacement names what it replaces in ReplacementInfoList (the national SDK's sample
    # has no Bussiness/DocumentId); an update or revoke there, or else its own DocumentId.
    replaced = next((r.document_id for r in business.replacements if r.document_id), "")
    ref_id = nfc(business.document_id) or nfc(replaced) or pkg.document_id
    path = "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/DocumentId"
    ref = _document(session, ref_id)
    if ref is None:
        raise Rejected(
            f"{_BUSINESS_EVENT[business.doc_type]} of a document the hub never received",
            findings=[Finding.error("REFERENCE_UNKNOWN", path, f"no document {ref_id!r}")],
        )
    if ref.sender_code != sender:
        raise Rejected(
            "only the agency that sent a document may revoke, update or replace it",
            findings=[
                Finding.error(
                    "REFERENCE_OTHER_SENDER", path, f"{ref_id!r} was sent by {ref.sender_code}"
                )
            ],
        )
    if ref.revoked:
        raise Rejected(
            "the document was revoked",
            findings=[Finding.error("REFERENCE_REVOKED", path, f"{ref_id!r} was revoked")],
        )
    return ref


def _document(session: Session, document_id: str) -> Row | None:
    return session.connection().execute(_DOCUMENT, {"document_id": document_id}).first()


def _lookup_document(hub: Hub):
    def lookup(document_id: str) -> tuple[str, list[str]] | None:
        with hub.db.read() as session:
            doc = session.get(Document, document_id)
            if doc is None:
                return None
            recipients = session.scalars(
                select(Delivery.recipient_code).where(Delivery.message_id == doc.first_message_id)
            ).all()
            return doc.sender_code, list(recipients)

    return lookup


def _agency_known(hub: Hub, known: set[str]):
    """The directory for the rules: the sender and the recipients were just looked up, so only
    other codes (places informed, documents answered) cost a query, once each."""
    memo = dict.fromkeys(known, True)

    def lookup(code: str) -> bool:
        code = code.upper()  # codes are compared without regard to case
        if code not in memo:
            with hub.db.read() as session:
                memo[code] = session.get(Agency, code) is not None
        return memo[code]

    return lookup


def _route(
    session: Session,
    sender: str,
    pkg: DocumentPackage,
    *,
    far_ok: bool = False,
    only: list[str] | None = None,
    resend: bool = False,
) -> tuple[list[str], Row | None]:
    """The recipients a document goes to and the document it revokes, updates or replaces;
    refused when a recipient cannot receive it or its DocumentId is taken. `far_ok`: agencies
    of the upstream directory may be named; `only`: the recipients are these (if named)."""
    recipients = _recipient_codes(pkg)
    if only is not None:
        wanted = {nfc(c).upper() for c in only}
        recipients = [c for c in recipients if c in wanted]
        if not recipients:
            raise Rejected(
                "none of the recipients asked for ('to') is among the package's To",
                code="RECIPIENT_NOT_NAMED",
            )
    findings = _check_recipients(session, recipients, far_ok)
    if findings:
        raise Rejected("the package names recipients the hub cannot deliver to", findings=findings)
    if resend:
        return recipients, None
    ref = _referenced_document(session, sender, pkg)
    _check_id_free(_document(session, pkg.document_id), pkg, ref)
    return recipients, ref


def _check_id_free(same_id: Row | None, pkg: DocumentPackage, ref: Row | None) -> None:
    """Conflict when the package's DocumentId is taken, but by the document it updates."""
    if same_id is not None and ref is None:
        raise Conflict(
            f"document {pkg.document_id!r} was already sent with other content",
            code="DOCUMENT_ID_CONFLICT",
        )
    if same_id is not None and ref is not None and same_id.document_id != ref.document_id:
        raise Conflict(f"document {pkg.document_id!r} already exists", code="DOCUMENT_ID_CONFLICT")


def _submit_document(
    hub: Hub,
    sender: str,
    pkg: DocumentPackage,
    raw: bytes,
    sha256: str,
    warnings: list[Finding],
    recipients: list[str],
    ref: Row | None,
) -> tuple[Receipt, bool]:
    item = _check_input(hub, pkg, raw, sender, recipients)
    check_findings = run_checks(hub.checks, item)
    if has_errors(check_findings):
        raise Rejected(
            "the document did not pass the hub's checks", findings=warnings + check_findings
        )
    findings = [f.to_dict() for f in warnings + check_findings]
    _check_document_id_owner(hub, pkg, sender)
    # From the last look at the DocumentId to the commit, no other submission of it runs:
    # a loser finds the winner's row before writing any object (no orphans in the store).
    with hub.db.document_locks.hold(pkg.document_id):
        earlier = _taken(hub, sender, pkg, sha256, ref)
        if earlier is not None:
            return earlier, False
        return _store_and_commit(hub, sender, pkg, raw, sha256, item, findings, recipients, ref)


def _taken(
    hub: Hub, sender: str, pkg: DocumentPackage, sha256: str, ref: Row | None
) -> Receipt | None:
    """Looked at again under the DocumentId's lock: the receipt of a twin that won the race
    with the same bytes, or Conflict if another package took the DocumentId meanwhile."""
    with hub.db.read() as session:
        if (earlier := _resent(session, sender, sha256)) is not None:
            return Receipt.of(earlier)
        try:
            _check_id_free(_document(session, pkg.document_id), pkg, ref)
        except Conflict:
            # The twin may have committed between the two reads (PostgreSQL reads each
            # statement at its own snapshot): its document, then, comes with its message.
            if (earlier := _resent(session, sender, sha256)) is not None:
                return Receipt.of(earlier)
            raise
    return None


def _store_and_commit(
    hub: Hub,
    sender: str,
    pkg: DocumentPackage,
    raw: bytes,
    sha256: str,
    item: CheckInput,
    findings: list[dict],
    recipients: list[str],
    ref: Row | None,
) -> tuple[Receipt, bool]:
    now = utcnow()
    message_id = new_id()
    record = archiving.store_record_objects(
        hub, pkg, raw, message_id=message_id, sha256=sha256, reports=item.reports, accepted_at=now
    )
    msg = new_row(
        Message,
        id=message_id,
        kind="edoc",
        sender_code=sender,
        document_id=pkg.document_id,
        sha256=sha256,
        resend_key=sha256,
        size=len(raw),
        received_at=now,
        subject=pkg.subject,
        business_type=int(pkg.business.doc_type),
        recipients=recipients,
        findings=findings,
        report=item.reports or None,
        code=str(pkg.code),
        promulgation_date=_edxml_date(pkg.promulgation.date),
        due_date=_edxml_date(pkg.due_date),
    )
    # The rows are made before the write turn: writers of the hub take turns (SQLite).
    deliveries = [
        new_row(Delivery, message_id=msg.id, recipient_code=code, pending=True, created_at=now)
        for code in recipients
    ]
    accepted = hub.events.prepare(MessageAccepted(msg, deliveries))  # evidence: signed here
    try:
        with hub.db.write() as session:
            insert_new(session, [msg])
            insert_new(session, deliveries)
            _record_document(session, msg, ref)
            hub.events.publish(session, accepted)
            if pkg.business.doc_type == BusinessDocType.REVOKE and ref is not None:
                # Before the revoke's own record goes in: it freezes the document's record.
                archiving.revoke(session, ref.document_id, sender, pkg.business.reason)
            archiving.add(session, record)
            if ref is not None:
                event = _BUSINESS_EVENT[pkg.business.doc_type]
                session.add_all(
                    TimelineEvent(
                        document_id=ref.document_id,
                        message_id=msg.id,
                        agency_code=code,
                        event=event,
                        status_code="13" if event == "revoke" else None,
                        description=pkg.business.reason,
                        at=now,
                    )
                    for code in recipients
                )
    except IntegrityError:
        # A concurrent twin won the race: same bytes → its receipt; same DocumentId → conflict.
        if (earlier := find_resent(hub, sender, sha256)) is not None:
            return Receipt.of(earlier), False  # a resend that raced its twin: 200
        raise Conflict(
            f"document {pkg.document_id!r} already exists", code="DOCUMENT_ID_CONFLICT"
        ) from None
    return Receipt.of(msg), True


def _record_document(session: Session, msg: Message, ref: Row | None) -> None:
    if ref is None or msg.document_id != ref.document_id:
        insert_new(
            session,
            [
                new_row(
                    Document,
                    document_id=msg.document_id,
                    sender_code=msg.sender_code,
                    first_message_id=msg.id,
                    latest_message_id=msg.id,
                    revoked=False,
                )
            ],
        )
    if ref is None:
        return
    ref = session.get(Document, ref.document_id)  # the row of this transaction, to change
    if msg.business_type == BusinessDocType.REVOKE:
        ref.revoked = True
    else:
        ref.latest_message_id = msg.id


def _edxml_date(d) -> str | None:  # noqa: ANN001
    return d.strftime("%Y/%m/%d") if d else None


def _far_sender(hub: Hub, sender: str, principal: Principal) -> Principal:
    """The principal of a package pulled from the upstream: its From, never a local agency (a
    far hub cannot speak for the agencies of this one)."""
    with hub.db.read() as session:
        local = session.get(Agency, sender) is not None
    if local or not sender:
        raise Forbidden(
            f"a package from the upstream hub names a local agency as its sender ({sender})",
            code="UPSTREAM_SENDER_LOCAL",
        )
    return Principal(
        key_id=principal.key_id, role="agency", agency_code=sender, system_id="<upstream>"
    )


def ensure_recipients(hub: Hub, message_id: str, recipients: list[str]) -> Receipt:
    """Each of these agencies has its delivery of the message (added if missing, once)."""
    return _add_recipients(hub, message_id, recipients)


def _add_recipients(hub: Hub, earlier: Row | str, recipients: list[str]) -> Receipt:
    """A package pulled again from the upstream for another of our agencies (the upstream lists
    one item per recipient): the recipients it lacks get their delivery, once each."""
    mid = earlier if isinstance(earlier, str) else earlier.id
    with hub.db.write() as session:
        have = set(
            session.scalars(select(Delivery.recipient_code).where(Delivery.message_id == mid))
        )
        missing = [c for c in recipients if c not in have]
        msg = session.get(Message, mid)
        if missing:
            now = utcnow()
            deliveries = [
                new_row(Delivery, message_id=msg.id, recipient_code=c, pending=True, created_at=now)
                for c in missing
            ]
            insert_new(session, deliveries)
            msg.recipients = [*msg.recipients, *missing]
            hub.events.publish(session, MessageAccepted(msg, deliveries))
        return Receipt.of(msg)


def _local(session: Session, codes: list[str]) -> list[str]:
    found = {a.code for a in session.connection().execute(_AGENCIES, {"codes": codes})}
    return [c for c in codes if c in found]
