"""Trends (insight page 2): feedback volume by topic, sentiment and channel over time, topics by sentiment,
and a comparison of two periods or two products.

Read from the feedback source's daily roll-ups only. A period of up to 90 days is shown by day; a longer one by
ISO week (a week cut by the period's ends counts only its days inside the period), so a chart has at most
~105 points. Every data item links to the feedback inbox filtered to that day or week and to that topic,
sentiment, channel or product.

The roll-ups keep one dimension at a time, so with a filter (a channel, a product...) topics can only be read
from the filter's own rows, which count topics of negative items (``tn:<top code>``); the topic chart then
shows those, and says so. A channel breakdown is only available without a filter or with a channel filter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl

from django.db import connections
from django.db.models import FloatField, Sum
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.core.annotations import annotations_feed_url
from voxloop.feedback.models import Product
from voxloop.insights.filters import InsightFilters
from voxloop.insights.pages import FEEDBACK_PARAM, Chart, InsightPage, Table, feedback_url
from voxloop.metrics.cells import SOURCE_DIMENSIONS
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import Cut, Period, PeriodError, make_period, value_labels

MAX_DAILY_DAYS = 90  # up to this many days a chart has one point per day; beyond, one per ISO week
TOP_TOPICS = 8  # the stacked topic chart: the biggest topics, the rest as "other topics"
SENTIMENTS = ("negative", "neutral", "positive")
SENTIMENT_COLOURS = {"negative": "#d9534f", "neutral": "#b0b7c3", "positive": "#3c9d5d", "": "#e3e6ea"}
COMPARE_MODES = ("previous", "period", "products")
PALETTE = ("#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc",
           "#b0b7c3")  # fmt: skip


def sentiment_label(sentiment: str) -> str:
    return {"negative": _("Negative"), "neutral": _("Neutral"), "positive": _("Positive"), "": _("No sentiment")}[
        sentiment
    ]


# --- time buckets -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    start: date
    end: date  # inclusive
    label: str


def time_buckets(period: Period, *, align: str = "iso", max_daily_days: int = MAX_DAILY_DAYS) -> list[Bucket]:
    """The points of a time axis: days up to ``max_daily_days``, else weeks. ``align="iso"``: ISO weeks
    (Monday to Sunday; the first and last may be partial), labelled 2026-W05; ``align="start"``: blocks of 7
    days from the period's first day, labelled by their first day (two periods then line up week by week)."""
    if period.days <= max_daily_days:
        return [Bucket(d, d, d.isoformat()) for d in period.each_day()]
    buckets: list[Bucket] = []
    start = period.start
    while start <= period.end:
        if align == "iso":
            end = min(period.end, start + timedelta(days=6 - start.weekday()))
            year, week, _weekday = start.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            end = min(period.end, start + timedelta(days=6))
            label = start.isoformat()
        buckets.append(Bucket(start, end, label))
        start = end + timedelta(days=1)
    return buckets


def bucketed(per_day: Mapping[date, float], buckets: list[Bucket]) -> list[float]:
    """Sum a per-day series into the buckets (days outside every bucket are ignored)."""
    index = {b.start + timedelta(days=i): k for k, b in enumerate(buckets) for i in range((b.end - b.start).days + 1)}
    out = [0.0] * len(buckets)
    for day, amount in per_day.items():
        k = index.get(day)
        if k is not None:
            out[k] += amount
    return out


def share(part: float, whole: float) -> float | None:
    """A percentage rounded to 0.1, or None (a gap in a line) when there is nothing to divide."""
    return round(100 * part / whole, 1) if whole else None


# --- reading the roll-ups -----------------------------------------------------------------------------------


