"""The outcome series of an action's scope, read from the feedback: per day, the scope's complaints, the
feedback they are counted against, the scope's negative items, and the rest of the business as a control.

Metric (docs/actions.md): complaints about the scope's topics per 1,000 feedback items of the scope's products,
channels and segment (lower is better); the control is the complaints outside the scope per 1,000 items of all
feedback. Three grouped queries per series, whatever its length."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Feedback, Kind
from voxloop.stats.formulas import wilson_interval

PER = 1000.0
BASELINE_DAYS = 90
METRIC = "complaints_per_1000"
COMPLAINT_KIND = Kind.COMPLAINT


@dataclass(frozen=True)
class Scope:
    topics: list[str]
    products: list[str]
    channels: list[str]
    segment: str


@dataclass
class OutcomeSeries:
    first: date
    days: list[date]
    complaints: np.ndarray  # scope complaints per day
    items: np.ndarray  # the feedback they are counted against (scope products / channels / segment)
    topic_items: np.ndarray  # items about the scope's topics (all items when no topic is named)
    negatives: np.ndarray  # of those, negative ones
    total_items: np.ndarray
    total_complaints: np.ndarray

    def rate(self) -> np.ndarray:
        return np.where(self.items > 0, self.complaints / np.maximum(self.items, 1) * PER, np.nan)

    def control(self) -> tuple[np.ndarray, np.ndarray]:
        outside = np.maximum(self.total_complaints - self.complaints, 0)
        rate = np.where(self.total_items > 0, outside / np.maximum(self.total_items, 1) * PER, np.nan)
        return rate, self.total_items.astype(float)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        timezone.make_aware(datetime.combine(first, time.min), tz),
        timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz),
    )


def _scoped(qs: QuerySet[Feedback], scope: Scope) -> QuerySet[Feedback]:
    if scope.products:
        qs = qs.filter(product_id__in=[int(p) for p in scope.products if str(p).isdigit()])
    if scope.channels:
        qs = qs.filter(channel__in=scope.channels)
    if scope.segment:
        qs = qs.filter(customer__segment=scope.segment)
    return qs


def _per_day(qs: QuerySet[Feedback], **aggregates) -> dict[date, Mapping[str, Any]]:
    rows = (
        qs.annotate(day=TruncDate("received_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(**aggregates)
        .order_by()
    )
    return {row["day"]: row for row in rows}


class OutcomeCache:
    """Per-day figures over one span, read once and shared by every action measured in a run (the daily task
    measures many actions over overlapping spans): the totals, and per top-level topic its items, complaints and
    negatives. Scopes of one topic without product, channel or segment filters read from here; others query."""

    def __init__(self, first: date, last: date) -> None:
        self.first, self.last = first, last
        start, end = _bounds(first, last)
        base = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
        self.totals = _per_day(base, n=Count("id"), c=Count("id", filter=Q(kind=COMPLAINT_KIND)))
        rows = (
            FeedbackTopic.objects.filter(feedback__received_at__gte=start, feedback__received_at__lt=end)
            .annotate(day=TruncDate("feedback__received_at", tzinfo=timezone.get_current_timezone()))
            .values("day", "top_code")
            .annotate(
                n=Count("feedback_id", distinct=True),
                c=Count("feedback_id", distinct=True, filter=Q(feedback__kind=COMPLAINT_KIND)),
                neg=Count("feedback_id", distinct=True, filter=Q(feedback__sentiment="negative")),
            )
            .order_by()
        )
        self.topics: dict[str, dict[date, Mapping[str, Any]]] = {}
        for row in rows:
            self.topics.setdefault(row["top_code"], {})[row["day"]] = row

    def covers(self, first: date, last: date) -> bool:
        return self.first <= first and last <= self.last

    def serves(self, scope: Scope) -> bool:
        plain = not (scope.products or scope.channels or scope.segment)
        return plain and len(scope.topics) == 1 and "." not in scope.topics[0]


def _unfiltered(scope: Scope) -> bool:
    return not (scope.products or scope.channels or scope.segment)


def outcome_series(scope: Scope, first: date, last: date, cache: OutcomeCache | None = None) -> OutcomeSeries:
    """The scope's figures per day from ``first`` to ``last``; at most three grouped queries (none from a cache
    that covers the span and serves the scope)."""
    start, end = _bounds(first, last)
    base = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
    scoped = _scoped(base, scope)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    cached = cache if cache is not None and cache.covers(first, last) else None
    if cached is not None:
        totals = cached.totals
    else:
        totals = _per_day(base, n=Count("id"), c=Count("id", filter=Q(kind=COMPLAINT_KIND)))
    # With no product, channel or segment filter the scope's items are all items: no second query.
    denominators = totals if _unfiltered(scope) else _per_day(scoped, n=Count("id"))
    if cached is not None and cached.serves(scope):
        topical = cached.topics.get(scope.topics[0], {})
    elif scope.topics:
        # a semi-join on the topic rows: each item once, however many of the scope's topics it mentions
        mentioning = FeedbackTopic.objects.filter(Q(top_code__in=scope.topics) | Q(code__in=scope.topics))
        about = scoped.filter(id__in=mentioning.values("feedback_id"))
        topical = _per_day(
            about,
            n=Count("id"),
            c=Count("id", filter=Q(kind=COMPLAINT_KIND)),
            neg=Count("id", filter=Q(sentiment="negative")),
        )
    else:
        topical = _per_day(
            scoped,
            n=Count("id"),
            c=Count("id", filter=Q(kind=COMPLAINT_KIND)),
            neg=Count("id", filter=Q(sentiment="negative")),
        )

    def column(table: dict[date, Mapping[str, Any]], key: str) -> np.ndarray:
        return np.array([float(table.get(d, {}).get(key, 0)) for d in days])

    return OutcomeSeries(
        first=first,
        days=days,
        complaints=column(topical, "c"),
        items=column(denominators, "n"),
        topic_items=column(topical, "n"),
        negatives=column(topical, "neg"),
        total_items=column(totals, "n"),
        total_complaints=column(totals, "c"),
    )


def _share(successes: float, n: float, scale: float = 1.0) -> dict:
    if n <= 0:
        return {"value": None, "low": None, "high": None, "n": 0}
    low, high = wilson_interval(int(successes), int(n))
    return {"value": successes / n * scale, "low": low * scale, "high": high * scale, "n": int(n)}


def baseline(scope: Scope, before: date) -> dict:
    """The outcome metrics over the ``BASELINE_DAYS`` days before ``before`` (the day of creation), with n and
    95% intervals: frozen on the action, so later data changes never move the starting point."""
    first = before - timedelta(days=BASELINE_DAYS)
    series = outcome_series(scope, first, before - timedelta(days=1))
    complaints, items = float(series.complaints.sum()), float(series.items.sum())
    return {
        "first": first.isoformat(),
        "last": (before - timedelta(days=1)).isoformat(),
        "complaints": int(complaints),
        "items": int(items),
        "complaints_per_1000": _share(complaints, items, PER),
        "negative_share": _share(float(series.negatives.sum()), float(series.topic_items.sum())),
    }
