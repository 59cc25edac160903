"""Cases (工单): SLA policies on business calendars, the case with its precomputed clocks, and its timeline."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Severity is part of the rule language (a rule opens a case "with severity X"), which sits below cases.
from voxloop.automation.rules import Severity as Severity  # re-exported: cases code and tests import it here
from voxloop.cases.calendar import BusinessCalendar as PureCalendar
from voxloop.cases.calendar import CalendarError, HolidayRow
from voxloop.core.models import TimeStampedModel


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("Open")
    PENDING_CUSTOMER = "pending_customer", _("Waiting on customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")


# Statuses in which somebody still owes the customer something.
ACTIVE_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.PENDING_CUSTOMER, CaseStatus.REOPENED)


class EventKind(models.TextChoices):
    CREATED = "created", pgettext_lazy("case event", "Created")
    PUBLIC_REPLY = "public_reply", _("Public reply")
    INTERNAL_NOTE = "internal_note", _("Internal note")
    STATUS_CHANGED = "status_changed", _("Status changed")
    ASSIGNED = "assigned", _("Assigned")
    SEVERITY_CHANGED = "severity_changed", _("Severity changed")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breach")
    ESCALATED = "escalated", _("Escalated")
    MERGED = "merged", _("Merged")
    RESOLVED = "resolved", _("Resolved")
    REOPENED = "reopened", _("Reopened")
    FEEDBACK_LINKED = "feedback_linked", _("Feedback linked")
    ACKNOWLEDGED = "acknowledged", _("Customer acknowledged")
    NOTIFICATION = "notification", _("Notification")
    CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")
    COMPENSATION = "compensation", _("Compensation")
    FOLLOW_UP = "follow_up", _("Follow-up")
    REPEAT = "repeat", _("Repeat complaint")
    CLOSED = "closed", _("Closed")
    # The refine lane corrected the label a rule opened the case on: closed unworked (cases/withdrawal.py).
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # The same correction on a case somebody already works on: a note for the agent, nothing else changes.
    LABEL_CORRECTED = "label_corrected", _("Label corrected")


class Clock(models.TextChoices):
    FIRST_RESPONSE = "first_response", _("First response")
    RESOLUTION = "resolution", _("Resolution")


def default_working_hours() -> dict[str, Any]:
    day = [["09:00", "12:00"], ["13:00", "18:00"]]
    return {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}


class BusinessCalendar(TimeStampedModel):
    """Working hours, time zone and holidays that SLA clocks count in."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], ..., "makeup": [...] for 调休 days (optional)}
    working_hours = models.JSONField(_("working hours"), default=default_working_hours)
    is_default = models.BooleanField(_("default calendar"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_calendar"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            PureCalendar.from_spec(self.time_zone, self.working_hours or {})
        except CalendarError as exc:
            raise ValidationError({"working_hours": exc.message}) from None

    def to_calendar(self) -> PureCalendar:
        rows = [HolidayRow(h.date, h.kind, h.name) for h in self.holidays.all()]
        return PureCalendar.from_spec(self.time_zone, self.working_hours or {}, rows)


class Holiday(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday")
        WORKDAY = "workday", _("Make-up working day")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOLIDAY)
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        verbose_name = _("holiday or make-up day")
        verbose_name_plural = _("holidays and make-up days")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_calendar_date_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class SLAPolicy(TimeStampedModel):
    """Targets in business minutes for one severity, optionally only for a team and/or a customer segment.
    The most specific active policy wins: team+segment, then team, then segment, then neither."""

    name = models.CharField(_("name"), max_length=100)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, verbose_name=_("team"))
    customer_segment = models.CharField(_("customer segment"), max_length=40, blank=True)
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, verbose_name=_("calendar"))
    first_response_minutes = models.PositiveIntegerField(_("first response target (business minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution target (business minutes)"))
    warn_share = models.FloatField(_("warn at share of target"), default=0.8)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["severity", "name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warn_share__gt=0, warn_share__lt=1), name="sla_policy_warn_share_between_0_and_1"
            ),
            models.CheckConstraint(
                condition=models.Q(first_response_minutes__gt=0, resolution_minutes__gt=0),
                name="sla_policy_targets_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def first_response_target(self) -> timedelta:
        return timedelta(minutes=self.first_response_minutes)

    @property
    def resolution_target(self) -> timedelta:
        return timedelta(minutes=self.resolution_minutes)


class EscalationLevel(TimeStampedModel):
    """One step of the escalation chain (team lead -> manager -> named executive by default): level N is
    reached ``after_breach_minutes`` business minutes after a case's first breach, or earlier on demand."""

    class Target(models.TextChoices):
        TEAM_LEAD = "team_lead", _("Team lead")
        DEPARTMENT_MANAGER = "department_manager", _("Department manager")
        NAMED_USER = "named_user", _("Named person")

    level = models.PositiveSmallIntegerField(_("level"), unique=True)
    target = models.CharField(_("escalate to"), max_length=20, choices=Target.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("named person")
    )
    after_breach_minutes = models.PositiveIntegerField(_("business minutes after the breach"), default=0)

    class Meta:
        ordering = ["level"]
        verbose_name = _("escalation level")
        verbose_name_plural = _("escalation levels")
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1), name="escalation_level_from_one"),
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.get_target_display()}"

    def clean(self) -> None:
        if self.target == self.Target.NAMED_USER and not self.user_id:
            raise ValidationError({"user": _("Name the person this level escalates to.")})


