"""The feedback roll-up: volume, sentiment, complaints, emotions and per-topic sums, per day received."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date
from typing import Any

from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Feedback
from voxloop.metrics.cells import EMOTION_WORD, NEED, SUBTOPIC, RangeAccumulator, cut_value
from voxloop.metrics.days import range_bounds
from voxloop.metrics.models import Source
from voxloop.stats import terms

COMPLAINT_KIND = "complaint"


def compute_feedback(first: date, last: date, *, feedback_ids: Collection[int] | None = None) -> RangeAccumulator:
    """Feedback received on each day, by channel, product, topic, segment and language, and by the
    multi-valued dimensions (emotion evidence words, need keys, sub-topic codes). Every cell's sums:

    negative / positive / neutral (sentiment), complaints (kind), sent_sum / sent_n (sentiment score),
    emo:<emotion> (items with that emotion; in an emotion_word cell: items where the word was evidence of it),
    tc:<top code> / sc:<parent.child> (complaints about that topic / sub-topic), tn:<top code> (items where that
    topic is negative; both by the topic's own polarity where the analysis gave one, see _topic_sums), tv / ts / tsn:<top code> (items mentioning that topic; their sentiment score
    sum and count), sv / sneg / ss / ssn:<parent.child> (the same per sub-topic, with its negatives). Repeat
    complaints are counted on cases, where the repeat flag lives.

    ``feedback_ids``: only these items, what they add to the days (voxloop.metrics.deltas folds re-analysed
    items in by the difference)."""
    start, end = range_bounds(first, last)
    accs = RangeAccumulator(Source.FEEDBACK, first, last)
    scope = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
    topic_scope = FeedbackTopic.objects.filter(feedback__received_at__gte=start, feedback__received_at__lt=end)
    if feedback_ids is not None:
        scope = scope.filter(pk__in=list(feedback_ids))
        topic_scope = topic_scope.filter(feedback_id__in=list(feedback_ids))
    return _accumulate_feedback(accs, scope, topic_scope)


def compute_feedback_items(feedback_ids: Collection[int]) -> RangeAccumulator:
    """What these items add to the feedback roll-ups of their days, whatever days those are: the same sums as
    ``compute_feedback``, by primary key alone (no date range to find first, no accumulator for days between)."""
    ids = list(feedback_ids)
    return _accumulate_feedback(
        RangeAccumulator.sparse(Source.FEEDBACK),
        Feedback.objects.filter(pk__in=ids),
        FeedbackTopic.objects.filter(feedback_id__in=ids),
    )


def _accumulate_feedback(accs: RangeAccumulator, scope: Any, topic_scope: Any) -> RangeAccumulator:
    """The feedback items of ``scope`` (with their topic rows, ``topic_scope``) added to their days' cells."""
    # One range query; the analysis JSON comes through the one-to-one join (no per-item queries).
    items = list(
        scope.values_list(
            "id", "channel", "product_id", "customer__segment", "sentiment", "sentiment_score", "kind",
            "language", "received_at", "analysis__emotions", "analysis__needs",
        )
    )  # fmt: skip
    if not items:
        return accs
    topics: dict[int, set[str]] = defaultdict(set)
    subtopics: dict[int, set[str]] = defaultdict(set)
    aspects: dict[int, dict[str, Aspect]] = defaultdict(dict)
    for feedback_id, code, top_code, aspect, aspect_score in topic_scope.values_list(
        "feedback_id", "code", "top_code", "sentiment", "sentiment_score"
    ):
        topics[feedback_id].add(top_code)
        if "." in code:
            subtopics[feedback_id].add(code)
        if aspect:
            aspects[feedback_id][code] = (aspect, aspect_score)
            _merge_top_aspect(aspects[feedback_id], top_code, (aspect, aspect_score))
    for (feedback_id, channel, product_id, segment, sentiment, score, kind, language, received_at, emotions,
         needs) in items:  # fmt: skip
        acc = accs.for_instant(received_at)
        item_topics = sorted(topics.get(feedback_id, ()))
        cells = acc.cells_for({
            "channel": [channel], "product": [cut_value(product_id)], "topic": item_topics,
            "segment": [segment or ""], "language": [language or ""],
        })  # fmt: skip
        words = terms.emotion_words(emotions)
        word_cells = [(acc.cells[(EMOTION_WORD, word)], names) for word, names in words.items()]
        need_cells = [acc.cells[(NEED, key)] for key in terms.need_keys(needs)]
        item_subtopics = sorted(subtopics.get(feedback_id, ()))
        need_cells += [acc.cells[(SUBTOPIC, code[:100])] for code in item_subtopics]
        base = _feedback_sums(sentiment, score, kind)
        sums = base + _topic_sums(sentiment, score, kind, item_topics, item_subtopics, aspects.get(feedback_id))
        names = terms.emotion_names(emotions)
        for cell in cells:
            cell.n += 1
            for key, amount in sums:
                cell.add(key, amount)
            for name in names:
                cell.add(f"emo:{name}")
        # Term rows (needs, sub-topics, emotion words) are many per day and read by value: they carry the plain
        # figures only, not the per-topic breakdown every cut row has (which would triple their size).
        for cell in need_cells:
            cell.n += 1
            for key, amount in base:
                cell.add(key, amount)
            for name in names:
                cell.add(f"emo:{name}")
        for cell, word_names in word_cells:
            cell.n += 1
            for key, amount in base:
                cell.add(key, amount)
            for name in sorted(word_names):
                cell.add(f"emo:{name}")
    return accs


