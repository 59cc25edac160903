"""Overview (insight page 1): the headline KPIs with their change against the previous period and a sparkline,
and feedback volume by day with the negative share.

The numbers are the KPI panel's: same definitions and formulas (voxloop.metrics.queries.kpi_value over the
merged daily roll-ups), so the two pages agree; the page reads only the few sums its cards need, pulled out of
the roll-ups' JSON by the database, so two years of days stay well under the page budget. Each card links to the rows behind it: the feedback inbox for feedback KPIs, the
metrics drill lists for case and survey KPIs. A KPI whose source is not kept for the chosen filter (feedback
has no team, for instance) says so instead of showing a number for something else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.insights.filters import InsightFilters
from voxloop.insights.pages import Chart, InsightPage, Table
from voxloop.insights.trends import (
    MAX_DAILY_DAYS,
    SENTIMENT_COLOURS,
    Bucket,
    InboxLinks,
    Series,
    bucketed,
    cut_sums_by_day,
    feedback_kept_for,
    share,
    time_buckets,
    time_series_option,
)
from voxloop.metrics.cells import SOURCE_DIMENSIONS
from voxloop.metrics.models import Source
from voxloop.metrics.queries import KPI_BY_KEY, Cut, KpiCard, KpiDef, KpiValue, Period, Totals, kpi_value
from voxloop.metrics.templatetags.metrics_format import delta_format, kpi_format
from voxloop.stats import formulas

# The cards, in order. CSAT is the top-2 share, CES the mean (1-7), first response the business-hours median.
OVERVIEW_KPIS = ("feedback_items", "negative_share", "nps", "csat_top2", "ces_mean", "frt_business_median",
                 "sla_compliance", "repeat_rate")  # fmt: skip
DRILL_VIEWS = {"cases": "metrics:drill_cases", "responses": "metrics:drill_responses"}


# --- values as shown ---------------------------------------------------------------------------------------


def chart_value(value: float | None, unit: str) -> float | None:
    """A KPI value scaled for a chart axis: rates in %, durations in hours, scores and counts as they are."""
    if value is None:
        return None
    if unit == "rate":
        return round(value * 100, 1)
    if unit == "duration":
        return round(value / 3600, 2)
    return round(value, 2)


def axis_unit(unit: str) -> str:
    return {"rate": "%", "duration": _("hours"), "points": _("points")}.get(unit, "")


def trend_class(card: KpiCard) -> str:
    """good / bad / flat: whether the change is an improvement, taking the metric's direction into account."""
    delta = card.comparison.delta
    if not delta:
        return "flat"
    better = delta > 0 if card.definition.higher_is_better else delta < 0
    return "good" if better else "bad"


# --- drill-down links ------------------------------------------------------------------------------------------


class DrillLinks:
    """The rows behind a KPI from ``start`` to ``end``: feedback in the inbox (the negative items for the
    negative share), cases and responses in the metrics drill lists (the KPI's own population). Paths are
    reversed once: a two-year page has hundreds of points."""

    def __init__(self, filters: InsightFilters) -> None:
        self.filters = filters
        self.inbox = InboxLinks(filters)
        self.paths = {drill: reverse(name) for drill, name in DRILL_VIEWS.items()}

    def __call__(self, definition: KpiDef, start: date, end: date) -> str:
        if definition.drill == "feedback":
            sentiment = "negative" if definition.key == "negative_share" else None
            return self.inbox(start, end, sentiment=sentiment)
        params = {"period": "custom", "start": start.isoformat(), "end": end.isoformat(), "kpi": definition.key}
        if self.filters.cut.dimension:
            params.update(cut=self.filters.cut.dimension, value=self.filters.cut.value)
        return self.paths[definition.drill] + "?" + urlencode(params)


def drill_url(filters: InsightFilters, definition: KpiDef, start: date, end: date) -> str:
    return DrillLinks(filters)(definition, start, end)


# --- the cards ---------------------------------------------------------------------------------------------------

