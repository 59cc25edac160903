"""Outgoing messages: what VoxLoop means to tell a customer or a colleague, stored before anything is sent.

A row is written in the same transaction as the case event that caused it (never any network I/O there);
a Celery task sends it after commit and retries temporary failures with backoff. The row is the record of what
was said, to whom, and what became of it.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.core.models import TimeStampedModel


class MessageKind(models.TextChoices):
    CUSTOMER_ACKNOWLEDGED = "customer_ack", _("Acknowledgement to the customer")
    CUSTOMER_REPLY = "customer_reply", _("Reply to the customer")
    CUSTOMER_RESOLVED = "customer_resolved", _("Resolution notice to the customer")
    STAFF_SLA_WARNING = "staff_sla_warning", _("SLA warning")
    STAFF_SLA_BREACH = "staff_sla_breach", _("SLA breach")
    STAFF_ESCALATION = "staff_escalation", _("Escalation")
    STAFF_COMPENSATION = "staff_compensation", _("Compensation waiting for approval")
    STAFF_FOLLOW_UP = "staff_follow_up", _("Follow-up due")
    STAFF_CUSTOMER_MESSAGE = "staff_customer_message", _("The customer added information")
    STAFF_RULE = "staff_rule", _("Automation rule notification")
    STAFF_ALERT = "staff_alert", _("Early-warning alert")
    SURVEY_INVITATION = "survey_invitation", _("Survey invitation")
    SURVEY_REMINDER = "survey_reminder", _("Survey reminder")
    FIX_NOTICE = "fix_notice", _("“We fixed it” notice")
    STAFF_REPORT = "staff_report", _("Service-quality report")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    NOT_SENT = "not_sent", _("Not sent")


class DeliveryChannel(models.TextChoices):
    """How a message reaches its reader: e-mail (SMTP), or a text/chat-app message through the company's own
    HTTP gateway (``DeliveryGateway``; notify/gateway.py)."""

    EMAIL = "email", _("email")
    SMS = "sms", _("SMS")
    IM = "im", _("chat app")


class NotSentReason(models.TextChoices):
    NO_ADDRESS = "no_address", _("no email address")  # nor a phone or chat id for an enabled gateway
    OPTED_OUT = "opted_out", _("the customer opted out and did not write to us")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("the customer withdrew consent to notices")
    CASE_WITHDRAWN = "case_withdrawn", _("the case was withdrawn: its feedback is not negative after review")


class OutgoingMessage(TimeStampedModel):
    kind = models.CharField(_("kind"), max_length=30, choices=MessageKind.choices)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="outgoing_messages"
    )
    event = models.ForeignKey("cases.CaseEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # "customer", or "user:<id>": with event, makes handling an event twice write nothing twice.
    recipient = models.CharField(_("recipient"), max_length=40)
    to_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    to_email = models.CharField(_("to"), max_length=254, blank=True)
    # The channel it goes by and the address there (an e-mail address, a phone number, a chat-app id); an e-mail
    # message has the same address in to_email, which the mail code and older rows read.
    channel = models.CharField(
        _("channel"), max_length=10, choices=DeliveryChannel.choices, default=DeliveryChannel.EMAIL
    )
    address = models.CharField(_("address"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=300)
    body = models.TextField(_("text"))
    # Sent as an alternative part (survey invitations: notify/surveys.py; the retrying sender sends text only).
    html_body = models.TextField(_("HTML text"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient"], condition=models.Q(event__isnull=False), name="outgoing_once_per_event"
            ),
        ]
        indexes = [
            # The sender's only query: pending rows whose time has come.
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="outgoing_pending_due"),
            models.Index(fields=["case", "created_at"], name="outgoing_case_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.address or self.to_email or self.recipient} ({self.status})"


def new_gateway_secret() -> str:
    return "gwsec_" + secrets.token_urlsafe(32)


class DeliveryGateway(TimeStampedModel):
    """Where SMS or chat-app messages are handed over: an HTTP endpoint on the company's own servers that talks to
    the SMS provider or chat platform. One per channel, edited in the Django admin (docs/operations.md)."""

    channel = models.CharField(
        _("channel"), max_length=10, unique=True,
        choices=[(DeliveryChannel.SMS, DeliveryChannel.SMS.label), (DeliveryChannel.IM, DeliveryChannel.IM.label)],
    )  # fmt: skip
    url = models.URLField(_("gateway URL"), max_length=2000)
    secret = models.CharField(
        _("signing secret"), max_length=100, default=new_gateway_secret,
        help_text=_("Signs every request (X-VoxLoop-Signature, as for webhooks); the gateway checks it."),
    )  # fmt: skip
    token_header = models.CharField(
        _("token header"), max_length=100, blank=True,
        help_text=_("Optional: a header the gateway expects, e.g. Authorization."),
    )  # fmt: skip
    token = models.CharField(_("token"), max_length=500, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(
        _("timeout (seconds)"), default=10, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["channel"]
        verbose_name = _("SMS / chat-app gateway")
        verbose_name_plural = _("SMS / chat-app gateways")

    def __str__(self) -> str:
        return f"{self.get_channel_display()}: {self.url}"


class MessageAttachment(models.Model):
    """A file sent with a message (the service-quality report's PDF). Kept in the database with its message, so
    a retry days later sends exactly what was queued, and a message and its files are stored in one transaction."""

    message = models.ForeignKey(OutgoingMessage, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(_("content type"), max_length=100)
    content = models.BinaryField(_("content"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to you")
    CUSTOMER_REPLIED = "customer_replied", _("The customer replied")
    SLA_WARNING = "sla_warning", _("SLA warning")
    SLA_BREACH = "sla_breach", _("SLA breach")
    ESCALATION = "escalation", _("Escalation")
    APPROVAL_NEEDED = "approval_needed", _("Approval needed")
    MENTION = "mention", _("Mentioned in a note")
    FOLLOW_UP = "follow_up", _("Follow-up due")
    RULE = "rule", _("Automation rule")
    ACTION_OVERDUE = "action_overdue", _("Improvement action overdue")
    ACTION_ESCALATED = "action_escalated", _("Overdue improvement action escalated")
    ACTION_REOPENED = "action_reopened", _("Improvement action reopened")


class Notification(models.Model):
    """One thing a colleague should know, on their own list (the bell). The text is a template key plus values,
    rendered when read, so it appears in the reader's language of the moment."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # With user and kind, makes handling an event twice notify nobody twice.
    event = models.ForeignKey("cases.CaseEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    values = models.JSONField(_("values"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "kind"], condition=models.Q(event__isnull=False), name="notification_once"
            ),
        ]
        indexes = [
            # The bell's only query: a user's unread count.
            models.Index(fields=["user"], condition=models.Q(read_at__isnull=True), name="notification_unread"),
            models.Index(fields=["user", "created_at"], name="notification_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} -> {self.user_id}"


class NotificationPreference(models.Model):
    """A colleague's choice of transports: the in-app list always; email as well unless they turn it off."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(_("also send me email"), default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: email={self.email}"
