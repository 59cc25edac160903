"""Daily roll-ups: what the KPI panel reads, so its cost grows with the days shown, not with the rows.

One row per (source, day, dimension, value) holds additive counters only (counts, sums, sums of squares,
sparse duration histograms over fixed log-spaced buckets), so any set of days adds up exactly and medians
and p90s come from the merged histogram. ``dimension`` is "" for the all-rows total, or one cut (channel,
product, team, agent, topic, segment); a row counts in one value of each dimension, except topics, where an
item with two topics counts in both.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    CASES = "cases", _("Cases (by the day they were opened)")
    RESPONSES = "responses", _("Survey responses (by the day they were submitted)")
    FEEDBACK = "feedback", _("Feedback (by the day it was received)")


class Dimension(models.TextChoices):
    ALL = "", _("All")
    CHANNEL = "channel", _("Channel")
    PRODUCT = "product", _("Product")
    TEAM = "team", _("Team")
    AGENT = "agent", _("Agent")
    TOPIC = "topic", _("Topic")
    SEGMENT = "segment", _("Customer segment")
    LANGUAGE = "language", _("Language")


class MetricDaily(models.Model):
    source = models.CharField(max_length=10, choices=Source.choices)
    day = models.DateField()  # the local date in settings.TIME_ZONE
    # Also the feedback source's multi-valued term dimensions "emotion_word" and "need" (no "" row; not
    # choices, so the KPI panel's cut and breakdown menus leave them out: see metrics.cells).
    dimension = models.CharField(max_length=20, choices=Dimension.choices, blank=True)
    value = models.CharField(max_length=100, blank=True)  # a pk, a code, or "" (none / the total)
    n = models.IntegerField(default=0)
    sums = models.JSONField(default=dict)  # {"resolved": 12, "csat_sum": 41, ...}
    histograms = models.JSONField(default=dict)  # {"frt_wall": {"17": 3, ...}, ...}
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["source", "dimension", "value", "day"]
        verbose_name = _("daily roll-up")
        verbose_name_plural = _("daily roll-ups")
        constraints = [
            models.UniqueConstraint(fields=["source", "dimension", "value", "day"], name="metricdaily_unique"),
        ]
        indexes = [
            # Covers "top values of a dimension over a period by SUM(n)" (emotion words, needs): an index-only
            # scan instead of reading every row with its JSON (SQLite: 920 -> 126 ms over 200k need rows).
            models.Index(fields=["source", "dimension", "value", "day", "n"], name="metricdaily_value_n"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.day} {self.dimension}={self.value}"


class DirtyDay(models.Model):
    """A day whose roll-ups must be recomputed (a case changed, a response arrived). Recomputing a day is
    idempotent, so a day marked twice or refreshed by two workers at once ends in the same state."""

    source = models.CharField(max_length=10, choices=Source.choices)
    day = models.DateField()
    marked_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["source", "day"], name="dirtyday_unique")]

    def __str__(self) -> str:
        return f"{self.source} {self.day}"


class Watermark(models.Model):
    """How far the catch-up task has looked for new or changed rows of a source (by an indexed time, or by
    primary key)."""

    source = models.CharField(max_length=10, choices=Source.choices, unique=True)
    checked_until = models.DateTimeField()
    # The highest primary key seen per table, for tables whose only index on "new rows" is the key.
    positions = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return f"{self.source} {self.checked_until}"


class FoldedAnalysis(models.Model):
    """An analysis whose item was folded into the roll-ups by its difference when it was stored (a re-analysis,
    voxloop.metrics.deltas), so the catch-up does not recompute the item's whole day again. Rows go once the
    catch-up's position has passed them."""

    analysis_id = models.BigIntegerField(primary_key=True)  # FeedbackAnalysis.pk; no key: the row is replaced
    folded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("folded analysis")
        verbose_name_plural = _("folded analyses")

    def __str__(self) -> str:
        return str(self.analysis_id)
