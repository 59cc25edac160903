"""People who work in VoxLoop, their roles and their teams."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from voxloop.core.models import TimeStampedModel


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    MANAGER = "manager", _("Manager")
    AGENT = "agent", _("Agent")
    ANALYST = "analyst", _("Analyst")
    VIEWER = "viewer", _("Viewer")


def _in_language(name: str, name_en: str) -> str:
    """The English name in the English interface when one is set; the (Chinese) name otherwise."""
    return name_en if name_en and (get_language() or "").startswith("en") else name


class Department(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    manager = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_departments"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    @property
    def label(self) -> str:
        """The name people read: in the interface's language (name_en in English, when set)."""
        return _in_language(self.name, self.name_en)

    def __str__(self) -> str:
        return self.name


class Team(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100, unique=True)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    department = models.ForeignKey(Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="teams")
    lead = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    @property
    def label(self) -> str:
        """The name people read: in the interface's language (name_en in English, when set)."""
        return _in_language(self.name, self.name_en)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.AGENT)
    teams = models.ManyToManyField(Team, blank=True, related_name="members", verbose_name=_("teams"))
    language = models.CharField(_("language"), max_length=10, blank=True)
    languages_spoken = models.JSONField(_("languages spoken"), default=list, blank=True)
    skills = models.JSONField(_("skills"), default=list, blank=True)
    is_away = models.BooleanField(_("away"), default=False)

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")

    # Shortcuts for templates; the rules live in voxloop.accounts.permissions (imported here, not at the top,
    # because that module imports Role from this one).
    @property
    def may_see_personal_data(self) -> bool:
        # imported here: permissions imports Role from this module
        from voxloop.accounts.permissions import may_see_personal_data

        return may_see_personal_data(self)

    @property
    def may_manage(self) -> bool:
        # imported here: permissions imports Role from this module
        from voxloop.accounts.permissions import may_manage_cases

        return may_manage_cases(self)


class AuditAction(models.TextChoices):
    VIEW_PERSONAL_DATA = "view_personal_data", _("Viewed personal data")
    EXPORT_PERSONAL_DATA = "export_personal_data", _("Exported personal data")
    # The steps of data-subject requests and consent changes (voxloop.privacy).
    PRIVACY_REQUEST_OPENED = "privacy_request_opened", _("Opened a data-subject request")
    PRIVACY_IDENTITY_CHECKED = "privacy_identity_checked", _("Checked a requester's identity")
    PRIVACY_REQUEST_REFUSED = "privacy_request_refused", _("Refused a data-subject request")
    PRIVACY_REQUEST_COMPLETED = "privacy_request_completed", _("Completed a data-subject request")
    PRIVACY_DATA_CORRECTED = "privacy_data_corrected", _("Corrected personal data on request")
    PRIVACY_ERASURE_REQUESTED = "privacy_erasure_requested", _("Asked for an erasure")
    PRIVACY_ERASURE_APPROVED = "privacy_erasure_approved", _("Approved and carried out an erasure")
    PRIVACY_CONSENT_CHANGED = "privacy_consent_changed", _("Recorded a consent or its withdrawal")
    PRIVACY_RETENTION_APPLIED = "privacy_retention_applied", _("Removed data under a retention policy")


class AuditLog(models.Model):
    """Who saw or exported whose personal data, and when (PIPL/GDPR accountability). Rows are never changed.

    On PostgreSQL the table is partitioned by month of ``at`` (voxloop.core.partitions): its primary key is
    ``(id, at)``, so a new foreign key to it needs ``db_constraint=False``."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="audit_entries", verbose_name=_("user")
    )
    username = models.CharField(_("user name"), max_length=150)  # kept when the user is deleted
    action = models.CharField(_("action"), max_length=30, choices=AuditAction.choices)
    object_type = models.CharField(_("object type"), max_length=50)
    object_id = models.CharField(_("object"), max_length=64)
    customer_id = models.BigIntegerField(_("customer"), null=True, blank=True, db_index=True)
    path = models.CharField(_("page"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["user", "-at"], name="auditlog_user_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} {self.action} {self.object_type}:{self.object_id}"


class ConfigAction(models.TextChoices):
    CREATED = "created", pgettext_lazy("configuration change", "Created")
    CHANGED = "changed", _("Changed")
    DELETED = "deleted", _("Deleted")


class ConfigChange(models.Model):
    """Who created, changed or deleted a piece of configuration (a rule, an SLA policy, a calendar, an escalation
    level, a webhook, a user, a team...), when, and the fields before and after. Written by
    voxloop.accounts.config_audit in the transaction of the change; rows are never changed."""

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="config_changes", verbose_name=_("user")
    )
    username = models.CharField(_("user name"), max_length=150, blank=True)  # blank: the system (a task, a command)
    action = models.CharField(_("action"), max_length=10, choices=ConfigAction.choices)
    object_type = models.CharField(_("object type"), max_length=60)  # model label, e.g. "cases.slapolicy"
    object_id = models.CharField(_("object"), max_length=64)
    object_repr = models.CharField(_("name"), max_length=200, blank=True)  # the object's name at the time
    # {field: [before, after]} with JSON values; a secret's values are replaced by a mark.
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    path = models.CharField(_("page"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("configuration change")
        verbose_name_plural = _("configuration changes")
        indexes = [models.Index(fields=["object_type", "object_id", "-at"], name="configchange_object_recent")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username or 'system'} {self.action} {self.object_type}:{self.object_id}"
