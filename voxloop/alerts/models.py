"""Early-warning alerts: one row per anomalous run of one daily series (voxloop.stats.anomaly), and who wants
to hear about them.

Detection runs often (hourly and daily) over the whole year; an alert is identified by its fingerprint
(metric, dimension, value, first day), so running it again updates the row (the run grew, its severity rose)
instead of adding a second one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from voxloop.core.models import TimeStampedModel
from voxloop.stats.anomaly import Severity as AnomalySeverity

# Lowest first: "at least high" compares ranks.
SEVERITY_RANK = {AnomalySeverity.MEDIUM.value: 1, AnomalySeverity.HIGH.value: 2, AnomalySeverity.CRITICAL.value: 3}


class Severity(models.TextChoices):
    MEDIUM = AnomalySeverity.MEDIUM.value, _("Medium")
    HIGH = AnomalySeverity.HIGH.value, _("High")
    CRITICAL = AnomalySeverity.CRITICAL.value, _("Critical")


class AlertMetric(models.TextChoices):
    COUNT = "count", _("Feedback volume")
    RATE = "rate", _("Negative share")
    NPS = "nps", _("NPS")


class AlertDimension(models.TextChoices):
    ALL = "", _("All feedback")
    TOPIC = "topic", _("Topic")
    PRODUCT = "product", _("Product")
    CHANNEL = "channel", _("Channel")


class AlertStatus(models.TextChoices):
    # in context: a case's "Open" is being worked on; an alert's is still waiting for someone to look at it
    OPEN = "open", pgettext_lazy("alert status", "Open")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("alert status", "Acknowledged")
    CLOSED = "closed", pgettext_lazy("alert status", "Closed")


class Alert(TimeStampedModel):
    metric = models.CharField(_("metric"), max_length=10, choices=AlertMetric.choices)
    dimension = models.CharField(_("dimension"), max_length=10, choices=AlertDimension.choices, blank=True)
    value = models.CharField(_("value"), max_length=100, blank=True)  # a topic code, product pk, channel, or ""
    label = models.CharField(_("what"), max_length=200)  # the value's name when detected, for lists and emails
    started_on = models.DateField(_("since"))
    last_day = models.DateField(_("last day"))
    days = models.PositiveSmallIntegerField(_("days"), default=1)
    observed = models.FloatField(_("observed"))  # items over the run, or the pooled share (0-1) / NPS points
    expected = models.FloatField(_("expected"))
    ratio = models.FloatField(_("ratio"), null=True, blank=True)
    peak_z = models.FloatField(_("peak z"))
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    severity_rank = models.PositiveSmallIntegerField(default=1)  # for "at least high" filters and sorting
    status = models.CharField(_("status"), max_length=15, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledgement_note = models.TextField(_("note"), blank=True)
    # Up to 5 negative or complaint items of this cut in the alert's days, newest first.
    example_ids = models.JSONField(_("examples"), default=list, blank=True)
    # The severity subscribers and webhooks were last told about ("" = never): a rise notifies again.
    notified_severity = models.CharField(max_length=10, blank=True)
    fingerprint = models.CharField(max_length=200, unique=True)

    class Meta:
        ordering = ["-started_on", "-severity_rank", "-id"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        indexes = [
            models.Index(fields=["status", "-started_on"], name="alert_status_recent"),
            models.Index(fields=["-started_on"], name="alert_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.label} since {self.started_on} ({self.severity})"

    @staticmethod
    def make_fingerprint(metric: str, dimension: str, value: str, started_on: object) -> str:
        return f"{metric}|{dimension}|{value}|{started_on}"[:200]

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class AlertSubscription(TimeStampedModel):
    """One user's wish to hear about alerts: of at least ``min_severity``, optionally only for one dimension
    (and value)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions")
    min_severity = models.CharField(
        _("minimum severity"), max_length=10, choices=Severity.choices, default=Severity.HIGH
    )
    dimension = models.CharField(_("only for"), max_length=10, choices=AlertDimension.choices, blank=True)
    value = models.CharField(_("value"), max_length=100, blank=True)  # blank: every value of the dimension
    email = models.BooleanField(_("send email"), default=True)

    class Meta:
        ordering = ["user", "dimension", "value", "id"]
        verbose_name = _("alert subscription")
        verbose_name_plural = _("alert subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["user", "dimension", "value"], name="alert_subscription_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.dimension or '*'}={self.value or '*'} >= {self.min_severity}"

    def matches(self, alert: Alert) -> bool:
        if SEVERITY_RANK.get(alert.severity, 0) < SEVERITY_RANK.get(self.min_severity, 0):
            return False
        if self.dimension and self.dimension != alert.dimension:
            return False
        return not self.value or self.value == alert.value