# What each card's KPI reads from its source's roll-ups (voxloop.metrics.queries.kpi_value): only these sums
# and histograms are pulled out of the JSON, so two years of days stay cheap.
NEEDED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    Source.FEEDBACK: (("negative",), ()),
    Source.RESPONSES: (("promoters", "passives", "detractors", "csat_top2", "csat_n", "ces_n", "ces_sum", "ces_sq"),
                       ()),
    Source.CASES: (("sla_met", "sla_n", "repeats", "identified"), ("frt_business",)),
}  # fmt: skip


@dataclass
class OverviewCard:
    key: str
    label: str
    available: bool
    value: str = ""
    previous: str = ""
    delta: str = ""
    trend: str = "flat"  # good / bad / flat
    n: int = 0
    url: str = ""
    chart_key: str = ""


def source_has_cut(source: str, cut: Cut) -> bool:
    return not cut.dimension or cut.dimension in SOURCE_DIMENSIONS[source]


def source_days(source: str, cut: Cut, start: date, end: date) -> dict[date, Totals]:
    keys, histograms = NEEDED[source]
    rows = cut_sums_by_day(cut, Period(start, end), keys, source=source, histograms=histograms)
    out = {}
    for day, (n, sums) in rows.items():
        totals = Totals()
        totals.add_row(n, {k: v for k, v in sums.items() if k not in histograms},
                       {k: v for k, v in sums.items() if k in histograms})  # fmt: skip
        out[day] = totals
    return out


def kpi_cards(filters: InsightFilters, keys: tuple[str, ...] = OVERVIEW_KPIS) -> list[tuple[KpiDef, KpiCard | None,
                                                                                           list[Bucket]]]:  # fmt: skip
    """The KPI panel's cards (same definitions and formulas: kpi_value over merged roll-ups), each with one
    value per bucket (day, or ISO week beyond 90 days: a week's rate is recomputed from its counts, not
    averaged over days); None for a KPI whose source is not kept for the cut. One query per source."""
    period, cut = filters.period, filters.cut
    buckets = time_buckets(period)
    index = {b.start + timedelta(days=i): k for k, b in enumerate(buckets) for i in range((b.end - b.start).days + 1)}
    merged: dict[str, tuple[Totals, Totals, list[Totals]]] = {}  # per source: current, previous, per bucket
    for source in NEEDED:
        if not source_has_cut(source, cut):
            continue
        current, previous, per_bucket = Totals(), Totals(), [Totals() for _b in buckets]
        for day, totals in source_days(source, cut, period.previous.start, period.end).items():
            if day < period.start:
                previous.add(totals)
            else:
                current.add(totals)
                if day in index:
                    per_bucket[index[day]].add(totals)
        merged[source] = (current, previous, per_bucket)
    out: list[tuple[KpiDef, KpiCard | None, list[Bucket]]] = []
    for key in keys:
        definition = KPI_BY_KEY[key]
        if definition.source not in merged:
            out.append((definition, None, buckets))
            continue
        current, previous, per_bucket = merged[definition.source]
        now, before = kpi_value(key, current), kpi_value(key, previous)
        values = [kpi_value(key, t) if (t.n or definition.unit == "count") else KpiValue(None, 0) for t in per_bucket]
        card = KpiCard(definition, now, before, formulas.compare(now.value, before.value), [v.value for v in values],
                       [v.n for v in values])  # fmt: skip
        out.append((definition, card, buckets))
    return out


def sparkline_option(labels: list[str], values: list[float | None], urls: list[str]) -> dict[str, Any]:
    return {
        "grid": {"left": 4, "right": 4, "top": 6, "bottom": 4},
        "tooltip": {"trigger": "axis", "confine": True},
        "xAxis": {"type": "category", "data": labels, "show": False, "boundaryGap": False},
        "yAxis": {"type": "value", "show": False, "scale": True},
        "series": [{
            "type": "line", "showSymbol": False, "symbolSize": 6, "connectNulls": False,
            "areaStyle": {"opacity": 0.15}, "lineStyle": {"width": 1.5}, "itemStyle": {"color": "#5470c6"},
            "data": [{"value": v, "url": u} if v is not None else {"value": None}
                     for v, u in zip(values, urls, strict=True)],
        }],
    }  # fmt: skip


