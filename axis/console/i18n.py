"""The console's words in Vietnamese (first) and English. A missing key shows itself."""

from __future__ import annotations

from collections.abc import Callable

LANGS = ("vi", "en")

WORDS: dict[str, tuple[str, str]] = {
    "app": ("axis · Trục liên thông văn bản", "axis · Document exchange hub"),
    "skip": ("Bỏ qua đến nội dung chính", "Skip to main content"),
    "sign_in": ("Đăng nhập", "Sign in"),
    "sign_out": ("Đăng xuất", "Sign out"),
    "user_name": ("Tên đăng nhập", "User name"),
    "password": ("Mật khẩu", "Password"),
    "language": ("English", "Tiếng Việt"),
    "totp": ("Mã xác thực", "Authentication code"),
    "totp_hint": (
        "Chỉ khi tài khoản có xác thực hai lớp: mã 6 số trong ứng dụng xác thực.",
        "Only for accounts with a second factor: the 6 digits of your authenticator app.",
    ),
    "sign_in_sso": ("Đăng nhập bằng tài khoản định danh", "Sign in with single sign-on"),
    "inbox": ("Văn bản đến", "Inbox"),
    "sent": ("Văn bản đi", "Sent"),
    "compose": ("Soạn và gửi", "Compose"),
    "drafts": ("Chờ ký", "Awaiting signature"),
    "archive": ("Lưu trữ", "Archive"),
    "stats": ("Thống kê", "Statistics"),
    "agencies": ("Cơ quan", "Agencies"),
    "systems": ("Hệ thống kết nối", "Connected systems"),
    "users": ("Người dùng", "Users"),
    "webhooks": ("Webhook", "Webhooks"),
    "deadletters": ("Gửi đẩy thất bại", "Dead letters"),
    "trust": ("Danh sách tin cậy", "Trust list"),
    "upstream": ("Trục cấp trên", "Upstream hub"),
    "search": ("Tìm kiếm", "Search"),
    "filter": ("Lọc", "Filter"),
    "sender": ("Nơi gửi", "Sender"),
    "recipient": ("Nơi nhận", "Recipient"),
    "recipients": ("Nơi nhận", "Recipients"),
    "from_date": ("Từ ngày", "From"),
    "to_date": ("Đến ngày", "To"),
    "status": ("Trạng thái", "Status"),
    "any": ("Tất cả", "Any"),
    "unread": ("Chưa xác nhận", "Not acknowledged"),
    "acked": ("Đã xác nhận", "Acknowledged"),
    "overdue": ("Quá hạn", "Overdue"),
    "words": ("Từ khóa", "Words"),
    "subject": ("Trích yếu", "Subject"),
    "number": ("Số, ký hiệu", "Number and symbol"),
    "received_at": ("Thời gian nhận", "Received"),
    "sent_at": ("Thời gian gửi", "Sent"),
    "due": ("Hạn xử lý", "Due"),
    "none": ("Không có", "None"),
    "document": ("Văn bản", "Document"),
    "envelope": ("Thông tin văn bản", "Envelope"),
    "type": ("Loại văn bản", "Type"),
    "place_date": ("Địa danh, ngày ban hành", "Place and date"),
    "signer": ("Người ký", "Signer"),
    "priority": ("Độ khẩn", "Priority"),
    "files": ("Tệp đính kèm", "Files"),
    "signatures": ("Chữ ký số", "Signatures"),
    "findings": ("Kết quả kiểm tra thể thức", "Clerical findings"),
    "timeline": ("Quá trình xử lý", "Timeline"),
    "acknowledge": ("Xác nhận đã nhận", "Acknowledge"),
    "send_status": ("Gửi trạng thái", "Send status"),
    "note": ("Ghi chú", "Note"),
    "send": ("Gửi", "Send"),
    "check": ("Kiểm tra trước khi gửi", "Check before sending"),
    "main_pdf": ("Văn bản chính (PDF đã ký)", "Main document (signed PDF)"),
    "attachments": ("Phụ lục, tệp kèm theo", "Attachments"),
    "code_number": ("Số", "Number"),
    "code_notation": ("Ký hiệu", "Symbol"),
    "type_name": ("Tên loại", "Type name"),
    "place": ("Địa danh", "Place"),
    "date": ("Ngày ban hành", "Date"),
    "competence": ("Thẩm quyền ký", "Competence"),
    "position": ("Chức vụ", "Position"),
    "full_name": ("Họ và tên", "Full name"),
    "directory_hint": (
        "Gõ tên hoặc mã cơ quan; chọn từ danh sách gợi ý. Nhiều nơi nhận: cách nhau bằng dấu phẩy.",
        "Type an agency's name or code and pick it; several recipients: separate with commas.",
    ),
    "progress": ("Tiến độ từng nơi nhận", "Each recipient's progress"),
    "delivered": ("Đã chuyển", "Delivered"),
    "fetched": ("Đã tải", "Fetched"),
    "record": ("Hồ sơ lưu trữ", "Archival record"),
    "download": ("Tải về", "Download"),
    "export": ("Xuất gói BagIt", "Export BagIt"),
    "audit": ("Kiểm tra toàn vẹn", "Fixity audit"),
    "objects": ("Thành phần", "Objects"),
    "access_log": ("Nhật ký truy cập", "Access log"),
    "retry": ("Gửi lại", "Retry"),
    "add": ("Thêm", "Add"),
    "disable": ("Vô hiệu hóa", "Disable"),
    "reset_password": ("Cấp lại mật khẩu", "Reset password"),
    "role": ("Vai trò", "Role"),
    "agency": ("Cơ quan", "Agency"),
    "name": ("Tên", "Name"),
    "code": ("Mã", "Code"),
    "active": ("Hoạt động", "Active"),
    "url": ("Địa chỉ", "URL"),
    "sign": ("Ký số và gửi", "Sign and send"),
    "submit_for_signing": ("Trình ký", "Submit for signing"),
    "leader": ("Lãnh đạo ký", "Leader"),
    "back": ("Quay lại", "Back"),
    "error": ("Không thực hiện được", "Could not be done"),
    "what_to_fix": ("Cần sửa", "What to fix"),
    "results": ("kết quả", "results"),
    "more": ("Trang sau", "Next page"),
    "open": ("Mở", "Open"),
    "home": ("Trang chủ", "Home"),
    "valid": ("Hợp lệ", "Valid"),
    "invalid": ("Không hợp lệ", "Not valid"),
    "undetermined": ("Chưa xác định", "Undetermined"),
    "sent_ok": ("Đã gửi văn bản", "The document was sent"),
    "preview": ("Xem trước chữ ký", "Preview of the signature"),
    "page": ("trang", "page"),
    "stamp_where": (
        "Chữ ký số của lãnh đạo sẽ hiện ở đây, như Nghị định 30/2020 quy định: trang cuối, bên"
        " phải, dưới nội dung — chức vụ, hình chữ ký, họ và tên. Bản xem trước này chưa được ký.",
        "The leader's signature will appear here, as Decree 30/2020 places it: the last page,"
        " on the right, below the text — position, signature image, full name. This preview"
        " is not signed.",
    ),
    "actions": ("Thao tác", "Actions"),
    "changes": ("Thu hồi, cập nhật, thay thế", "Revoke, update, replace"),
    "change:revoke": ("Thu hồi văn bản", "Revoke the document"),
    "change:update": ("Cập nhật văn bản", "Update the document"),
    "change:replace": ("Thay thế văn bản", "Replace the document"),
    "change_hint:revoke": (
        "Các nơi nhận được đề nghị thu hồi (trạng thái 13) và trả lời đồng ý hoặc từ chối."
        " Sau khi thu hồi, văn bản không cập nhật hay thay thế được nữa.",
        "The recipients are asked to recall it (status 13) and answer 15 or 16. A revoked"
        " document can no longer be updated or replaced.",
    ),
    "change_hint:update": (
        "Giữ nguyên số, ký hiệu; gửi lại trích yếu, hạn xử lý, độ khẩn và (nếu chọn) tệp mới"
        " tới các nơi nhận cũ. Không chọn tệp: giữ tệp cũ.",
        "Keeps the number and symbol; sends the subject, due date, priority and (if chosen)"
        " new files to the same recipients. No file chosen: the files are kept.",
    ),
    "change_hint:replace": (
        "Một văn bản mới (số, ký hiệu mới, PDF đã ký mới) thay thế văn bản này ở các nơi nhận.",
        "A new document (new number, new signed PDF) replaces this one at its recipients.",
    ),
    "confirm:revoke": ("Xác nhận thu hồi", "Confirm the revocation"),
    "confirm:update": ("Xác nhận gửi bản cập nhật", "Confirm and send the update"),
    "confirm:replace": ("Xác nhận gửi văn bản thay thế", "Confirm and send the replacement"),
    "done:revoke": ("Đã gửi đề nghị thu hồi văn bản", "The revocation was sent"),
    "done:update": ("Đã gửi bản cập nhật", "The update was sent"),
    "done:replace": ("Đã gửi văn bản thay thế", "The replacement was sent"),
    "reason": ("Lý do", "Reason"),
    "original": ("Văn bản gốc", "Original document"),
    "revoked": ("Đã thu hồi", "Revoked"),
    "business:revoke": ("Thu hồi", "Revoke"),
    "business:update": ("Cập nhật", "Update"),
    "business:replace": ("Thay thế", "Replacement"),
    "confirm_hint": (
        "Kiểm tra kết quả dưới đây; văn bản chỉ được gửi khi bấm xác nhận.",
        "Read the results below; nothing is sent until you confirm.",
    ),
    "new_files_hint": (
        "Không bắt buộc: để trống thì giữ tệp của văn bản gốc.",
        "Optional: leave empty to keep the original's files.",
    ),
    "summary": ("Nội dung tóm tắt", "Summary"),
    "check_ok": ("Không có lỗi; có thể gửi.", "No errors: ready to send."),
    "check_errors": (
        "Có lỗi: hệ thống sẽ từ chối văn bản này.",
        "Errors: the hub would refuse it.",
    ),
}

STATUS_WORDS: dict[str, tuple[str, str]] = {
    "01": ("Đã đến", "Arrived"),
    "02": ("Từ chối", "Refused"),
    "03": ("Đã tiếp nhận, vào sổ", "Received and registered"),
    "04": ("Đã phân công xử lý", "Assigned for handling"),
    "05": ("Đang xử lý", "Being handled"),
    "06": ("Hoàn thành", "Completed"),
    "13": ("Đề nghị thu hồi", "Recall requested"),
    "15": ("Đồng ý thu hồi/cập nhật", "Recall or update accepted"),
    "16": ("Từ chối thu hồi/cập nhật", "Recall or update refused"),
}


def translator(lang: str) -> Callable[[str], str]:
    i = LANGS.index(lang) if lang in LANGS else 0

    def t(key: str) -> str:
        if key.startswith("status:"):
            pair = STATUS_WORDS.get(key[7:])
            return pair[i] if pair else key[7:]
        pair = WORDS.get(key)
        return pair[i] if pair else key

    return t
