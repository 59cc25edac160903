"""The rule editor for administrators: automation rules (conditions -> actions) and routing rules
(conditions -> team), with a preview of what a rule would match on recent feedback."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, require
from voxloop.automation import queries
from voxloop.automation.forms import (
    AutomationRuleForm,
    ConditionFormSet,
    RoutingRuleForm,
    condition_rows,
    describe_actions,
    describe_conditions,
    field_meta,
    readable_place,
)
from voxloop.automation.models import AutomationRule, RoutingRule, team_exists
from voxloop.automation.rules import RuleValidationError, compile_conditions, validate_rule


def _require_admin(request: HttpRequest) -> None:
    require(request.user, Capability.ADMINISTER)


@login_required
def rule_list(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    counts = queries.firing_counts()
    rules = list(AutomationRule.objects.all())
    # Attributes the list template reads, set on each row's instance for the page only (not fields).
    for rule in rules:
        rule.recent_firings = counts.get(rule.pk, 0)  # type: ignore[attr-defined]
        rule.conditions_text = describe_conditions(rule.conditions)  # type: ignore[attr-defined]
        rule.actions_text = describe_actions(rule.actions)  # type: ignore[attr-defined]
    routing_rules = list(RoutingRule.objects.select_related("team"))
    for routing_rule in routing_rules:
        routing_rule.conditions_text = describe_conditions(routing_rule.conditions)  # type: ignore[attr-defined]
    context = {
        "rules": rules,
        "routing_rules": routing_rules,
        "days": queries.PREVIEW_DAYS,
        "active_nav": "rules",
    }
    return render(request, "automation/rule_list.html", context)


def _edit(request: HttpRequest, model: Any, form_class: Any, pk: int | None, template_kind: str) -> HttpResponse:
    _require_admin(request)
    rule = get_object_or_404(model, pk=pk) if pk else None
    preview = None
    if request.method == "POST":
        form = form_class(request.POST)
        formset = ConditionFormSet(request.POST, prefix="cond")
        if form.is_valid() and formset.is_valid():
            actions = None
            try:
                conditions = form.build_conditions(formset)
                if form_class is AutomationRuleForm:
                    actions = form.build_actions()
                    if not actions:
                        raise RuleValidationError([_("Choose at least one thing to do: open a case, set a team, "
                                                     "add tags, notify the team or acknowledge the customer.")])  # fmt: skip
                    warnings = validate_rule(conditions, actions, team_exists=team_exists)
                else:
                    compile_conditions(conditions)
                    warnings = []
            except RuleValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, readable_place(message))
            except forms.ValidationError as exc:  # JSON conditions that do not parse
                form.add_error("advanced", exc)
            else:
                if "preview" in request.POST:
                    preview = queries.preview_conditions(conditions)
                else:
                    rule = _save(model, rule, form.cleaned_data, conditions, actions, request)
                    for warning in warnings:
                        messages.warning(request, warning)
                    messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
                    return redirect("automation:list")
    else:
        initial = form_class.initial_from(rule) if rule else {}
        form = form_class(initial=initial)
        _match, rows, _advanced = condition_rows(rule.conditions) if rule else ("all", [], "")
        formset = ConditionFormSet(initial=rows, prefix="cond")
    context = {
        "form": form,
        "formset": formset,
        "rule": rule,
        "kind": template_kind,
        "preview": preview,
        "field_meta": field_meta(),
        "days": queries.PREVIEW_DAYS,
        "active_nav": "rules",
    }
    return render(request, "automation/rule_edit.html", context)


def _save(model: Any, rule: Any, data: dict[str, Any], conditions: Any, actions: Any, request: HttpRequest) -> Any:
    with transaction.atomic():
        if rule is None:
            # login_required: never the anonymous user
            rule = model(created_by=cast(User, request.user)) if model is AutomationRule else model()
        rule.name = data["name"]
        rule.enabled = data["enabled"]
        rule.order = data["order"]
        rule.conditions = conditions
        if model is AutomationRule:
            rule.stop_processing = data["stop_processing"]
            rule.actions = actions
        else:
            rule.team = data["team"]
        rule.save()
    return rule


@login_required
def automation_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return _edit(request, AutomationRule, AutomationRuleForm, pk, "automation")


@login_required
def routing_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return _edit(request, RoutingRule, RoutingRuleForm, pk, "routing")


def _rule(kind: str, pk: int) -> AutomationRule | RoutingRule:
    if kind == "automation":
        return get_object_or_404(AutomationRule, pk=pk)
    return get_object_or_404(RoutingRule, pk=pk)


@require_POST
@login_required
def toggle(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_admin(request)
    rule = _rule(kind, pk)
    rule.enabled = not rule.enabled
    rule.save(update_fields=["enabled", "updated_at"])
    return redirect("automation:list")


@require_POST
@login_required
def delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    _require_admin(request)
    rule = _rule(kind, pk)
    name = rule.name
    rule.delete()
    messages.success(request, _("Rule “%(name)s” deleted.") % {"name": name})
    return redirect("automation:list")
