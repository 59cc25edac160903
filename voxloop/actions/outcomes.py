"""The outcome series of an action's scope, read from the feedback: per day, the scope's complaints, the
feedback they are counted against, the scope's negative items, and the rest of the business as a control.

Metric (docs/actions.md): complaints about the scope's topics per 1,000 feedback items of the scope's products,
channels and segment (lower is better); the control is the complaints outside the scope per 1,000 items of all
feedback. Three grouped queries per series, whatever its length."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

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


def _per_day(qs: QuerySet[Feedback], **aggregates) -> dict[date, dict[str, int]]:
    rows = (
        qs.annotate(day=TruncDate("received_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(**aggregates)
        .order_by()
    )
    return {row["day"]: row for row in rows}


def outcome_series(scope: Scope, first: date, last: date) -> OutcomeSeries:
    start, end = _bounds(first, last)
    base = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
    scoped = _scoped(base, scope)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    totals = _per_day(base, n=Count("id"), c=Count("id", filter=Q(kind=COMPLAINT_KIND)))
    denominators = _per_day(scoped, n=Count("id"))
    if scope.topics:
        about = scoped.filter(Q(topic_links__top_code__in=scope.topics) | Q(topic_links__code__in=scope.topics))
        topical = _per_day(
            about,
            n=Count("id", distinct=True),
            c=Count("id", distinct=True, filter=Q(kind=COMPLAINT_KIND)),
            neg=Count("id", distinct=True, filter=Q(sentiment="negative")),
        )
    else:
        topical = _per_day(
            scoped,
            n=Count("id"),
            c=Count("id", filter=Q(kind=COMPLAINT_KIND)),
            neg=Count("id", filter=Q(sentiment="negative")),
        )

    def column(table: dict[date, dict[str, int]], key: str) -> np.ndarray:
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
