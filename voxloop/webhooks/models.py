"""Webhooks: endpoints administrators configure, and one delivery row per (endpoint, case event).

A delivery row is written in the outbox transaction that handles the event (no network I/O there); a Celery
task posts it after commit, retries with backoff and, after the last attempt, leaves it in the dead-letter list
for an administrator to retry.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.core.messages import render
from voxloop.core.models import TimeStampedModel


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEndpoint(TimeStampedModel):
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, default=new_secret)
    # Event kinds (voxloop.cases.models.EventKind values) this endpoint receives; empty: all of them.
    event_kinds = models.JSONField(_("events"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    include_personal_data = models.BooleanField(
        _("include customers' personal data"),
        default=False,
        help_text=_("Off: payloads carry no customer name or contact details, and texts are masked."),
    )
    # Why the endpoint stopped (e.g. the receiver answered 410 Gone); blank when an administrator switched it off.
    disabled_reason = models.CharField(_("why it was disabled"), max_length=300, blank=True)  # English
    disabled_reason_i18n = models.JSONField(default=dict, blank=True)  # the same, to show in the reader's language
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-is_active", "url", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def disabled_reason_display(self) -> str:
        return render(self.disabled_reason_i18n, self.disabled_reason)

    def wants(self, kind: str) -> bool:
        return not self.event_kinds or kind in self.event_kinds


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    DELIVERED = "delivered", _("Delivered")
    DEAD = "dead", _("Failed (dead letter)")


class WebhookDelivery(TimeStampedModel):
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("cases.CaseEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    event_kind = models.CharField(_("event"), max_length=30)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The JSON body exactly as it is sent (and signed): built once, when the event is handled.
    body = models.TextField(_("body"))
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)  # English, or the receiver's own words
    last_error_i18n = models.JSONField(default=dict, blank=True)  # set when we wrote it: shown in the reader's language
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            # Handling an event twice (a retried outbox run) never queues it twice for an endpoint.
            models.UniqueConstraint(
                fields=["endpoint", "event"], condition=models.Q(event__isnull=False), name="webhook_once_per_event"
            ),
        ]
        indexes = [
            # The sender's only query: pending rows whose time has come.
            models.Index(fields=["next_attempt_at"], condition=models.Q(status="pending"), name="webhook_pending_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_endpoint_recent"),
            models.Index(fields=["status", "-updated_at"], name="webhook_status_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_kind} -> {self.endpoint_id} ({self.status})"

    @property
    def last_error_display(self) -> str:
        return render(self.last_error_i18n, self.last_error)
