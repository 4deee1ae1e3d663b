"""One escaping rule for every spreadsheet the hub writes (CSV and XLSX exports).

Subjects, codes and descriptions come from sending agencies. A cell a spreadsheet program
reads as a formula (=HYPERLINK("http://…"&A1,"…"), +cmd, @SUM …) would run in the operator's
or recipient's spreadsheet: any text cell starting with = + - @ TAB or CR is written with a
leading apostrophe (OWASP "CSV injection"), and XLSX text cells are typed as strings, never
formulas, whatever they start with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """`value` as a cell no spreadsheet evaluates: text that could start a formula gets a
    leading apostrophe; numbers and other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def row(values: Iterable[Any]) -> list[Any]:
    return [neutral(v) for v in values]


def xlsx_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for an openpyxl write-only sheet: text cells typed as strings (data type "s")."""
    from openpyxl.cell import WriteOnlyCell

    out = []
    for value in row(values):
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"
        out.append(cell)
    return out
