"""Data the insight pages keep of their own: the customer journey's touchpoints (everything else they show is
read from the daily roll-ups)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.core.models import TimeStampedModel


class Touchpoint(TimeStampedModel):
    """One stage of the customer journey (awareness, purchase, ..., renewal) and the taxonomy topics that
    speak about it. A topic code may be top-level (``logistics``) or a sub-topic (``repair.installation``);
    one topic may belong to several touchpoints, and then its items count in each of them."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    sort_order = models.PositiveIntegerField(_("position"), default=0)
    topic_codes = models.JSONField(_("topics"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("journey touchpoint")
        verbose_name_plural = _("journey touchpoints")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def display_name(self, language: str = "") -> str:
        return (self.name_en if language.startswith("en") else self.name_zh) or self.code


class SegmentRun(models.Model):
    """One recomputation of the customer segments: when, and the summary the segments page shows (counts per
    segment and value tier, the thresholds used). A run with no ``finished_at`` is in progress: it keeps a second
    run from starting (one that died is ignored after an hour)."""

    started_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    customers = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("segmentation run")
        verbose_name_plural = _("segmentation runs")

    def __str__(self) -> str:
        return f"segments {self.started_at:%Y-%m-%d %H:%M}"