def values_by_day(dimension: str, period: Period, value: str | None = None) -> dict[str, dict[date, int]]:
    """n per value and day of one feedback dimension. Only the n column is read (no JSON), through a plain
    cursor: two years of a dimension with a few dozen values is tens of thousands of small rows, and
    Django's per-row conversions would cost more than the query."""
    rows = MetricDaily.objects.filter(source=Source.FEEDBACK, dimension=dimension, day__gte=period.start,
                                      day__lte=period.end)  # fmt: skip
    if value is not None:
        rows = rows.filter(value=value)
    sql, params = rows.values_list("day", "value", "n").query.sql_with_params()
    days = {d.isoformat(): d for d in period.each_day()}  # SQLite returns dates as text
    out: dict[str, dict[date, int]] = defaultdict(dict)
    with connections[rows.db].cursor() as cursor:
        cursor.execute(sql, params)
        for day, val, n in cursor.fetchall():
            # SQLite returns dates as text: each is a day of the period (the filter above)
            out[val][days.get(day) or date.fromisoformat(day) if isinstance(day, str) else day] = n
    return out


def cut_sums_by_day(cut: Cut, period: Period, keys: tuple[str, ...] | None = None, *, source: str = Source.FEEDBACK,
                    histograms: tuple[str, ...] = ()) -> dict[date, tuple[int, dict[str, Any]]]:  # fmt: skip
    """(n, sums) per day of the cut's own rows of ``source`` (the total when there is no cut). With ``keys``,
    only those sums (and ``histograms``, under their own names) are read, pulled out of the JSON by the
    database: a feedback row holds dozens of sums, and decoding them all for two years of days is what
    would make a page slow."""
    rows = MetricDaily.objects.filter(source=source, dimension=cut.dimension, value=cut.value,
                                      day__gte=period.start, day__lte=period.end)  # fmt: skip
    if keys is None:
        return {day: (n, sums) for day, n, sums in rows.values_list("day", "n", "sums")}
    fields: dict[str, KeyTransform] = {f"k{i}": KeyTextTransform(key, "sums") for i, key in enumerate(keys)}
    fields |= {f"h{i}": KeyTransform(key, "histograms") for i, key in enumerate(histograms)}
    out: dict[date, tuple[int, dict[str, Any]]] = {}
    for day, n, *values in rows.annotate(**fields).values_list("day", "n", *fields):
        sums: dict[str, Any] = {key: float(v) for key, v in zip(keys, values, strict=False) if v not in (None, "")}
        for key, h in zip(histograms, values[len(keys) :], strict=True):
            if h:
                sums[key] = h
        out[day] = (n, sums)
    return out


def sentiment_by_value(dimension: str, period: Period, value: str | None = None) -> dict[str, dict[str, int]]:
    """n and the sentiment counts per value of a dimension over the period, summed in the database."""
    sums = {s: Sum(Cast(KeyTextTransform(s, "sums"), FloatField())) for s in SENTIMENTS}
    rows = MetricDaily.objects.filter(source=Source.FEEDBACK, dimension=dimension, day__gte=period.start,
                                      day__lte=period.end)  # fmt: skip
    if value is not None:
        rows = rows.filter(value=value)
    out = {}
    # as mappings: the stubs know the rows' "value" and "total" only, not the sums named in **sums
    per_value: Iterable[Mapping[str, Any]] = rows.values("value").annotate(total=Sum("n"), **sums).order_by()
    for row in per_value:
        out[row["value"]] = {"n": int(row["total"] or 0), **{s: int(row[s] or 0) for s in SENTIMENTS}}
    return out


def feedback_kept_for(cut: Cut) -> bool:
    return not cut.dimension or cut.dimension in SOURCE_DIMENSIONS[Source.FEEDBACK]


# --- chart building -----------------------------------------------------------------------------------------


@dataclass
class Series:
    name: str
    values: Sequence[float | None]
    urls: Sequence[str | None]
    colour: str | None = None
    kind: str = "bar"  # "bar" or "line"
    axis: int = 0  # 0: left (counts), 1: right (percentages)


