"""Journey map (insight page 7): how customers feel at each touchpoint, and the pain points within each.

A touchpoint covers some taxonomy topics (Touchpoint.topic_codes). Its figures are sums over the feedback
roll-ups' topic rows of those topics (n, negative, sent_sum / sent_n, complaints), so an item that mentions
two topics of one touchpoint counts once per topic, as it does in every topic breakdown. Sub-topics: the
roll-ups keep volume and sentiment per top-level topic; a sub-topic is measured from "subtopic" rows when the
roll-ups have them, and otherwise by its complaints alone (``sc:<code>``), its volume and sentiment unknown.
One grouped query over the topic rows, one over the total rows when a touchpoint covers a sub-topic.

Under a filter (channel, product, topic, segment, language) the figures come from that cut's rows instead:
every feedback cell carries per-topic sums (``tv`` / ``tn`` / ``ts`` / ``tsn`` / ``tc:<top code>``) and
per-sub-topic sums (``sv`` / ``sneg`` / ``ss`` / ``ssn`` / ``sc:<parent.child>``), so one aggregate over
the cut's rows (one a day) gives the same figures within the filter. Feedback has no team: a team filter
leaves the map empty and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.insights.filters import InsightFilters
from voxloop.insights.models import Touchpoint
from voxloop.insights.pages import Chart, InsightPage, Table, feedback_url
from voxloop.insights.root_causes import BAR, BAR_VITAL, topic_labels
from voxloop.metrics.expressions import SumsKey
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import Cut, Period

TOPIC_SUMS = ("negative", "sent_sum", "sent_n", "complaints")
SUBTOPIC_DIMENSION = "subtopic"
MAX_PAIN_POINTS = 15


@dataclass
class Figures:
    """Additive counters of one topic or one touchpoint. ``n`` None: volume and sentiment not known (a
    sub-topic without roll-up rows of its own); complaints are always known."""

    n: int | None = None
    negative: int | None = None
    sent_sum: float = 0.0
    sent_n: int = 0
    complaints: int = 0

    def add(self, other: Figures) -> None:
        if other.n is not None:
            self.n = (self.n or 0) + other.n
            self.negative = (self.negative or 0) + (other.negative or 0)
            self.sent_sum += other.sent_sum
            self.sent_n += other.sent_n
        self.complaints += other.complaints

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.n if self.n and self.negative is not None else None

    @property
    def sentiment(self) -> float | None:
        return self.sent_sum / self.sent_n if self.sent_n else None


def topic_figures(period: Period, codes: Iterable[str]) -> dict[str, Figures]:
    """Figures of each code over the period: top-level codes from the topic rows, sub-topics from
    "subtopic" rows if any, else their complaints from the total rows."""
    codes = set(codes)
    sums = {f"s_{key}": Sum(SumsKey(key)) for key in TOPIC_SUMS}
    # as mappings: the stubs know the rows' "value" and "total_n" only, not the sums named in **sums
    rows: Iterable[Mapping[str, Any]] = (
        MetricDaily.objects.filter(
            source=Source.FEEDBACK, dimension__in=["topic", SUBTOPIC_DIMENSION], value__in=codes,
            day__gte=period.start, day__lte=period.end,
        )
        .values("value")
        .annotate(total_n=Sum("n"), **sums)
        .order_by()
    )  # fmt: skip
    figures: dict[str, Figures] = {}
    for row in rows:
        figures[row["value"]] = Figures(
            n=int(row["total_n"] or 0),
            negative=int(row["s_negative"] or 0),
            sent_sum=float(row["s_sent_sum"] or 0.0),
            sent_n=int(row["s_sent_n"] or 0),
            complaints=int(row["s_complaints"] or 0),
        )
    unknown_subtopics = {c for c in codes if "." in c and c not in figures}
    if unknown_subtopics:
        ordered = sorted(unknown_subtopics)
        complaints = MetricDaily.objects.filter(
            source=Source.FEEDBACK, dimension="", value="", day__gte=period.start, day__lte=period.end
        ).aggregate(**{f"c{i}": Sum(SumsKey(f"sc:{code}")) for i, code in enumerate(ordered)})
        for i, code in enumerate(ordered):
            figures[code] = Figures(complaints=int(complaints[f"c{i}"] or 0))
    for code in codes:
        # A top-level topic nobody mentioned has no rows: it is zero, not unknown.
        figures.setdefault(code, Figures(n=0, negative=0))
    return figures


# The per-topic sums inside every feedback cell: (mentions, negative, sentiment sum, sentiment count,
# complaints) for a top-level code and for a sub-topic code.
TOP_KEYS = ("tv", "tn", "ts", "tsn", "tc")
SUB_KEYS = ("sv", "sneg", "ss", "ssn", "sc")


def cut_topic_figures(cut: Cut, period: Period, codes: Iterable[str]) -> dict[str, Figures]:
    """Figures of each code within one cut over the period, from the per-topic sums of the cut's rows. A code
    with complaints or negatives but no mentions was counted by roll-ups older than the per-topic sums: its
    volume and sentiment are unknown (n None) until ``voxloop rebuild_rollups`` restates those days."""
    codes = sorted(set(codes))
    wanted = [(code, key) for code in codes for key in (SUB_KEYS if "." in code else TOP_KEYS)]
    sums = MetricDaily.objects.filter(
        source=Source.FEEDBACK, dimension=cut.dimension, value=cut.value, day__gte=period.start,
        day__lte=period.end,
    ).aggregate(**{f"s{i}": Sum(SumsKey(f"{key}:{code}")) for i, (code, key) in enumerate(wanted)})  # fmt: skip
    values = {(code, key): float(sums[f"s{i}"] or 0) for i, (code, key) in enumerate(wanted)}
    figures: dict[str, Figures] = {}
    for code in codes:
        n, negative, sent_sum, sent_n, complaints = (values[(code, k)] for k in (SUB_KEYS if "." in code else TOP_KEYS))
        if n == 0 and (negative or complaints):
            figures[code] = Figures(complaints=int(complaints))
        else:
            figures[code] = Figures(n=int(n), negative=int(negative), sent_sum=sent_sum, sent_n=int(sent_n),
                                    complaints=int(complaints))  # fmt: skip
    return figures


def overall_topic_figures(period: Period, codes: Iterable[str]) -> dict[str, Figures]:
    """Figures of each code over all feedback: the total rows' per-topic sums, which count each topic by its
    own polarity (aspect sentiment: "东西不错，就是物流慢了点" is a logistics negative, not a quality one); a
    code those sums do not know (roll-ups older than them) from the topic rows, by the items' labels."""
    codes = sorted(set(codes))
    figures = cut_topic_figures(Cut(), period, codes)
    missing = [code for code, f in figures.items() if not f.n]
    if missing:
        for code, older in topic_figures(period, missing).items():
            if older.n or older.complaints:
                figures[code] = older
    return figures


