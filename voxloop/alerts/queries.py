"""Read models of the early-warning pages: alert lists, the alerts-per-day chart, and one alert's series with its
expected band (re-scored from the roll-ups of that one series: a few hundred rows)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
from django.db.models import Count, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from voxloop.alerts.models import Alert, AlertDimension, AlertMetric, AlertStatus, Severity
from voxloop.alerts.services import BASELINE_DAYS, COUNT_PARAMS, NPS_PARAMS, RATE_PARAMS
from voxloop.feedback.models import Feedback
from voxloop.insights.pages import feedback_url
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import Period, value_labels
from voxloop.stats import anomaly

LIST_LIMIT = 200
TABS = ("open", "acknowledged", "all")
SEVERITY_COLOURS: dict[str, str] = {Severity.MEDIUM: "#e6a23c", Severity.HIGH: "#f56c6c", Severity.CRITICAL: "#8b0000"}
BAND_SIGMAS = 2  # the shaded "usual range" on the detail chart: expected +- 2 standard deviations
CONTEXT_DAYS = 28  # days shown before the alert (and after it, when they exist)


def alert_path(alert: Alert) -> str:
    return reverse("alerts:detail", args=[alert.pk])


def subscriptions_path() -> str:
    return reverse("alerts:subscriptions")


def cut_params(dimension: str, value: str) -> dict[str, str]:
    """The feedback inbox's filter for one series."""
    if dimension == "topic":
        return {"topic": value}
    if dimension == "product":
        return {"product_id": value}
    if dimension == "channel":
        return {"channel": value}
    return {}


def feedback_link(metric: str, dimension: str, value: str, start: date, end: date) -> str:
    """All feedback of the series' cut in ``start``..``end``: negatives for a negative-share alert, survey
    comments for an NPS alert."""
    params: dict[str, Any] = cut_params(dimension, value)
    if metric == AlertMetric.RATE:
        params["sentiment"] = "negative"
    elif metric == AlertMetric.NPS:
        params["channel"] = "survey"
    return feedback_url(None, start=start, end=end, **params)


def alert_feedback_url(alert: Alert) -> str:
    return feedback_link(alert.metric, alert.dimension, alert.value, alert.started_on, alert.last_day)


# --- describing an alert ------------------------------------------------------------------------------------


def _number(value: float, digits: int = 0) -> str:
    return number_format(round(value, digits), digits, force_grouping=True)


def describe(alert: Alert, language: str = "", label: str | None = None) -> dict[str, str]:
    """What rose, by how much and since when, as short translated strings (lists, detail, emails)."""
    label = label or alert.label
    cut = str(AlertDimension(alert.dimension).label) if alert.dimension else ""
    metric = str(AlertMetric(alert.metric).label)
    what = f"{metric} · {cut}: {label}" if cut else f"{metric} · {label}"
    if alert.metric == AlertMetric.COUNT:
        change = _("%(observed)s items vs %(expected)s expected") % {
            "observed": _number(alert.observed), "expected": _number(alert.expected, 1),
        }  # fmt: skip
        if alert.ratio:
            change += " (×" + _number(alert.ratio, 1) + ")"
    elif alert.metric == AlertMetric.RATE:
        change = _("%(observed)s%% negative vs %(expected)s%% usual (+%(points)s points)") % {
            "observed": _number(100 * alert.observed, 1), "expected": _number(100 * alert.expected, 1),
            "points": _number(100 * (alert.observed - alert.expected), 1),
        }  # fmt: skip
    else:
        change = _("NPS %(observed)s vs %(expected)s usual (%(points)s points)") % {
            "observed": _number(alert.observed, 1), "expected": _number(alert.expected, 1),
            "points": _number(alert.observed - alert.expected, 1),
        }  # fmt: skip
    return {
        "what": what,
        "change": change,
        "since": alert.started_on.isoformat(),
        "severity": str(Severity(alert.severity).label),
        "status": str(AlertStatus(alert.status).label),
    }