def time_series_option(labels: list[str], series: list[Series], *, stack: bool = True, left_name: str = "",
                       right_name: str = "") -> dict[str, Any]:  # fmt: skip
    """An ECharts option for series over a category time axis; bars stack when ``stack``; a series on axis 1
    is a percentage on a right-hand axis. Every point with a url is a drill-down."""
    y_axes: list[dict[str, Any]] = [{"type": "value", "name": left_name, "minInterval": 1}]
    if any(s.axis == 1 for s in series):
        y_axes.append({"type": "value", "name": right_name, "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"},
                       "splitLine": {"show": False}})  # fmt: skip
    option: dict[str, Any] = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 56, "right": 56 if len(y_axes) > 1 else 24, "top": 64, "bottom": 56},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": y_axes,
        "series": [],
    }
    if len(labels) > 31:
        option["dataZoom"] = [{"type": "inside"}, {"type": "slider", "height": 16, "bottom": 8}]
    for s in series:
        entry: dict[str, Any] = {
            "name": s.name,
            "type": s.kind,
            "yAxisIndex": s.axis,
            "data": [{"value": v, "url": u} if u and v is not None else {"value": v}
                     for v, u in zip(s.values, s.urls, strict=True)],
        }  # fmt: skip
        if s.kind == "bar" and stack:
            entry["stack"] = "total"
        if s.kind == "line":
            entry.update(showSymbol=len(labels) <= 31, connectNulls=False)
        if s.colour:
            entry["itemStyle"] = {"color": s.colour}
            if s.kind == "line":
                entry["lineStyle"] = {"color": s.colour}
        option["series"].append(entry)
    return option


def _count(value: float | None) -> int | float | None:
    return None if value is None else int(value) if float(value).is_integer() else value


def wide_table(first_header: str, buckets: list[Bucket], series: list[Series], row_links: Sequence[str | None]
               ) -> Table:  # fmt: skip
    rows = [[b.label, *[_count(s.values[i]) for s in series]] for i, b in enumerate(buckets)]
    return Table([first_header, *[s.name for s in series]], rows, row_links)


# --- the page -----------------------------------------------------------------------------------------------


class InboxLinks:
    """``feedback_url`` for the hundreds of points of a long chart: the inbox path is reversed once and the
    filter's query reused (same parameters, same meaning)."""

    def __init__(self, filters: InsightFilters) -> None:
        base = feedback_url(filters)
        self.path, _sep, query = base.partition("?")
        self.query = dict(parse_qsl(query))
        # The cut's parameters, encoded once: a 2-year chart asks for thousands of links.
        self.fixed = {k: v for k, v in self.query.items() if k not in ("date_from", "date_to")}
        self.fixed_encoded = urlencode(self.fixed)

    def __call__(self, start: date, end: date, **params: Any) -> str:
        if not self.fixed.keys() & params.keys():  # the common case: nothing of the cut replaced or dropped
            extra = urlencode({k: (v.isoformat() if isinstance(v, date) else v) for k, v in params.items()
                               if v is not None})  # fmt: skip
            query = "&".join(q for q in (f"date_from={start.isoformat()}&date_to={end.isoformat()}",
                                         self.fixed_encoded, extra) if q)  # fmt: skip
            return self.path + "?" + query
        merged = dict(self.query, date_from=start.isoformat(), date_to=end.isoformat())
        for name, value in params.items():
            if value is None:
                merged.pop(name, None)
            else:
                merged[name] = value.isoformat() if isinstance(value, date) else value
        return self.path + "?" + urlencode(merged)


def bucket_url(links: InboxLinks, bucket: Bucket, **params: Any) -> str:
    return links(bucket.start, bucket.end, **params)


