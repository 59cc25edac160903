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
from scipy.stats import chi2

from voxloop.actions import confirmation
from voxloop.analysis.models import FeedbackTopic
from voxloop.feedback.models import Feedback, Kind, Order
from voxloop.stats.formulas import Z95, csat, nps, wilson_interval
from voxloop.surveys.models import Response

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


def _per_day(qs: QuerySet[Feedback], **aggregates: Any) -> dict[date, Mapping[str, Any]]:
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
        # The customer-level outcomes: orders per day (for scopes without product or segment) and whether any
        # survey was answered in the span (if not, no action needs its answers read).
        order_rows = (
            Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end)
            .annotate(day=TruncDate("ordered_at", tzinfo=timezone.get_current_timezone()))
            .values("day")
            .annotate(n=Count("id"))
            .order_by()
        )
        self.orders: dict[date, int] = {row["day"]: int(row["n"]) for row in order_rows}
        self.has_responses = Response.objects.filter(submitted_at__gte=start, submitted_at__lt=end).exists()
        # the actions whose "we fixed it" notices asked "is it fixed for you?": only theirs have answers to read
        self.asked_actions = confirmation.asked_action_ids()
        # the measured reports of the run by scope and span (services.compute_effect): actions of one scope
        # implemented on one day share theirs
        self.reports: dict[tuple[Any, ...], dict[str, Any]] = {}

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


def _share(successes: float, n: float, scale: float = 1.0) -> dict[str, Any]:
    if n <= 0:
        return {"value": None, "low": None, "high": None, "n": 0}
    low, high = wilson_interval(int(successes), int(n))
    return {"value": successes / n * scale, "low": low * scale, "high": high * scale, "n": int(n)}


def _about(scope: Scope, start: datetime, end: datetime) -> QuerySet[Feedback]:
    """The window's feedback in the scope: its products, channels and segment, about one of its topics."""
    qs = _scoped(Feedback.objects.filter(received_at__gte=start, received_at__lt=end), scope)
    if scope.topics:
        mentioning = FeedbackTopic.objects.filter(Q(top_code__in=scope.topics) | Q(code__in=scope.topics))
        qs = qs.filter(id__in=mentioning.values("feedback_id"))
    return qs


def _poisson_per(count: int, exposure: int) -> dict[str, Any]:
    """A count per 1,000 of an exposure (orders) with its exact 95% Poisson interval: complaints are not a share
    of orders (one order may bring two), so Wilson does not fit."""
    if exposure <= 0:
        return {"value": None, "low": None, "high": None, "n": 0}
    low = 0.0 if count == 0 else float(chi2.ppf(0.025, 2 * count)) / 2
    high = float(chi2.ppf(0.975, 2 * count + 2)) / 2
    return {"value": count / exposure * PER, "low": low / exposure * PER, "high": high / exposure * PER,
            "n": int(exposure)}  # fmt: skip


_EMPTY = {"value": None, "low": None, "high": None, "n": 0}


def _window_figures(
    first: date, last: date, complaints: int, known: int, complainers: int, customers: int, orders: int,
    scores: Mapping[str, int],
) -> dict[str, Any]:  # fmt: skip
    score = nps(scores["promoters"], scores["passives"], scores["detractors"])
    # CSAT's share only needs n and the top-2 count; the sums feed a mean this page does not show.
    satisfaction = csat(scores["csat_n"], 0.0, 0.0, scores["csat_top2"])
    return {
        "first": first.isoformat(),
        "last": last.isoformat(),
        "complaints": complaints,
        "orders": orders,
        "affected_customers": customers,
        "complaints_per_1000_orders": _poisson_per(complaints, orders),
        # a customer's first complaint in the window is not a repeat; each later one is
        "repeat_rate": _share(float(known - complainers), float(known)),
        "nps": _EMPTY if score is None else
               {"value": score.score, "low": score.ci_low, "high": score.ci_high, "n": score.n},
        "csat": _share(float(satisfaction.top2_share.numerator), float(satisfaction.top2_share.n))
                if satisfaction else _EMPTY,
    }  # fmt: skip