@dataclass
class TouchpointRow:
    touchpoint: Touchpoint
    label: str
    figures: Figures
    topics: list[tuple[str, Figures]] = field(default_factory=list)


@dataclass
class PainPoint:
    touchpoint: Touchpoint
    touchpoint_label: str
    code: str
    label: str
    figures: Figures


@dataclass
class Journey:
    rows: list[TouchpointRow]
    pain_points: list[PainPoint]
    labels: dict[str, str]
    available: bool = True  # False with a team filter: feedback has no team


def journey(filters: InsightFilters, language: str, touchpoints: list[Touchpoint] | None = None) -> Journey:
    """Figures per active touchpoint in journey order and the pain points (topics within touchpoints) ranked
    by negative volume, then negative share, then complaints."""
    touchpoints = touchpoints if touchpoints is not None else list(Touchpoint.objects.filter(is_active=True))
    cut = filters.cut
    if cut.dimension == "team":
        return Journey([], [], {}, available=False)
    codes = sorted({c for t in touchpoints for c in t.topic_codes})
    if not codes:
        per_code = {}
    elif cut.dimension:
        per_code = cut_topic_figures(cut, filters.period, codes)
    else:
        per_code = overall_topic_figures(filters.period, codes)
    labels = topic_labels(codes, language)
    rows, pains = [], []
    for touchpoint in touchpoints:
        total = Figures()
        topics = []
        for code in touchpoint.topic_codes:
            figures = per_code.get(code, Figures(n=0, negative=0))
            total.add(figures)
            topics.append((code, figures))
            pains.append(PainPoint(touchpoint, touchpoint.display_name(language), code, labels.get(code, code),
                                   figures))  # fmt: skip
        rows.append(TouchpointRow(touchpoint, touchpoint.display_name(language), total, topics))
    pains.sort(key=lambda p: (-(p.figures.negative or 0), -(p.figures.negative_share or 0),
                              -p.figures.complaints, p.touchpoint.sort_order, p.code))  # fmt: skip
    return Journey(rows, pains, labels)