def relabel(alerts: list[Alert], language: str) -> dict[int, str]:
    """Each alert's series name in the reader's language (one query per dimension)."""
    by_dimension: dict[str, set[str]] = {}
    for alert in alerts:
        if alert.dimension:
            by_dimension.setdefault(alert.dimension, set()).add(alert.value)
    names = {d: value_labels(d, values, language) for d, values in by_dimension.items()}
    return {
        a.pk: (names[a.dimension].get(a.value, a.label) if a.dimension else _("All feedback")) or a.label
        for a in alerts
    }


# --- the list -------------------------------------------------------------------------------------------------


def alerts_in(period: Period, dimension: str = "", value: str = "") -> QuerySet[Alert]:
    """Alerts whose run overlaps the period, optionally of one cut."""
    qs = Alert.objects.filter(started_on__lte=period.end, last_day__gte=period.start)
    if dimension:
        qs = qs.filter(dimension=dimension, value=value) if dimension in AlertDimension.values else qs.none()
    return qs


def tab_filter(qs: QuerySet[Alert], tab: str) -> QuerySet[Alert]:
    if tab == "open":
        return qs.filter(status=AlertStatus.OPEN)
    if tab == "acknowledged":
        return qs.filter(status=AlertStatus.ACKNOWLEDGED)
    return qs


@dataclass
class AlertRow:
    alert: Alert
    text: dict[str, str]
    url: str


def alert_rows(qs: QuerySet[Alert], language: str, limit: int = LIST_LIMIT) -> list[AlertRow]:
    alerts = list(qs.select_related("acknowledged_by").order_by("-last_day", "-severity_rank", "-id")[:limit])
    labels = relabel(alerts, language)
    return [AlertRow(a, describe(a, language, labels.get(a.pk)), alert_path(a)) for a in alerts]


def tab_counts(qs: QuerySet[Alert]) -> dict[str, int]:
    counts = dict(qs.values_list("status").annotate(n=Count("id")).order_by())
    return {"open": counts.get(AlertStatus.OPEN, 0), "acknowledged": counts.get(AlertStatus.ACKNOWLEDGED, 0),
            "all": sum(counts.values())}  # fmt: skip


