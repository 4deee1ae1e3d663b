"""Documents on their way out of the console: a package a clerk checked (sent later exactly as
checked), and drafts a clerk puts before a leader, who signs with the key the hub holds for
them (axis.service.signers) and sends."""

from __future__ import annotations

from sqlalchemy import delete, select

from axis.adapters.console_tables import Draft, DraftFile, User
from axis.domain import Forbidden, NotFound, Principal, Receipt, Rejected, utcnow
from axis.service import compose, messages, signers, users
from axis.service.context import Hub
from axis.service.users import UserView


def _agency_of(user: UserView) -> str:
    if user.role not in ("clerk", "leader") or not user.agency_code:
        raise Forbidden("only an agency's clerks and leaders", code="ROLE_NOT_AGENCY")
    return user.agency_code


def save_checked(hub: Hub, user: UserView, raw: bytes, fields: dict) -> int:
    """Keep the package a clerk just checked, so it is sent byte for byte as checked."""
    agency = _agency_of(user)
    with hub.db.write() as session:
        draft = Draft(
            agency_code=agency,
            created_by=user.id,
            leader_id=None,
            state="checked",
            fields=fields,
            pdf_name="package.edxml",
            pdf=raw,
            note="",
            created_at=utcnow(),
        )
        session.add(draft)
        session.flush()
        return draft.id


def _mine(session, user: UserView, draft_id: int, state: str) -> Draft:  # noqa: ANN001
    draft = session.get(Draft, draft_id)
    if draft is None or draft.agency_code != user.agency_code or draft.state != state:
        raise NotFound(
            "Không tìm thấy văn bản này, hoặc nó đã được gửi. (No such draft, or it was sent.)",
            code="DRAFT_NOT_FOUND",
        )
    return draft


def send_checked(hub: Hub, user: UserView, draft_id: int) -> Receipt:
    _agency_of(user)
    with hub.db.read() as session:
        draft = _mine(session, user, draft_id, "checked")
        if draft.created_by != user.id:
            raise NotFound("no such draft", code="DRAFT_NOT_FOUND")
        raw = draft.pdf
    receipt, _ = messages.submit(hub, raw, user.principal)
    _decided(hub, draft_id, "sent", receipt.id)
    return receipt


def _decided(hub: Hub, draft_id: int, state: str, message_id: str | None, note: str = "") -> None:
    with hub.db.write() as session:
        draft = session.get(Draft, draft_id)
        draft.state, draft.message_id, draft.decided_at = state, message_id, utcnow()
        if note:
            draft.note = note
        if state == "sent":  # the archive keeps what was sent
            draft.pdf = b""
            session.execute(delete(DraftFile).where(DraftFile.draft_id == draft_id))


def submit(hub: Hub, user: UserView, form: compose.ComposeForm, leader_name: str) -> int:
    """A clerk puts a draft before a leader of the same agency: the main PDF (unsigned or
    signed by others) and the attachments, sent with it once the leader signs."""
    agency = _agency_of(user)
    compose.build(hub, user.principal, form)  # the same checks as sending it now
    with hub.db.write() as session:
        leader = session.scalar(
            select(User).where(
                User.name == leader_name,
                User.agency_code == agency,
                User.role == "leader",
                User.disabled_at.is_(None),
            )
        )
        if leader is None:
            raise Rejected(
                "Lãnh đạo ký: chọn một lãnh đạo của cơ quan. (Choose a leader of your agency.)",
                code="LEADER_UNKNOWN",
            )
        draft = Draft(
            agency_code=agency,
            created_by=user.id,
            leader_id=leader.id,
            state="awaiting",
            fields=form.fields(),
            pdf_name=compose.safe_file_name(form.main.name),
            pdf=form.main.data,
            note="",
            created_at=utcnow(),
        )
        session.add(draft)
        session.flush()
        for i, f in enumerate(form.attachments, 1):
            name = compose.safe_file_name(f.name)
            session.add(DraftFile(draft_id=draft.id, position=i, name=name, data=f.data))
        return draft.id


def _files(session, draft_ids: list[int]) -> dict[int, list[DraftFile]]:  # noqa: ANN001
    out: dict[int, list[DraftFile]] = {}
    if draft_ids:
        q = select(DraftFile).where(DraftFile.draft_id.in_(draft_ids))
        for f in session.scalars(q.order_by(DraftFile.draft_id, DraftFile.position)):
            out.setdefault(f.draft_id, []).append(f)
    return out


def file_of(hub: Hub, user: UserView, draft_id: int, position: int) -> tuple[str, bytes]:
    """An attachment of a draft that waits, for its leader and the clerk who put it up."""
    _agency_of(user)
    with hub.db.read() as session:
        draft = _mine(session, user, draft_id, "awaiting")
        if user.id not in (draft.leader_id, draft.created_by):
            raise NotFound("no such draft", code="DRAFT_NOT_FOUND")
        f = session.scalar(
            select(DraftFile).where(DraftFile.draft_id == draft_id, DraftFile.position == position)
        )
        if f is None:
            raise NotFound("Không có tệp này. (No such file.)", code="ATTACHMENT_NOT_FOUND")
        return f.name, f.data


