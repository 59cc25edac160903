"""What every CSV or Excel export writes into a cell: text a spreadsheet would run as a formula is defused.

A cell that starts with = + - @ (or a tab or carriage return, which spreadsheets skip before looking for
those) is a formula to Excel, WPS and LibreOffice: `=HYPERLINK(...)` in a customer's comment would become
a live link, `=cmd|...` worse. Such text gets a leading apostrophe, which spreadsheets show as text
(OWASP "CSV injection"). Numbers, dates and empty cells are left as they are."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value to write into one exported cell (None becomes an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