def topic_chart(filters: InsightFilters, buckets: list[Bucket], language: str) -> Chart:
    period, cut = filters.period, filters.cut
    links = InboxLinks(filters)
    title = _("Topics over time")
    axis = _("Period")
    if not feedback_kept_for(cut):
        return _unavailable("topics", title, axis)
    if cut.dimension in ("", "topic"):
        per_value = values_by_day("topic", period, cut.value if cut.dimension else None)
        per_value.pop("", None)  # items without a topic are not a topic
        note = _("An item about two topics counts in both, so the stack can be taller than the volume.")
        sentiment = None
    else:  # only the topics of negative items are kept per cut
        per_value = defaultdict(dict)
        for day, (_n, sums) in cut_sums_by_day(cut, period).items():
            for key, amount in sums.items():
                if key.startswith("tn:"):
                    per_value[key[3:]][day] = amount
        title = _("Topics of negative feedback over time")
        note = _("With a filter, the daily roll-ups keep the topics of negative items only: this chart counts those.")
        sentiment = "negative"
    if filters.department is not None:  # the responsible department's topics only
        per_value = {code: days for code, days in per_value.items() if filters.covers(code)}
    totals = {v: sum(days.values()) for v, days in per_value.items()}
    ranked = sorted(totals, key=lambda v: (-totals[v], v))
    top, rest = ranked[:TOP_TOPICS], ranked[TOP_TOPICS:]
    labels = value_labels("topic", top, language)
    series = []
    for i, code in enumerate(top):
        values = bucketed(per_value[code], buckets)
        urls = [bucket_url(links, b, topic=code, aspect=sentiment) if v else None
                for b, v in zip(buckets, values, strict=True)]  # fmt: skip
        series.append(Series(labels.get(code, code), values, urls, PALETTE[i % len(PALETTE)]))
    if rest:
        other: dict[date, float] = defaultdict(float)
        for code in rest:
            for day, n in per_value[code].items():
                other[day] += n
        values = bucketed(other, buckets)
        series.append(Series(_("Other topics"), values, [None] * len(buckets), PALETTE[-1]))
    option = time_series_option([b.label for b in buckets], series, left_name=_("Items"))
    feed = annotations_feed_url()
    if option["series"] and buckets and feed:
        # improvement actions at their intervention dates (voxloop.core.annotations), marked by charts.js from the
        # feed once the chart is drawn: the page itself stays within its query budget
        option["voxloopAnnotations"] = {
            "url": feed, "first": buckets[0].start.isoformat(), "last": buckets[-1].end.isoformat(),
            "buckets": [[b.label, b.start.isoformat(), b.end.isoformat()] for b in buckets],
        }  # fmt: skip
    row_links = [bucket_url(links, b, sentiment=sentiment) for b in buckets]
    table = wide_table(axis, buckets, series, row_links) if series else Table([axis], [])
    return Chart("topics", title, option, table, note=note, height=360)


def sentiment_chart(filters: InsightFilters, buckets: list[Bucket]) -> Chart:
    title, axis = _("Sentiment over time"), _("Period")
    if not feedback_kept_for(filters.cut):
        return _unavailable("sentiment", title, axis)
    links = InboxLinks(filters)
    per_day = cut_sums_by_day(filters.cut, filters.period, SENTIMENTS)
    counts = {s: bucketed({d: float(sums.get(s, 0)) for d, (_n, sums) in per_day.items()}, buckets)
              for s in SENTIMENTS}  # fmt: skip
    volume = bucketed({d: float(n) for d, (n, _s) in per_day.items()}, buckets)
    unscored = [max(0.0, v - sum(counts[s][i] for s in SENTIMENTS)) for i, v in enumerate(volume)]
    series = [
        Series(sentiment_label(s), counts[s],
               [bucket_url(links, b, sentiment=s) if v else None for b, v in zip(buckets, counts[s], strict=True)],
               SENTIMENT_COLOURS[s])
        for s in SENTIMENTS
    ]  # fmt: skip
    if any(unscored):
        series.append(Series(sentiment_label(""), unscored, [None] * len(buckets), SENTIMENT_COLOURS[""]))
    negative_share = [share(counts["negative"][i], volume[i]) for i in range(len(buckets))]
    share_series = Series(_("Negative share"), negative_share,
                          [bucket_url(links, b, sentiment="negative") for b in buckets], "#8b1e1e", "line", 1)  # fmt: skip
    option = time_series_option([b.label for b in buckets], [*series, share_series], left_name=_("Items"),
                                right_name=_("Negative share"))  # fmt: skip
    has_data = any(volume)
    table = wide_table(axis, buckets, [*series, share_series], [bucket_url(links, b) for b in buckets])
    return Chart("sentiment", title, option, table if has_data else Table(table.header, []), height=340)


