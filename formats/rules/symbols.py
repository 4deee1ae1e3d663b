"""Number and symbol ("Số: 05/QĐ-UBND") checks, shared by the envelope and the PDF's "Số:" line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from formats.rules.doctypes import ABBREVIATIONS, DocType
from formats.rules.report import FindingList
from formats.rules.text import key, nfc

_YEAR = re.compile(r"^(\d{4})/")
# Letters of Vietnamese abbreviations ("QĐ", "TTr", "QyĐ", "BTTTT"), digits ("QH13"), and the "&"
# some agencies use ("KH&ĐT").
_SEGMENT = re.compile(r"^[^\W_]+(?:&[^\W_]+)*$")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Notation:
    year: str
    segments: tuple[str, ...]


def expected_number(number: str) -> str:
    """Decree 30 form of a sequence number: one leading zero below 10, none above."""
    value = int(number)
    return f"{value:02d}" if value < 10 else str(value)


def check_number(number: str, notation: str, path: str, out: FindingList) -> int | None:
    """Check CodeNumber; return its value when it is a number."""
    shown = f"{number}/{notation}"
    raw = nfc(number).strip()
    if _SPACE.search(raw):
        out.add("RULE_NUMBER_SPACES", path, f'Số: "{shown}" — the number must not contain spaces.')
        raw = _SPACE.sub("", raw)
    if not raw.isascii() or not raw.isdigit():
        out.add(
            "RULE_NUMBER_SYMBOL",
            path,
            f'Số: "{shown}" — the number must be the yearly sequence number in digits.',
        )
        return None
    value = int(raw)
    if value == 0:
        out.add("RULE_NUMBER_SYMBOL", path, f'Số: "{shown}" — the number cannot be 0.')
        return None
    want = expected_number(raw)
    if raw != want:
        why = (
            "số dưới 10 phải ghi thêm số 0 phía trước"
            if value < 10
            else "không ghi số 0 phía trước số từ 10 trở lên"
        )
        out.add(
            "RULE_NUMBER_LEADING_ZERO",
            path,
            f'Số: "{shown}" — {why} (Nghị định 30/2020, Phụ lục I): sửa thành '
            f'"{want}/{notation}". (Decree 30: numbers below 10 take one leading zero.)',
        )
    return value


def parse_notation(notation: str) -> Notation:
    text = _SPACE.sub("", nfc(notation).strip())
    year = ""
    if m := _YEAR.match(text):
        year, text = m.group(1), text[m.end() :]
    return Notation(year, tuple(text.split("-")))


def check_notation(
    number: str, notation: str, dtype: DocType | None, path: str, out: FindingList
) -> Notation:
    shown = f"{number}/{notation}"
    raw = nfc(notation).strip()
    if _SPACE.search(raw):
        fixed = _SPACE.sub("", raw)
        out.add(
            "RULE_NUMBER_SPACES",
            path,
            f'Số: "{shown}" — no spaces in the symbol: write "{number}/{fixed}".',
        )
    parsed = parse_notation(raw)
    bad = [s for s in parsed.segments if not _SEGMENT.match(s)]
    if bad:
        out.add(
            "RULE_NUMBER_SYMBOL",
            path,
            f'Số: "{shown}" — the symbol is abbreviations joined by "-" (e.g. "QĐ-UBND"); '
            f'"{bad[0] or "-"}" is not one.',
        )
        return parsed
    if dtype is None:
        return parsed
    first = parsed.segments[0]
    if dtype.abbreviation:  # admin types, and legal ones such as Nghị định "NĐ"
        if len(parsed.segments) < 2:
            out.add(
                "RULE_NUMBER_SYMBOL",
                path,
                f'Số: "{shown}" — after the type abbreviation "{dtype.abbreviation}" comes the '
                f'agency abbreviation: "{dtype.abbreviation}-UBND", for example.',
            )
        if first != dtype.abbreviation:
            looks = ABBREVIATIONS.get(first)
            if key(first) == key(dtype.abbreviation):
                out.add(
                    "RULE_TYPE_NOTATION_MISMATCH",
                    path,
                    f'Số: "{shown}" — a {dtype.name} is abbreviated exactly '
                    f'"{dtype.abbreviation}", not "{first}".',
                    severity="warning",
                )
            else:
                also = f' ("{first}" is a {looks.name})' if looks else ""
                out.add(
                    "RULE_TYPE_NOTATION_MISMATCH",
                    path,
                    f'Số: "{shown}" — a {dtype.name} takes the abbreviation '
                    f'"{dtype.abbreviation}" first{also}: "{number}/{dtype.abbreviation}-…".',
                )
    elif dtype.form == "letter":
        # Công văn: agency then drafting unit. Agencies may share letters with a type (Cục Thuế
        # "CT" and Chỉ thị "CT"), so a look-alike is only a warning.
        if len(parsed.segments) < 2:
            out.add(
                "RULE_NUMBER_SYMBOL",
                path,
                f'Số: "{shown}" — a {dtype.name} symbol is the agency abbreviation then the '
                f'drafting unit: "{number}/{first}-VP", for example.',
                severity="warning",
            )
        elif (looks := ABBREVIATIONS.get(first)) and looks.form == "admin":
            out.add(
                "RULE_TYPE_NOTATION_MISMATCH",
                path,
                f'Số: "{shown}" — a {dtype.name} has no type abbreviation, but "{first}" is the '
                f"abbreviation of {looks.name}: check TypeName or the symbol.",
                severity="warning",
            )
    return parsed
