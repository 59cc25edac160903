"""Root causes (insight page 4): what complaints are about, what cases were caused by, and what changed.

Read from the daily roll-ups only: complaint topics are the feedback cells' sums ``tc:<top code>`` (complaints
mentioning that top-level topic) or ``sc:<parent.child>`` (sub-topics); case root causes are the cases cells'
``rc:<code>`` (resolved cases by root-cause code, counted on the day the case was opened). Every cell carries
these sums, so the page's cut (a product, a channel, ...) is simply the roll-up row it reads. Shares, intervals
and the period-over-period test are voxloop.stats.pareto's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.analysis.models import Topic
from voxloop.core.annotations import Annotation, annotations_between, create_action_link
from voxloop.insights.filters import InsightFilters
from voxloop.insights.pages import Chart, InsightPage, Table, feedback_url
from voxloop.metrics.cells import SOURCE_DIMENSIONS
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import Cut, Period
from voxloop.stats.pareto import Change, ParetoRow, pareto, what_changed

LEVELS = ("top", "sub")
TOPIC_PREFIX = {"top": "tc:", "sub": "sc:"}
ROOT_CAUSE_PREFIX = "rc:"
MAX_BARS = 20  # a Pareto shows the biggest causes; the table has them all
CUTOFF = 0.8

# Colours of the charts (also used by the other analysis pages of this module's family).
BAR = "#5470c6"
BAR_VITAL = "#c0392b"
UP = "#d9534f"
DOWN = "#3c9d5d"
FLAT = "#b0b7c3"


# --- reading the roll-ups ---------------------------------------------------------------------------------


def source_has_cut(source: str, cut: Cut) -> bool:
    """Whether ``source``'s roll-ups are kept for this cut (feedback has no team, for instance)."""
    return not cut.dimension or cut.dimension in SOURCE_DIMENSIONS[source]


def prefixed_counts(
    source: str, cut: Cut, period: Period, prefix: str, keep: Callable[[str], bool] | None = None
) -> tuple[Counter[str], Counter[str]]:
    """The sums whose key starts with ``prefix``, added up over the period and over the previous period of
    the same length, keyed by what follows the prefix (only the codes ``keep`` accepts: a responsible
    department's topics). One query over 2 x days rows of one cut."""
    current: Counter[str] = Counter()
    previous: Counter[str] = Counter()
    before = period.previous
    rows = MetricDaily.objects.filter(
        source=source, dimension=cut.dimension, value=cut.value, day__gte=before.start, day__lte=period.end
    ).values_list("day", "sums")
    for day, sums in rows:
        target = current if day >= period.start else previous
        for key, amount in sums.items():
            if key.startswith(prefix) and amount:
                target[key[len(prefix) :]] += int(amount)
    if keep is not None:
        for counts in (current, previous):
            for code in [c for c in counts if not keep(c)]:
                del counts[code]
    return current, previous


def topic_labels(codes: list[str], language: str) -> dict[str, str]:
    """Taxonomy names for top-level and sub-topic codes (the code itself when the topic is gone)."""
    english = language.startswith("en")
    names = {t.code: (t.name_en if english else t.name_zh) or t.code for t in Topic.objects.filter(code__in=codes)}
    return {c: names.get(c, c) for c in codes}


def cases_drill_url(filters: InsightFilters, root_cause: str, *, period: Period | None = None) -> str:
    """The metrics drill list of the cases behind a root-cause count: opened in the period, in the cut,
    resolved with that root cause (as ``rc:<code>`` counts them)."""
    period = period or filters.period
    params = {"period": "custom", "start": period.start.isoformat(), "end": period.end.isoformat()}
    if filters.cut.dimension:
        params.update(cut=filters.cut.dimension, value=filters.cut.value)
    params.update(kpi="resolution_rate", root_cause=root_cause)
    return reverse("metrics:drill_cases") + "?" + urlencode(params)


# --- the read model ---------------------------------------------------------------------------------------


@dataclass
class CauseBreakdown:
    """One Pareto and its period-over-period comparison."""

    rows: list[ParetoRow] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    total: int = 0  # counted mentions (complaint topics) or resolved cases with a root cause, this period
    previous_total: int = 0
    available: bool = True  # False when the source is not kept for the page's cut


def cause_breakdown(
    source: str, prefix: str, cut: Cut, period: Period, language: str, keep: Callable[[str], bool] | None = None
) -> CauseBreakdown:
    if not source_has_cut(source, cut):
        return CauseBreakdown(available=False)
    current, previous = prefixed_counts(source, cut, period, prefix, keep)
    codes = sorted(set(current) | set(previous))
    result = CauseBreakdown(labels=topic_labels(codes, language))
    result.total, result.previous_total = sum(current.values()), sum(previous.values())
    if result.total:
        result.rows = pareto(dict(current), cutoff=CUTOFF)
    if result.total and result.previous_total:
        result.changes = what_changed(dict(previous), dict(current))
    return result


