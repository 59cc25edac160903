"""Analysis results stored beside each feedback item, the editable taxonomy, and human corrections."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from voxloop.core.models import TimeStampedModel


class Topic(TimeStampedModel):
    """A taxonomy topic. Top-level codes are stable (`quality`, `logistics`...); children are `parent.child`."""

    code = models.CharField(_("code"), max_length=100, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    phrases_zh = models.JSONField(_("Chinese phrases"), default=list, blank=True)
    phrases_en = models.JSONField(_("English phrases"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return f"{self.code} {self.name_zh}"

    def display_name(self, language: str = "") -> str:
        return self.name_en if language.startswith("en") else self.name_zh


class FeedbackAnalysis(models.Model):
    """What the pipeline said about one feedback item, exactly as it said it (corrections live apart)."""

    feedback = models.OneToOneField("feedback.Feedback", on_delete=models.CASCADE, related_name="analysis")
    language = models.CharField(max_length=10, blank=True)
    normalized_text = models.TextField(blank=True)
    sentiment = models.CharField(max_length=10, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True)
    emotions = models.JSONField(default=list, blank=True)
    topics = models.JSONField(default=list, blank=True)
    needs = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    kind = models.CharField(max_length=20, blank=True)
    urgency = models.CharField(max_length=10, blank=True)
    urgency_reasons = models.JSONField(default=list, blank=True)
    masked_text = models.TextField(blank=True)
    model_version = models.CharField(max_length=40, db_index=True)
    analysed_at = models.DateTimeField()
    # The refine lane (voxloop.analysis.refine): how sure the fast lane was (|score|; the least sure are
    # re-judged first), when the refine model re-judged the item and which version did, and the fast lane's
    # label when the refine model changed it (blank when it agreed). A re-analysis writes a new row: unrefined.
    fast_margin = models.FloatField(null=True, blank=True)
    refined_at = models.DateTimeField(null=True, blank=True)
    refine_version = models.CharField(max_length=40, blank=True, default="")
    refined_from = models.CharField(max_length=10, blank=True, default="")
    # Where the refine lane changed the label, the kind and urgency are judged again with the new label: the fast
    # lane's kind and urgency when that changed them (blank when they stayed).
    refined_kind_from = models.CharField(max_length=20, blank=True, default="")
    refined_urgency_from = models.CharField(max_length=10, blank=True, default="")

    class Meta:
        verbose_name = _("analysis")
        verbose_name_plural = _("analyses")
        indexes = [
            # The refine lane's work list: unrefined rows, least sure first (the index shrinks as it drains).
            models.Index(fields=["fast_margin"], condition=Q(refined_at__isnull=True), name="analysis_unrefined"),
        ]

    def __str__(self) -> str:
        return f"{self.feedback_id}: {self.sentiment} {self.model_version}"


class FeedbackTopic(models.Model):
    """One topic of one item, as a row, so inbox filters and dashboards can index it."""

    class Origin(models.TextChoices):
        MODEL = "model", _("Model")
        CORRECTION = "correction", _("Correction")

    feedback = models.ForeignKey("feedback.Feedback", on_delete=models.CASCADE, related_name="topic_links")
    code = models.CharField(max_length=100)
    top_code = models.CharField(max_length=50)  # the top-level code, for roll-ups
    confidence = models.FloatField(default=1.0)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.MODEL)
    # The topic's own polarity in the text (aspect sentiment: "东西不错，就是物流慢了点" is quality positive,
    # logistics negative). Blank for rows stored before aspect sentiment existed and for topics a person set:
    # those fall back to the item's overall label.
    sentiment = models.CharField(max_length=10, blank=True, default="")
    sentiment_score = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = _("feedback topic")
        verbose_name_plural = _("feedback topics")
        constraints = [models.UniqueConstraint(fields=["feedback", "code"], name="feedback_topic_unique")]
        indexes = [
            models.Index(fields=["code", "feedback"], name="feedback_topic_code"),
            models.Index(fields=["top_code", "feedback"], name="feedback_topic_top"),
        ]

    def __str__(self) -> str:
        return f"{self.feedback_id}: {self.code}"

    @staticmethod
    def polarity_q(label: str, prefix: str = "") -> Q:
        """Rows whose topic is ``label`` (positive/neutral/negative) in their item: the row's own polarity, or
        the item's overall label when the row has none (see ``sentiment``)."""
        return Q(**{f"{prefix}sentiment": label}) | Q(
            **{f"{prefix}sentiment": "", f"{prefix}feedback__sentiment": label}
        )

    @staticmethod
    def complaint_q(prefix: str = "") -> Q:
        """Rows that make their item a complaint about the row's topic: the topic's own polarity is negative
        and the item is not a plain question; a row without a polarity (stored before aspect sentiment, or set
        by a person) counts when the item is a complaint. The roll-ups' ``tc:``/``sc:`` sums count the same
        (voxloop.metrics.compute.feedback.topic_complaint), so a Pareto bar and its drill list agree. ``prefix``: the
        lookup path to these rows from the queried model ("" on FeedbackTopic itself)."""
        return Q(**{f"{prefix}sentiment": "negative"}) & ~Q(**{f"{prefix}feedback__kind": "question"}) | Q(
            **{f"{prefix}sentiment": "", f"{prefix}feedback__kind": "complaint"}
        )


