"""Read model of the emotions-and-needs page, all from the daily roll-ups (MetricDaily, source "feedback"):

- emotions: the ``emo:<name>`` sums of the page's cut (or the "" total) per day: totals and a time series;
- emotion words: dimension "emotion_word", one row per (day, word), aggregated in SQL (SUM(n) GROUP BY value
  ORDER BY total DESC LIMIT 50), then the emotions each of those 50 words was evidence of, also in SQL;
- needs: dimension "need" (up to ~200k rows for two years), aggregated the same way; example texts for the
  top needs come from the few days each need was last voiced (a bounded query per day, LIMIT 3).

The term dimensions are not split by channel, product..., so words and needs are counted over all feedback
of the period whatever the cut; the page says so when a cut is set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Q, Sum

from voxloop.analysis.queries import EMOTION_NAMES
from voxloop.feedback.models import Feedback
from voxloop.metrics.cells import EMOTION_WORD, NEED
from voxloop.metrics.days import day_bounds
from voxloop.metrics.expressions import SumsKey
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import Cut, Period
from voxloop_nlp.components.emotions import EMOTION_CUES

TOP_TERMS = 50  # rows in the words and needs tables
CHART_TERMS = 20  # bars in their charts
EXAMPLE_NEEDS = 10  # needs that get example texts
EXAMPLES_PER_NEED = 3
EXAMPLE_DAYS = 3  # the last days a need was voiced, searched one by one for its examples
EXAMPLE_CHARS = 200
FEEDBACK = Source.FEEDBACK
NO_CUT = Cut()

# One colour per emotion, the same in every chart (negative ones warm, positive ones cool).
EMOTION_COLOURS = {
    "anger": "#c0392b", "disappointment": "#e67e22", "anxiety": "#d4ac0d", "sadness": "#7f8c8d",
    "disgust": "#8e44ad", "fear": "#34495e", "surprise": "#16a085", "joy": "#27ae60", "gratitude": "#2e86c1",
}  # fmt: skip


def emotion_order(names: Iterable[str] = ()) -> list[str]:
    """The known emotions in their fixed order, then any other name the roll-ups hold."""
    known = list(EMOTION_NAMES)
    return known + sorted(n for n in names if n not in EMOTION_NAMES)


def emotion_label(name: str) -> str:
    return str(EMOTION_NAMES.get(name, name))


# --- emotions over the period -------------------------------------------------------------------------


@dataclass
class EmotionDays:
    items: int  # feedback items in the period (of the cut)
    totals: dict[str, int]  # emotion -> items with that emotion
    by_day: dict[date, dict[str, int]]  # day -> emotion -> items
    items_by_day: dict[date, int]


def emotion_days(period: Period, cut: Cut = NO_CUT) -> EmotionDays:
    """One query: the cut's rows of the period (one per day), their ``emo:*`` sums added up."""
    totals: dict[str, int] = defaultdict(int)
    by_day: dict[date, dict[str, int]] = {}
    items_by_day: dict[date, int] = {}
    for day, n, sums in MetricDaily.objects.filter(
        source=FEEDBACK, dimension=cut.dimension, value=cut.value, day__gte=period.start, day__lte=period.end
    ).values_list("day", "n", "sums"):
        items_by_day[day] = items_by_day.get(day, 0) + n
        row = by_day.setdefault(day, defaultdict(int))
        for key, amount in sums.items():
            if key.startswith("emo:"):
                name = key[4:]
                row[name] += int(amount)
                totals[name] += int(amount)
    return EmotionDays(sum(items_by_day.values()), dict(totals), by_day, items_by_day)


def bucket_size(days: int) -> str:
    """Days for up to a month, weeks up to half a year, months beyond: 10-60 points a series."""
    if days <= 31:
        return "day"
    if days <= 183:
        return "week"
    return "month"


def bucket_start(day: date, size: str) -> date:
    if size == "week":
        return day - timedelta(days=day.weekday())
    if size == "month":
        return day.replace(day=1)
    return day


def buckets(period: Period) -> list[tuple[date, date]]:
    """(first, last) day of each bucket, clipped to the period."""
    size = bucket_size(period.days)
    out: list[tuple[date, date]] = []
    for day in period.each_day():
        start = max(bucket_start(day, size), period.start)
        if out and out[-1][0] == start:
            out[-1] = (start, day)
        else:
            out.append((start, day))
    return out


def series_by_bucket(data: EmotionDays, period: Period, names: list[str]) -> list[dict[str, Any]]:
    """Per bucket: its days, items and items per emotion (pure: sums the daily numbers)."""
    rows = []
    for first, last in buckets(period):
        counts: dict[str, int] = defaultdict(int)
        items = 0
        day = first
        while day <= last:
            items += data.items_by_day.get(day, 0)
            for name, amount in data.by_day.get(day, {}).items():
                counts[name] += amount
            day += timedelta(days=1)
        rows.append({"start": first, "end": last, "items": items, "counts": {n: counts.get(n, 0) for n in names}})
    return rows


