"""Improvement actions: a root cause turned into an owned fix with a due date, a frozen baseline and measured
effects (docs/actions.md). A measurement is kept as a row, so a verdict can be re-read later."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from voxloop.core.models import TimeStampedModel


class ActionType(models.TextChoices):
    CONTAINMENT = "containment", _("Containment")
    CORRECTIVE = "corrective", _("Corrective")
    PREVENTIVE = "preventive", _("Preventive")
    IMPROVEMENT = "improvement", _("Improvement")


class ActionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    APPROVED = "approved", _("Approved")
    IN_PROGRESS = "in_progress", pgettext_lazy("action status", "In progress")
    IMPLEMENTED = "implemented", _("Implemented")
    VERIFYING = "verifying", _("Verifying")
    CLOSED_EFFECTIVE = "closed_effective", _("Closed: effective")
    CLOSED_NOT_EFFECTIVE = "closed_not_effective", _("Closed: not effective")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (
    ActionStatus.PROPOSED,
    ActionStatus.APPROVED,
    ActionStatus.IN_PROGRESS,
    ActionStatus.IMPLEMENTED,
    ActionStatus.VERIFYING,
)
# Work that has a due date to meet: once implemented, the deadline is met and the effect is awaited.
DUE_STATUSES = (ActionStatus.PROPOSED, ActionStatus.APPROVED, ActionStatus.IN_PROGRESS)


class ActionOrigin(models.TextChoices):
    MANUAL = "manual", _("Created by hand")
    PARETO = "pareto", _("A Pareto bar")
    DRIVER = "driver", _("A driver")
    ALERT = "alert", _("An early-warning alert")
    EMERGING = "emerging", _("An emerging topic")
    SEGMENT = "segment", _("A customer segment")
    CASE = "case", _("A resolved case's root cause")


class EffectVerdict(models.TextChoices):
    EFFECTIVE = "effective", _("Effective")
    NOT_EFFECTIVE = "not_effective", _("Not effective")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")
    TOO_EARLY = "too_early", _("Too early")


class ImprovementAction(TimeStampedModel):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    plan = models.TextField(_("plan"), blank=True)  # what will be done, by when: required to start
    action_type = models.CharField(_("type"), max_length=20, choices=ActionType.choices, default=ActionType.CORRECTIVE)
    status = models.CharField(_("status"), max_length=24, choices=ActionStatus.choices, default=ActionStatus.PROPOSED)
    department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        related_name="actions",
        verbose_name=_("responsible department"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_actions", verbose_name=_("owner")
    )
    collaborators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="collaborating_actions", verbose_name=_("collaborators")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField(_("due date"))
    implemented_on = models.DateField(_("implemented on"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # The scope: feedback about any of these topics, from these products and channels (empty = all), of
    # customers in this segment ("" = all).
    topics = models.JSONField(_("topics"), default=list, blank=True)
    products = models.JSONField(_("products"), default=list, blank=True)  # product ids
    channels = models.JSONField(_("channels"), default=list, blank=True)
    segment = models.CharField(_("customer segment"), max_length=40, blank=True)
    origin = models.CharField(
        _("created from"), max_length=12, choices=ActionOrigin.choices, default=ActionOrigin.MANUAL
    )
    origin_ref = models.CharField(_("source reference"), max_length=100, blank=True)
    # What customers may read: the reply to linked cases in an incident and the "we fixed it" notice.
    public_note = models.TextField(_("public note"), blank=True)
    # The same note in English, for customers who read English (blank: they get the note above).
    public_note_en = models.TextField(_("public note (English)"), blank=True)
    # Outcome metrics over the 90 days before creation, frozen when the action is created.
    baseline = models.JSONField(_("baseline"), default=dict, blank=True)
    references = models.JSONField(_("attachments by reference"), default=list, blank=True)  # URLs / document names
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="improvement_actions")
    feedback = models.ManyToManyField("feedback.Feedback", blank=True, related_name="improvement_actions")
    # The overdue reminder and the escalation each go out once per action (claimed by a conditional update).
    overdue_notified_on = models.DateField(null=True, blank=True)
    escalated_on = models.DateField(null=True, blank=True)
    latest_verdict = models.CharField(_("verdict"), max_length=16, choices=EffectVerdict.choices, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        indexes = [
            models.Index(fields=["status", "due_date"], name="action_status_due"),
            models.Index(fields=["department", "status"], name="action_department_status"),
        ]

    def __str__(self) -> str:
        return self.title

    def note_for(self, language: str) -> str:
        """The note for customers in ``language``: the English note for customers who read English, when one is
        written; otherwise the main note (in the site's language)."""
        if (language or "").lower().startswith("en") and self.public_note_en.strip():
            return self.public_note_en
        return self.public_note

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, today: date) -> bool:
        return self.status in DUE_STATUSES and self.due_date < today


