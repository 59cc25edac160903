"""The report's tables as an Excel workbook: a KPI sheet, then one sheet per snapshot table."""

import io
import re
from typing import Any

from django.utils.translation import pgettext
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from voxloop.reports.render import formatting as fmt
from voxloop.reports.render.formatting import in_language

INVALID_SHEET_CHARACTERS = re.compile(r"[\[\]:*?/\\]")
# KPI per cents and shares are both fractions in the snapshot (0.725 is 72.5%): real numbers under Excel's own
# percent format, so that a reader's formulas compute with them.
SHARE = "0.0%"
FORMATS = {"percent": SHARE, "share": SHARE, "count": "#,##0", "hours": "0.0", "minutes": "0.0",
           "score": "0.00", "points": "0.0"}  # fmt: skip
BOLD = Font(bold=True)


def sheet_title(title: str, taken: set[str]) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\, unique regardless of case."""
    base = INVALID_SHEET_CHARACTERS.sub(" ", title).strip().strip("'")[:31] or "Sheet"
    candidate, number = base, 2
    while candidate.lower() in taken:
        suffix = f" ({number})"
        candidate = base[: 31 - len(suffix)] + suffix
        number += 1
    taken.add(candidate.lower())
    return candidate


def _fill(sheet: Worksheet, header: list[str], rows: list[list[Any]], formats: list[str | None]) -> None:
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = BOLD
    sheet.freeze_panes = "A2"
    for row in rows:
        sheet.append([None if isinstance(v, dict | list) else v for v in row])
    widths = [len(str(h)) for h in header]
    for row in rows:
        for i, value in enumerate(row[: len(widths)]):
            text = fmt.share(value) if formats[i] == SHARE and isinstance(value, float) else str(value)
            widths[i] = max(widths[i], len("" if value is None else text))
    for i, width in enumerate(widths, start=1):
        # CJK characters are about twice as wide as Latin ones in Excel's default font.
        sheet.column_dimensions[get_column_letter(i)].width = min(60, max(8, int(width * 1.6) + 2))
        number_format = formats[i - 1] if i - 1 < len(formats) else None
        if number_format:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=i, max_col=i):
                if isinstance(cell.value, int | float) and not isinstance(cell.value, bool):
                    cell.number_format = number_format


def _kpi_sheet(sheet: Worksheet, kpis: list[dict[str, Any]]) -> None:
    header = [
        pgettext("service report", "Indicator"), pgettext("service report", "This period"), pgettext("service report", "Interval low (95% CI)"),
        pgettext("service report", "Interval high (95% CI)"), "n", pgettext("service report", "Target"), pgettext("service report", "Previous period"),
        pgettext("service report", "Change"), pgettext("service report", "Significant"), pgettext("service report", "Same period last year"),
        pgettext("service report", "Status"), pgettext("service report", "Unit"),
    ]  # fmt: skip
    rows, row_formats = [], []
    for kpi in kpis:
        unit = str(kpi.get("unit") or "")
        change = kpi.get("change") or {}
        rows.append([
            kpi.get("name", ""), kpi.get("value"), kpi.get("low"), kpi.get("high"), kpi.get("n"), kpi.get("target"),
            (kpi.get("previous") or {}).get("value"), change.get("delta"),
            pgettext("service report", "yes") if change.get("significant") else pgettext("service report", "no"),
            (kpi.get("last_year") or {}).get("value"),
            fmt.light_label(kpi.get("light"), has_target=kpi.get("target") is not None), unit_name(unit),
        ])  # fmt: skip
        row_formats.append(FORMATS.get(unit))
    _fill(sheet, header, rows, [None] * len(header))
    # A KPI sheet mixes units row by row: format each number by its own row's unit.
    for r, number_format in enumerate(row_formats, start=2):
        if number_format:
            for c in (2, 3, 4, 6, 7, 8, 10):
                if isinstance(sheet.cell(r, c).value, int | float):
                    sheet.cell(r, c).number_format = number_format
        sheet.cell(r, 5).number_format = "#,##0"


def unit_name(unit: str) -> str:
    return {
        "percent": pgettext("service report", "per cent"), "hours": pgettext("service report", "hours"), "minutes": pgettext("service report", "minutes"),
        "count": pgettext("service report", "count"), "score": pgettext("service report", "score"), "points": pgettext("service report", "points"),
    }.get(unit, unit)  # fmt: skip


def _column(column: Any) -> tuple[str, str | None]:
    """A table column is a title, or {"title": ..., "unit": "percent|count|..."} when its numbers need a format."""
    if isinstance(column, dict):
        return str(column.get("title", "")), FORMATS.get(str(column.get("unit") or ""))
    return str(column), None


def render_xlsx(snapshot: dict[str, Any]) -> bytes:
    with in_language(snapshot):
        workbook = Workbook()
        taken: set[str] = set()
        tables = list(snapshot.get("tables") or [])
        # The KPI sheet comes from status.kpis, where each row's unit gives its number format; a "kpis" table in
        # the snapshot is the same data, so it names that sheet instead of adding a second one.
        kpi_table = next((t for t in tables if t.get("key") == "kpis"), None)
        kpi_sheet = workbook.active
        kpi_sheet.title = sheet_title(
            str((kpi_table or {}).get("title") or pgettext("service report", "Indicators")), taken
        )
        _kpi_sheet(kpi_sheet, (snapshot.get("status") or {}).get("kpis") or [])
        for table in tables:
            if table is kpi_table:
                continue
            columns = [_column(c) for c in table.get("columns") or []]
            sheet = workbook.create_sheet(sheet_title(str(table.get("title") or table.get("key") or ""), taken))
            _fill(sheet, [c[0] for c in columns], list(table.get("rows") or []), [c[1] for c in columns])
        workbook.properties.title = str(snapshot.get("title", ""))
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()
