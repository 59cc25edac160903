"""Admin-editable automation and routing rules, and the record of which rule fired on which feedback."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Team
from voxloop.automation.rules import RuleValidationError, compile_conditions, validate_rule
from voxloop.core.models import TimeStampedModel


def team_exists(team: int | str) -> bool:
    if isinstance(team, int):
        return Team.objects.filter(pk=team).exists()
    return Team.objects.filter(models.Q(name=team) | models.Q(name_en=team)).exists()


class AutomationRule(TimeStampedModel):
    """When an analysed feedback item meets ``conditions``, run ``actions`` (see voxloop/automation/rules.py).
    Rules run in ``order``; ``stop_processing`` skips the rules after this one when it matches."""

    name = models.CharField(_("name"), max_length=200)
    enabled = models.BooleanField(_("enabled"), default=True)
    order = models.IntegerField(_("order"), default=100, help_text=_("Rules run from the lowest number up."))
    stop_processing = models.BooleanField(
        _("stop processing"), default=False, help_text=_("When this rule matches, later rules are not evaluated.")
    )
    conditions = models.JSONField(
        _("conditions"),
        default=list,
        blank=True,
        help_text=_(
            'A list of conditions that must all hold, e.g. [{"field": "sentiment", "op": "eq", "value": "negative"}]; '
            'use {"any": [...]} for alternatives. Empty: every item matches.'
        ),
    )
    actions = models.JSONField(
        _("actions"),
        default=list,
        help_text=_('e.g. [{"type": "open_case", "severity": "urgent"}, {"type": "add_tags", "tags": ["vip"]}]'),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("created by")
    )

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("automation rule")
        verbose_name_plural = _("automation rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            validate_rule(self.conditions, self.actions, team_exists=team_exists)
        except RuleValidationError as exc:
            raise ValidationError({"conditions": exc.messages}) from None

    def validation_warnings(self) -> list[str]:
        try:
            return validate_rule(self.conditions, self.actions)
        except RuleValidationError:
            return []


class RoutingRule(TimeStampedModel):
    """The first enabled routing rule (by ``order``) whose conditions hold picks the case's team."""

    name = models.CharField(_("name"), max_length=200)
    enabled = models.BooleanField(_("enabled"), default=True)
    order = models.IntegerField(_("order"), default=100, help_text=_("Rules are tried from the lowest number up."))
    conditions = models.JSONField(_("conditions"), default=list, blank=True)
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="routing_rules", verbose_name=_("team")
    )

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            compile_conditions(self.conditions)
        except RuleValidationError as exc:
            raise ValidationError({"conditions": exc.messages}) from None


class RuleFiring(models.Model):
    """One rule fired on one feedback item, once and for all: re-running rules never repeats its actions."""

    rule = models.ForeignKey(AutomationRule, on_delete=models.CASCADE, related_name="firings", verbose_name=_("rule"))
    feedback = models.ForeignKey(
        "feedback.Feedback", on_delete=models.CASCADE, related_name="rule_firings", verbose_name=_("feedback")
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rule_firings",
        verbose_name=_("case"),
    )
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    fired_at = models.DateTimeField(_("fired at"), db_index=True)

    class Meta:
        ordering = ["-fired_at", "-id"]
        verbose_name = _("rule firing")
        verbose_name_plural = _("rule firings")
        constraints = [models.UniqueConstraint(fields=["rule", "feedback"], name="rule_firing_once")]

    def __str__(self) -> str:
        return f"{self.rule_id} -> {self.feedback_id}"


class FeedbackTag(models.Model):
    """A tag put on a feedback item by a rule (cases show the tags of their feedback)."""

    feedback = models.ForeignKey("feedback.Feedback", on_delete=models.CASCADE, related_name="rule_tags")
    tag = models.CharField(_("tag"), max_length=50)
    rule = models.ForeignKey(AutomationRule, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["tag"]
        verbose_name = _("feedback tag")
        verbose_name_plural = _("feedback tags")
        constraints = [models.UniqueConstraint(fields=["feedback", "tag"], name="feedback_tag_unique")]
        indexes = [models.Index(fields=["tag", "feedback"], name="feedback_tag_by_tag")]

    def __str__(self) -> str:
        return self.tag


class RulesDue(models.Model):
    """An analysed item whose rules have not been applied yet. Written in the analysis transaction (the
    ``analysis_replaced`` hook), deleted in the transaction that applies its rules; so a rules run that dies
    (a deadlock, a lost worker) after the analysis committed leaves the row, and the beat task
    ``apply_pending_rules_task`` applies the item's rules later (``services.apply_pending_rules``)."""

    # No database constraint: feedback is range-partitioned on PostgreSQL (feedback migration 0007), so its id
    # alone cannot be referenced. Deleting feedback through the ORM still deletes the row (CASCADE).
    feedback = models.OneToOneField(
        "feedback.Feedback", primary_key=True, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    analysed_at = models.DateTimeField(_("analysed at"))

    class Meta:
        verbose_name = _("item due for the rules")
        verbose_name_plural = _("items due for the rules")

    def __str__(self) -> str:
        return str(self.feedback_id)
