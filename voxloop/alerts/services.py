"""Early warning: find unusual rises in the daily roll-ups, keep them as alerts, tell the people who asked.

``detect`` reads a year of MetricDaily (plus the weeks of history the baselines need) in three queries, builds
one series x days array per metric and hands them to voxloop.stats.anomaly, which scores every series at
once. Each run of anomalous days that still touches the last ``ALERTS_CLOSE_AFTER_DAYS`` days is upserted by
its fingerprint (metric, dimension, value, first day), so detection can run every hour: the same run updates
its row (it grew, its severity rose); older runs are history and are left as stored.

Series (feedback roll-ups unless said otherwise):
  count  feedback items per day: all feedback, and per topic, product and channel
  rate   negative share per day: all feedback, and per topic
  nps    NPS per day of the survey responses (all responses)

A new alert, or one whose severity rose, is announced once through ``alerts.hooks.announce_alert``: notify
e-mails every subscriber it matches (its outbox) and webhooks queues an ``alert.raised`` event. The
announcement is claimed by a conditional update of ``notified_severity`` in the same transaction, so two
detection runs at once never announce twice, and an acknowledged alert is never announced again.
"""

from __future__ import annotations

import logging
import time as clock
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, cast

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min, Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from voxloop.accounts.permissions import Capability, has
from voxloop.alerts.hooks import announce_alert
from voxloop.alerts.models import SEVERITY_RANK, Alert, AlertMetric, AlertStatus, AlertSubscription, Severity
from voxloop.feedback.bands import NPS_DETRACTOR_MAX
from voxloop.feedback.models import Feedback
from voxloop.metrics.days import local_day, range_bounds
from voxloop.metrics.models import MetricDaily, Source
from voxloop.metrics.queries import value_labels
from voxloop.stats import anomaly
from voxloop.surveys.models import Response

logger = logging.getLogger(__name__)

HISTORY_DAYS = 365  # days scored for alerts
COUNT_PARAMS = anomaly.CountParams()
RATE_PARAMS = anomaly.RateParams()
NPS_PARAMS = anomaly.NPS_PARAMS
# Days before the first scored day that the baselines read: the weeks of same-weekday history and a rate window.
BASELINE_DAYS = 7 * max(COUNT_PARAMS.weeks, RATE_PARAMS.weeks, NPS_PARAMS.weeks) + RATE_PARAMS.window + 7
COUNT_DIMENSIONS = ("", "topic", "product", "channel")
RATE_DIMENSIONS = ("", "topic")
EXAMPLES = 5
# Roles that may acknowledge alerts (viewers and analysts see them; viewers cannot acknowledge).


def close_after_days() -> int:
    return max(0, int(getattr(settings, "ALERTS_CLOSE_AFTER_DAYS", 3)))


def may_acknowledge(user: Any) -> bool:
    return has(user, Capability.ACKNOWLEDGE_ALERTS)


# --- reading the roll-ups into arrays -------------------------------------------------------------------------


@dataclass
class SeriesSet:
    """Series x days arrays over ``first``..``first + days - 1``; ``keys[i]`` is (dimension, value) of row i."""

    first: date
    days: int
    keys: list[tuple[str, str]] = field(default_factory=list)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


def _int(value: Any) -> int:
    try:
        return int(float(value)) if value not in (None, "") else 0
    except (TypeError, ValueError):
        return 0


def _fill(
    first: date, days: int, rows: Sequence[tuple[str, str, date, tuple[int, ...]]], names: tuple[str, ...]
) -> SeriesSet:
    index: dict[tuple[str, str], int] = {}
    cells: list[tuple[int, int, tuple[int, ...]]] = []
    for dimension, value, day, numbers in rows:
        row = index.setdefault((dimension, value), len(index))
        cells.append((row, (day - first).days, numbers))
    result = SeriesSet(first, days, list(index))
    for i, name in enumerate(names):
        array = np.zeros((len(index), days), dtype=np.float64)
        if cells:
            r = np.fromiter((c[0] for c in cells), dtype=np.int64, count=len(cells))
            d = np.fromiter((c[1] for c in cells), dtype=np.int64, count=len(cells))
            v = np.fromiter((c[2][i] for c in cells), dtype=np.float64, count=len(cells))
            array[r, d] = v
        result.arrays[name] = array
    return result


