"""Analysis quality (insight page): how well the analysis agrees with the people who correct it, where topics
get confused, which model version wrote the stored analyses, and the items without a topic to label.

Agreement is measured on people's corrections: for each item and field, the latest correction made in the
period is the truth, and the stored analysis (the pipeline's own output, which corrections never overwrite
and a re-analysis updates to the model in use) is the model's answer. So after a retrain and a re-analysis
the same corrections show how much better the model in use does on them. Topics compare top-level codes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from voxloop.accounts import privacy
from voxloop.analysis.models import Correction, CorrectionField, FeedbackAnalysis, FeedbackTopic
from voxloop.feedback.models import Feedback, Kind, Sentiment, Urgency
from voxloop.insights.pages import Chart, InsightPage, Table, feedback_url
from voxloop.insights.root_causes import BAR, BAR_VITAL, topic_labels
from voxloop.metrics.days import local_day
from voxloop.metrics.queries import Period

LABEL_FIELDS: tuple[str, ...] = (CorrectionField.SENTIMENT, CorrectionField.KIND, CorrectionField.URGENCY)
WORK_LIST_SIZE = 50
WEEKLY_UP_TO_DAYS = 120  # longer periods are shown by month
MAX_CONFUSIONS = 15
NO_TOPIC = ""
SENTIMENT_NAMES = dict(Sentiment.choices)


@dataclass
class Agreement:
    n: int = 0
    agree: int = 0

    def add(self, ok: bool) -> None:
        self.n += 1
        self.agree += int(ok)

    @property
    def rate(self) -> float | None:
        return self.agree / self.n if self.n else None


@dataclass
class TopicFigures:
    model: int = 0  # items the model gave the topic
    people: int = 0  # items people gave it
    both: int = 0

    @property
    def precision(self) -> float | None:
        return self.both / self.model if self.model else None

    @property
    def recall(self) -> float | None:
        return self.both / self.people if self.people else None


@dataclass
class Quality:
    buckets: list[date] = field(default_factory=list)
    over_time: dict[str, dict[date, Agreement]] = field(default_factory=dict)  # field -> bucket -> agreement
    per_label: dict[tuple[str, str], Agreement] = field(default_factory=dict)  # (field, corrected label)
    per_topic: dict[str, TopicFigures] = field(default_factory=dict)
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)  # (model's topic, people's topic)
    versions: list[tuple[str, int]] = field(default_factory=list)
    corrections: int = 0
    untopiced_total: int = 0
    untopiced: list[dict[str, Any]] = field(default_factory=list)


def bucket_of(day: date, weekly: bool) -> date:
    return day - timedelta(days=day.weekday()) if weekly else day.replace(day=1)


def _top_codes(codes: Any) -> set[str]:
    out = set()
    for code in codes or []:
        value = code.get("code") if isinstance(code, dict) else code
        if isinstance(value, str) and value:
            out.add(value.split(".")[0])
    return out


def latest_corrections(period: Period) -> list[tuple[int, str, Any, date]]:
    """(feedback id, field, corrected value, local day) of each item's latest correction of each field made in
    the period."""
    start, end = period.bounds()
    seen: set[tuple[int, str]] = set()
    out = []
    rows = (
        Correction.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("feedback_id", "field", "-created_at", "-id")
        .values_list("feedback_id", "field", "new_value", "created_at")
    )
    for feedback_id, name, value, created in rows:
        if (feedback_id, name) not in seen:
            seen.add((feedback_id, name))
            out.append((feedback_id, name, value, local_day(created)))
    return out


def quality(period: Period) -> Quality:
    weekly = period.days <= WEEKLY_UP_TO_DAYS
    result = Quality()
    first, last = bucket_of(period.start, weekly), bucket_of(period.end, weekly)
    day = first
    while day <= last:
        result.buckets.append(day)
        day = day + timedelta(days=7) if weekly else (day + timedelta(days=32)).replace(day=1)
    corrections = latest_corrections(period)
    result.corrections = len(corrections)
    ids = {c[0] for c in corrections}
    stored = {
        row[0]: row[1:]
        for row in FeedbackAnalysis.objects.filter(feedback_id__in=ids).values_list(
            "feedback_id", "sentiment", "kind", "urgency", "topics"
        )
    }
    result.over_time = {name: defaultdict(Agreement) for name in (*LABEL_FIELDS, CorrectionField.TOPICS)}
    result.per_label = defaultdict(Agreement)
    result.per_topic = defaultdict(TopicFigures)
    for feedback_id, name, value, day in corrections:
        analysis = stored.get(feedback_id)
        if analysis is None:
            continue  # not analysed (yet): nothing to compare
        sentiment, kind, urgency, topics = analysis
        bucket = bucket_of(day, weekly)
        if name == CorrectionField.TOPICS:
            model, people = _top_codes(topics), _top_codes(value)
            result.over_time[name][bucket].add(model == people)
            for code in model | people:
                figures = result.per_topic[code]
                figures.model += code in model
                figures.people += code in people
                figures.both += code in model and code in people
            removed, added = sorted(model - people), sorted(people - model)
            for a in removed or [NO_TOPIC]:
                for b in added or [NO_TOPIC]:
                    if a != b:
                        result.confusions[(a, b)] += 1
        elif name in LABEL_FIELDS:
            answer = {"sentiment": sentiment, "kind": kind, "urgency": urgency}[name]
            result.over_time[name][bucket].add(answer == value)
            result.per_label[(name, str(value))].add(answer == value)
    result.versions = list(
        FeedbackAnalysis.objects.values("model_version")
        .annotate(n=Count("feedback_id"))
        .order_by("-n", "model_version")
        .values_list("model_version", "n")
    )
    result.untopiced_total, result.untopiced = untopiced_items(period)
    return result


def untopiced_items(period: Period, limit: int = WORK_LIST_SIZE) -> tuple[int, list[dict[str, Any]]]:
    """Analysed items of the period without any topic, newest first: the work list to label."""

    start, end = period.bounds()
    items = (
        Feedback.objects.filter(received_at__gte=start, received_at__lt=end, analysis__isnull=False)
        .exclude(Exists(FeedbackTopic.objects.filter(feedback=OuterRef("pk"))))
        .order_by("-received_at", "-id")
    )
    rows = items.values_list("id", "received_at", "channel", "text", "analysis__masked_text", "sentiment")[:limit]
    listed = [
        {
            "id": pk,
            "received_at": received,
            "channel": channel,
            # The pipeline's masked copy, masked again by the privacy module: this list is for labelling, not
            # for contacting anyone, so nobody sees personal data here.
            "text": privacy.mask_text(masked or text)[:200],
            "sentiment_label": SENTIMENT_NAMES.get(sentiment, "—"),
            "url": reverse("feedback:detail", args=[pk]),
        }
        for pk, received, channel, text, masked, sentiment in rows
    ]
    return items.count(), listed


# --- the page ---------------------------------------------------------------------------------------------


def _pct(value: float | None) -> float | None:
    return None if value is None else round(100 * value, 1)


def field_names() -> dict[str, str]:
    return {
        CorrectionField.SENTIMENT: _("Sentiment"),
        CorrectionField.KIND: _("Kind"),
        CorrectionField.URGENCY: _("Urgency"),
        CorrectionField.TOPICS: _("Topics"),
    }


def value_names() -> dict[tuple[str, str], str]:
    names: dict[tuple[str, str], str] = {}
    for name, choices in ((CorrectionField.SENTIMENT, Sentiment), (CorrectionField.KIND, Kind),
                          (CorrectionField.URGENCY, Urgency)):  # fmt: skip
        names.update({(name, str(value)): str(label) for value, label in choices.choices})
    return names


def over_time_chart(result: Quality, weekly: bool) -> Chart:
    fields = field_names()
    axis = [b.isoformat() for b in result.buckets]
    series = []
    rows = []
    for name, per_bucket in result.over_time.items():
        values = [_pct(per_bucket[b].rate) if b in per_bucket else None for b in result.buckets]
        series.append({"name": fields[name], "type": "line", "data": values, "connectNulls": True, "symbolSize": 7})
        for b in result.buckets:
            if b in per_bucket:
                a = per_bucket[b]
                rows.append([b.isoformat(), fields[name], a.n, a.agree, _pct(a.rate)])
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 24, "bottom": 40, "top": 40},
        "xAxis": {"type": "category", "data": axis},
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": series,
    }
    header = [_("Week from") if weekly else _("Month"), _("Field"), _("Corrected items"), _("Model agreed"),
              _("Agreement (%)")]  # fmt: skip
    note = _("Share of the corrected items on which the stored analysis gives what people chose, by when they "
             "corrected it. An item corrected twice counts once, with its latest correction.")  # fmt: skip
    return Chart("agreement_over_time", _("Agreement with people's corrections over time"), option,
                 Table(header, rows), note=note)  # fmt: skip


def per_label_chart(result: Quality) -> Chart:
    fields, values = field_names(), value_names()
    keys = sorted(result.per_label, key=lambda k: (list(LABEL_FIELDS).index(k[0]), k[1]))
    names = [f"{fields[f]} · {values.get((f, v), v)}" for f, v in keys]
    data = [{"value": _pct(result.per_label[k].rate),
             "url": feedback_url(None, **dict[str, Any]({str(k[0]): k[1]})),
             "itemStyle": {"color": BAR_VITAL if (result.per_label[k].rate or 0) < 0.5 else BAR}}
            for k in keys]  # fmt: skip
    option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 170, "right": 40, "bottom": 30, "top": 20},
        "xAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {"type": "category", "data": names, "axisLabel": {"width": 160, "overflow": "truncate"}},
        "series": [{"name": _("Agreement (%)"), "type": "bar", "data": data,
                    "label": {"show": True, "position": "right", "formatter": "{c}%"}}],
    }  # fmt: skip
    rows = [[fields[f], values.get((f, v), v), result.per_label[(f, v)].n, result.per_label[(f, v)].agree,
             _pct(result.per_label[(f, v)].rate)] for f, v in keys]  # fmt: skip
    header = [_("Field"), _("Label people chose"), _("Corrected items"), _("Model agreed"), _("Agreement (%)")]
    note = _("For each label people chose: how often the stored analysis says the same (red: less than half). "
             "A label with low agreement is where the model needs more corrected examples.")  # fmt: skip
    return Chart("agreement_per_label", _("Agreement per label"), option, Table(header, rows), note=note,
                 height=max(220, 26 * len(keys) + 60))  # fmt: skip


def per_topic_chart(result: Quality, labels: dict[str, str]) -> Chart:
    codes = sorted(result.per_topic, key=lambda c: (-result.per_topic[c].people, c))
    names = [labels.get(c, c) for c in codes]
    precision = [_pct(result.per_topic[c].precision) for c in codes]
    recall = [_pct(result.per_topic[c].recall) for c in codes]
    option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 48, "right": 24, "bottom": 90, "top": 40},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"rotate": 35, "interval": 0}},
        "yAxis": {"type": "value", "min": 0, "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {"name": _("Precision (%)"), "type": "bar", "data": precision},
            {"name": _("Recall (%)"), "type": "bar", "data": recall},
        ],
    }
    rows = [[labels.get(c, c), c, result.per_topic[c].model, result.per_topic[c].people, result.per_topic[c].both,
             _pct(result.per_topic[c].precision), _pct(result.per_topic[c].recall)] for c in codes]  # fmt: skip
    links: list[str | None] = [feedback_url(None, topic=c) for c in codes]
    header = [_("Topic"), _("Code"), _("Model gave it"), _("People gave it"), _("Both"), _("Precision (%)"),
              _("Recall (%)")]  # fmt: skip
    note = _("On items whose topics people corrected: precision is the share of the model's topic that people "
             "kept, recall the share of people's topic that the model had found.")  # fmt: skip
    return Chart("agreement_per_topic", _("Agreement per topic"), option, Table(header, rows, links), note=note)


def confusion_chart(result: Quality, labels: dict[str, str]) -> Chart:
    none = pgettext("topic", "(none)")
    pairs = result.confusions.most_common(MAX_CONFUSIONS)
    names = [f"{labels.get(a, a) if a else none} → {labels.get(b, b) if b else none}" for (a, b), _n in pairs]
    shown = list(reversed(pairs))
    option = {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 220, "right": 40, "bottom": 30, "top": 20},
        "xAxis": {"type": "value", "minInterval": 1},
        "yAxis": {"type": "category", "data": list(reversed(names)), "axisLabel": {"width": 210, "overflow": "truncate"}},
        "series": [{"name": _("Corrected items"), "type": "bar", "data": [n for _p, n in shown], "itemStyle": {"color": BAR},
                    "label": {"show": True, "position": "right"}}],
    }  # fmt: skip
    rows = [[labels.get(a, a) if a else none, labels.get(b, b) if b else none, n] for (a, b), n in pairs]
    header = [_("The model said"), _("People said"), _("Corrected items")]
    note = _("Topic swaps people made: the model's topic they removed and the one they put instead; (none) where "
             "they only removed or only added one.")  # fmt: skip
    return Chart("topic_confusion", _("Topic confusion"), option, Table(header, rows), note=note,
                 height=max(220, 28 * len(pairs) + 60))  # fmt: skip


def build_page(period: Period, language: str, current_version: str) -> InsightPage:
    result = quality(period)
    weekly = period.days <= WEEKLY_UP_TO_DAYS
    codes = sorted({*result.per_topic, *(c for pair in result.confusions for c in pair if c)})
    labels = topic_labels(codes, language) if codes else {}
    charts = [over_time_chart(result, weekly), per_label_chart(result)]
    if result.per_topic:
        charts += [per_topic_chart(result, labels), confusion_chart(result, labels)]
    total = sum(n for _v, n in result.versions)
    return InsightPage(
        key="quality",
        title=_("Analysis quality"),
        intro=_(
            "How well the automatic analysis agrees with the corrections your team made in the period, where "
            "topics get confused, and the items without a topic, to label next. Agreement is measured against "
            "the stored analysis, which a re-analysis updates to the model in use."
        ),  # fmt: skip
        charts=charts if result.corrections else [],
        template="dashboards/quality.html",
        context={
            "quality": result,
            "current_version": current_version,
            "versions": [(v or "—", n, _pct(n / total) if total else None) for v, n in result.versions],
            "stale": sum(n for v, n in result.versions if v != current_version),
        },
    )
