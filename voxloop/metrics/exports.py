"""Metric tables as rows, and those rows as CSV or Excel (openpyxl). The same tables feed the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook

from voxloop.core.exports import safe_cell, safe_row
from voxloop.metrics import queries
from voxloop.metrics.queries import KPI_BY_KEY, KpiValue, Panel


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


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(safe_row(row))  # text that a spreadsheet would run as a formula is defused
    # BOM: Excel opens UTF-8 CSV with Chinese text correctly only with it.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(header: list[str], rows: list[list[Any]], title: str) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([None if v is None else safe_cell(v) for v in row])
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


__all__ = ["KPI_BY_KEY", "TABLES", "ExportError", "table_for", "to_csv", "to_xlsx"]