@dataclass
class RootCauses:
    level: str
    topics: CauseBreakdown
    root_causes: CauseBreakdown


def root_causes(filters: InsightFilters, level: str, language: str) -> RootCauses:
    """Complaint topics (``level`` top or sub) and case root causes for the page's period and cut."""
    if level not in LEVELS:
        level = "top"
    period, cut = filters.period, filters.cut
    keep = filters.covers if filters.department is not None else None
    return RootCauses(
        level=level,
        topics=cause_breakdown(Source.FEEDBACK, TOPIC_PREFIX[level], cut, period, language, keep),
        root_causes=cause_breakdown(Source.CASES, ROOT_CAUSE_PREFIX, cut, period, language, keep),
    )


# --- charts -----------------------------------------------------------------------------------------------


def _pct(fraction: float) -> float:
    return round(fraction * 100, 1)


def pareto_chart(
    key: str, title: str, data: CauseBreakdown, urls: dict[str, str], note: str, marks: Sequence[Annotation] = ()
) -> Chart:
    """Bars of each cause's share (the vital few, up to the 80% cut, in red) with its 95% interval as a thin
    box, the cumulative share as a line on the same 0-100% axis, and the 80% line."""
    shown = data.rows[:MAX_BARS]
    names = [data.labels.get(str(r.cause), str(r.cause)) for r in shown]
    bars = [{"value": r.percent, "url": urls.get(str(r.cause)),
             "itemStyle": {"color": BAR_VITAL if r.vital_few else BAR}} for r in shown]  # fmt: skip
    # the interval drawn as a thin candlestick box (open=low, close=high); clicking it drills like its bar
    intervals = [{"value": [_pct(r.ci_low), _pct(r.ci_high), _pct(r.ci_low), _pct(r.ci_high)],
                  "url": urls.get(str(r.cause))} for r in shown]  # fmt: skip
    cumulative = [{"value": _pct(r.cumulative_share), "url": urls.get(str(r.cause))} for r in shown]
    # a flag over the bar of each cause an improvement action worked on in the period, with its date
    flags = []
    for mark in marks:
        for index, row in enumerate(shown):
            if str(row.cause) in mark.topics:
                flags.append({"coord": [index, row.percent], "value": mark.day.strftime("%m-%d"), "url": mark.url,
                              "name": mark.label})  # fmt: skip
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 24, "bottom": 90, "top": 64},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 35, "interval": 0}},
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {"name": _("Share of the total (%)"), "type": "bar", "data": bars, "barMaxWidth": 48,
             "markPoint": {"symbol": "pin", "symbolSize": 36, "itemStyle": {"color": "#2b6cb0"}, "data": flags}},
            {"name": _("Interval (95%)"), "type": "candlestick", "data": intervals, "barWidth": 6,
             "itemStyle": {"color": "#333", "color0": "#333", "borderColor": "#333", "borderColor0": "#333"}},
            {"name": _("Cumulative share (%)"), "type": "line", "data": cumulative, "symbolSize": 6,
             "markLine": {"silent": True, "symbol": "none", "lineStyle": {"type": "dashed", "color": BAR_VITAL},
                          "label": {"formatter": _("Cut at 80%")}, "data": [{"yAxis": 80}]}},
        ],
    }  # fmt: skip
    header = [_("Cause"), _("Count"), _("Share (%)"), _("95% CI low (%)"), _("95% CI high (%)"),
              _("Cumulative (%)"), _("Vital few (up to 80%)")]  # fmt: skip
    rows = [[data.labels.get(str(r.cause), str(r.cause)), r.count, r.percent, _pct(r.ci_low),
             _pct(r.ci_high), _pct(r.cumulative_share), _("yes") if r.vital_few else _("no")]
            for r in data.rows]  # fmt: skip
    links = [urls.get(str(r.cause)) for r in data.rows]
    return Chart(key, title, option, Table(header, rows, links), note=note, height=380)