# --- the page ---------------------------------------------------------------------------------------------


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _pct(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def build_page(filters: InsightFilters, language: str, focus: str = "", may_edit: bool = False) -> InsightPage:
    """The journey chart and the pain points; ``focus`` (a touchpoint code) narrows the pain points to one
    touchpoint: where a click on the journey chart leads."""
    result = journey(filters, language)
    base = urlencode(filters.params())
    charts: list[Chart] = []
    if result.available:
        charts.append(_journey_chart(filters, result, base))
        charts.append(_pain_chart(filters, result, focus))
    focus_label = next((r.label for r in result.rows if r.touchpoint.code == focus), "")
    return InsightPage(
        key="journey",
        title=str(_("Journey map")),
        intro=_(
            "How customers feel at each step of their journey, and where it hurts most. Each touchpoint "
            "covers some taxonomy topics; an item mentioning two topics of one touchpoint counts once per "
            "topic, so a touchpoint's volume is topic mentions, not distinct items."
        ),  # fmt: skip
        charts=charts,
        template="dashboards/journey.html",
        context={
            "focus": focus if focus_label else "",
            "focus_label": focus_label,
            "base_query": base,
            "extra_params": [("touchpoint", focus)] if focus_label else [],
            "query": urlencode({**filters.params(), **({"touchpoint": focus} if focus_label else {})}),
            "may_edit": may_edit,
            "unavailable": None
            if result.available
            else _(
                "Feedback is not assigned to teams, so the journey map cannot be narrowed to a team. Clear the "
                "filter or pick another one (channel, product, topic, segment, language)."
            ),  # fmt: skip
        },
    )


def _journey_chart(filters: InsightFilters, result: Journey, base: str) -> Chart:
    names = [r.label for r in result.rows]
    # A touchpoint spans several topics, and the feedback inbox filters by one: its bar opens this page
    # narrowed to its pain points, each of which opens the feedback behind it.
    urls = [f"?{base}{'&' if base else ''}touchpoint={r.touchpoint.code}#chart-pain_points" for r in result.rows]
    volume = [{"value": r.figures.n, "url": u} for r, u in zip(result.rows, urls, strict=True)]
    negative = [{"value": r.figures.negative, "url": u} for r, u in zip(result.rows, urls, strict=True)]
    sentiment = [{"value": _r(r.figures.sentiment, 3), "url": u} for r, u in zip(result.rows, urls, strict=True)]
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        # Slanted names, as on the root-causes chart: eight English names side by side ran into each other.
        "grid": {"left": 60, "right": 60, "bottom": 80, "top": 64},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 35}},
        "yAxis": [
            {"type": "value", "name": _("Topic mentions")},
            {"type": "value", "name": _("Average sentiment"), "min": -1, "max": 1},
        ],
        "series": [
            {"name": _("Topic mentions"), "type": "bar", "data": volume, "itemStyle": {"color": BAR}},
            {"name": _("Negative"), "type": "bar", "data": negative, "itemStyle": {"color": BAR_VITAL}},
            {"name": _("Average sentiment (−1 to 1)"), "type": "line", "yAxisIndex": 1, "data": sentiment,
             "symbolSize": 8, "connectNulls": False},
        ],
    }  # fmt: skip
    header = [_("Touchpoint"), _("Topics"), _("Topic mentions"), _("Negative"), _("Negative share (%)"),
              _("Average sentiment (−1 to 1)"), _("Complaints")]  # fmt: skip
    rows = [[r.label, ", ".join(result.labels.get(c, c) for c in r.touchpoint.topic_codes), r.figures.n,
             r.figures.negative, _pct(r.figures.negative_share), _r(r.figures.sentiment, 3), r.figures.complaints]
            for r in result.rows]  # fmt: skip
    note = _("Bars: topic mentions and negative mentions per touchpoint, in journey order; line: average "
             "sentiment score. Click a touchpoint for its pain points.")  # fmt: skip
    if filters.cut.dimension:
        note += " " + _("Within the filter: only the filter's feedback is counted.")
    if any(f.n is None for r in result.rows for _c, f in r.topics):
        if filters.cut.dimension:
            note += " " + _("Some topics are counted by their complaints only: the roll-ups of some days predate "
                            "per-topic volume and sentiment within a filter (voxloop rebuild_rollups restates "
                            "them).")  # fmt: skip
        else:
            note += " " + _("Sub-topics are counted by their complaints only (volume and sentiment are kept per "
                            "top-level topic); a touchpoint made only of sub-topics has no volume.")  # fmt: skip
    return Chart("journey", _("The customer journey"), option, Table(header, rows, urls), note=note, height=380)


