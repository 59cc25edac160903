"""Drivers (insight page 5): which topics move NPS and CSAT most.

For each topic: the score of the responses whose topics include it against the score of those that do not,
and the impact = that difference x the share of responses mentioning it (voxloop.stats.drivers). Read from
the responses roll-ups: the topic rows give each topic's group (NPS group counts; CSAT n, sum and sum of
squares) and the total row gives everyone, so "without the topic" is total minus the topic's group: exact
for means, NPS and their variances. Two queries, whatever the number of responses.

Under a filter (channel, product, team, topic, segment, language) the same figures come from that cut's rows:
every responses cell carries its responses' per-topic sums (``t:<top code>:promoters`` ... ``:csat_sq``), so
a product's drivers are exact too. Two queries again: which topics the period has, then the cut's rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.core.annotations import create_action_link
from voxloop.insights.filters import InsightFilters
from voxloop.insights.pages import Chart, InsightPage, Table
from voxloop.insights.root_causes import DOWN as GOOD
from voxloop.insights.root_causes import FLAT
from voxloop.insights.root_causes import UP as BAD
from voxloop.metrics.drilldown import drill_responses, response_mentions
from voxloop.metrics.expressions import SumsKey
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import Cut, Period, Totals, value_labels
from voxloop.stats.drivers import Driver, ScoreSums, driver_impacts_from_sums

METRICS = ("nps", "csat")
MIN_GROUP = 5  # fewer responses on either side: shown, but marked "too few to tell"


def score_sums(totals: Totals, metric: str) -> ScoreSums:
    if metric == "nps":
        return ScoreSums.from_nps_groups(totals.get("promoters"), totals.get("passives"), totals.get("detractors"))
    return ScoreSums(totals.get("csat_n"), totals.sums.get("csat_sum", 0.0), totals.sums.get("csat_sq", 0.0))


SCORE_KEYS = {"nps": ("promoters", "passives", "detractors"), "csat": ("csat_n", "csat_sum", "csat_sq")}


def sums_by_value(dimension: str, period: Period, metric: str) -> dict[str, Totals]:
    """The responses roll-ups of one dimension summed per value over the period in the database: just the
    three counters the score needs, so a two-year page adds up a few thousand rows in one query."""
    keys = SCORE_KEYS[metric]
    # as mappings: the stubs know the rows' "value" only, not the sums named in **{...}
    rows: Iterable[Mapping[str, Any]] = (
        MetricDaily.objects.filter(source=Source.RESPONSES, dimension=dimension, day__gte=period.start,
                                   day__lte=period.end)
        .values("value")
        .annotate(**{f"s{i}": Sum(SumsKey(key)) for i, key in enumerate(keys)})
        .order_by()
    )  # fmt: skip
    out: dict[str, Totals] = {}
    for row in rows:
        totals = out[row["value"]] = Totals()
        for i, key in enumerate(keys):
            totals.sums[key] = float(row[f"s{i}"] or 0)
    return out


def topics_in(period: Period) -> list[str]:
    """The topic codes responses of the period mention (the responses roll-ups' topic rows)."""
    values = (
        MetricDaily.objects.filter(source=Source.RESPONSES, dimension="topic", day__gte=period.start,
                                   day__lte=period.end)
        .exclude(value="")
        .values_list("value", flat=True)
        .distinct()
        .order_by()
    )  # fmt: skip
    return sorted(set(values))


def topic_key(code: str, key: str) -> str:
    """The per-topic sum inside every responses cell (``t:<top code>:<key>``)."""
    return f"t:{code}:{key}"


def cut_sums(cut: Cut, period: Period, metric: str, codes: list[str]) -> tuple[Totals, dict[str, Totals]]:
    """One cut's responses over the period and, within it, each topic's group: one aggregate over that cut's
    rows (one a day), the per-topic sums read out of the JSON in SQL."""
    keys = SCORE_KEYS[metric]
    wanted = [("", key) for key in keys] + [(code, key) for code in codes for key in keys]
    sums = MetricDaily.objects.filter(
        source=Source.RESPONSES, dimension=cut.dimension, value=cut.value, day__gte=period.start,
        day__lte=period.end,
    ).aggregate(**{f"s{i}": Sum(SumsKey(topic_key(code, key) if code else key))
                   for i, (code, key) in enumerate(wanted)})  # fmt: skip
    overall, groups = Totals(), {code: Totals() for code in codes}
    for i, (code, key) in enumerate(wanted):
        (groups[code] if code else overall).sums[key] = float(sums[f"s{i}"] or 0)
    return overall, groups


@dataclass
class Drivers:
    metric: str
    overall: ScoreSums
    drivers: list[Driver] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    available: bool = True  # kept for the page template; every cut is answered now
    skipped: list[str] = field(default_factory=list)  # topics whose roll-ups disagree with the total


def topic_drivers(filters: InsightFilters, metric: str, language: str) -> Drivers:
    """Drivers of NPS or CSAT over the page's period, within the filter's cut when one is set (from the
    per-topic sums of that cut's rows; without a cut from the topic rows, as they always were)."""
    metric = metric if metric in METRICS else "nps"
    period, cut = filters.period, filters.cut
    if cut.dimension:
        codes = topics_in(period)
        totals, cells = cut_sums(cut, period, metric, codes)
        overall = score_sums(totals, metric)
        groups = {code: score_sums(cell, metric) for code, cell in cells.items()}
    else:
        overall = score_sums(sums_by_value("", period, metric).get("", Totals()), metric)
        groups = {code: score_sums(cell, metric) for code, cell in sums_by_value("topic", period, metric).items()
                  if code}  # fmt: skip
    result = Drivers(metric, overall)
    if overall.n <= 0:
        return result
    # A topic cannot have more respondents than everyone; if the roll-ups say so (days being recomputed while
    # the page reads them), that topic is left out rather than failing the page.
    result.skipped = sorted(code for code, group in groups.items() if group.n > overall.n)
    groups = {code: group for code, group in groups.items() if group.n <= overall.n}
    result.drivers = driver_impacts_from_sums(overall, groups, min_group=MIN_GROUP)
    result.labels = value_labels("topic", [str(d.topic) for d in result.drivers], language)
    return result


def responses_url(period: Period, topic: str, metric: str) -> str:
    """The metrics drill list of the responses mentioning ``topic`` in the period (with that score)."""
    params = {"period": "custom", "start": period.start.isoformat(), "end": period.end.isoformat(),
              "cut": "topic", "value": topic, "kpi": metric}  # fmt: skip
    return reverse("metrics:drill_responses") + "?" + urlencode(params)


def drill_url(filters: InsightFilters, topic: str, metric: str) -> str:
    """Where a point leads: without a filter the metrics drill list of the topic's responses; with one, this
    page's own list of the responses in that cut that mention the topic (the metrics list takes one cut)."""
    if not filters.cut.dimension:
        return responses_url(filters.period, topic, metric)
    params = {**filters.params(), "about": topic, "metric": metric}
    return reverse("dashboards:drivers_responses") + "?" + urlencode(params)


def responses_behind(filters: InsightFilters, topic: str, metric: str) -> Any:
    """The responses behind one point under a filter: submitted in the period, in the cut, with the score,
    mentioning the topic; exactly those the cut's ``t:<topic>:...`` sums count."""
    return drill_responses(filters.period, filters.cut, metric).filter(response_mentions(topic))


def significant(driver: Driver) -> bool:
    """The 95% interval of the difference leaves out zero, and both groups are big enough."""
    return bool(
        driver.enough_data
        and driver.ci_low is not None
        and driver.ci_high is not None
        and (driver.ci_low > 0 or driver.ci_high < 0)
    )


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def build_page(filters: InsightFilters, metric: str, language: str) -> InsightPage:
    result = topic_drivers(filters, metric, language)
    metric = result.metric
    nps = metric == "nps"
    digits = 1 if nps else 2
    unit = _("NPS points") if nps else _("CSAT points (1–5)")
    metric_name = _("NPS") if nps else _("CSAT")
    charts: list[Chart] = []
    scored = [d for d in result.drivers if d.impact is not None]
    if result.available:
        urls = {str(d.topic): drill_url(filters, str(d.topic), metric) for d in result.drivers}
        biggest = max((abs(d.impact or 0) for d in scored), default=0) or 1

        def point(d: Driver) -> dict[str, Any]:
            colour = FLAT if not significant(d) else (GOOD if (d.difference or 0) > 0 else BAD)
            return {"name": result.labels.get(str(d.topic), str(d.topic)),
                    "value": [round(d.share * 100, 1), _r(d.difference, digits), _r(d.impact, digits)],
                    "url": urls[str(d.topic)], "symbolSize": round(10 + 30 * abs(d.impact or 0) / biggest, 1),
                    "itemStyle": {"color": colour}}  # fmt: skip

        option: dict[str, Any] = {
            "tooltip": {"trigger": "item", "formatter": "{b}: {c}"},
            "grid": {"left": 60, "right": 30, "bottom": 50, "top": 30},
            "xAxis": {"type": "value", "name": _("Responses mentioning it (%)"), "nameLocation": "middle",
                      "nameGap": 30, "axisLabel": {"formatter": "{value}%"}},
            "yAxis": {"type": "value", "name": _("Difference (%(unit)s)") % {"unit": unit}},
            "series": [{"type": "scatter", "name": metric_name, "data": [point(d) for d in scored],
                        "label": {"show": True, "position": "right", "formatter": "{b}"},
                        "markLine": {"silent": True, "symbol": "none", "lineStyle": {"color": "#888"},
                                     "data": [{"yAxis": 0}]}}],
        }  # fmt: skip
        header = [_("Topic"), _("Responses mentioning it"), _("Share (%)"),
                  _("%(metric)s with the topic") % {"metric": metric_name},
                  _("%(metric)s without it") % {"metric": metric_name}, _("Difference"), _("95% CI low"),
                  _("95% CI high"), _("Impact (difference x share)"), _("Significant")]  # fmt: skip

        def verdict(d: Driver) -> str:
            if not d.enough_data:
                return _("too few to tell")
            return _("yes") if significant(d) else _("no")

        rows = [[result.labels.get(str(d.topic), str(d.topic)), d.mentions, round(d.share * 100, 1),
                 _r(d.mean_with, digits), _r(d.mean_without, digits), _r(d.difference, digits),
                 _r(d.ci_low, digits), _r(d.ci_high, digits), _r(d.impact, digits), verdict(d)]
                for d in result.drivers]  # fmt: skip
        note = _(
            "%(n)s responses with %(metric)s. Each point is a topic: across, how often responses mention it; up "
            "or down, how much higher or lower %(metric)s is when they do; the larger the point, the larger its "
            "impact (difference x share), i.e. about how far the overall score would move without the topic's "
            "effect. Coloured points differ significantly (95%% Welch interval leaves out zero). Click a point "
            "for its responses."
        ) % {"n": result.overall.n, "metric": metric_name}
        if filters.cut.dimension:
            note += " " + _("Within the filter: both groups are the filter's responses, with and without the topic.")
            if result.overall.n and not result.drivers:
                note += " " + _(
                    "No topic is recorded for these responses. Days computed before topics were kept per filter "
                    "have none until the roll-ups are rebuilt (voxloop rebuild_rollups)."
                )
        charts.append(Chart("drivers", _("What moves %(metric)s") % {"metric": metric_name}, option,
                            Table(header, rows, [urls[str(d.topic)] for d in result.drivers]), note=note,
                            height=420))  # fmt: skip
    return InsightPage(
        key="drivers",
        title=str(_("Drivers")),
        intro=_(
            "Which topics move NPS and CSAT most: for each topic, the score of the responses that mention it "
            "minus the score of those that do not, weighted by how many mention it."
        ),  # fmt: skip
        charts=charts,
        template="dashboards/drivers.html",
        context={
            "metric": metric,
            "metric_choices": [("nps", _("NPS")), ("csat", _("CSAT"))],
            "extra_params": [("metric", metric)],
            "query": urlencode({**filters.params(), "metric": metric}),
            "base_query": urlencode(filters.params()),
            # "create action" for each topic that pulls the score down significantly (voxloop.core.annotations)
            "action_links": [
                (result.labels.get(str(d.topic), str(d.topic)), url)
                for d in result.drivers
                if significant(d) and (d.difference or 0) < 0
                if (
                    url := create_action_link(
                        "driver", topics=[str(d.topic)], title=result.labels.get(str(d.topic), str(d.topic))
                    )
                )
            ]
            if result.available
            else [],
        },
    )
