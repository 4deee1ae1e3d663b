"""Comparison keys for Vietnamese text: NFC, case, whitespace, old and new tone placement.

Clerks type the same words many ways: "HÒA" and "HOÀ" (old tone placement), "Ủy" and "Uỷ",
decomposed accents from some editors, hyphens or en dashes, one space or three. Rules compare
keys, never raw strings, and quote the raw strings back to the clerk.
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                         "\u2212": "-", "\u00ad": "-"})  # fmt: skip
# Old-style tone placement ("hoà", "thuỷ") against the new style ("hòa", "thủy"), on lower case.
_OLD_TONE = re.compile("o([àáảãạ])|o([èéẻẽẹ])|u([ỳýỷỹỵ])")
_TONE_TO_BASE = {
    **dict(zip("àáảãạ", "òóỏõọ", strict=True)),
    **dict(zip("èéẻẽẹ", "òóỏõọ", strict=True)),
    **dict(zip("ỳýỷỹỵ", "ùúủũụ", strict=True)),
}
_BASE_AFTER = {**dict.fromkeys("àáảãạ", "a"), **dict.fromkeys("èéẻẽẹ", "e"),
               **dict.fromkeys("ỳýỷỹỵ", "y")}  # fmt: skip


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _new_tone(match: re.Match[str]) -> str:
    vowel = match.group(0)[1]
    return _TONE_TO_BASE[vowel] + _BASE_AFTER[vowel]


def loose(text: str) -> str:
    """NFC, lower case, one space, same dashes, new-style tone placement."""
    text = nfc(text).casefold().translate(_DASHES)
    text = _OLD_TONE.sub(_new_tone, text)
    return _WS.sub(" ", text).strip()


def key(text: str) -> str:
    """`loose` without any whitespace: for matching text that layout may split or join."""
    return _WS.sub("", loose(text))


def ascii_fold(text: str) -> str:
    """Vietnamese without diacritics, as certificates issued to "NGUYEN VAN AN" spell names."""
    decomposed = unicodedata.normalize("NFD", key(text).replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def squash_spaces(text: str) -> str:
    return _WS.sub(" ", nfc(text)).strip()