def change_chart(key: str, title: str, data: CauseBreakdown, urls: dict[str, str], note: str) -> Chart:
    """A diverging bar per cause: the change of its share in percentage points, red when it grew
    significantly, green when it shrank significantly, grey otherwise."""
    shown = list(reversed(data.changes[:MAX_BARS]))  # the largest change on top of a horizontal chart
    names = [data.labels.get(str(c.cause), str(c.cause)) for c in shown]

    def colour(change: Change) -> str:
        if not change.significant:
            return FLAT
        return UP if change.difference > 0 else DOWN

    bars = [{"value": round(c.difference * 100, 1), "url": urls.get(str(c.cause)),
             "itemStyle": {"color": colour(c)}} for c in shown]  # fmt: skip
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 140, "right": 40, "bottom": 30, "top": 20},
        "xAxis": {"type": "value", "axisLabel": {"formatter": "{value} pt"}},
        "yAxis": {"type": "category", "data": names, "axisLabel": {"width": 130, "overflow": "truncate"}},
        "series": [{"name": _("Change of share (points)"), "type": "bar", "data": bars,
                    "label": {"show": True, "position": "right", "formatter": "{c}"}}],
    }  # fmt: skip
    header = [_("Cause"), _("Previous count"), _("Previous share (%)"), _("Count"), _("Share (%)"),
              _("Change (points)"), _("95% CI low (points)"), _("95% CI high (points)"), _("p-value"),
              _("Significant change")]  # fmt: skip

    def verdict(change: Change) -> str:
        if not change.significant:
            return _("no")
        return _("up") if change.difference > 0 else _("down")

    rows = [[data.labels.get(str(c.cause), str(c.cause)), c.before_count, _pct(c.before_share),
             c.after_count, _pct(c.after_share), round(c.difference * 100, 1), round(c.ci_low * 100, 1),
             round(c.ci_high * 100, 1), round(c.p_value, 4), verdict(c)] for c in data.changes]  # fmt: skip
    links = [urls.get(str(c.cause)) for c in data.changes]
    height = max(220, 28 * len(shown) + 60)
    return Chart(key, title, option, Table(header, rows, links), note=note, height=height)


def build_page(filters: InsightFilters, level: str, language: str) -> InsightPage:
    result = root_causes(filters, level, language)
    topics, causes = result.topics, result.root_causes
    # Complaints about the topic by its own polarity (aspect sentiment), as the tc:/sc: sums count them.
    topic_urls = {str(r): feedback_url(filters, topic=str(r), aspect="complaint")
                  for r in {*(row.cause for row in topics.rows), *(c.cause for c in topics.changes)}}  # fmt: skip
    cause_urls = {str(r.cause): cases_drill_url(filters, str(r.cause)) for r in causes.rows}
    cause_urls.update({str(c.cause): cases_drill_url(filters, str(c.cause)) for c in causes.changes})
    level_name = _("top-level topics") if result.level == "top" else _("sub-topics")
    charts: list[Chart] = []
    if topics.available:
        charts.append(pareto_chart(
            "complaint_topics", _("Complaint causes: %(level)s") % {"level": level_name}, topics, topic_urls,
            _("%(n)s topic mentions in complaints. A complaint that mentions two topics counts once for each, so "
              "shares are of mentions; complaints without a topic are not counted. Red bars make up the first 80%%. "
              "Click a bar for the complaints behind it.") % {"n": topics.total},
            annotations_between(filters.period.start, filters.period.end),
        ))  # fmt: skip
        charts.append(change_chart(
            "what_changed", _("What changed since the previous period"), topics, topic_urls,
            _("Share of each cause now (%(start)s to %(end)s) minus its share in the %(days)s days before; red or "
              "green only where the change is significant (two-proportion z test, Holm-corrected, 5%%). Previous "
              "period: %(n)s mentions.") % {"start": filters.period.start, "end": filters.period.end,
                                            "days": filters.period.days, "n": topics.previous_total},
        ))  # fmt: skip
    if causes.available:
        charts.append(pareto_chart(
            "case_root_causes", _("Root causes of resolved cases"), causes, cause_urls,
            _("%(n)s cases opened in the period and resolved with a root cause. Click a bar for the cases.")
            % {"n": causes.total},
        ))  # fmt: skip
        charts.append(change_chart(
            "root_causes_changed", _("Root causes: what changed"), causes, cause_urls,
            _("Change of each root cause's share against the previous period (%(n)s cases); coloured where "
              "significant.") % {"n": causes.previous_total},
        ))  # fmt: skip
    missing = []
    if not topics.available:
        missing.append(_("Complaint topics cannot be cut by this filter: feedback has no team."))
    if not causes.available:
        missing.append(_("Case root causes cannot be cut by this filter."))
    return InsightPage(
        key="root_causes",
        title=str(_("Root causes")),
        intro=_(
            "Which causes make up most complaints and resolved cases (Pareto, with their intervals at 95%), and which "
            "ones grew or shrank against the previous period. The filter's product, channel or other cut "
            "applies to every chart."
        ),  # fmt: skip
        charts=charts,
        template="dashboards/root_causes.html",
        context={
            "level": result.level,
            "level_choices": [("top", _("Top-level topics")), ("sub", _("Sub-topics"))],
            "extra_params": [("level", result.level)],
            # exports and PNG links keep the level; the switch links start from the filters alone
            "query": urlencode({**filters.params(), "level": result.level}),
            "base_query": urlencode(filters.params()),
            "missing": missing,
            "department_cut": "all",
            # "create action" for each cause of the vital few (voxloop.core.annotations; empty without actions)
            "action_links": [
                (topics.labels.get(str(r.cause), str(r.cause)), url)
                for r in topics.rows
                if r.vital_few
                if (
                    url := create_action_link(
                        "pareto", topics=[str(r.cause)], title=topics.labels.get(str(r.cause), str(r.cause))
                    )
                )
            ]
            if topics.available
            else [],
        },
    )