def load_feedback(first: date, last: date) -> tuple[SeriesSet, SeriesSet]:
    """(items per day for the total/topic/product/channel series, negatives and items per day for the total/topic
    series). Two queries; only the second, over the few total and topic rows, pulls a counter out of the JSON
    (in the database), so the thousands of product rows cost a plain column read."""
    days = (last - first).days + 1
    in_window = MetricDaily.objects.filter(source=Source.FEEDBACK, day__gte=first, day__lte=last).order_by()
    counts = [
        (dimension, value, day, (n,))
        for dimension, value, day, n in in_window.filter(dimension__in=COUNT_DIMENSIONS)
        .values_list("dimension", "value", "day", "n")
        .iterator(chunk_size=10000)
        if value or not dimension  # "no topic / no product": nothing a person could act on, nor drill into
    ]
    negatives = (
        in_window.filter(dimension__in=RATE_DIMENSIONS)
        .annotate(negative=KeyTextTransform("negative", "sums"))
        .values_list("dimension", "value", "day", "n", "negative")
    )
    rates = [(d, v, day, (min(_int(neg), n), n)) for d, v, day, n, neg in negatives if v or not d]
    return _fill(first, days, counts, ("n",)), _fill(first, days, rates, ("negative", "n"))


def load_nps(first: date, last: date) -> SeriesSet:
    days = (last - first).days + 1
    rows = (
        MetricDaily.objects.filter(source=Source.RESPONSES, day__gte=first, day__lte=last, dimension="")
        .annotate(
            pro=KeyTextTransform("promoters", "sums"),
            pas=KeyTextTransform("passives", "sums"),
            det=KeyTextTransform("detractors", "sums"),
        )
        .values_list("dimension", "value", "day", "pro", "pas", "det")
        .order_by()
    )
    return _fill(first, days, [(d, v, day, (_int(a), _int(b), _int(c))) for d, v, day, a, b, c in rows],
                 ("promoters", "passives", "detractors"))  # fmt: skip


# --- detection ------------------------------------------------------------------------------------------------


@dataclass
class DetectRun:
    today: date
    series: int = 0
    found: int = 0  # runs of anomalous days in the year
    created: int = 0
    updated: int = 0
    closed: int = 0
    announced: int = 0  # alerts announced (new, or severity rose)
    emails: int = 0
    webhooks: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items()}


def detection_window(today: date) -> tuple[date, date]:
    return today - timedelta(days=HISTORY_DAYS - 1 + BASELINE_DAYS), today


def first_day(source: str) -> date | None:
    """The first day the roll-ups of ``source`` hold (an index lookup). Days before it are not zeros but
    unknown: scoring them as zeros would make the first weeks of data look like a surge in everything."""
    first: date | None = MetricDaily.objects.filter(source=source, dimension="").aggregate(first=Min("day"))["first"]
    return first


def find_anomalies(today: date, progress: Callable[[str], None] | None = None) -> tuple[list[anomaly.Alert], int]:
    """Every anomalous run over the year up to ``today`` (pure scoring of what the roll-ups hold), and how many
    series were scored."""
    say = progress or (lambda _message: None)
    first, last = detection_window(today)
    feedback_first = max(first, first_day(Source.FEEDBACK) or last)
    responses_first = max(first, first_day(Source.RESPONSES) or last)
    say(_("reading roll-ups %(first)s to %(last)s") % {"first": min(feedback_first, responses_first), "last": last})
    counts, rates = load_feedback(feedback_first, last)
    nps = load_nps(responses_first, last)
    series = len(counts.keys) + len(rates.keys) + len(nps.keys)
    say(_("scoring %(series)s series") % {"series": series})
    found: list[anomaly.Alert] = []
    if counts.keys:
        found += anomaly.detect_count_anomalies(counts.arrays["n"], counts.first, counts.keys, COUNT_PARAMS)
    if rates.keys:
        found += anomaly.detect_rate_anomalies(rates.arrays["negative"], rates.arrays["n"], rates.first, rates.keys,
                                               RATE_PARAMS)  # fmt: skip
    if nps.keys:
        found += anomaly.detect_nps_anomalies(
            nps.arrays["promoters"], nps.arrays["passives"], nps.arrays["detractors"], nps.first, nps.keys, NPS_PARAMS
        )
    return found, series