def new_tracking_token() -> str:
    return secrets.token_urlsafe(24)


class Case(TimeStampedModel):
    """A work order (工单). Due times are precomputed so the sweep and the inbox read indexed columns;
    ``sla_next_check_at`` is the earliest instant at which the sweep has something to do (NULL: nothing)."""

    number = models.CharField(_("number"), max_length=20, blank=True, db_index=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    feedback_items = models.ManyToManyField(
        "feedback.Feedback", through="CaseFeedback", related_name="cases", verbose_name=_("feedback")
    )
    customer = models.ForeignKey(
        "feedback.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    status = models.CharField(_("status"), max_length=20, choices=CaseStatus.choices, default=CaseStatus.NEW)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_cases"
    )
    sla_policy = models.ForeignKey(SLAPolicy, null=True, blank=True, on_delete=models.PROTECT)
    # Clocks
    first_response_due_at = models.DateTimeField(_("first response due"), null=True, blank=True)
    first_response_warn_at = models.DateTimeField(null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    resolution_warn_at = models.DateTimeField(null=True, blank=True)
    first_response_warned = models.BooleanField(default=False)
    first_response_breached = models.BooleanField(_("first response breached"), default=False)
    resolution_warned = models.BooleanField(default=False)
    resolution_breached = models.BooleanField(_("resolution breached"), default=False)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    next_escalation_at = models.DateTimeField(null=True, blank=True)
    sla_next_check_at = models.DateTimeField(null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first responded"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Set with closed_at when the case was withdrawn (opened on a label the refine lane corrected, never worked):
    # the metrics leave it out like a merged duplicate; a reopening clears it (cases/withdrawal.py).
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    paused_since = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_business_seconds = models.BigIntegerField(_("paused business time (s)"), default=0)
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)
    # When a resolved case closes by itself if nothing happens (the follow-up window); NULL: not scheduled.
    auto_close_at = models.DateTimeField(_("closes automatically at"), null=True, blank=True)
    # Outcome
    root_cause = models.CharField(_("root cause"), max_length=100, blank=True)  # a taxonomy topic code
    resolution = models.TextField(_("resolution"), blank=True)
    tracking_token = models.CharField(max_length=64, unique=True, default=new_tracking_token, editable=False)
    # NULL: the tracking link works; set when the case closes (the link then lives a configurable while longer).
    tracking_expires_at = models.DateTimeField(_("tracking link expires"), null=True, blank=True)
    # The language the customer is answered in (zh-hans, en); blank: the customer's, else the site default.
    language = models.CharField(_("language"), max_length=10, blank=True)
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats", verbose_name=_("repeat of")
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_cases"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # The sweep's only query: rows with something due. Partial, so idle rows cost nothing.
            models.Index(
                fields=["sla_next_check_at"],
                condition=models.Q(sla_next_check_at__isnull=False),
                name="case_sla_next_check",
            ),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            models.Index(fields=["team", "status"], name="case_team_status"),
            models.Index(fields=["customer", "-created_at"], name="case_customer_recent"),
            # The inbox's "escalated" list and its count read only the few escalated cases.
            models.Index(
                fields=["escalation_level"], condition=models.Q(escalation_level__gt=0), name="case_escalated"
            ),
            models.Index(
                fields=["auto_close_at"], condition=models.Q(auto_close_at__isnull=False), name="case_auto_close"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_paused(self) -> bool:
        return self.paused_since is not None


class CaseFeedback(models.Model):
    """Links feedback items to the case that answers them (a case can gather several)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="feedback_links")
    feedback = models.ForeignKey("feedback.Feedback", on_delete=models.CASCADE, related_name="case_links")
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["linked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "feedback"], name="case_feedback_unique")]

    def __str__(self) -> str:
        return f"{self.case_id} <- {self.feedback_id}"


class CaseEvent(models.Model):
    """Append-only timeline. ``processed`` is the notification outbox flag (healthchecks' Flip pattern).

    On PostgreSQL the table is partitioned by month of ``created_at`` (voxloop.core.partitions): its primary key
    is ``(id, created_at)``, so a new foreign key to it needs ``db_constraint=False``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=EventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    processed = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [
            models.Index(fields=["case", "created_at"], name="caseevent_case_time"),
            models.Index(fields=["id"], condition=models.Q(processed=False), name="caseevent_unprocessed"),
            # The inbox's "customer replied" list: the last days' customer messages, a small slice of the timeline.
            models.Index(
                fields=["created_at"], condition=models.Q(kind="customer_message"), name="caseevent_customer_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The timeline is evidence: rows are written once; only the outbox flag changes, via update().
        if not self._state.adding:
            raise ValueError("case events are append-only")
        super().save(*args, **kwargs)


class CompensationKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    VOUCHER = "voucher", _("Voucher or coupon")
    GIFT = "gift", _("Gift")
    SERVICE = "service", _("Free service")
    OTHER = "other", _("Other")


class CompensationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class CompensationLimit(TimeStampedModel):
    """How much compensation a role may approve on its own; above it, the request waits for a higher role.
    ``max_amount`` NULL means no limit."""

    role = models.CharField(_("role"), max_length=20, unique=True)
    max_amount = models.DecimalField(_("approval limit"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    class Meta:
        ordering = ["max_amount"]
        verbose_name = _("compensation limit")
        verbose_name_plural = _("compensation limits")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_amount__isnull=True) | models.Q(max_amount__gte=0),
                name="compensation_limit_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.max_amount if self.max_amount is not None else '∞'} {self.currency}"


class Compensation(TimeStampedModel):
    """A goodwill payment or gesture offered on a case, approved within the proposer's authority or by a
    higher role."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="compensations")
    kind = models.CharField(_("kind"), max_length=20, choices=CompensationKind.choices, default=CompensationKind.REFUND)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=20, choices=CompensationStatus.choices, default=CompensationStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("requested by")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        indexes = [
            models.Index(fields=["status"], condition=models.Q(status="pending"), name="compensation_pending"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="compensation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.amount} {self.currency} {self.status}"


class CannedReply(TimeStampedModel):
    """A macro: reply text with variables such as {customer_name} and {tracking_url}, per language."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        verbose_name=_("team"),
        help_text=_("Empty: available to every team."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self) -> str:
        return self.title


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DUE = "due", _("Due")
    SENT = "sent", _("Sent")
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped")
    CANCELLED = "cancelled", _("Cancelled")


class FollowUp(TimeStampedModel):
    """The check with the customer after resolution: a survey invitation or, without surveys, a task for the
    agent. Skipped (with the reason) when the customer opted out or was contacted recently."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="follow_ups")
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=20, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED
    )
    method = models.CharField(_("method"), max_length=20, blank=True)  # "task", "survey", ...
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    skip_reason = models.CharField(_("reason skipped"), max_length=200, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, blank=True)  # satisfied / dissatisfied / no answer
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["due_at"], condition=models.Q(status="scheduled"), name="followup_scheduled_due"),
            models.Index(fields=["assignee", "status"], name="followup_assignee_status"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.status} {self.due_at:%Y-%m-%d}"


class SavedView(models.Model):
    """A user's own named filter of a list (the case inbox today), kept as the list's query string so that the
    list reads it exactly like a link."""

    class ListName(models.TextChoices):
        CASES = "cases", _("Cases")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    list_name = models.CharField(_("list"), max_length=20, choices=ListName.choices, default=ListName.CASES)
    name = models.CharField(_("name"), max_length=60)
    query = models.CharField(_("filter"), max_length=500)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(fields=["user", "list_name", "name"], name="saved_view_user_list_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
