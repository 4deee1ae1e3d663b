"""What real agency systems send, end to end through POST /v1/messages: statuses in the
national SDK's shape and in the older shapes, attachments zipped the SDK's way or in a
non-standard container, agency codes in lower case, and attachments that cannot be read."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile

from sqlalchemy import func, select

from archive import catalog
from axis.adapters.tables import Message
from formats import edxml
from formats.model import StatusPackage
from tests.factories import make_attachment, make_status
from tests.hub.conftest import RECIPIENTS, SENDER, document


def _bare_status(code: str, sender: str, document_id: str) -> bytes:
    """A status in the older bare <Status> shape, which the SDK's systems cannot read."""
    pkg = make_status(code, sender=sender, document_id=document_id)
    national = edxml.build_status(pkg).decode()
    start = national.index("<edXML:From>")
    end = national.index("</edXML:MessageHeader>")
    ns = f'xmlns:edXML="{edxml.EDXML_NS}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<edXML:Status {ns}>'
        f"{national[start:end]}</edXML:Status>"
    ).encode()


def test_a_status_in_an_older_shape_is_relayed_in_the_national_shape(sender, recipients):
    receipt = sender.send(document()).json()
    body = _bare_status("05", recipients[0].code, receipt["document_id"])
    assert edxml.parse(body).package.shape == "status"
    response = recipients[0].send(body)
    assert response.status_code == 202, response.text
    [item] = sender.inbox()
    relayed = sender.http.get(f"/v1/messages/{item['id']}").content
    assert relayed.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<edXML:edXML ')
    pkg = edxml.parse(relayed).package
    assert isinstance(pkg, StatusPackage) and pkg.shape == "edxml"
    assert (pkg.status_code, pkg.sender.organ_id) == ("05", recipients[0].code)
    assert pkg.response_for.document_id == receipt["document_id"]
    # The bytes the agency sent stay the resend key: the same package again is a resend.
    again = recipients[0].send(body)
    assert again.status_code == 200 and again.json()["id"] == response.json()["id"]


def test_a_national_status_from_a_recipient_reaches_the_documents_sender(sender, recipients):
    receipt = sender.send(document()).json()
    body = edxml.build_status(make_status("03", recipients[1].code, receipt["document_id"]))
    assert recipients[1].send(body).status_code == 202
    [item] = sender.inbox()
    assert (item["kind"], item["status_code"], item["from"]) == ("status", "03", recipients[1].code)
    assert sender.http.get(f"/v1/messages/{item['id']}").content == body
    assert recipients[0].inbox()[0]["kind"] == "edoc"  # the other recipient gets nothing new
    assert len(recipients[0].inbox()) == 1


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_an_attachment_zipped_the_sdk_way_is_archived_as_sent_and_by_entry(
    live_hub, sender, recipients
):
    word = b"\xd0\xcf\x11\xe0" + "Biên bản họp".encode() * 50
    zipped = _zip("3ed3cc90-1dcb-4382-9725-1de9cd899790.doc", word)
    pkg_bytes = document(
        attachments=[
            make_attachment(content_id="main"),
            make_attachment("bien-ban.doc", zipped, "application/zip", content_id="bb"),
        ]
    )
    response = sender.send(pkg_bytes)
    assert response.status_code == 202, response.text
    with live_hub.hub.db.read() as session:
        objects = {
            row["name"]: row
            for row in session.execute(select(catalog.objects)).mappings()
            if row["role"] in (catalog.ATTACHMENT, catalog.ENTRY)
        }
    sent = objects["bien-ban.doc.zip"]
    assert (sent["role"], sent["content_type"]) == (catalog.ATTACHMENT, "application/zip")
    assert sent["sha256"] == hashlib.sha256(zipped).hexdigest()
    entry = objects["3ed3cc90-1dcb-4382-9725-1de9cd899790.doc"]
    assert (entry["role"], entry["content_type"]) == (catalog.ENTRY, "application/msword")
    assert entry["sha256"] == hashlib.sha256(word).hexdigest()
    assert live_hub.hub.store.get(entry["sha256"]) == word
    # The recipient gets the package as sent, zip and all.
    item = recipients[0].inbox()[0]
    assert recipients[0].http.get(f"/v1/messages/{item['id']}").content == pkg_bytes


def test_attachments_in_edxmlattachments_are_kept(live_hub, sender, recipients):
    text = "Biên bản".encode()
    xml = document(attachments=[]).decode()
    container = (
        "<edXML:edXMLAttachments><edXML:Attachment>"
        "<edXML:AttachmentName>bien-ban.txt</edXML:AttachmentName>"
        "<edXML:AttachmentType>TXT</edXML:AttachmentType>"
        f"<edXML:AttachmentSize>{len(text)}</edXML:AttachmentSize>"
        f"<edXML:AttachmentData>{base64.b64encode(text).decode()}</edXML:AttachmentData>"
        "</edXML:Attachment></edXML:edXMLAttachments></edXML:edXMLEnvelope>"
    )
    response = sender.send(xml.replace("</edXML:edXMLEnvelope>", container).encode())
    assert response.status_code == 202, response.text
    codes = {f["code"] for f in response.json()["findings"]}
    assert "EDXML_NONSTANDARD_ATTACHMENTS" in codes
    with live_hub.hub.db.read() as session:
        [row] = [
            r
            for r in session.execute(select(catalog.objects)).mappings()
            if r["role"] == catalog.ATTACHMENT
        ]
    assert (row["name"], row["content_type"]) == ("bien-ban.txt", "text/plain")
    assert row["sha256"] == hashlib.sha256(text).hexdigest()


def test_agency_codes_are_compared_without_regard_to_case(sender, recipients):
    body = document().decode()
    body = body.replace(f">{SENDER}<", f">{SENDER.lower()}<")
    body = body.replace(f">{RECIPIENTS[0]}<", f">{RECIPIENTS[0].lower()}<")
    response = sender.send(body.encode())
    assert response.status_code == 202, response.text
    assert [i["kind"] for i in recipients[0].inbox()] == ["edoc"]
    assert sender.send(body.encode()).status_code == 200  # a resend, whatever the case


def test_an_attachment_that_cannot_be_read_refuses_the_package_and_stores_nothing(
    live_hub, sender, recipients
):
    good = document().decode()
    start = good.index("<edXML:ContentTransferEncoded>") + len("<edXML:ContentTransferEncoded>")
    end = good.index("</edXML:ContentTransferEncoded>")
    truncated = _zip("QD.pdf", b"%PDF-1.7 " * 200)[:-30]
    cases = {
        "EDXML_BAD_BASE64": "JVBERi0x!!!",
        "EDXML_BAD_ZIP": base64.b64encode(truncated).decode(),
    }
    for code, payload in cases.items():
        body = good[:start] + payload + good[end:]
        if code == "EDXML_BAD_ZIP":
            body = body.replace(">application/pdf<", ">application/zip<").replace(
                ">QD-15-UBND.pdf<", ">QD-15-UBND.doc<"
            )
        response = sender.send(body.encode())
        assert response.status_code == 422, response.text
        assert code in [f["code"] for f in response.json()["findings"]]
    with live_hub.hub.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
        assert session.scalar(select(func.count()).select_from(catalog.records)) == 0
    assert recipients[0].inbox() == []