def detect(
    today: date | None = None, *, backfill: bool = False, progress: Callable[[str], None] | None = None
) -> DetectRun:
    """Score the last year, upsert the alerts whose run touches the last ALERTS_CLOSE_AFTER_DAYS days, announce
    new ones and rises in severity, and close alerts whose run has been over that long. Idempotent.

    ``backfill`` also stores the year's older runs (closed, never announced): for a first install or a demo."""
    started = clock.monotonic()
    today = today or local_day(timezone.now())
    run = DetectRun(today)
    found, run.series = find_anomalies(today, progress)
    run.found = len(found)
    recent_from = today - timedelta(days=close_after_days())
    keep = [a for a in found if backfill or a.end >= recent_from]
    if progress:
        progress(_("storing %(alerts)s alerts") % {"alerts": len(keep)})
    labels = _labels(keep)
    existing = {
        a.fingerprint: a
        for a in Alert.objects.filter(fingerprint__in=[_fingerprint(f) for f in keep]).select_related("acknowledged_by")
    }
    for found_alert in keep:
        _upsert(found_alert, existing.get(_fingerprint(found_alert)), labels, recent_from, run)
    run.closed = Alert.objects.filter(
        status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED], last_day__lt=recent_from
    ).update(status=AlertStatus.CLOSED, updated_at=timezone.now())
    run.seconds = round(clock.monotonic() - started, 3)
    logger.info("early warning: %s", run.as_dict())
    return run


def _series_key(found: anomaly.Alert) -> tuple[str, str]:
    """The (dimension, value) of the series a found alert is about: the keys this module gives the detector."""
    return cast(tuple[str, str], found.key)


def _fingerprint(found: anomaly.Alert) -> str:
    dimension, value = _series_key(found)
    return Alert.make_fingerprint(found.metric.value, dimension, value, found.start.isoformat())


def _labels(found: list[anomaly.Alert]) -> dict[tuple[str, str], str]:
    """The readable name of each series, in the site's language (pages re-label in the reader's)."""
    by_dimension: dict[str, set[str]] = {}
    for alert in found:
        dimension, value = _series_key(alert)
        by_dimension.setdefault(dimension, set()).add(value)
    labels: dict[tuple[str, str], str] = {}
    with translation.override(settings.LANGUAGE_CODE):
        for dimension, values in by_dimension.items():
            if not dimension:
                labels[("", "")] = _("All feedback")
                continue
            for value, label in value_labels(dimension, values, settings.LANGUAGE_CODE).items():
                labels[(dimension, value)] = label
    return labels


def _upsert(
    found: anomaly.Alert, alert: Alert | None, labels: dict[tuple[str, str], str], recent_from: date, run: DetectRun
) -> None:
    dimension, value = _series_key(found)
    history = found.end < recent_from  # only with backfill: a run that is over, stored closed and silent
    fields = {
        "label": str(labels.get((dimension, value), value or _("All feedback")))[:200],
        "last_day": found.end,
        "days": min(found.days, 32767),
        "observed": float(found.observed),
        "expected": float(found.expected),
        "ratio": None if found.ratio is None else float(found.ratio),
        "peak_z": float(found.peak_z),
        "severity": found.severity.value,
        "severity_rank": SEVERITY_RANK[found.severity.value],
    }
    try:
        with transaction.atomic():
            if alert is None:
                alert = Alert(
                    metric=found.metric.value, dimension=dimension, value=value, started_on=found.start,
                    fingerprint=_fingerprint(found), **fields,
                )  # fmt: skip
                alert.status = AlertStatus.CLOSED if history else AlertStatus.OPEN
                alert.notified_severity = alert.severity if history else ""
                alert.example_ids = example_ids(alert)
                alert.save()
                run.created += 1
            else:
                changed = alert.last_day != found.end or not alert.example_ids
                for name, new in fields.items():
                    setattr(alert, name, new)
                if changed:
                    alert.example_ids = example_ids(alert)
                if not history:
                    alert.status = AlertStatus.ACKNOWLEDGED if alert.is_acknowledged else AlertStatus.OPEN
                alert.save()
                run.updated += 1
            if not history and not alert.is_acknowledged:
                _announce_if_due(alert, run)
    except IntegrityError:
        # another detection run created it a moment ago: take its row and update that one
        current = Alert.objects.filter(fingerprint=_fingerprint(found)).first()
        if current is not None and alert is not None and alert.pk is None:
            _upsert(found, current, labels, recent_from, run)


