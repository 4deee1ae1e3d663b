"""Agency identifiers: QCVN 102:2016 codes and the longer codes of Decision 20/2020/QĐ-TTg.

A QCVN code is `V1V2V3.Z1Z2.Y1Y2.MX1X2` (13 characters): the right-most group is the level-1
body (a letter and two digits, e.g. G22), then levels 2, 3 and 4 leftward; an unused level is
all zeros. Decision 20/2020 also allows up to 35 characters of `0-9 A-Z .` (enterprises use
their registration code), so a code that is not in the QCVN shape may still be valid.
"""

from __future__ import annotations

import re

MAX_LENGTH = 35

# Lower levels are digits in every published directory we saw, but letters occur in some
# provincial codes; accept both so a real code is never refused on shape alone.
_QCVN_RE = re.compile(r"[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}")
# Decision 20/2020: groups of 0-9 A-Z separated by single dots, at most 35 characters.
_LONG_RE = re.compile(r"[0-9A-Z]+(?:\.[0-9A-Z]+)*")

# Level-1 letter -> the kind of body (DOMAIN.md "Agency identifiers").
LEVEL1_KINDS: dict[str, str] = {
    "G": "central government body",
    "H": "provincial People's Committee",
    "K": "provincial People's Council",
}


def is_valid_agency_code(code: object) -> bool:
    """True for a QCVN code (`000.00.00.G22`) or a Decision 20/2020 code (≤35 of 0-9 A-Z .)."""
    if not isinstance(code, str) or not code or len(code) > MAX_LENGTH:
        return False
    return _LONG_RE.fullmatch(code) is not None


def is_qcvn_code(code: object) -> bool:
    """True only for the 13-character four-level shape `V1V2V3.Z1Z2.Y1Y2.MX1X2`."""
    return isinstance(code, str) and _QCVN_RE.fullmatch(code) is not None


def _groups(code: str) -> list[str] | None:
    return code.split(".") if is_qcvn_code(code) else None


def level1_body(code: str) -> str | None:
    """The level-1 body group, e.g. "G22" for `000.00.00.G22`; None if not a QCVN code."""
    groups = _groups(code)
    return groups[3] if groups else None


def level(code: str) -> int | None:
    """How deep in the hierarchy the code sits: 1 (level-1 body) to 4; None if not QCVN."""
    groups = _groups(code)
    if groups is None:
        return None
    # groups[2] is level 2, groups[1] level 3, groups[0] level 4; zeros mean "unused".
    depth = 1
    for n, group in ((2, groups[2]), (3, groups[1]), (4, groups[0])):
        if group.strip("0"):
            depth = n
    return depth


def parent_code(code: str) -> str | None:
    """The code one level up (`002.00.20.H13` -> `000.00.20.H13`); None at level 1 or non-QCVN."""
    groups = _groups(code)
    depth = level(code)
    if groups is None or depth is None or depth == 1:
        return None
    index = {2: 2, 3: 1, 4: 0}[depth]
    groups[index] = "0" * len(groups[index])
    return ".".join(groups)


# DocumentId's conventional form (QCVN 102:2016): "{sender OrganId},{yyyy/MM/dd},{number}/…".
_DOCUMENT_ID_RE = re.compile(
    r"\s*([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)\s*,\s*\d{4}/\d{1,2}/\d{1,2}\s*,"
)


def document_id_agency(document_id: str) -> str | None:
    """The agency a DocumentId in the conventional form names (upper case), or None when it
    is in another form (real senders also use UUIDs): only the conventional form says whose
    document it is."""
    match = _DOCUMENT_ID_RE.match(document_id or "")
    if match is None or len(match.group(1)) > MAX_LENGTH:
        return None
    return match.group(1).upper()
