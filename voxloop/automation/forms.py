"""Forms of the rule editor: flat condition rows (all or any) and the actions as plain fields, turned into
the JSON that ``voxloop.automation.rules`` validates. Nested groups are edited as JSON (advanced)."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Team
from voxloop.automation.rules import (
    ADD_TAGS,
    ALL_OPERATORS,
    AUTO_ACKNOWLEDGE,
    FIELDS,
    NOTIFY,
    OPEN_CASE,
    SET_TEAM,
    Severity,
)

OPERATOR_LABELS = {
    "eq": _("is"),
    "in": _("is one of"),
    "any": _("any of"),
    "contains": _("contains"),
    "gte": _("at least"),
    "lte": _("at most"),
}
EXTRA_ROWS = 3
# Lists are typed as "a, b" — Chinese users type the full-width comma or 、 too.
_SPLIT = re.compile(r"[,，、;；]")


class ConditionForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), required=False)
    op = forms.ChoiceField(
        label=_("Operator"), required=False, choices=[(op, OPERATOR_LABELS[op]) for op in ALL_OPERATORS]
    )
    value = forms.CharField(label=_("Value"), required=False, max_length=500)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "—")] + [(name, spec.label) for name, spec in FIELDS.items()]

    def to_condition(self) -> dict | None:
        name = self.cleaned_data.get("field")
        if not name:
            return None
        op = self.cleaned_data.get("op") or "eq"
        raw = (self.cleaned_data.get("value") or "").strip()
        value: Any = [v.strip() for v in _SPLIT.split(raw) if v.strip()] if op in ("in", "any") else raw
        return {"field": name, "op": op, "value": value}


ConditionFormSet = forms.formset_factory(ConditionForm, extra=EXTRA_ROWS, max_num=30, absolute_max=30)


def condition_rows(conditions: Any) -> tuple[str, list[dict], str]:
    """Split stored conditions into (match, flat rows, advanced JSON). Anything that is not a flat list of
    leaves (or one "any" group of leaves) is returned as advanced JSON instead of rows."""

    def is_leaf(node: Any) -> bool:
        return isinstance(node, dict) and set(node) == {"field", "op", "value"}

    def row(node: dict) -> dict:
        value = node["value"]
        return {
            "field": node["field"],
            "op": node["op"],
            "value": ", ".join(value) if isinstance(value, list) else value,
        }

    if isinstance(conditions, list) and all(is_leaf(c) for c in conditions):
        return "all", [row(c) for c in conditions], ""
    if isinstance(conditions, dict) and set(conditions) == {"any"} and all(is_leaf(c) for c in conditions["any"]):
        return "any", [row(c) for c in conditions["any"]], ""
    return "all", [], json.dumps(conditions, ensure_ascii=False, indent=2)


class RuleFormBase(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    order = forms.IntegerField(label=_("Order"), initial=100, help_text=_("Rules run from the lowest number up."))
    match = forms.ChoiceField(
        label=_("Conditions"),
        choices=[("all", _("All conditions must hold")), ("any", _("Any condition is enough"))],
        initial="all",
    )
    advanced = forms.CharField(
        label=_("Conditions as JSON (advanced)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_("For nested all/any groups. When filled in, it replaces the rows above."),
    )

    def build_conditions(self, formset: forms.BaseFormSet) -> Any:
        advanced = (self.cleaned_data.get("advanced") or "").strip()
        if advanced:
            try:
                return json.loads(advanced)
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(
                    _("The JSON conditions are not valid JSON (line %(line)s, column %(col)s): %(msg)s"),
                    params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
                ) from None
        leaves = [c for c in (f.to_condition() for f in formset.forms if f.is_valid()) if c]
        return {"any": leaves} if self.cleaned_data.get("match") == "any" and leaves else leaves


class AutomationRuleForm(RuleFormBase):
    stop_processing = forms.BooleanField(
        label=_("Stop processing"),
        required=False,
        help_text=_("When this rule matches, later rules are not evaluated."),
    )
    open_case = forms.ChoiceField(
        label=_("Open a case"), required=False, choices=[("", _("No case"))] + list(Severity.choices)
    )
    merge_open = forms.BooleanField(
        label=_("Add to the customer's open case on the same topic instead of opening a second"),
        required=False,
        initial=True,
    )
    team = forms.ModelChoiceField(label=_("Set team"), queryset=Team.objects.all(), required=False)
    tags = forms.CharField(label=_("Add tags"), required=False, max_length=500, help_text=_("Separated by commas."))
    notify = forms.BooleanField(label=_("Notify the team"), required=False)
    notify_message = forms.CharField(label=_("Notification message"), required=False, max_length=500)
    acknowledge = forms.BooleanField(label=_("Acknowledge the customer automatically"), required=False)

    def build_actions(self) -> list[dict]:
        data = self.cleaned_data
        actions: list[dict] = []
        if data.get("open_case"):
            action = {"type": OPEN_CASE, "severity": data["open_case"]}
            if not data.get("merge_open"):  # adding to the open case is the default; only the exception is stored
                action["merge_open"] = False
            actions.append(action)
        if data.get("team"):
            actions.append({"type": SET_TEAM, "team": data["team"].pk})
        tags = [t.strip() for t in _SPLIT.split(data.get("tags") or "") if t.strip()]
        if tags:
            actions.append({"type": ADD_TAGS, "tags": tags})
        if data.get("notify"):
            actions.append({"type": NOTIFY, "message": data.get("notify_message", "")})
        if data.get("acknowledge"):
            actions.append({"type": AUTO_ACKNOWLEDGE})
        return actions

    @staticmethod
    def initial_from(rule: Any) -> dict:
        match, _rows, advanced = condition_rows(rule.conditions)
        initial = {
            "name": rule.name,
            "enabled": rule.enabled,
            "order": rule.order,
            "stop_processing": rule.stop_processing,
            "match": match,
            "advanced": advanced,
            "merge_open": True,
        }
        for action in rule.actions or []:
            kind = action.get("type")
            if kind == OPEN_CASE:
                initial["open_case"] = action.get("severity", "")
                initial["merge_open"] = action.get("merge_open", True)
            elif kind == SET_TEAM:
                team = action.get("team")
                found = Team.objects.filter(pk=team).first() if isinstance(team, int) else None
                found = found or Team.objects.filter(name=team).first()
                initial["team"] = found.pk if found else None
            elif kind == ADD_TAGS:
                initial["tags"] = ", ".join(action.get("tags", []))
            elif kind == NOTIFY:
                initial["notify"] = True
                initial["notify_message"] = action.get("message", "")
            elif kind == AUTO_ACKNOWLEDGE:
                initial["acknowledge"] = True
        return initial


class RoutingRuleForm(RuleFormBase):
    team = forms.ModelChoiceField(label=_("Route to team"), queryset=Team.objects.all())

    @staticmethod
    def initial_from(rule: Any) -> dict:
        match, _rows, advanced = condition_rows(rule.conditions)
        return {
            "name": rule.name,
            "enabled": rule.enabled,
            "order": rule.order,
            "match": match,
            "advanced": advanced,
            "team": rule.team_id,
        }


def describe_conditions(conditions: Any) -> str:
    """A one-line reading of conditions for the rule list, e.g. "sentiment is negative and kind is complaint"."""

    def leaf(node: dict) -> str:
        spec = FIELDS.get(node.get("field", ""))
        label = spec.label if spec else node.get("field", "?")
        value = node.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        return f"{label} {OPERATOR_LABELS.get(node.get('op', ''), node.get('op', ''))} {shown}"

    both, either = " " + str(_("and")) + " ", " " + str(_("or")) + " "

    def node_text(node: Any) -> str:
        if isinstance(node, list):
            return both.join(node_text(n) for n in node)
        if isinstance(node, dict) and "any" in node:
            return "(" + either.join(node_text(n) for n in node["any"]) + ")"
        if isinstance(node, dict) and "all" in node:
            return "(" + both.join(node_text(n) for n in node["all"]) + ")"
        return leaf(node) if isinstance(node, dict) else str(node)

    text = node_text(conditions or [])
    return text or str(_("every analysed item"))


def describe_actions(actions: list[dict]) -> str:
    parts = []
    severities = dict(Severity.choices)
    for action in actions or []:
        kind = action.get("type")
        if kind == OPEN_CASE:
            parts.append(
                str(_("open a case (%(severity)s)") % {"severity": severities.get(action.get("severity"), "?")})
            )
        elif kind == SET_TEAM:
            team = action.get("team")
            found = Team.objects.filter(pk=team).first() if isinstance(team, int) else None
            parts.append(str(_("team %(team)s") % {"team": found or team}))
        elif kind == ADD_TAGS:
            parts.append(str(_("tags %(tags)s") % {"tags": ", ".join(action.get("tags", []))}))
        elif kind == NOTIFY:
            parts.append(str(_("notify")))
        elif kind == AUTO_ACKNOWLEDGE:
            parts.append(str(_("acknowledge the customer")))
    return "; ".join(parts)
