"""Data-subject requests (PIPL arts. 44-50, GDPR arts. 15-20), the consent ledger, retention policies and the
tombstones that keep an erased person from coming back."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from voxloop.accounts.models import AuditAction
from voxloop.core.models import TimeStampedModel


class RequestKind(models.TextChoices):
    ACCESS = "access", _("Access / copy")
    PORTABILITY = "portability", _("Portability")
    CORRECTION = "correction", pgettext_lazy("privacy request", "Correction")
    DELETION = "deletion", _("Deletion")
    RESTRICTION = "restriction", _("Restriction of processing")
    CONSENT_WITHDRAWAL = "consent_withdrawal", _("Consent withdrawal")


class RequestState(models.TextChoices):
    RECEIVED = "received", _("Received: identity not checked yet")
    VERIFIED = "verified", _("Identity checked: in progress")
    AWAITING_APPROVAL = "awaiting_approval", _("Erasure waiting for a second administrator")
    COMPLETED = "completed", _("Completed")
    REFUSED = "refused", _("Refused")


OPEN_STATES = (RequestState.RECEIVED, RequestState.VERIFIED, RequestState.AWAITING_APPROVAL)


class DataSubjectRequest(TimeStampedModel):
    """One person's request about their data, from receipt to its outcome. The identifiers are what the person
    gave us to be found by; after an erasure only masked hints of them are kept."""

    kind = models.CharField(_("kind"), max_length=20, choices=RequestKind.choices)
    state = models.CharField(
        _("state"), max_length=20, choices=RequestState.choices, default=RequestState.RECEIVED, db_index=True
    )
    # {"customer_id", "phone", "email", "handle", "order"}: as given, cleaned like imported values.
    identifiers = models.JSONField(_("identifiers"), default=dict, blank=True)
    subject_name = models.CharField(_("name given"), max_length=200, blank=True)
    received_via = models.CharField(_("received via"), max_length=100, blank=True)
    details = models.TextField(_("what the person asks"), blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), db_index=True)
    identity_method = models.CharField(_("how the identity was checked"), max_length=300, blank=True)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    identity_checked_at = models.DateTimeField(null=True, blank=True)
    # Erasure: asked by one administrator, approved (and carried out) by another.
    keep_feedback = models.BooleanField(_("keep de-identified feedback for statistics"), default=True)
    erasure_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    erasure_requested_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)
    outcome = models.TextField(_("outcome"), blank=True)
    counts = models.JSONField(_("records found or changed, by place"), default=dict, blank=True)
    completed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at < timezone.now()


class RequestEvent(models.Model):
    """The request's timeline: every step, who took it and why. Append-only (the audit log has the same steps)."""

    request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=30)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    @property
    def action_display(self) -> str:
        return str(dict(AuditAction.choices).get(self.action, self.action))


class ConsentPurpose(models.TextChoices):
    # Values are voxloop.feedback.hooks.ContactPurpose's, which the senders ask about.
    SURVEYS = "surveys", _("Surveys")
    FOLLOW_UPS = "follow_ups", _("Follow-ups after a case")
    NOTICES = "notices", _("Notices about their cases")


class ConsentBasis(models.TextChoices):
    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Needed for a contract")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")


class ConsentRecord(models.Model):
    """One entry of the consent ledger: a customer gave or withdrew consent for a purpose. Entries are never
    changed; the latest one per (customer, purpose) is what holds."""

    customer = models.ForeignKey("feedback.Customer", on_delete=models.CASCADE, related_name="consent_records")
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    withdrawn = models.BooleanField(_("withdrawn"), default=False)
    basis = models.CharField(_("basis"), max_length=30, choices=ConsentBasis.choices, default=ConsentBasis.CONSENT)
    source = models.CharField(_("source"), max_length=200)
    recorded_at = models.DateTimeField(_("time"), default=timezone.now)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent ledger")
        indexes = [models.Index(fields=["customer", "purpose", "-recorded_at"], name="consent_customer_purpose")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.purpose} {'withdrawn' if self.withdrawn else 'given'}"


class DataClass(models.TextChoices):
    RAW_PAYLOADS = "raw_payloads", _("Raw payloads of feedback")
    QUARANTINED_ROWS = "quarantined_rows", _("Quarantined import rows")
    CLOSED_CASES = "closed_cases", _("Closed cases")
    OUTGOING_MESSAGES = "outgoing_messages", _("Outgoing messages")
    AUDIT_LOG = "audit_log", _("Audit log")


class RetentionPolicy(TimeStampedModel):
    """How long one class of data is kept. A legal hold stops all removal of that class until it is lifted."""

    data_class = models.CharField(_("data"), max_length=30, choices=DataClass.choices, unique=True)
    age_days = models.PositiveIntegerField(_("keep for (days)"))
    legal_hold = models.BooleanField(_("legal hold"), default=False)
    is_active = models.BooleanField(_("applied nightly"), default=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["data_class"]
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")

    def __str__(self) -> str:
        return f"{self.get_data_class_display()}: {self.age_days}"


class RetentionRun(models.Model):
    """What one application of the policies removed (or, for a dry run, would remove), per data class."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    dry_run = models.BooleanField(default=False)
    results = models.JSONField(default=dict)  # {data_class: {"count": n, "held": bool, "cutoff": iso}}
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M}{' (dry run)' if self.dry_run else ''}"


class TombstoneKey(models.Model):
    """The secret salt of the tombstone hashes, made once per installation and kept in the database so that it
    survives a change of SECRET_KEY (a lost salt would let erased people back in)."""

    key = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"tombstone key #{self.pk}"  # never the key itself


class ErasureTombstone(models.Model):
    """A salted hash of one identifier of an erased person (customer id, phone, email, handle, order number):
    enough to recognise them if their data arrives again, useless for finding out who they were."""

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=20)
    request = models.ForeignKey(
        DataSubjectRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="tombstones"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("erasure tombstone")
        verbose_name_plural = _("erasure tombstones")

    def __str__(self) -> str:
        return f"{self.kind} {self.digest[:12]}"