def channel_chart(filters: InsightFilters, buckets: list[Bucket], language: str) -> Chart:
    title, axis = _("Channels over time"), _("Period")
    cut = filters.cut
    if cut.dimension not in ("", "channel"):
        return _unavailable("channels", title, axis)
    links = InboxLinks(filters)
    per_value = values_by_day("channel", filters.period, cut.value if cut.dimension else None)
    totals = {v: sum(days.values()) for v, days in per_value.items()}
    ranked = sorted(totals, key=lambda v: (-totals[v], v))
    labels = value_labels("channel", ranked, language)
    series = []
    for i, channel in enumerate(ranked):
        values = bucketed(per_value[channel], buckets)
        urls = [bucket_url(links, b, channel=channel) if v else None for b, v in zip(buckets, values, strict=True)]
        series.append(Series(labels.get(channel, channel), values, urls, PALETTE[i % len(PALETTE)]))
    option = time_series_option([b.label for b in buckets], series, left_name=_("Items"))
    table = wide_table(axis, buckets, series, [bucket_url(links, b) for b in buckets]) if series else Table([axis], [])
    return Chart("channels", title, option, table, height=340)


def heatmap_chart(filters: InsightFilters, language: str) -> Chart:
    """Rows topics, columns sentiment; each cell the items of that topic with that sentiment and their share
    of the topic's items (the colour is the share, so a small topic that is mostly negative stands out)."""
    title = _("Topics by sentiment")
    cut = filters.cut
    header = [_("Topic"), _("Items"), *[sentiment_label(s) for s in SENTIMENTS],
              *[_("%(sentiment)s share") % {"sentiment": sentiment_label(s)} for s in SENTIMENTS]]  # fmt: skip
    if cut.dimension not in ("", "topic"):
        return _unavailable("topic-sentiment", title, header[0])
    by_topic = sentiment_by_value("topic", filters.period, cut.value if cut.dimension else None)
    by_topic.pop("", None)
    if filters.department is not None:
        by_topic = {code: cell for code, cell in by_topic.items() if filters.covers(code)}
    ranked = sorted(by_topic, key=lambda v: (-by_topic[v]["n"], v))[:30]
    labels = value_labels("topic", ranked, language)
    names = [labels.get(code, code) for code in ranked]
    data, rows, links = [], [], []
    for y, code in enumerate(ranked):
        cell = by_topic[code]
        shares = [share(cell[s], cell["n"]) for s in SENTIMENTS]
        for x, s in enumerate(SENTIMENTS):
            data.append(
                {"value": [x, y, shares[x] or 0, cell[s]], "url": feedback_url(filters, topic=code, sentiment=s)}
            )
        rows.append([names[y], cell["n"], *[cell[s] for s in SENTIMENTS], *shares])
        links.append(feedback_url(filters, topic=code))
    option = {
        "tooltip": {"position": "top"},
        "grid": {"left": 140, "right": 24, "top": 24, "bottom": 72},
        "xAxis": {"type": "category", "data": [sentiment_label(s) for s in SENTIMENTS], "splitArea": {"show": True}},
        "yAxis": {"type": "category", "data": names, "inverse": True, "splitArea": {"show": True}},
        "visualMap": {"min": 0, "max": 100, "calculable": True, "orient": "horizontal", "left": "center", "bottom": 8,
                      "text": ["100%", "0%"], "inRange": {"color": ["#f7fbff", "#c0392b"]}, "dimension": 2},
        "series": [{"type": "heatmap", "name": _("Share of the topic's items (%)"), "data": data,
                    "label": {"show": True, "formatter": "{@[3]}"}}],
    }  # fmt: skip
    note = _("Cells: items of the topic with that sentiment (colour: their share of the topic's items, in %).")
    return Chart("topic-sentiment", title, option, Table(header, rows, links), note=note,
                 height=max(240, 28 * len(ranked) + 100))  # fmt: skip


def _unavailable(key: str, title: str, first_header: str) -> Chart:
    return Chart(key, title, {}, Table([first_header], []), note=_("Not available for this filter."))


def _not_by_department(key: str, title: str) -> Chart:
    note = _("Not cut by responsible department: an item about two of its topics would count twice here. The "
             "topic charts show the department's topics.")  # fmt: skip
    return Chart(key, title, {}, Table([_("Period")], []), note=note)


