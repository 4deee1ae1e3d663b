"""Each signature of a validation report in plain words, for a clerk (Vietnamese, English)."""

from __future__ import annotations

from axis.console.web import vn_time

# ETSI EN 319 102-1 sub-indications, as a clerk needs to hear them.
WHY: dict[str, tuple[str, str]] = {
    "HASH_FAILURE": (
        "nội dung văn bản đã bị thay đổi sau khi ký",
        "the document was changed after it was signed",
    ),
    "SIG_CRYPTO_FAILURE": ("chữ ký bị hỏng, không kiểm tra được", "the signature is broken"),
    "REVOKED": ("chứng thư số của người ký đã bị thu hồi", "the signer's certificate was revoked"),
    "REVOKED_NO_POE": (
        "chứng thư số của người ký đã bị thu hồi",
        "the signer's certificate was revoked",
    ),
    "REVOKED_CA_NO_POE": (
        "chứng thư của tổ chức cấp đã bị thu hồi",
        "a certificate authority in the chain was revoked",
    ),
    "NO_CERTIFICATE_CHAIN_FOUND": (
        "chứng thư số không do tổ chức được tin cậy cấp",
        "the certificate was not issued by a trusted authority",
    ),
    "CERTIFICATE_CHAIN_GENERAL_FAILURE": (
        "không kiểm tra được chuỗi chứng thư",
        "the certificate chain could not be checked",
    ),
    "CHAIN_CONSTRAINTS_FAILURE": ("chuỗi chứng thư không hợp lệ", "the chain is not valid"),
    "OUT_OF_BOUNDS_NO_POE": (
        "chứng thư số đã hết hạn hoặc chưa có hiệu lực khi ký",
        "the certificate was expired or not yet valid",
    ),
    "OUT_OF_BOUNDS_NOT_REVOKED": (
        "chứng thư số đã hết hạn khi kiểm tra",
        "the certificate has expired",
    ),
    "TRY_LATER": (
        "chưa lấy được thông tin thu hồi chứng thư; thử lại sau",
        "revocation information was not available yet",
    ),
    "REVOCATION_OUT_OF_BOUNDS_NO_POE": (
        "thông tin thu hồi chứng thư đã cũ",
        "the revocation information is out of date",
    ),
    "CRYPTO_CONSTRAINTS_FAILURE": (
        "thuật toán ký quá yếu",
        "the signing algorithm is too weak",
    ),
    "CRYPTO_CONSTRAINTS_FAILURE_NO_POE": (
        "thuật toán ký quá yếu",
        "the signing algorithm is too weak",
    ),
    "SIG_CONSTRAINTS_FAILURE": (
        "chữ ký không đáp ứng yêu cầu (mục đích sử dụng khóa, phạm vi ký)",
        "the signature does not meet the requirements (key usage, coverage)",
    ),
    "FORMAT_FAILURE": ("chữ ký không đúng định dạng", "the signature is malformed"),
    "SIGNED_DATA_NOT_FOUND": ("không tìm thấy phần được ký", "the signed data was not found"),
}
VERDICT = {
    "TOTAL_PASSED": ("passed", ("Hợp lệ", "Valid")),
    "TOTAL_FAILED": ("failed", ("Không hợp lệ", "Not valid")),
    "INDETERMINATE": ("indeterminate", ("Chưa xác định được", "Could not be decided")),
}


def explain(sig: dict, lang: str) -> dict:
    """{css, verdict, sentence, findings} of one signature of a stored report."""
    i = 1 if lang == "en" else 0
    css, words = VERDICT.get(
        sig.get("indication") or "", ("indeterminate", VERDICT["INDETERMINATE"][1])
    )
    signer = sig.get("signer") or {}
    who = signer.get("common_name") or signer.get("subject") or ("?" if i else "không rõ")
    org = signer.get("organization")
    when = sig.get("timestamp_time") or sig.get("signing_time")
    proven = bool(sig.get("timestamp_time"))
    if sig.get("kind") == "document_timestamp":
        who_part = ("Dấu thời gian của văn bản", "A document timestamp")[i]
    else:
        who_part = (f"Ký bởi {who}", f"Signed by {who}")[i] + (f" ({org})" if org else "")
    if when:
        stamp = vn_time(when)
        who_part += (
            f", lúc {stamp}" + (" (có dấu thời gian)" if proven else " (theo máy người ký)"),
            f", at {stamp}" + (" (timestamped)" if proven else " (the signer's clock)"),
        )[i]
    sub = sig.get("sub_indication")
    if css == "passed":
        reason = (
            "Chữ ký nguyên vẹn, chứng thư số do tổ chức tin cậy cấp và còn hiệu lực.",
            "The signature is intact; the certificate is trusted and valid.",
        )[i]
    else:
        reason = WHY.get(sub or "", (sub or "không rõ lý do", sub or "no reason given"))[i]
        reason = reason[0].upper() + reason[1:] + "."
    return {
        "css": css,
        "verdict": words[i],
        "sentence": f"{who_part}. {reason}",
        "findings": sig.get("findings") or [],
        "level": sig.get("pades_level"),
    }


def documents(report: dict) -> list[dict]:
    """The PDFs of a stored report (messages' `signatures` report), each with its signatures."""
    return list(((report or {}).get("signatures") or {}).get("documents") or [])
