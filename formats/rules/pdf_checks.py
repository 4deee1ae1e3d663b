"""The PDF against the envelope: national title, motto, "Số:", place and date, signer, A4.

Texts are compared as keys (NFC, case, whitespace, tone placement; see text.py) because the
text layer's spacing depends on the program that made the PDF, not on the clerk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from formats.model import DocumentPackage
from formats.rules.envelope import as_date, fmt
from formats.rules.legacy_encoding import decode_tcvn3, detect_legacy, has_vietnamese
from formats.rules.pdf_text import MIN_TEXT_CHARS, PdfText
from formats.rules.report import FindingList
from formats.rules.symbols import check_notation, check_number, expected_number
from formats.rules.text import ascii_fold, key, nfc

NATIONAL_TITLE = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

A4 = (595.28, 841.89)  # points
# ±5 mm on each side. ISO 216 allows ±2 mm for cut paper, but a scan is not the sheet: scanners
# crop to their scan area or to the detected paper edge and round to their own units, and real
# scanned A4 pages come out as 592 × 831 pt (209 × 293 mm). The nearest other office sizes stay
# far outside: US Letter (216 × 279 mm) is 18 mm short, Folio/F4 (215 × 330 mm) 33 mm long,
# B5 (176 × 250 mm) and A5 are smaller still.
A4_TOLERANCE = 5 / 25.4 * 72  # 14.2 pt

TEXT_RULES = (
    "RULE_PDF_NATIONAL_TITLE",
    "RULE_PDF_MOTTO",
    "RULE_PDF_NUMBER_LINE",
    "RULE_PDF_PLACE_DATE",
    "RULE_PDF_SIGNER_NAME",
)
ALL_PDF_RULES = (*TEXT_RULES, "RULE_PDF_PAGE_SIZE", "RULE_PDF_NO_TEXT", "RULE_PDF_LEGACY_ENCODING")

_NUMBER_LINE = re.compile(
    r"\bs(?:ố|o)\s*:\s*(?P<num>\d*)\s*/\s*(?P<sym>[^\W_]+(?:&[^\W_]+)*(?:\s*[-/]\s*[^\W_]+(?:&[^\W_]+)*)*)",
    re.IGNORECASE,
)
_DATE_LINE = re.compile(
    r"ng(?:à|a)y\s*(?P<d>\d{1,2})\s*th(?:á|a)ng\s*(?P<m>\d{1,2})\s*n(?:ă|a)m\s*(?P<y>\d{4})",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                         "\u2014": "-", "\u2212": "-"})  # fmt: skip


def check_pdf(
    pkg: DocumentPackage | None, text: PdfText | None, path: str, out: FindingList
) -> None:
    """Cross-check the main PDF; with `pkg` None (a bare PDF) check its form only."""
    if not out.enabled(*ALL_PDF_RULES, "RULE_PDF_UNREADABLE"):
        return
    if text is None:
        out.not_checked(ALL_PDF_RULES, path, "the package carries no PDF to compare with.")
        return
    if text.error:
        out.add("RULE_PDF_UNREADABLE", path, f"The PDF could not be read: {text.error}.")
        out.not_checked(ALL_PDF_RULES, path, "the PDF could not be read.")
        return
    check_page_size(text, path, out)
    if not text.has_text:
        out.add(
            "RULE_PDF_NO_TEXT",
            f"{path}/page[1]",
            "The PDF has no text layer (a scanned image?), so the national title, motto, "
            '"Số:" line, place and date and signer\'s name could not be checked: send the '
            "PDF exported from the word processor, not a scan.",
        )
        return
    sign_page = text.signature_page or text.page_count
    first, last = nfc(text.first_page), nfc(text.signature_text or text.last_page)
    if not _has_chars(first):
        out.add(
            "RULE_PDF_NO_TEXT",
            f"{path}/page[1]",
            "Page 1 has no text layer (a scanned page?), so the national title, motto, "
            '"Số:" line and place and date could not be checked.',
        )
    legacy = detect_legacy(first + last)
    if legacy:
        sample = _legacy_sample(first)
        if legacy == "TCVN3":
            first, last = decode_tcvn3(first), decode_tcvn3(last)
            decoded = decode_tcvn3(sample)
            if sample and all(c.isupper() for c in sample if c.isascii() and c.isalpha()):
                decoded = decoded.upper()  # capitals come from ".VnTimeH" fonts: same slots
            shown = f' ("{sample}" is TCVN3 for "{decoded}")' if sample else ""
            rest = "The text was decoded from TCVN3 to check the rest."
        else:
            shown = f' ("{sample}")' if sample else ""
            rest = "The text cannot be checked until it is Unicode."
        out.add(
            "RULE_PDF_LEGACY_ENCODING",
            f"{path}/page[1]",
            f"The PDF text is in the old {legacy} encoding{shown} (fonts such as .VnTime or "
            "VNI-Times). Decree 30/2020 requires Unicode fonts (TCVN 6909:2001, e.g. Times "
            f"New Roman): convert the document to Unicode and export the PDF again. {rest}",
        )
        if legacy == "VNI":
            out.not_checked(TEXT_RULES, f"{path}/page[1]", "the text is in the VNI encoding.")
            return
    # Standard PDF fonts carry no Vietnamese: such a text layer reads "CONG HOA XA HOI". Say so
    # once and compare without diacritics, rather than report every line as missing.
    fold = (
        not legacy and not has_vietnamese(first) and ascii_fold(NATIONAL_TITLE) in ascii_fold(first)
    )
    if fold:
        out.add(
            "RULE_PDF_LEGACY_ENCODING",
            f"{path}/page[1]",
            'The PDF text has no Vietnamese diacritics ("CONG HOA XA HOI CHU NGHIA VIET NAM"): '
            "its fonts are not Unicode Vietnamese fonts. Decree 30/2020 requires Unicode fonts "
            "(e.g. Times New Roman); the rest was compared without diacritics.",
            severity="warning",
        )
    k = ascii_fold if fold else key
    first_key = k(first)
    page1 = _has_chars(first)
    if page1 and k(NATIONAL_TITLE) not in first_key:
        out.add(
            "RULE_PDF_NATIONAL_TITLE",
            f"{path}/page[1]",
            f'Page 1 lacks the national title "{NATIONAL_TITLE}" (Quốc hiệu).',
        )
    if page1 and k(MOTTO) not in first_key:
        out.add(
            "RULE_PDF_MOTTO",
            f"{path}/page[1]",
            f'Page 1 lacks the motto "{MOTTO}" (Tiêu ngữ).',
        )
    if page1:
        check_number_line(pkg, first, f"{path}/page[1]", out, fold, text.first_page_stamps)
        check_place_date(pkg, first, f"{path}/page[1]", out, k)
    if _has_chars(last):
        check_signer_name(pkg, last, f"{path}/page[{sign_page}]", out, k)
    else:
        out.not_checked(
            "RULE_PDF_SIGNER_NAME",
            f"{path}/page[{sign_page}]",
            "the signature page has no text layer (a scanned page?).",
        )


def _has_chars(text: str) -> bool:
    return len("".join(text.split())) >= MIN_TEXT_CHARS


def _legacy_sample(text: str) -> str:
    for line in text.splitlines():
        if detect_legacy(line):
            return _SPACES.sub(" ", line).strip()[:60]
    return ""


def check_page_size(text: PdfText, path: str, out: FindingList) -> None:
    if not out.enabled("RULE_PDF_PAGE_SIZE"):
        return
    bad = [
        (i, w, h)
        for i, (w, h) in enumerate(text.page_sizes, 1)
        if not _is_a4(w, h) and not _is_a4(h, w)  # landscape is allowed for tables
    ]
    if bad:
        i, w, h = bad[0]
        more = f" (cả thảy {len(bad)} trang)" if len(bad) > 1 else ""
        out.add(
            "RULE_PDF_PAGE_SIZE",
            f"{path}/page[{i}]",
            f"Trang {i} khổ {w / 72 * 25.4:.0f} × {h / 72 * 25.4:.0f} mm{more}; Nghị định "
            "30/2020 quy định khổ A4 (210 × 297 mm, sai lệch tối đa 5 mm), trình bày theo "
            "chiều dài, hoặc chiều rộng cho bảng biểu: xuất lại văn bản ra PDF khổ A4. "
            "(Decree 30 requires A4, portrait or landscape.)",
        )


def _is_a4(w: float, h: float) -> bool:
    return abs(w - A4[0]) <= A4_TOLERANCE and abs(h - A4[1]) <= A4_TOLERANCE


def check_number_line(
    pkg: DocumentPackage | None,
    first: str,
    path: str,
    out: FindingList,
    fold: bool = False,
    stamps: tuple[str, ...] = (),
) -> None:
    codes = ("RULE_PDF_NUMBER_LINE", "RULE_NUMBER_LEADING_ZERO", "RULE_NUMBER_SPACES")
    if not out.enabled(*codes):
        return
    text = first.translate(_DASHES)
    m = _NUMBER_LINE.search(text)
    expected = f"{pkg.code.number.strip()}/{nfc(pkg.code.notation).strip()}" if pkg else ""
    if pkg is not None and (split := _split_by_layout(text, pkg, m)):
        # The text layer spaced the glyphs ("Q Đ-UBND"): the printed line is the envelope's.
        _leading_zero(*split, path, out)
        return
    if not m:
        out.add(
            "RULE_PDF_NUMBER_LINE",
            path,
            'Page 1 has no "Số: …/…" line (number and symbol)'
            + (f'; the envelope says "{expected}".' if expected else "."),
        )
        return
    raw_num, raw_sym = m["num"], m["sym"]
    if not raw_num:
        # "Số:   /QĐ-UBND" printed, the number stamped over the gap in an annotation by the
        # clerk's signing tool when the document was numbered after the leader signed.
        raw_num = next((n for t in stamps if (n := _stamped_number(t))), "")
    shown = f"{raw_num}/{raw_sym}"
    symbol = _SPACES.sub("", raw_sym)
    if symbol != raw_sym:
        out.add(
            "RULE_NUMBER_SPACES",
            path,
            f'Số: "{shown}" on page 1 — no spaces in the symbol: "{raw_num}/{symbol}".',
        )
    if not raw_num:
        out.add(
            "RULE_PDF_NUMBER_LINE",
            path,
            f'Page 1 reads "Số: /{symbol}": the number was never filled in'
            + (f' (the envelope says "{expected}").' if expected else "."),
        )
        return
    _leading_zero(raw_num, symbol, path, out)
    if pkg is None:
        # A bare PDF: the symbol is all there is to check.
        # (the leading zero is judged above, as an error: the printed form is final)
        check_number(expected_number(raw_num) if int(raw_num) else raw_num, symbol, path, out)
        check_notation(raw_num, symbol, None, path, out)
        return
    env_num = pkg.code.number.strip()
    same_number = env_num.isdigit() and int(env_num) == int(raw_num)
    env_symbol = nfc(pkg.code.notation).strip()
    same_symbol = ascii_fold(symbol) == ascii_fold(env_symbol) if fold else symbol == env_symbol
    if not same_number or not same_symbol:
        out.add(
            "RULE_PDF_NUMBER_LINE",
            path,
            f'Page 1 reads "Số: {raw_num}/{symbol}" but the envelope Code is "{expected}": '
            "the metadata must match the document.",
        )


_STAMPED_NUMBER = re.compile(r"^(?:s(?:ố|o)\s*:?\s*)?(\d{1,6})\s*/?$", re.IGNORECASE)


def _stamped_number(stamp: str) -> str:
    m = _STAMPED_NUMBER.match(_SPACES.sub(" ", nfc(stamp)).strip())
    return m.group(1) if m else ""


def _leading_zero(number: str, symbol: str, path: str, out: FindingList) -> None:
    if int(number) > 0 and number != (want := expected_number(number)):
        why = (
            "số dưới 10 phải ghi thêm số 0 phía trước"
            if int(number) < 10
            else "không ghi số 0 phía trước số từ 10 trở lên"
        )
        out.add(
            "RULE_NUMBER_LEADING_ZERO",
            path,
            f'Trang 1 ghi Số: "{number}/{symbol}" — {why} (Nghị định 30/2020, Phụ lục I): '
            f'sửa thành "{want}/{symbol}". (Decree 30: numbers below 10 take one leading zero.)',
            severity="error",  # the printed document itself breaks Decree 30 here
        )


_SO = re.compile(r"\bs(?:ố|o)\s*:", re.IGNORECASE)


def _split_by_layout(
    text: str, pkg: DocumentPackage, m: re.Match[str] | None
) -> tuple[str, str] | None:
    """(number, symbol) when the "Số:" line equals the envelope only once spaces are removed and
    the regular reading did not already find it equal; None otherwise."""
    env_num, env_symbol = pkg.code.number.strip(), nfc(pkg.code.notation).strip()
    if not env_num.isdigit() or not env_symbol:
        return None
    if m and m["num"] and int(m["num"]) == int(env_num) and m["sym"] == env_symbol:
        return None  # read normally: the usual checks apply
    forms = dict.fromkeys((env_num, expected_number(env_num), str(int(env_num))))
    wanted = _SPACES.sub("", env_symbol)
    for so in _SO.finditer(text):
        end = text.find("\n", so.end())
        rest = _SPACES.sub("", text[so.end() : end if end >= 0 else len(text)])
        for number in forms:
            if rest.startswith(f"{number}/{wanted}") and (m is None or " " not in m["sym"]):
                return number, wanted
    return None


def check_place_date(
    pkg: DocumentPackage | None, first: str, path: str, out: FindingList, k: Callable = key
) -> None:
    if not out.enabled("RULE_PDF_PLACE_DATE", "RULE_DATE_INVALID"):
        return
    # The place-and-date line is "Place, ngày …": prefer a date after a comma (the body also
    # cites dates, "Luật … ngày 19 tháng 6 năm 2015").
    m, before = None, ""
    for found in _DATE_LINE.finditer(first):
        line = first[first.rfind("\n", 0, found.start()) + 1 : found.start()].rstrip()
        if m is None or line.endswith(","):
            m, before = found, line.rstrip(", ")
            if line.endswith(","):
                break
    promulgated, _ = as_date(pkg.promulgation.date) if pkg else (None, True)
    if m is None:
        want = (
            f" (expected {_date_line(pkg.promulgation.place, promulgated)})"
            if (pkg and promulgated)
            else ""
        )
        out.add(
            "RULE_PDF_PLACE_DATE",
            path,
            f'Page 1 has no place-and-date line such as "Hà Nội, ngày 05 tháng 01 năm 2020"{want}.',
        )
        return
    d, mth, y = m["d"], m["m"], m["y"]
    shown = _SPACES.sub(" ", f"{before}, {m.group(0)}" if before else m.group(0)).strip()
    try:
        printed = date(int(y), int(mth), int(d))
    except ValueError:
        out.add("RULE_DATE_INVALID", path, f'Page 1 is dated "{shown}", which is not a real date.')
        return
    want_d = f"{printed.day:02d}" if printed.day < 10 else str(printed.day)
    want_m = f"{printed.month:02d}" if printed.month <= 2 else str(printed.month)
    # Months 3-12 may be written "3" or "03": Decree 30 prescribes the zero only for 1 and 2.
    if d != want_d or (printed.month <= 2 and mth != want_m):
        out.add(
            "RULE_PDF_PLACE_DATE",
            path,
            f'"{shown}" — days below 10 and months 1 and 2 take a leading zero: '
            f'"ngày {want_d} tháng {want_m if printed.month <= 2 else mth} năm {y}".',
        )
    if pkg is None:
        return
    if promulgated and printed != promulgated:
        out.add(
            "RULE_PDF_PLACE_DATE",
            path,
            f'Page 1 is dated "{shown}" but PromulgationDate is {fmt(promulgated)}: the '
            "metadata must match the document.",
        )
    place = pkg.promulgation.place.strip()
    if place and not k(before).endswith(k(place)):
        out.add(
            "RULE_PDF_PLACE_DATE",
            path,
            f'Page 1 reads "{shown}" but the envelope Place is "{place}".',
            severity="warning",  # "TP. Hồ Chí Minh" and "Thành phố Hồ Chí Minh" are one place
        )


def _date_line(place: str, d: date) -> str:
    day = f"{d.day:02d}" if d.day < 10 else str(d.day)
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return f'"{place}, ngày {day} tháng {month} năm {d.year}"'


def check_signer_name(
    pkg: DocumentPackage | None, last: str, path: str, out: FindingList, k: Callable = key
) -> None:
    if not out.enabled("RULE_PDF_SIGNER_NAME"):
        return
    if pkg is None:
        out.not_checked(
            "RULE_PDF_SIGNER_NAME", path, "a bare PDF names no signer (check the package)."
        )
        return
    name = _SPACES.sub(" ", nfc(pkg.signer.full_name)).strip()
    if name and k(name) not in k(last):
        page = path.rsplit("[", 1)[-1].rstrip("]")
        out.add(
            "RULE_PDF_SIGNER_NAME",
            path,
            f'Trang {page} (trang có chữ ký) không ghi họ tên người ký "{name}" như '
            "SignerInfo/FullName: kiểm tra họ tên dưới chữ ký. (The signature page does not "
            "show the signer's name.)",
        )