# --- emotion words and needs: SQL aggregates over the term dimensions --------------------------------------


def _term_rows(dimension: str, period: Period) -> Any:
    return MetricDaily.objects.filter(source=FEEDBACK, dimension=dimension, day__gte=period.start, day__lte=period.end)


def top_terms(dimension: str, period: Period, limit: int = TOP_TERMS) -> list[tuple[str, int]]:
    """(value, items) of the ``limit`` most frequent values of a term dimension: SUM(n) GROUP BY value ORDER BY
    total DESC LIMIT in SQL (an index on (source, dimension, value, day, n) makes it an index-only scan)."""
    ranked = _term_rows(dimension, period).values("value").annotate(total=Sum("n")).order_by("-total", "value")[:limit]
    return [(r["value"], int(r["total"] or 0)) for r in ranked]


def word_emotions(words: list[str], period: Period, names: list[str]) -> dict[str, dict[str, int]]:
    """word -> emotion -> items where the word was evidence of it, for the given words only (in SQL)."""
    if not words:
        return {}
    sums = {f"e{i}": Sum(SumsKey(f"emo:{name}")) for i, name in enumerate(names)}
    out: dict[str, dict[str, int]] = {}
    for row in _term_rows(EMOTION_WORD, period).filter(value__in=words).values("value").annotate(**sums):
        out[row["value"]] = {name: int(row[f"e{i}"] or 0) for i, name in enumerate(names) if row[f"e{i}"]}
    return out


def lexicon_words(emotion: str) -> list[str]:
    """The analysis's cue words for an emotion (the evidence words it can report), lower-cased."""

    return sorted({w.strip().lower() for w in EMOTION_CUES.get(emotion, ())})


@dataclass
class Words:
    ranked: list[tuple[str, int]]  # (word, items), most frequent first
    emotions: dict[str, dict[str, int]]  # word -> emotion -> items


def emotion_words(period: Period, names: list[str], emotion: str = "", limit: int = TOP_TERMS) -> Words:
    """The most frequent emotion words with the emotions each signalled. With ``emotion``: the words that
    signalled it, ranked by how often they did; the candidates are the overall top words plus the analysis's
    cue words for that emotion (ranking all words by one JSON key would read every row's sums)."""
    top = top_terms(EMOTION_WORD, period, limit)
    if not emotion:
        return Words(top, word_emotions([w for w, _n in top], period, names))
    candidates = list(dict.fromkeys([w for w, _n in top] + lexicon_words(emotion)))
    breakdown = word_emotions(candidates, period, names)
    ranked = sorted(((w, c[emotion]) for w, c in breakdown.items() if c.get(emotion)), key=lambda wc: (-wc[1], wc[0]))
    return Words(ranked[:limit], breakdown)


def feedback_items(period: Period) -> int:
    """All feedback items of the period (the "" total rows): the base of the needs' shares."""
    return int(
        MetricDaily.objects.filter(source=FEEDBACK, dimension="", value="", day__gte=period.start,
                                   day__lte=period.end).aggregate(n=Sum("n"))["n"] or 0
    )  # fmt: skip


@dataclass
class Example:
    id: int
    text: str


@dataclass
class Need:
    key: str
    items: int
    examples: list[Example] = field(default_factory=list)


def need_examples(key: str, period: Period, limit: int = EXAMPLES_PER_NEED) -> list[Example]:
    """Up to ``limit`` items voicing a need, newest first. Bounded: only the last EXAMPLE_DAYS days the
    roll-ups saw the need on are searched, each day on its own (a day's items through the received_at
    index, then a substring match on that handful)."""
    days = list(
        _term_rows(NEED, period).filter(value=key).order_by("-day").values_list("day", flat=True)[:EXAMPLE_DAYS]
    )
    found: list[Example] = []
    for day in days:
        start, end = day_bounds(day)
        rows = (
            Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
            .filter(Q(text__icontains=key) | Q(title__icontains=key))
            .order_by("-received_at", "-id")
            .values_list("id", "text", "analysis__masked_text")[: limit - len(found)]
        )
        found += [Example(pk, (masked or text)[:EXAMPLE_CHARS]) for pk, text, masked in rows]
        if len(found) >= limit:
            break
    return found


def top_needs(period: Period, limit: int = TOP_TERMS, with_examples: int = EXAMPLE_NEEDS) -> list[Need]:
    needs = [Need(key, items) for key, items in top_terms(NEED, period, limit)]
    for need in needs[:with_examples]:
        need.examples = need_examples(need.key, period)
    return needs
