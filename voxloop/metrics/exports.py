"""Metric tables as rows, and those rows as CSV or Excel (openpyxl). The same tables feed the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter as _column_letter

from voxloop.core.exports import safe_cell, safe_row
from voxloop.metrics import queries
from voxloop.metrics.models import Dimension
from voxloop.metrics.queries import KPI_BY_KEY, KpiDef, KpiValue, Panel
from voxloop.surveys.models import dimension_label


class ExportError(ValueError):
    pass


TABLES = ("kpis", "daily", "breakdown", "csat_dimensions", "repurchase")


def _num(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def kpi_table(panel: Panel) -> tuple[list[str], list[list[Any]]]:
    """One row per KPI: value, n, 95% interval, previous period, delta. Rates are fractions, durations seconds."""
    header = [_("key"), _("metric"), _("unit"), _("value"), _("n"), _("interval low"), _("interval high"),
              _("previous value"), _("previous n"), _("delta")]  # fmt: skip
    rows = []
    for card in panel.cards:
        c, p = card.current, card.previous
        rows.append([card.definition.key, str(card.definition.label), card.definition.unit, _num(c.value), c.n,
                     _num(c.ci_low), _num(c.ci_high), _num(p.value), p.n, _num(card.comparison.delta)])  # fmt: skip
    return header, rows


def daily_table(panel: Panel, key: str | None = None) -> tuple[list[str], list[list[Any]]]:
    """Day by day: one column pair (value, n) per KPI, or only ``key``'s."""
    cards = [c for c in panel.cards if key is None or c.definition.key == key]
    if key is not None and not cards:
        raise ExportError(_("Unknown metric %(key)r.") % {"key": key})
    header = [_("day")]
    for card in cards:
        header += [card.definition.key, f"{card.definition.key} n"]
    rows = []
    for i, day in enumerate(panel.days):
        row: list[Any] = [day.isoformat()]
        for card in cards:
            row += [_num(card.series[i]), card.series_n[i]]
        rows.append(row)
    return header, rows


def breakdown_table(rows: Sequence[queries.BreakdownRow], dimension: str) -> tuple[list[str], list[list[Any]]]:
    keys = list(rows[0].kpis) if rows else []
    extras = list(rows[0].extra) if rows else []
    header = [dimension, _("name")]
    for key in keys:
        header += [key, f"{key} n"]
    header += extras
    table = []
    for row in rows:
        line: list[Any] = [row.value, row.label]
        for key in keys:
            value: KpiValue = row.kpis[key]
            line += [_num(value.value), value.n]
        line += [_num(v) if isinstance(v, float) else v for v in row.extra.values()]
        table.append(line)
    return header, table


def csat_dimension_table(panel: Panel) -> tuple[list[str], list[list[Any]]]:
    header = [_("dimension"), _("n"), _("share 4-5"), _("mean")]
    return header, [[d["dimension"], d["n"], _num(d["top2"]), _num(d["mean"])] for d in panel.csat_dimensions]


def repurchase_table(panel: Panel) -> tuple[list[str], list[list[Any]]]:
    header = [
        _("band"),
        _("responses"),
        _("repurchased within 6 months"),
        _("rate"),
        _("interval low"),
        _("interval high"),
    ]
    rows = [[band, b["n"], b["repurchased"], _num(b["rate"]), _num(b["ci_low"]), _num(b["ci_high"])]
            for band, b in panel.repurchase["bands"].items()]  # fmt: skip
    rows.append(["ratio csat_high/csat_low", None, None, _num(panel.repurchase["csat_ratio"]), None, None])
    rows.append(["ratio promoter/detractor", None, None, _num(panel.repurchase["nps_ratio"]), None, None])
    return header, rows


# --- the files people open: names instead of keys, durations in hours, rates in per cent ----------------------
# (kpi_table & co. above stay as they are: the API hands them to programs, which want keys, seconds, fractions.)