# --- examples and announcements -------------------------------------------------------------------------------


def example_ids(alert: Alert, limit: int = EXAMPLES) -> list[int]:
    """Up to ``limit`` negative or complaint items of the alert's cut in its days, newest first: two indexed
    queries with LIMIT (negatives, complaints), merged."""
    start, end = range_bounds(alert.started_on, alert.last_day)
    if alert.metric == AlertMetric.NPS:
        rows = (
            Response.objects.filter(
                submitted_at__gte=start, submitted_at__lt=end, nps__lte=NPS_DETRACTOR_MAX, feedback__isnull=False
            )
            .order_by("-submitted_at", "-id")
            .values_list("feedback_id", flat=True)[:limit]
        )
        return list(dict.fromkeys(rows))
    items = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
    if alert.dimension == "topic":
        items = items.filter(topic_links__top_code=alert.value)
    elif alert.dimension == "product":
        if not alert.value.isdigit():
            return []
        items = items.filter(product_id=int(alert.value))
    elif alert.dimension == "channel":
        items = items.filter(channel=alert.value)
    found: list[tuple[Any, int]] = []
    for condition in (Q(sentiment="negative"), Q(kind="complaint")):
        found += list(
            items.filter(condition).order_by("-received_at", "-id").values_list("received_at", "id")[: limit * 2]
        )
    found.sort(reverse=True)
    return list(dict.fromkeys(pk for _when, pk in found))[:limit]


def _announce_if_due(alert: Alert, run: DetectRun) -> None:
    """Announce a new alert or a rise in severity, once: the conditional update is the claim."""
    previous = alert.notified_severity
    if SEVERITY_RANK.get(alert.severity, 0) <= SEVERITY_RANK.get(previous, 0):
        return
    claimed = Alert.objects.filter(pk=alert.pk, notified_severity=previous, acknowledged_at__isnull=True).update(
        notified_severity=alert.severity
    )
    if not claimed:
        return
    alert.notified_severity = alert.severity
    run.announced += 1
    queued = announce_alert(alert, previous)
    run.emails += queued.get("emails", 0)
    run.webhooks += queued.get("webhooks", 0)


def subscribers_for(alert: Alert) -> list[AlertSubscription]:
    """One matching subscription per user (with email on), for active users who may see insights."""
    chosen: dict[int, AlertSubscription] = {}
    for subscription in AlertSubscription.objects.filter(email=True, user__is_active=True).select_related("user"):
        if (
            subscription.user_id not in chosen
            and subscription.matches(alert)
            and has(subscription.user, Capability.READ_METRICS)
        ):
            chosen[subscription.user_id] = subscription
    return list(chosen.values())


# --- acknowledging and subscribing ----------------------------------------------------------------------------


class AlertError(ValueError):
    pass


def acknowledge(alert: Alert, user: Any, note: str = "") -> Alert:
    """Record who acknowledged the alert, when, and their note; no announcement follows for it any more (its
    severity may still rise on the page). Acknowledging again updates the note."""
    if not may_acknowledge(user):
        raise AlertError(_("Only managers, analysts and administrators can acknowledge alerts."))
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.acknowledged_at is None:
            alert.acknowledged_at = now
            alert.acknowledged_by = user
        alert.acknowledgement_note = (note or "").strip()[:2000]
        if alert.status == AlertStatus.OPEN:
            alert.status = AlertStatus.ACKNOWLEDGED
        alert.save(update_fields=["acknowledged_at", "acknowledged_by", "acknowledgement_note", "status", "updated_at"])
    return alert


def subscribe(
    user: Any, *, min_severity: str, dimension: str = "", value: str = "", email: bool = True
) -> AlertSubscription:
    """Create or update the user's subscription for this scope (one per user, dimension and value)."""
    if min_severity not in Severity.values:
        raise AlertError(_("Unknown severity %(severity)r.") % {"severity": min_severity})
    if not dimension and value:
        raise AlertError(_("A value needs a dimension."))
    subscription, _created = AlertSubscription.objects.update_or_create(
        user=user, dimension=dimension, value=value, defaults={"min_severity": min_severity, "email": email}
    )
    return subscription


def unsubscribe(user: Any, subscription_id: int) -> bool:
    deleted, _rows = AlertSubscription.objects.filter(user=user, pk=subscription_id).delete()
    return bool(deleted)