# --- compare ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    mode: str = "previous"  # previous | period | products
    other: Period | None = None  # the second period (mode "period")
    product_a: str = ""
    product_b: str = ""

    def params(self) -> list[tuple[str, str]]:
        """Hidden inputs that keep the comparison when the filter bar is submitted."""
        out = [("compare", self.mode)]
        if self.other is not None:
            out += [("compare_start", self.other.start.isoformat()), ("compare_end", self.other.end.isoformat())]
        out += [(k, v) for k, v in (("product_a", self.product_a), ("product_b", self.product_b)) if v]
        return out


def parse_compare(params: Any, filters: InsightFilters, today: date) -> Compare:
    mode = (params.get("compare") or "previous").strip()
    if mode not in COMPARE_MODES:
        raise PeriodError(_("Unknown comparison %(mode)r; use one of: %(modes)s.")
                          % {"mode": mode, "modes": ", ".join(COMPARE_MODES)})  # fmt: skip
    a, b = (params.get("product_a") or "").strip(), (params.get("product_b") or "").strip()
    for name, value in (("product_a", a), ("product_b", b)):
        if value and not value.isdigit():
            raise PeriodError(_("%(name)s: %(value)r is not a product.") % {"name": name, "value": value})
    other = None
    start, end = (params.get("compare_start") or "").strip(), (params.get("compare_end") or "").strip()
    if mode == "period":
        try:
            other = make_period(date.fromisoformat(start), date.fromisoformat(end), today)
        except ValueError:
            raise PeriodError(
                _("Comparing with another period needs compare_start and compare_end (YYYY-MM-DD).")
            ) from None
    return Compare(mode, other, a, b)


def compare_chart(filters: InsightFilters, compare: Compare, language: str) -> Chart:
    """Volume (bars) and negative share (lines) of two periods, day by day (week by week beyond 90 days), or of
    two products over the chosen period."""
    title = _("Compare")
    if compare.mode == "products":
        return _compare_products(filters, compare, language)
    if not feedback_kept_for(filters.cut):
        return _unavailable("compare", title, _("Point"))
    first = filters.period
    second = compare.other or first.previous
    sides = [(first, _("This period")), (second, _("Compared period"))]
    title = _("This period (%(a)s to %(b)s) vs %(c)s to %(d)s") % {"a": first.start, "b": first.end,
                                                                    "c": second.start, "d": second.end}  # fmt: skip
    long = max(first.days, second.days) > MAX_DAILY_DAYS
    lines = []
    for period, name in sides:
        buckets = time_buckets(period, align="start", max_daily_days=MAX_DAILY_DAYS if not long else 0)
        per_day = cut_sums_by_day(filters.cut, period, ("negative",))
        volume = bucketed({d: float(n) for d, (n, _s) in per_day.items()}, buckets)
        negative = bucketed({d: float(s.get("negative", 0)) for d, (_n, s) in per_day.items()}, buckets)
        lines.append((name, buckets, volume, negative))
    return _compare_option("compare", title, lines, filters, long, None)


def _compare_products(filters: InsightFilters, compare: Compare, language: str) -> Chart:
    title = _("Product A vs product B")
    if not (compare.product_a and compare.product_b):
        return Chart("compare", title, {}, Table([_("Point")], []),
                     note=_("Choose two products to compare."))  # fmt: skip
    labels = value_labels("product", [compare.product_a, compare.product_b], language)
    buckets = time_buckets(filters.period)
    lines = []
    for product in (compare.product_a, compare.product_b):
        per_day = cut_sums_by_day(Cut("product", product), filters.period, ("negative",))
        volume = bucketed({d: float(n) for d, (n, _s) in per_day.items()}, buckets)
        negative = bucketed({d: float(s.get("negative", 0)) for d, (_n, s) in per_day.items()}, buckets)
        lines.append((labels.get(product, product), buckets, volume, negative, product))
    title = _("%(a)s vs %(b)s") % {"a": lines[0][0], "b": lines[1][0]}
    chart = _compare_option("compare", title, [line[:4] for line in lines], filters, filters.period.days >
                            MAX_DAILY_DAYS, [line[4] for line in lines])  # fmt: skip
    if filters.cut.dimension and filters.cut.dimension != "product":
        chart.note = _("Products are compared over all feedback: the roll-ups keep one filter at a time.")
    return chart