UNIT_NAMES = {
    "duration": gettext_lazy("hours"),
    "rate": "%",
    "points": gettext_lazy("points"),
    "score": gettext_lazy("score"),
    "count": gettext_lazy("count"),
}
BANDS = {
    "csat_high": gettext_lazy("CSAT 4–5"),
    "csat_low": gettext_lazy("CSAT 1–3"),
    "promoter": gettext_lazy("Promoters (9–10)"),
    "passive": gettext_lazy("Passives (7–8)"),
    "detractor": gettext_lazy("Detractors (0–6)"),
}
EXTRAS = {
    "resolved_per_day": gettext_lazy("Cases resolved per day"),
    "resolved": gettext_lazy("Cases resolved"),
    "open_load": gettext_lazy("Open cases now"),
    "repeat_alert": gettext_lazy("Repeat-complaint alert"),
}


def in_unit(value: float | None, unit: str) -> float | int | None:
    """A KPI value as the reader counts it: seconds become hours, fractions per cent."""
    if value is None:
        return None
    if unit == "duration":
        return round(value / 3600, 2)
    if unit == "rate":
        return round(value * 100, 1)
    if unit == "count" and float(value).is_integer():
        return int(value)
    return round(value, 2)


def headed(label: Any, unit: str) -> str:
    """A column title with its unit: 首次响应中位数（工作时间）（小时）."""
    return _("%(label)s (%(unit)s)") % {"label": label, "unit": UNIT_NAMES[unit]}


def _n_of(label: Any) -> str:
    return _("%(label)s: number of cases or answers") % {"label": label}


def _people_kpis(panel: Panel) -> tuple[list[str], list[list[Any]]]:
    header = [_("Metric"), _("Unit"), _("Value"), _("Sample size"), _("95% interval, low"), _("95% interval, high"),
              _("Previous period"), _("Previous sample size"), pgettext("difference", "Change")]  # fmt: skip
    rows = []
    for card in panel.cards:
        unit, c, p = card.definition.unit, card.current, card.previous
        rows.append([str(card.definition.label), str(UNIT_NAMES[unit]), in_unit(c.value, unit), c.n,
                     in_unit(c.ci_low, unit), in_unit(c.ci_high, unit), in_unit(p.value, unit), p.n,
                     in_unit(card.comparison.delta, unit)])  # fmt: skip
    return header, rows


def _people_daily(panel: Panel, key: str | None) -> tuple[list[str], list[list[Any]]]:
    cards = [c for c in panel.cards if key is None or c.definition.key == key]
    if key is not None and not cards:
        raise ExportError(_("Unknown metric %(key)r.") % {"key": key})
    header = [_("Day")]
    for card in cards:
        header += [headed(card.definition.label, card.definition.unit), _n_of(card.definition.label)]
    rows = []
    for i, day in enumerate(panel.days):
        row: list[Any] = [day]
        for card in cards:
            row += [in_unit(card.series[i], card.definition.unit), card.series_n[i]]
        rows.append(row)
    return header, rows


def _people_breakdown(rows: Sequence[queries.BreakdownRow], dimension: str) -> tuple[list[str], list[list[Any]]]:
    keys = list(rows[0].kpis) if rows else []
    extras = list(rows[0].extra) if rows else []
    header = [str(dict(Dimension.choices).get(dimension, dimension))]
    for key in keys:
        definition: KpiDef = KPI_BY_KEY[key]
        header += [headed(definition.label, definition.unit), _n_of(definition.label)]
    header += [str(EXTRAS.get(e, e)) for e in extras]
    table = []
    for row in rows:
        line: list[Any] = [row.label or _("(none)")]
        for key in keys:
            value: KpiValue = row.kpis[key]
            line += [in_unit(value.value, KPI_BY_KEY[key].unit), value.n]
        for extra in row.extra.values():
            if isinstance(extra, bool):
                line.append(_("yes") if extra else _("no"))
            else:
                line.append(round(extra, 2) if isinstance(extra, float) else extra)
        table.append(line)
    return header, table


def _people_csat_dimensions(panel: Panel) -> tuple[list[str], list[list[Any]]]:
    header = [_("Sub-dimension"), _("Sample size"), headed(_("Share answering 4–5"), "rate"), _("Mean (1–5)")]
    return header, [[dimension_label(d["dimension"]), d["n"], in_unit(d["top2"], "rate"), in_unit(d["mean"], "score")]
                    for d in panel.csat_dimensions]  # fmt: skip