def customer_outcomes_split(
    scope: Scope, first: date, last: date, split: date | None = None, cache: OutcomeCache | None = None,
    complaints: tuple[int, int] | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:  # fmt: skip
    """The outcome metrics that follow customers rather than days, over ``first``..``split - 1`` and
    ``split``..``last`` (the windows before and after an intervention; no ``split``: one window, and None after):

    - complaints per 1,000 orders of the scope's products and segment (only when orders are imported for the
      window; otherwise None, and complaints per 1,000 feedback items stays the headline);
    - the repeat-complaint rate: the share of the scope's complaints from a customer who already complained
      about the scope earlier in the same window;
    - NPS and CSAT (top-2 share) of the affected customers: survey answers in the window from customers who gave
      feedback in the scope in the same window.
    At most three aggregate queries for both windows together (fewer with a run's shared ``cache``: none for
    the orders of an unfiltered scope, none for the answers when nobody answered a survey in the span).
    ``complaints`` (before, after), when the caller has them from the day series, spares counting anonymous
    items: the feedback query then reads only items with a customer, through the partial customer index."""
    start, end = _bounds(first, last)
    mid = _bounds(split, split)[0] if split is not None and first < split <= last else end
    about = _about(scope, start, end)
    windows = {"b": Q(received_at__lt=mid), "a": Q(received_at__gte=mid)}
    complaint, known = Q(kind=COMPLAINT_KIND), Q(customer_id__isnull=False)
    aggregates: dict[str, Any] = {}
    for key, window in windows.items():
        aggregates |= {
            f"{key}_known": Count("id", filter=window & complaint & known),
            f"{key}_complainers": Count("customer_id", distinct=True, filter=window & complaint),
            f"{key}_customers": Count("customer_id", distinct=True, filter=window & known),
        }
        if complaints is None:
            aggregates[f"{key}_n"] = Count("id", filter=window & complaint)
    counted = (about if complaints is None else about.filter(known)).aggregate(**aggregates)
    if complaints is not None:
        counted["b_n"], counted["a_n"] = complaints
    # orders
    if cache is not None and cache.covers(first, last) and not (scope.products or scope.segment):
        mid_day = split if split is not None else last + timedelta(days=1)
        order_counts = {
            "b": sum(n for day, n in cache.orders.items() if first <= day < mid_day),
            "a": sum(n for day, n in cache.orders.items() if mid_day <= day <= last),
        }
    else:
        orders = Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end)
        if scope.products:
            orders = orders.filter(product_id__in=[int(p) for p in scope.products if str(p).isdigit()])
        if scope.segment:
            orders = orders.filter(customer__segment=scope.segment)
        order_counts = orders.aggregate(
            b=Count("id", filter=Q(ordered_at__lt=mid)), a=Count("id", filter=Q(ordered_at__gte=mid))
        )
    # survey answers of the customers affected in each window
    no_scores = {"promoters": 0, "passives": 0, "detractors": 0, "csat_n": 0, "csat_top2": 0}
    scores = {"b": dict(no_scores), "a": dict(no_scores)}
    if cache is None or not cache.covers(first, last) or cache.has_responses:
        score_aggregates: dict[str, Any] = {}
        for key, window in windows.items():
            affected = about.filter(window & known).values("customer_id")
            answered = Q(customer_id__in=affected) & (
                Q(submitted_at__lt=mid) if key == "b" else Q(submitted_at__gte=mid)
            )
            score_aggregates |= {
                f"{key}_promoters": Count("id", filter=answered & Q(nps__gte=9)),
                f"{key}_passives": Count("id", filter=answered & Q(nps__in=(7, 8))),
                f"{key}_detractors": Count("id", filter=answered & Q(nps__lte=6)),
                f"{key}_csat_n": Count("id", filter=answered & Q(csat__isnull=False)),
                f"{key}_csat_top2": Count("id", filter=answered & Q(csat__gte=4)),
            }
        found = Response.objects.filter(submitted_at__gte=start, submitted_at__lt=end).aggregate(**score_aggregates)
        for name, value in found.items():
            key, metric = name.split("_", 1)
            scores[key][metric] = int(value or 0)

    def figures(key: str, lo: date, hi: date) -> dict[str, Any]:
        return _window_figures(
            lo, hi, int(counted[f"{key}_n"]), int(counted[f"{key}_known"]), int(counted[f"{key}_complainers"]),
            int(counted[f"{key}_customers"]), int(order_counts[key] or 0), scores[key],
        )  # fmt: skip

    if split is None or split > last:
        return figures("b", first, last), None
    return figures("b", first, split - timedelta(days=1)), figures("a", split, last)