def awaiting(hub: Hub, user: UserView) -> list[dict]:
    """Drafts before this leader (a clerk: the drafts it submitted that wait)."""
    _agency_of(user)
    with hub.db.read() as session:
        q = select(Draft, User.name).join(User, User.id == Draft.created_by)
        if user.role == "leader":
            q = q.where(Draft.leader_id == user.id)
        else:
            q = q.where(Draft.created_by == user.id)
        rows = session.execute(q.where(Draft.state == "awaiting").order_by(Draft.created_at)).all()
        files = _files(session, [d.id for d, _ in rows])
    return [
        {
            "id": d.id,
            "subject": d.fields.get("subject", ""),
            "number": f"{d.fields.get('number', '')}/{d.fields.get('notation', '')}",
            "recipients": d.fields.get("recipients", ""),
            "by": name,
            "created_at": d.created_at,
            "pdf_name": d.pdf_name,
            "files": [f.name for f in files.get(d.id, [])],
        }
        for d, name in rows
    ]


def pdf_of(hub: Hub, user: UserView, draft_id: int) -> tuple[str, bytes]:
    _agency_of(user)
    with hub.db.read() as session:
        draft = _mine(session, user, draft_id, "awaiting")
        return draft.pdf_name, draft.pdf


def sign_and_send(hub: Hub, user: UserView, draft_id: int, code: str = "") -> Receipt:
    """The leader signs the draft's PDF with the key the hub holds for them, and it is sent.
    A leader with a second factor gives its current code again for each signature."""
    if user.role != "leader":
        raise Forbidden("only leaders sign", code="ROLE_NOT_LEADER")
    users.check_second_factor(hub.db, hub.secret_box, user, code)
    if not user.signer_id:
        raise Rejected(
            "Tài khoản lãnh đạo chưa gắn khóa ký (axis user add … --signer ID)."
            " (No signing key is set for this leader.)",
            code="LEADER_NO_SIGNER",
        )
    if hub.signers.get(user.signer_id).agency != user.agency_code:
        raise Forbidden("the signer belongs to another agency", code="SIGNER_OTHER_AGENCY")
    with hub.db.read() as session:
        draft = _mine(session, user, draft_id, "awaiting")
        if draft.leader_id != user.id:
            raise NotFound("no such draft", code="DRAFT_NOT_FOUND")
        fields, name, pdf = dict(draft.fields), draft.pdf_name, draft.pdf
        kept = _files(session, [draft_id]).get(draft_id, [])
        attachments = [compose.UploadedFile(f.name, f.data) for f in kept]
    form = compose.ComposeForm.from_fields(fields)
    form.attachments = attachments
    as_signer = Principal(
        key_id=f"user:{user.name}",
        role="signer",
        agency_code=user.agency_code,
        signer_id=user.signer_id,
    )
    signed = signers.sign(hub.signers, as_signer, pdf, number=f"{form.number}/{form.notation}")
    form.main = compose.UploadedFile(name, signed, "application/pdf")
    receipt = compose.send(hub, user.principal, form)
    _decided(hub, draft_id, "sent", receipt.id)
    return receipt


def preview(hub: Hub, user: UserView, draft_id: int) -> tuple[str, bytes, int]:
    """The draft's PDF with this leader's visible stamp where signing will put it (Decree 30:
    the last page, right, above the bottom margin), unsigned; and that page (0-based)."""
    if user.role != "leader":
        raise Forbidden("only leaders sign", code="ROLE_NOT_LEADER")
    if not user.signer_id:
        raise Rejected(
            "Tài khoản lãnh đạo chưa gắn khóa ký (axis user add … --signer ID)."
            " (No signing key is set for this leader.)",
            code="LEADER_NO_SIGNER",
        )
    with hub.db.read() as session:
        draft = _mine(session, user, draft_id, "awaiting")
        if draft.leader_id != user.id:
            raise NotFound("no such draft", code="DRAFT_NOT_FOUND")
        fields, name, pdf = dict(draft.fields), draft.pdf_name, draft.pdf
    number = f"{fields.get('number', '')}/{fields.get('notation', '')}"
    stamped, page = signers.preview(hub.signers, user.signer_id, pdf, number=number)
    return name, stamped, page


def refuse(hub: Hub, user: UserView, draft_id: int, note: str) -> None:
    with hub.db.read() as session:
        draft = _mine(session, user, draft_id, "awaiting")
        if draft.leader_id != user.id:
            raise NotFound("no such draft", code="DRAFT_NOT_FOUND")
    _decided(hub, draft_id, "refused", None, note[:2000])
