"""Recognise PDF text typed in the pre-Unicode Vietnamese encodings TCVN3 (ABC) and VNI.

Such PDFs draw correct Vietnamese with ".VnTime" or "VNI-Times" fonts, but their text layer
reads as Western look-alikes: TCVN3 "Céng hoµ x· héi" for "Cộng hoà xã hội", VNI
"Coäng hoøa xaõ hoäi". Decree 30/2020 requires Unicode fonts (TCVN 6909:2001). TCVN3 is one
byte per letter, so its text is decoded and still checked; VNI is not decoded.
"""

from __future__ import annotations

from typing import Literal

# TCVN3 byte (as read through cp1252/latin-1) → Unicode; the upper-case ".VnTimeH" fonts reuse
# these slots, which is harmless since rules compare case-insensitively.
_TCVN3 = dict(
    zip(
        "¨©ª«¬\xad®¡¢£¤¥¦§µ¶·¸¹»¼½¾ÆÇÈÉÊËÌÎÏÐÑÒÓÔÕÖ×ØÜÝÞßáâãäåæçèéêëìíîïñòóôõö÷øùúûüýþ",
        "ăâêôơưđĂÂÊÔƠƯĐàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ",
        strict=True,
    )
)
_TCVN3_TABLE = str.maketrans(_TCVN3)
_TCVN3_MARKS = frozenset("¨©ª«¬®§¡¢£¤¥¦µ¶·¸¹»¼½¾")
_VNI_MARKS = frozenset("øïûäëüöñÑ")
# Letters of Vietnamese that Unicode text has and legacy text does not.
_VIETNAMESE_ONLY = frozenset("ăĂđĐĩĨũŨơƠưƯ") | {chr(c) for c in range(0x1EA0, 0x1EFA)}
_VIETNAMESE_LATIN1 = frozenset("àáâãèéêìíòóôõùúýÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝ")

Encoding = Literal["TCVN3", "VNI"]


def detect_legacy(text: str, min_marks: int = 4) -> Encoding | None:
    """The legacy encoding `text` was typed in, if it clearly reads as one; `min_marks` is how
    many non-Vietnamese Latin-1 characters it takes (fewer for a short field such as a name)."""
    vietnamese = foreign = tcvn3 = vni = 0
    for ch in text:
        if ch < "\xa0":
            continue
        if ch in _VIETNAMESE_ONLY:
            vietnamese += 1
        elif "\xa0" < ch <= "ÿ" and ch not in _VIETNAMESE_LATIN1:
            foreign += 1
            if ch in _TCVN3_MARKS:
                tcvn3 += 1
            elif ch in _VNI_MARKS:
                vni += 1
    if foreign < min_marks or vietnamese * 4 > foreign:
        return None
    if tcvn3 >= vni and tcvn3 * 3 >= foreign:
        return "TCVN3"
    if vni > tcvn3 and vni * 3 >= foreign:
        return "VNI"
    return "TCVN3" if tcvn3 else None


def has_vietnamese(text: str) -> bool:
    """True when the text has a letter only Vietnamese uses (ă, đ, ơ, ư, ạ …)."""
    return any(ch in _VIETNAMESE_ONLY for ch in text)


def decode_tcvn3(text: str) -> str:
    return text.translate(_TCVN3_TABLE)