def _pain_chart(filters: InsightFilters, result: Journey, focus: str) -> Chart:
    pains = [p for p in result.pain_points if not focus or p.touchpoint.code == focus]
    # The topic's own polarity, as the figures count it (aspect sentiment; the item's label where none).
    urls = [feedback_url(filters, topic=p.code, aspect="negative" if p.figures.n is not None else "complaint")
            for p in pains]  # fmt: skip
    shown = list(zip(pains, urls, strict=True))[:MAX_PAIN_POINTS]
    shown.reverse()  # the worst on top of a horizontal chart
    names = [f"{p.touchpoint_label} · {p.label}" for p, _u in shown]
    values = [{"value": p.figures.negative if p.figures.n is not None else p.figures.complaints, "url": u,
               "itemStyle": {"color": BAR_VITAL if p.figures.n is not None else BAR}}
              for p, u in shown]  # fmt: skip
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 200, "right": 40, "bottom": 30, "top": 20},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": names, "axisLabel": {"width": 190, "overflow": "truncate"}},
        "series": [{"name": _("Negative mentions"), "type": "bar", "data": values,
                    "label": {"show": True, "position": "right"}}],
    }  # fmt: skip
    header = [_("Touchpoint"), _("Topic"), _("Mentions"), _("Negative"), _("Negative share (%)"),
              _("Average sentiment (−1 to 1)"), _("Complaints")]  # fmt: skip
    rows = [[p.touchpoint_label, p.label, p.figures.n, p.figures.negative, _pct(p.figures.negative_share),
             _r(p.figures.sentiment, 3), p.figures.complaints] for p in pains]  # fmt: skip
    title = _("Pain points")
    focus_label = next((p.touchpoint_label for p in pains), "")
    if focus and focus_label:
        title = _("Pain points: %(touchpoint)s") % {"touchpoint": focus_label}
    note = _("Topics within touchpoints ranked by negative mentions, then negative share. Click a bar for the "
             "negative feedback behind it.")  # fmt: skip
    return Chart("pain_points", title, option, Table(header, rows, urls), note=note,
                 height=max(240, 26 * len(shown) + 60))  # fmt: skip