class CorrectionField(models.TextChoices):
    SENTIMENT = "sentiment", _("Sentiment")
    KIND = "kind", _("Kind")
    URGENCY = "urgency", _("Urgency")
    TOPICS = "topics", _("Topics")


class Correction(TimeStampedModel):
    """A person's correction of one analysed field; kept for good and used by `voxloop retrain`."""

    feedback = models.ForeignKey("feedback.Feedback", on_delete=models.CASCADE, related_name="corrections")
    field = models.CharField(_("field"), max_length=20, choices=CorrectionField.choices)
    old_value = models.JSONField(_("model's value"), null=True, blank=True)
    new_value = models.JSONField(_("corrected value"))
    model_version = models.CharField(max_length=40, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        indexes = [models.Index(fields=["feedback", "field", "-created_at"], name="correction_latest")]


class BackgroundRun(TimeStampedModel):
    """A long job started from a page (retrain, re-analysis, emerging topics): the Celery task updates its
    progress as it goes and the page polls it. Rows are kept as a history."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    step = models.CharField(_("step"), max_length=20, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-id"]

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, round(100 * self.done / self.total))


class AnalysisJob(BackgroundRun):
    """A `retrain` or `reanalyze` run started from the web page: its progress, result and error."""

    class Kind(models.TextChoices):
        RETRAIN = "retrain", _("Retrain")
        REANALYZE = "reanalyze", _("Re-analyse")
        ADAPT = "adapt", _("Adapt to this installation")

    Status = BackgroundRun.Status
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    options = models.JSONField(_("options"), default=dict, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("analysis job")
        verbose_name_plural = _("analysis jobs")

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"


class EmergingRun(BackgroundRun):
    """One search for emerging topics: the feedback the taxonomy covers poorly in a recent window, clustered
    in a background job (voxloop.analysis.emerging)."""

    Status = BackgroundRun.Status
    days = models.PositiveIntegerField(_("window in days"), default=90)
    threshold = models.FloatField(_("confidence threshold"), default=0.6)
    max_items = models.PositiveIntegerField(_("at most this many items"), default=50_000)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    recent_since = models.DateTimeField(null=True, blank=True)  # growth compares items from here on with before
    item_count = models.PositiveIntegerField(_("items clustered"), default=0)

    class Meta(BackgroundRun.Meta):
        verbose_name = _("emerging-topics run")
        verbose_name_plural = _("emerging-topics runs")

    def __str__(self) -> str:
        return f"emerging #{self.pk} {self.status}"


class EmergingCluster(models.Model):
    """One cluster of a run: what cluster_texts reported, plus its members, so the page can list them and an
    admin can turn it into a taxonomy topic."""

    run = models.ForeignKey(EmergingRun, on_delete=models.CASCADE, related_name="clusters")
    label = models.PositiveIntegerField()  # 0 = the largest
    size = models.PositiveIntegerField()
    keywords = models.JSONField(default=list)
    examples = models.JSONField(default=list)  # [{"id": feedback id, "text": masked text}], closest to the centre first
    member_ids = models.JSONField(default=list)  # feedback ids, newest first
    recent_count = models.PositiveIntegerField(null=True, blank=True)
    earlier_count = models.PositiveIntegerField(null=True, blank=True)
    recent_share = models.FloatField(null=True, blank=True)
    earlier_share = models.FloatField(null=True, blank=True)
    growth = models.FloatField(null=True, blank=True)  # recent share / earlier share; None: nothing earlier
    adopted_topic = models.ForeignKey(
        Topic, null=True, blank=True, on_delete=models.SET_NULL, related_name="adopted_from_clusters"
    )
    adopted_at = models.DateTimeField(null=True, blank=True)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["run", "label"]
        verbose_name = _("emerging cluster")
        verbose_name_plural = _("emerging clusters")
        constraints = [models.UniqueConstraint(fields=["run", "label"], name="emerging_cluster_unique")]

    def __str__(self) -> str:
        return f"run {self.run_id} cluster {self.label} ({self.size})"
