"""Emotions and needs (/insights/emotions/): which emotions customers voice and how that moves over time,
the words that carry them, and the needs and suggestions they put into words. Every bar opens what is
behind it: an emotion opens its words (this page, ?emotion=), a word or a need opens the feedback
containing it (the inbox's q= search)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.insights import emotions as read
from voxloop.insights.filters import InsightFilters
from voxloop.insights.pages import Chart, InsightPage, Table, feedback_url, filters_from, insights_view, respond
from voxloop.metrics.queries import Period, PeriodError


@insights_view
def emotions(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    if filters.cut.dimension == "team":
        raise PeriodError(_("Emotions are counted on feedback, which has no team: choose another filter."))
    emotion = (request.GET.get("emotion") or "").strip()
    period = filters.period
    days = read.emotion_days(period, filters.cut)
    names = [n for n in read.emotion_order(set(days.totals)) if days.totals.get(n)]
    if emotion and emotion not in read.emotion_order(set(days.totals)):
        raise PeriodError(_("Unknown emotion %(emotion)r.") % {"emotion": emotion})
    words = read.emotion_words(period, read.emotion_order(set(days.totals)), emotion)
    needs = read.top_needs(period)
    all_items = read.feedback_items(period) if filters.cut.dimension else days.items
    charts = [
        emotions_chart(filters, days, names),
        trend_chart(filters, days, names),
        words_chart(filters, words.ranked, words.emotions, emotion),
        needs_chart(filters, needs, all_items),
    ]
    page = InsightPage(
        key="emotions",
        title=_("Emotions and needs"),
        intro=_(
            "The emotions the analysis found in feedback, the words that signalled them, and the needs and "
            "suggestions customers voiced (希望…, 建议…, would be nice if…). Click an emotion to see its words, "
            "a word or a need to read the feedback."
        ),
        charts=charts,
        template="dashboards/emotions.html",
        context={
            "emotion": emotion,
            "emotion_label": read.emotion_label(emotion) if emotion else "",
            "all_words_url": _page_url(filters.params()),
            "extra_params": [("emotion", emotion)] if emotion else [],
            "example_needs": [n for n in needs if n.examples],
            "cut_note": bool(filters.cut.dimension),
            "items": days.items,
        },
    )
    return respond(request, page, filters)


def _page_url(params: dict[str, str], anchor: str = "") -> str:
    return reverse("dashboards:emotions") + "?" + urlencode(params) + (f"#{anchor}" if anchor else "")


def _emotion_url(filters: InsightFilters, name: str, period: Period | None = None) -> str:
    params = filters.params()
    if period is not None:
        params.update(period="custom", start=period.start.isoformat(), end=period.end.isoformat())
    return _page_url({**params, "emotion": name}, "chart-words")


def _short(text: str, limit: int = 24) -> str:
    # long needs would squeeze the bars; the table and the tooltip's link keep the whole key
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def emotions_chart(filters: InsightFilters, days: read.EmotionDays, names: list[str]) -> Chart:
    ranked = sorted(names, key=lambda n: (-days.totals[n], names.index(n)))
    labels = [read.emotion_label(n) for n in ranked]
    data = [{"value": days.totals[n], "url": _emotion_url(filters, n),
             "itemStyle": {"color": read.EMOTION_COLOURS.get(n, "#5470c6")}} for n in ranked]  # fmt: skip
    option = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": _("Items")},
        "series": [{"type": "bar", "name": _("Items"), "data": data}],
    }
    rows = [[label, days.totals[n], _pct(days.totals[n], days.items)] for label, n in zip(labels, ranked, strict=True)]
    return Chart(
        key="emotions",
        title=_("Emotions in the period"),
        option=option,
        table=Table(
            [_("Emotion"), _("Items"), _("Share of feedback (%)")], rows, [_emotion_url(filters, n) for n in ranked]
        ),  # fmt: skip
        note=_(
            "%(items)s feedback items in the period; an item may voice several emotions. Click a bar for the "
            "words behind it."
        )
        % {"items": days.items},  # fmt: skip
    )


def trend_chart(filters: InsightFilters, days: read.EmotionDays, names: list[str]) -> Chart:
    buckets = read.series_by_bucket(days, filters.period, names)
    size = read.bucket_size(filters.period.days)
    labels = [b["start"].strftime("%Y-%m" if size == "month" else "%m-%d") for b in buckets]
    series = []
    for name in names:
        series.append({
            "type": "line", "name": read.emotion_label(name), "showSymbol": size != "day",
            "itemStyle": {"color": read.EMOTION_COLOURS.get(name, "#5470c6")},
            "data": [{"value": b["counts"][name],
                      "url": _emotion_url(filters, name, Period(b["start"], b["end"]))} for b in buckets],
        })  # fmt: skip
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 8, "right": 16, "top": 36, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": _("Items")},
        "series": series,
    }
    header = [_("From"), _("To"), _("Items"), *[read.emotion_label(n) for n in names]]
    rows = [[b["start"].isoformat(), b["end"].isoformat(), b["items"], *[b["counts"][n] for n in names]]
            for b in buckets]  # fmt: skip
    unit = {"day": _("day"), "week": _("week"), "month": _("month")}[size]
    return Chart(
        key="emotion_trend",
        title=_("Emotions over time (per %(unit)s)") % {"unit": unit},
        option=option,
        table=Table(header, rows, [feedback_url(filters, start=b["start"], end=b["end"]) for b in buckets]),
    )


def words_chart(filters: InsightFilters, words: list[tuple[str, int]], emotions: dict[str, dict[str, int]],
                emotion: str) -> Chart:  # fmt: skip
    period = filters.period

    def main_emotion(word: str) -> str:
        counts = emotions.get(word, {})
        return emotion or (max(counts, key=lambda n: (counts[n], n)) if counts else "")

    shown = words[: read.CHART_TERMS]
    data = [{"value": n, "url": feedback_url(None, start=period.start, end=period.end, q=word),
             "itemStyle": {"color": read.EMOTION_COLOURS.get(main_emotion(word), "#5470c6")}}
            for word, n in shown]  # fmt: skip
    option = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [w for w, _n in shown][::-1]},
        "series": [{"type": "bar", "name": _("Items"), "data": data[::-1]}],
    }
    rows = []
    for word, n in words:
        counts = emotions.get(word, {})
        detail = ", ".join(f"{read.emotion_label(e)} {c}" for e, c in sorted(counts.items(), key=lambda kv: -kv[1]))
        rows.append([word, n, read.emotion_label(main_emotion(word)) if main_emotion(word) else "", detail])
    if emotion:
        title = _("Words signalling %(emotion)s") % {"emotion": read.emotion_label(emotion)}
    else:
        title = _("Most frequent emotion words")
    return Chart(
        key="words",
        title=title,
        option=option,
        table=Table(
            [_("Word"), _("Items"), _("Emotion it signals"), _("Items per emotion")],
            rows,
            [feedback_url(None, start=period.start, end=period.end, q=w) for w, _n in words],
        ),  # fmt: skip
        note=_(
            "Top %(shown)s of %(count)s; the bar's colour is the emotion the word signals most often. "
            "Click a word to read its feedback."
        )
        % {"shown": len(shown), "count": len(words)},  # fmt: skip
        height=max(260, 22 * len(shown) + 40),
    )


def needs_chart(filters: InsightFilters, needs: list[read.Need], all_items: int) -> Chart:
    period = filters.period
    shown = needs[: read.CHART_TERMS]
    links = [feedback_url(None, start=period.start, end=period.end, q=n.key) for n in needs]
    data = [{"value": n.items, "url": link} for n, link in zip(shown, links, strict=False)]
    option = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": [_short(n.key) for n in shown][::-1]},
        "series": [{"type": "bar", "name": _("Items"), "data": data[::-1], "itemStyle": {"color": "#2e86c1"}}],
    }  # fmt: skip
    rows = [[n.key, n.items, _pct(n.items, all_items), " | ".join(e.text for e in n.examples)] for n in needs]
    return Chart(
        key="needs",
        title=_("Needs and suggestions"),
        option=option,
        table=Table([_("Need"), _("Items"), _("Share of feedback (%)"), _("Examples")], rows, links),
        note=_(
            "The need is the customer's phrase without its lead-in (希望, 建议, would be nice if…); the same "
            "need in other words is counted apart. Click a need to read its feedback."
        ),  # fmt: skip
        height=max(260, 22 * len(shown) + 40),
    )
