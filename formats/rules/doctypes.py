"""Document types and their abbreviations (Decree 30/2020 Annex III; Law 80/2015 for legal ones).

TypeName is the source of truth (DOMAIN.md): the Type numbers differ between implementations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from formats.rules.text import key

# admin: "n/ABBR-AGENCY"; letter: công văn form "n/AGENCY-UNIT"; legal: normative documents
# whose symbol carries the year and may not start with a type abbreviation ("80/2015/QH13").
Form = Literal["admin", "letter", "legal"]


@dataclass(frozen=True, slots=True)
class DocType:
    name: str
    abbreviation: str  # "" when the type has none
    form: Form


_TYPES = [
    DocType("Nghị quyết", "NQ", "admin"),
    DocType("Quyết định", "QĐ", "admin"),
    DocType("Chỉ thị", "CT", "admin"),
    DocType("Quy chế", "QC", "admin"),
    DocType("Quy định", "QyĐ", "admin"),
    DocType("Thông cáo", "TC", "admin"),
    DocType("Thông báo", "TB", "admin"),
    DocType("Hướng dẫn", "HD", "admin"),
    DocType("Chương trình", "CTr", "admin"),
    DocType("Kế hoạch", "KH", "admin"),
    DocType("Phương án", "PA", "admin"),
    DocType("Đề án", "ĐA", "admin"),
    DocType("Dự án", "DA", "admin"),
    DocType("Báo cáo", "BC", "admin"),
    DocType("Biên bản", "BB", "admin"),
    DocType("Tờ trình", "TTr", "admin"),
    DocType("Hợp đồng", "HĐ", "admin"),
    DocType("Công điện", "CĐ", "admin"),
    DocType("Bản ghi nhớ", "BGN", "admin"),
    DocType("Bản thỏa thuận", "BTT", "admin"),
    DocType("Giấy ủy quyền", "GUQ", "admin"),
    DocType("Giấy mời", "GM", "admin"),
    DocType("Giấy giới thiệu", "GGT", "admin"),
    DocType("Giấy nghỉ phép", "GNP", "admin"),
    DocType("Phiếu gửi", "PG", "admin"),
    DocType("Phiếu chuyển", "PC", "admin"),
    DocType("Phiếu báo", "PB", "admin"),
    DocType("Sao y", "SY", "admin"),
    DocType("Trích sao", "TrS", "admin"),
    DocType("Sao lục", "SL", "admin"),
    DocType("Công văn", "", "letter"),
    DocType("Thư công", "", "letter"),
    # Legal normative documents travel through the same systems (Law 80/2015).
    DocType("Nghị định", "NĐ", "legal"),
    DocType("Thông tư", "TT", "legal"),
    DocType("Thông tư liên tịch", "TTLT", "legal"),
    DocType("Luật", "", "legal"),
    DocType("Bộ luật", "", "legal"),
    DocType("Pháp lệnh", "", "legal"),
    DocType("Lệnh", "", "legal"),
    DocType("Hiến pháp", "", "legal"),
]

# Names real systems send for the same types.
_ALIASES = {
    "Sao y bản chính": "Sao y",
    "Bản sao y": "Sao y",
    "Bản sao lục": "Sao lục",
    "Bản trích sao": "Trích sao",
    "Thỏa thuận": "Bản thỏa thuận",
    "Ủy quyền": "Giấy ủy quyền",
}

_BY_KEY: dict[str, DocType] = {key(t.name): t for t in _TYPES}
_BY_KEY.update({key(alias): _BY_KEY[key(name)] for alias, name in _ALIASES.items()})
ABBREVIATIONS: dict[str, DocType] = {t.abbreviation: t for t in _TYPES if t.abbreviation}
TYPE_NAMES: list[str] = [t.name for t in _TYPES]


def spellings(type_name: str) -> list[str]:
    """A type's name and the other names systems send for it ("Sao y bản chính" for "Sao y")."""
    return [type_name, *(alias for alias, name in _ALIASES.items() if name == type_name)]


def doc_type(type_name: str) -> DocType | None:
    return _BY_KEY.get(key(type_name))