def _compare_option(key: str, title: str, lines: list[tuple[str, list[Bucket], list[float], list[float]]],
                    filters: InsightFilters, weekly: bool, products: list[str] | None) -> Chart:  # fmt: skip
    length = max(len(line[1]) for line in lines)
    if products:
        axis_labels = [b.label for b in lines[0][1]]
    else:
        step = _("Week %(n)s") if weekly else _("Day %(n)s")
        axis_labels = [step % {"n": i + 1} for i in range(length)]
    colours = ("#5470c6", "#fac858")
    series: list[Series] = []
    shares: list[Series] = []
    links = InboxLinks(filters)
    drop_cut = {FEEDBACK_PARAM[filters.cut.dimension]: None} if products and filters.cut.dimension else {}
    for i, (name, buckets, volume, negative) in enumerate(lines):
        extra = dict(drop_cut, **({"product_id": products[i]} if products else {}))
        urls = [bucket_url(links, b, **extra) for b in buckets] + [None] * (length - len(buckets))
        neg_urls = [bucket_url(links, b, sentiment="negative", **extra) for b in buckets]
        pad = [None] * (length - len(buckets))
        series.append(Series(_("%(name)s: items") % {"name": name}, [*volume, *pad], urls, colours[i]))
        shares.append(Series(_("%(name)s: negative share") % {"name": name},
                             [*[share(negative[k], volume[k]) for k in range(len(buckets))], *pad],
                             [*neg_urls, *pad], colours[i], "line", 1))  # fmt: skip
    option = time_series_option(axis_labels, [*series, *shares], stack=False, left_name=_("Items"),
                                right_name=_("Negative share"))  # fmt: skip
    header = [_("Point")]
    for name, _buckets, _v, _n in lines:
        header += [_("%(name)s: from") % {"name": name}, _("%(name)s: items") % {"name": name},
                   _("%(name)s: negative") % {"name": name}, _("%(name)s: negative share (%%)") % {"name": name}]  # fmt: skip
    rows = []
    for k in range(length):
        row: list[Any] = [axis_labels[k]]
        for _name, buckets, volume, negative in lines:
            if k < len(buckets):
                row += [
                    buckets[k].start.isoformat(),
                    _count(volume[k]),
                    _count(negative[k]),
                    share(negative[k], volume[k]),
                ]
            else:
                row += [None, None, None, None]
        rows.append(row)
    has_data = any(any(line[2]) for line in lines)
    return Chart(key, title, option, Table(header, rows if has_data else []), height=360)


# --- the page -----------------------------------------------------------------------------------------------


def build_page(filters: InsightFilters, compare: Compare, language: str) -> InsightPage:
    buckets = time_buckets(filters.period)
    by = _("by day") if filters.period.days <= MAX_DAILY_DAYS else _("by ISO week")
    page = InsightPage(
        key="trends",
        title=_("Trends"),
        intro=_("How feedback volume, topics, sentiment and channels move over time (%(by)s). Click a bar, point "
                "or cell to open the feedback behind it.") % {"by": by},
        template="dashboards/trends.html",
    )  # fmt: skip
    by_department = filters.department is not None
    page.charts = [
        topic_chart(filters, buckets, language),
        _not_by_department("sentiment", _("Sentiment over time")) if by_department
        else sentiment_chart(filters, buckets),
        _not_by_department("channels", _("Channels over time")) if by_department
        else channel_chart(filters, buckets, language),
        heatmap_chart(filters, language),
        _not_by_department("compare", _("Compare")) if by_department
        else compare_chart(filters, compare, language),
    ]  # fmt: skip
    page.context = {"compare": compare, "compare_modes": _compare_modes(), "products": _products(language),
                    "extra_params": compare.params(), "department_cut": "chosen"}  # fmt: skip
    return page


def _compare_modes() -> list[tuple[str, str]]:
    return [("previous", _("with the previous period")), ("period", _("with another period")),
            ("products", _("two products"))]  # fmt: skip


def _products(language: str) -> list[tuple[str, str]]:
    return [(str(p.pk), p.display_name(language)) for p in Product.objects.order_by("code")[:500]]