class ActionTask(models.Model):
    """A sub-task of an action's plan."""

    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200)
    done = models.BooleanField(_("done"), default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("sub-task")
        verbose_name_plural = _("sub-tasks")

    def __str__(self) -> str:
        return self.title


class ActionComment(models.Model):
    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("comment")
        verbose_name_plural = _("comments")

    def __str__(self) -> str:
        return self.text[:50]


class ActionEventKind(models.TextChoices):
    CREATED = "created", pgettext_lazy("action event", "Created")
    STATUS_CHANGED = "status_changed", _("Status changed")
    MEASURED = "measured", _("Effect measured")
    OVERDUE = "overdue", _("Overdue")
    ESCALATED = "escalated", _("Escalated")
    CASES_ANSWERED = "cases_answered", _("Linked cases answered")
    REOPENED = "reopened", pgettext_lazy("action event", "Reopened")
    NOTICES_SENT = "notices_sent", _("Customers told of the fix")


class ActionEvent(models.Model):
    """The action's history: every state change, measurement and reminder, with who did it."""

    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=ActionEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action_id} {self.kind}"

    @property
    def to_status_label(self) -> str:
        return str(ActionStatus(self.to_status).label) if self.to_status in ActionStatus.values else ""


class EffectMeasurement(models.Model):
    """One computation of an action's effect: at 14/30/60/90 days after "implemented on", or on demand
    (``horizon_days`` 0). ``report`` holds the numbers and the series the chart draws."""

    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="measurements")
    horizon_days = models.PositiveIntegerField(_("days after"))
    metric = models.CharField(_("metric"), max_length=30)
    verdict = models.CharField(_("verdict"), max_length=16, choices=EffectVerdict.choices)
    report = models.JSONField(default=dict)
    computed_at = models.DateTimeField(_("computed"))

    class Meta:
        ordering = ["-computed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "horizon_days", "metric"],
                condition=models.Q(horizon_days__gt=0),
                name="effect_once_per_horizon",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action_id} +{self.horizon_days}d {self.verdict}"


class NoticeStatus(models.TextChoices):
    SENT = "sent", pgettext_lazy("fix notice", "Sent")
    FAILED = "failed", pgettext_lazy("fix notice", "Failed")


NOTICE_CHANNEL_LABELS = {"email": _("email"), "sms": _("SMS"), "im": _("chat app")}


class FixNotice(models.Model):
    """One "you told us, we fixed it" message to one customer: the log of who was told, where, in which language
    and from which of their feedback items. At most one per action and customer."""

    action = models.ForeignKey(ImprovementAction, on_delete=models.CASCADE, related_name="notices")
    customer = models.ForeignKey("feedback.Customer", on_delete=models.CASCADE, related_name="fix_notices")
    feedback = models.ForeignKey(
        "feedback.Feedback", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=20)
    address = models.CharField(_("address"), max_length=254)
    language = models.CharField(_("language"), max_length=10)
    status = models.CharField(_("status"), max_length=10, choices=NoticeStatus.choices)
    error = models.CharField(_("error"), max_length=500, blank=True)
    # The optional "is it fixed for you?" survey link in the notice; its answer is a survey response like any
    # other (its comment becomes feedback, its score counts toward the affected customers' NPS/CSAT).
    invitation = models.ForeignKey(
        "surveys.Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("fix notice")
        verbose_name_plural = _("fix notices")
        constraints = [models.UniqueConstraint(fields=["action", "customer"], name="fix_notice_once_per_customer")]
        indexes = [models.Index(fields=["customer", "created_at"], name="fix_notice_customer_recent")]

    def __str__(self) -> str:
        return f"{self.action_id} → {self.customer_id} ({self.status})"

    @property
    def channel_label(self) -> str:
        """The channel it went by, in the reader's language (notify's delivery channels)."""
        return str(NOTICE_CHANNEL_LABELS.get(self.channel, self.channel))