def customer_outcomes(scope: Scope, first: date, last: date) -> dict[str, Any]:
    """The customer-level outcome metrics over one window (the baseline's); see customer_outcomes_split."""
    return customer_outcomes_split(scope, first, last)[0]


# Whether a metric is better when it is lower (complaints, repeats) or higher (NPS, CSAT).
OUTCOME_METRICS: tuple[tuple[str, bool], ...] = (
    ("complaints_per_1000", True),
    ("complaints_per_1000_orders", True),
    ("negative_share", True),
    ("repeat_rate", True),
    ("nps", False),
    ("csat", False),
)


def _half_width_se(metric: Mapping[str, Any]) -> float | None:
    if metric.get("value") is None or metric.get("low") is None or metric.get("high") is None:
        return None
    return (float(metric["high"]) - float(metric["low"])) / (2 * Z95)


def compare_outcomes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Before and after for each outcome metric, with the difference and its 95% interval (normal, from the two
    intervals' widths). ``better`` is True when the interval lies wholly on the good side, False when wholly on
    the bad side, None when it crosses zero or a side has no data; small n is shown by the caller, never hidden."""
    rows = []
    for key, lower_is_better in OUTCOME_METRICS:
        b, a = before.get(key) or {}, after.get(key) or {}
        row: dict[str, Any] = {"metric": key, "before": b, "after": a, "difference": None, "better": None}
        se_b, se_a = _half_width_se(b), _half_width_se(a)
        if se_b is not None and se_a is not None:
            diff = float(a["value"]) - float(b["value"])
            half = Z95 * float(np.hypot(se_b, se_a))
            row["difference"] = {"value": diff, "low": diff - half, "high": diff + half}
            if diff - half > 0 or diff + half < 0:
                improved = (diff < 0) if lower_is_better else (diff > 0)
                row["better"] = improved
        rows.append(row)
    return rows


def baseline(scope: Scope, before: date) -> dict[str, Any]:
    """The outcome metrics over the ``BASELINE_DAYS`` days before ``before`` (the day of creation), with n and
    95% intervals: frozen on the action, so later data changes never move the starting point."""
    first = before - timedelta(days=BASELINE_DAYS)
    series = outcome_series(scope, first, before - timedelta(days=1))
    complaints, items = float(series.complaints.sum()), float(series.items.sum())
    window_complaints = (int(complaints), 0)
    return {
        **customer_outcomes_split(scope, first, before - timedelta(days=1), complaints=window_complaints)[0],
        "complaints": int(complaints),
        "items": int(items),
        **series_outcomes(series, 0, len(series.days)),
    }


def series_outcomes(series: OutcomeSeries, start: int, stop: int) -> dict[str, Any]:
    """The day-series metrics over days ``start``..``stop - 1`` of a series, with n and Wilson intervals."""
    complaints, items = float(series.complaints[start:stop].sum()), float(series.items[start:stop].sum())
    return {
        "complaints_per_1000": _share(complaints, items, PER),
        "negative_share": _share(
            float(series.negatives[start:stop].sum()), float(series.topic_items[start:stop].sum())
        ),
    }