def build_cards(filters: InsightFilters) -> tuple[list[OverviewCard], list[Chart]]:
    links = DrillLinks(filters)
    cards, charts = [], []
    for definition, card, buckets in kpi_cards(filters):
        key, unit = definition.key, definition.unit
        if card is None:  # this KPI's source has no such dimension
            cards.append(OverviewCard(key, str(definition.label), available=False))
            continue
        values = [chart_value(v, unit) for v in card.series]
        urls = [links(definition, b.start, b.end) for b in buckets]
        chart_key = f"kpi-{key}"
        header = [_("Day") if len(buckets) == filters.period.days else _("Week"), str(definition.label), "n"]
        if suffix := axis_unit(unit):
            header[1] = f"{definition.label} ({suffix})"
        rows = [[b.label, v, n] for b, v, n in zip(buckets, values, card.series_n, strict=True)]
        labels = [b.label for b in buckets]
        charts.append(Chart(chart_key, str(definition.label), sparkline_option(labels, values, urls),
                            Table(header, rows, urls), height=60))  # fmt: skip
        cards.append(OverviewCard(
            key, str(definition.label), available=True, value=kpi_format(card.current.value, unit),
            previous=kpi_format(card.previous.value, unit), delta=delta_format(card.comparison.delta, unit),
            trend=trend_class(card), n=card.current.n,
            url=links(definition, filters.period.start, filters.period.end), chart_key=chart_key,
        ))  # fmt: skip
    return cards, charts


# --- volume by day ---------------------------------------------------------------------------------------------


def volume_chart(filters: InsightFilters) -> Chart:
    """Feedback received per day (per ISO week beyond 90 days), with the negative share as a line."""
    title = _("Feedback volume and negative share")
    if not feedback_kept_for(filters.cut):
        return Chart("volume", title, {}, Table([_("Day")], []), note=_("Not available for this filter."))
    buckets = time_buckets(filters.period)
    links = InboxLinks(filters)
    per_day = cut_sums_by_day(filters.cut, filters.period, ("negative",))
    volume = bucketed({d: float(n) for d, (n, _s) in per_day.items()}, buckets)
    negative = bucketed({d: float(s.get("negative", 0)) for d, (_n, s) in per_day.items()}, buckets)
    shares = [share(negative[i], volume[i]) for i in range(len(buckets))]
    series = [
        Series(_("Items"), volume, [links(b.start, b.end) for b in buckets], "#5470c6"),
        Series(_("Negative share"), shares, [links(b.start, b.end, sentiment="negative") for b in buckets],
               SENTIMENT_COLOURS["negative"], "line", 1),
    ]  # fmt: skip
    option = time_series_option([b.label for b in buckets], series, left_name=_("Items"),
                                right_name=_("Negative share"))  # fmt: skip
    first = _("Day") if filters.period.days <= MAX_DAILY_DAYS else _("Week")
    rows = [[b.label, int(volume[i]), int(negative[i]), shares[i]] for i, b in enumerate(buckets)]
    table = Table([first, _("Items"), _("Negative"), _("Negative share (%)")], rows if any(volume) else [],
                  [links(b.start, b.end) for b in buckets])  # fmt: skip
    return Chart("volume", title, option, table, height=340)


def build_page(filters: InsightFilters) -> InsightPage:
    cards, card_charts = build_cards(filters)
    page = InsightPage(
        key="overview",
        title=_("Overview"),
        intro=_("The headline numbers for the period, against the previous period of the same length. Click a "
                "card or a point of a chart to open the feedback, cases or responses behind it."),
        template="dashboards/overview.html",
        charts=[volume_chart(filters)],
        cards=card_charts,
        context={"kpi_cards": cards, "previous_period": filters.period.previous,
                 "unavailable_note": _("Not available for this filter.")},
    )  # fmt: skip
    return page