def _feedback_sums(sentiment: str, score: float | None, kind: str) -> list[tuple[str, float]]:
    """The sums one feedback item adds to every cell it counts in (see compute_feedback)."""
    sums: list[tuple[str, float]] = []
    if sentiment in ("negative", "positive", "neutral"):
        sums.append((sentiment, 1))
    if score is not None:
        sums += [("sent_sum", score), ("sent_n", 1)]
    if kind == COMPLAINT_KIND:
        sums.append(("complaints", 1))
    return sums


# A topic's own polarity in one item (FeedbackTopic.sentiment / sentiment_score).
Aspect = tuple[str, float | None]
_SEVERITY = {"negative": 2, "neutral": 1, "positive": 0}


def _merge_top_aspect(item_aspects: dict[str, Aspect], top_code: str, aspect: Aspect) -> None:
    """An item's polarity of a top-level topic, over its rows of that topic (``logistics`` and
    ``logistics.delay``): the most negative wins, so the top-level counts agree with the inbox drill list,
    which finds an item when any of the topic's rows is a complaint."""
    key = f"top:{top_code}"
    known = item_aspects.get(key)
    if known is None or _SEVERITY.get(aspect[0], 0) > _SEVERITY.get(known[0], 0):
        item_aspects[key] = aspect


def topic_complaint(aspect: str, kind: str) -> bool:
    """Whether an item is a complaint about one of its topics: the topic's own polarity is negative and the
    item is not a plain question; a topic without a polarity (stored before aspect sentiment, or set by a
    person) counts when the item is a complaint. FeedbackTopic.complaint_q is the same rule in SQL."""
    if aspect:
        return aspect == "negative" and kind != "question"
    return kind == COMPLAINT_KIND


def _topic_sums(
    sentiment: str,
    score: float | None,
    kind: str,
    top_codes: list[str],
    sub_codes: list[str],
    aspects: dict[str, Aspect] | None = None,
) -> list[tuple[str, float]]:
    """The per-topic sums one feedback item adds to the total and cut cells (not to term rows). Each topic is
    counted by its own polarity (aspect sentiment) where the analysis gave one, else by the item's label."""
    aspects = aspects or {}
    sums: list[tuple[str, float]] = []
    # Volume and sentiment per topic and sub-topic inside every cell: the journey map within one product,
    # channel, ... reads them from that cut's rows (the topic rows hold them only over all feedback).
    for code in top_codes:
        aspect, aspect_score = aspects.get(f"top:{code}", ("", None))
        label = aspect or sentiment
        value = aspect_score if aspect else score
        if topic_complaint(aspect, kind):
            sums.append((f"tc:{code}", 1))
        if label == "negative":
            sums.append((f"tn:{code}", 1))
        sums.append((f"tv:{code}", 1))
        if value is not None:
            sums += [(f"ts:{code}", value), (f"tsn:{code}", 1)]
    for code in sub_codes:
        aspect, aspect_score = aspects.get(code, ("", None))
        label = aspect or sentiment
        value = aspect_score if aspect else score
        if topic_complaint(aspect, kind):
            sums.append((f"sc:{code}", 1))
        sums.append((f"sv:{code}", 1))
        if label == "negative":
            sums.append((f"sneg:{code}", 1))
        if value is not None:
            sums += [(f"ss:{code}", value), (f"ssn:{code}", 1)]
    return sums
