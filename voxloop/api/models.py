"""API tokens: stored as a SHA-256 hash; the plain token is shown once, when it is created."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.core.models import TimeStampedModel
from voxloop.metrics.labels import METRICS_READ_SCOPE_LABEL


class Scope(models.TextChoices):
    FEEDBACK_WRITE = "feedback:write", _("Create feedback")
    FEEDBACK_READ = "feedback:read", _("Read feedback")
    CUSTOMERS_WRITE = "customers:write", _("Create and update customers")
    ORDERS_WRITE = "orders:write", _("Create and update orders")
    CASES_READ = "cases:read", _("Read cases and their timelines")
    CASES_WRITE = "cases:write", _("Create, update and comment on cases")
    METRICS_READ = "metrics:read", METRICS_READ_SCOPE_LABEL
    ACTIONS_READ = "actions:read", _("Read improvement actions and their measured effects")
    ACTIONS_WRITE = "actions:write", _("Create improvement actions and change their status")
    REPORTS_READ = "reports:read", _("Read service-quality reports and download their files")
    REPORTS_WRITE = "reports:write", _("Generate service-quality reports")


class ApiToken(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100)
    # The first characters of the token, kept in clear so people can tell their tokens apart.
    prefix = models.CharField(_("prefix"), max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_tokens"
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotentRequest(models.Model):
    """A write request sent with an `Idempotency-Key` header and the answer it got, replayed for 24 hours when the
    same token sends the same key with the same request again (as Stripe and Zendesk do)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="idempotent_requests")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null while the first one runs
    response_body = models.BinaryField(blank=True, default=b"")
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="idempotent_request_token_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'running'})"
