"""Accent folding for Vietnamese search: "Quyết định" and "quyet dinh" find the same records.

The catalog stores a folded copy of the searchable text and folds the query the same way, so
both forms match on SQLite FTS5 and PostgreSQL alike (no `unaccent` extension needed).
"""

from __future__ import annotations

import re
import unicodedata

_EXTRA = str.maketrans({"đ": "d", "Đ": "d", "ð": "d", "Ð": "d"})  # no NFD decomposition
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # letters and digits; "_" separates, as in FTS5
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def fold(text: str) -> str:
    """Lowercase, without diacritics: the form stored for search and used in queries."""
    decomposed = unicodedata.normalize("NFD", text.translate(_EXTRA))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", stripped).lower()


def search_form(text: str) -> str:
    """The stored searchable form: folded words separated by single spaces. Punctuation goes,
    so "15/QĐ-UBND" indexes as "15 qd ubnd" on SQLite and PostgreSQL alike (PostgreSQL's
    parser would otherwise keep "15/qd-ubnd" as one file-path token)."""
    return " ".join(t for t in (w.strip("_") for w in _TOKEN.findall(fold(text))) if t)


def clean(value: str, *, max_chars: int = 1000) -> str:
    """A user-supplied filter value without control characters (PostgreSQL refuses NUL)."""
    return _CONTROL.sub("", value)[:max_chars].strip()


def tokens(text: str, *, limit: int = 16) -> list[str]:
    """Folded word tokens of a query (at most `limit`, duplicates removed, order kept)."""
    seen: dict[str, None] = {}
    for tok in _TOKEN.findall(fold(text)):
        tok = tok.strip("_")
        if tok and tok not in seen:
            seen[tok] = None
        if len(seen) >= limit:
            break
    return list(seen)