def _people_repurchase(panel: Panel) -> tuple[list[str], list[list[Any]]]:
    header = [_("Band"), _("Survey responses"), _("Repurchased within 6 months"), headed(_("Repurchase rate"), "rate"),
              headed(_("95% interval, low"), "rate"), headed(_("95% interval, high"), "rate")]  # fmt: skip
    rows = [[str(BANDS[band]), b["n"], b["repurchased"], in_unit(b["rate"], "rate"), in_unit(b["ci_low"], "rate"),
             in_unit(b["ci_high"], "rate")] for band, b in panel.repurchase["bands"].items()]  # fmt: skip
    rows.append([_("Satisfied (CSAT 4–5) vs dissatisfied customers"), None, None,
                 _num(panel.repurchase["csat_ratio"], 2), None, None])  # fmt: skip
    rows.append([_("Promoters vs detractors"), None, None, _num(panel.repurchase["nps_ratio"], 2), None, None])
    return header, rows


def table_for_people(name: str, panel: Panel, *, dimension: str = "", key: str | None = None, language: str = ""
                     ) -> tuple[list[str], list[list[Any]]]:  # fmt: skip
    """The panel's table as the CSV and Excel downloads give it: translated headers with their units."""
    if name == "kpis":
        return _people_kpis(panel)
    if name == "daily":
        return _people_daily(panel, key)
    if name == "breakdown":
        return _people_breakdown(queries.breakdown(panel.period, dimension, language), dimension)
    if name == "csat_dimensions":
        return _people_csat_dimensions(panel)
    if name == "repurchase":
        return _people_repurchase(panel)
    raise ExportError(
        _("Unknown table %(name)r; use one of: %(tables)s.") % {"name": name, "tables": ", ".join(TABLES)}
    )


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(safe_row(row))  # text that a spreadsheet would run as a formula is defused
    # BOM: Excel opens UTF-8 CSV with Chinese text correctly only with it.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


SHEET_TITLE_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def _cell(sheet: Any, value: Any) -> Any:
    """Numbers stay numbers, shown with a number format (whole numbers plain, others to two places)."""
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=safe_cell(value))
    if isinstance(value, bool):
        return cell
    if isinstance(value, int):
        cell.number_format = "#,##0"
    elif isinstance(value, float):
        cell.number_format = "#,##0.0#"
    elif hasattr(value, "isoformat") and not hasattr(value, "hour"):
        cell.number_format = "yyyy-mm-dd"
    return cell


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    """One sheet named ``title`` (a translated name: Excel allows 31 characters, no []:*?/\\)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(title).translate(SHEET_TITLE_FORBIDDEN)[:31] or "Sheet")
    for i, text in enumerate(header):
        sheet.column_dimensions[_column_letter(i + 1)].width = min(40, max(10, len(str(text)) * 1.6))
    bold = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=str(text))
        cell.font = Font(bold=True)
        bold.append(cell)
    sheet.append(bold)
    for row in rows:
        sheet.append([_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def table_for(name: str, panel: Panel, *, dimension: str = "", key: str | None = None, language: str = ""
              ) -> tuple[list[str], list[list[Any]]]:  # fmt: skip
    if name == "kpis":
        return kpi_table(panel)
    if name == "daily":
        return daily_table(panel, key)
    if name == "breakdown":
        return breakdown_table(queries.breakdown(panel.period, dimension, language), dimension)
    if name == "csat_dimensions":
        return csat_dimension_table(panel)
    if name == "repurchase":
        return repurchase_table(panel)
    raise ExportError(
        _("Unknown table %(name)r; use one of: %(tables)s.") % {"name": name, "tables": ", ".join(TABLES)}
    )


__all__ = [
    "KPI_BY_KEY",
    "TABLES",
    "ExportError",
    "headed",
    "in_unit",
    "table_for",
    "table_for_people",
    "to_csv",
    "to_xlsx",
]