def per_day(qs: QuerySet[Alert], period: Period) -> dict[date, dict[str, int]]:
    """New alerts per day (by the day they started) and severity, counted in the database."""
    days: dict[date, dict[str, int]] = {d: {s: 0 for s in Severity.values} for d in period.each_day()}
    rows = (
        qs.filter(started_on__gte=period.start, started_on__lte=period.end)
        .values_list("started_on", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, severity, n in rows:
        if day in days and severity in days[day]:
            days[day][severity] = n
    return days


# --- one alert's series ---------------------------------------------------------------------------------------


@dataclass
class SeriesView:
    days: list[date]
    observed: list[float | None]
    expected: list[float | None]
    lower: list[float | None]
    upper: list[float | None]
    anomalous: list[bool]
    in_alert: list[bool]
    scale: str  # "count", "percent" or "nps"


def _clean(values: np.ndarray, digits: int = 2) -> list[float | None]:
    return [None if not math.isfinite(float(v)) else round(float(v), digits) for v in values]


def _spread(observed: np.ndarray, expected: np.ndarray, z: np.ndarray) -> np.ndarray:
    """One standard deviation per day, recovered from z = (observed - expected) / sd where that is defined; days
    where observed equals expected take the nearest defined day's."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.where(np.isfinite(z) & (np.abs(z) > 1e-6), (observed - expected) / z, np.nan)
    valid = np.flatnonzero(np.isfinite(sd) & (sd > 0))
    if not len(valid):
        return np.full_like(sd, np.nan)
    nearest = valid[np.clip(np.searchsorted(valid, np.arange(len(sd))), 0, len(valid) - 1)]
    return np.where(np.isfinite(expected), sd[nearest], np.nan)


def series_view(alert: Alert, today: date) -> SeriesView:
    """The alert's series from CONTEXT_DAYS before it to CONTEXT_DAYS after it (or today), re-scored with the
    detector's parameters (the baseline weeks before the first shown day are read too)."""
    shown_first = alert.started_on - timedelta(days=CONTEXT_DAYS)
    last = min(alert.last_day + timedelta(days=CONTEXT_DAYS), max(today, alert.last_day))
    first = shown_first - timedelta(days=BASELINE_DAYS)
    n_days = (last - first).days + 1
    source = Source.RESPONSES if alert.metric == AlertMetric.NPS else Source.FEEDBACK
    keys = ("promoters", "passives", "detractors") if alert.metric == AlertMetric.NPS else ("negative",)
    rows = (
        MetricDaily.objects.filter(source=source, dimension=alert.dimension, value=alert.value, day__gte=first,
                                   day__lte=last)
        .annotate(**{f"k{i}": KeyTextTransform(k, "sums") for i, k in enumerate(keys)})
        .values_list("day", "n", *[f"k{i}" for i in range(len(keys))])
    )  # fmt: skip
    n = np.zeros((1, n_days))
    parts = np.zeros((len(keys), 1, n_days))
    for day, total, *sums in rows:
        t = (day - first).days
        n[0, t] = total
        for i, v in enumerate(sums):
            parts[i, 0, t] = float(v or 0)
    if alert.metric == AlertMetric.COUNT:
        scores = anomaly.score_counts(n, COUNT_PARAMS)
        centre_obs = np.sqrt(scores.observed[0] + 0.375)
        centre_exp = np.sqrt(scores.expected[0] + 0.375)
        sd = _spread(centre_obs, centre_exp, scores.z[0])
        lower = np.maximum(centre_exp - BAND_SIGMAS * sd, 0) ** 2 - 0.375
        upper = (centre_exp + BAND_SIGMAS * sd) ** 2 - 0.375
        observed, expected, scale, factor = scores.observed[0], scores.expected[0], "count", 1.0
        lower = np.maximum(lower, 0)
    elif alert.metric == AlertMetric.RATE:
        scores = anomaly.score_rates(np.minimum(parts[0], n), n, RATE_PARAMS)
        sd = _spread(scores.observed[0], scores.expected[0], scores.z[0])
        observed, expected, scale, factor = scores.observed[0], scores.expected[0], "percent", 100.0
        lower = np.clip(expected - BAND_SIGMAS * sd, 0, 1)
        upper = np.clip(expected + BAND_SIGMAS * sd, 0, 1)
    else:
        scores = anomaly.score_nps(parts[0], parts[1], parts[2], NPS_PARAMS)
        sd = _spread(scores.observed[0], scores.expected[0], scores.z[0])
        observed, expected, scale, factor = scores.observed[0], scores.expected[0], "nps", 1.0
        lower = np.clip(expected - BAND_SIGMAS * sd, -100, 100)
        upper = np.clip(expected + BAND_SIGMAS * sd, -100, 100)
    offset = (shown_first - first).days
    days = [shown_first + timedelta(days=i) for i in range(n_days - offset)]
    cut = slice(offset, None)
    return SeriesView(
        days=days,
        observed=_clean(observed[cut] * factor),
        expected=_clean(expected[cut] * factor),
        lower=_clean(lower[cut] * factor),
        upper=_clean(upper[cut] * factor),
        anomalous=[bool(v) for v in scores.anomalous[0][cut]],
        in_alert=[alert.started_on <= d <= alert.last_day for d in days],
        scale=scale,
    )


def examples(alert: Alert) -> list[Any]:
    """The alert's example items (kept ids), in the stored order; items deleted since are left out."""
    ids = [i for i in alert.example_ids if isinstance(i, int)]
    items = {f.pk: f for f in Feedback.objects.filter(pk__in=ids).only("id", "text", "received_at", "channel",
                                                                      "sentiment", "kind")}  # fmt: skip
    return [items[i] for i in ids if i in items]


def open_counts_by_severity() -> dict[str, int]:
    return dict(
        Alert.objects.filter(Q(status=AlertStatus.OPEN)).values_list("severity").annotate(n=Count("id")).order_by()
    )
