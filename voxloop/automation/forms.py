"""Forms of the rule editor: flat condition rows (all or any) and the actions as plain fields, turned into
the JSON that ``voxloop.automation.rules`` validates. Nested groups are edited as JSON (advanced)."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.fields import LabelChoiceField
from voxloop.accounts.models import Team
from voxloop.automation.condition_values import (
    OPERATOR_LABELS,
    ROW_OPERATORS,
    is_number,
    listed_fields,
    value_choices,
    value_label,
)
from voxloop.automation.rules import (
    ADD_TAGS,
    ALL_OPERATORS,
    AUTO_ACKNOWLEDGE,
    FIELDS,
    NOTIFY,
    NUMBER,
    OPEN_CASE,
    OPERATORS_BY_TYPE,
    SET_TEAM,
    Severity,
)

EXTRA_ROWS = 3
GROUP_LETTERS = "ABCDEF"
# Lists are typed as "a, b" — Chinese users type the full-width comma or 、 too.
_SPLIT = re.compile(r"[,，、;；]")


def _field_label(name: str) -> str:
    spec = FIELDS.get(name)
    return str(spec.label) if spec else name


def list_separator() -> str:
    return "、" if (get_language() or "").startswith("zh") else ", "


def _operator_words(ops: tuple[str, ...]) -> str:
    return list_separator().join(f"“{OPERATOR_LABELS[op]}”" for op in ops)


def value_optgroups() -> list[tuple[str, list[tuple[str, str]]]]:
    """Every listed field's values as one <optgroup> each; an option is "field:code", so the same code in two
    fields (neutral sentiment, neutral CSAT) stays apart. The page shows only the chosen field's group."""
    return [
        (_field_label(name), [(f"{name}:{code}", label) for code, label in value_choices(name)])
        for name in listed_fields()
    ]


class ConditionForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"), required=False)
    op = forms.ChoiceField(
        label=_("Operator"), required=False, choices=[(op, OPERATOR_LABELS[op]) for op in ALL_OPERATORS]
    )
    values = forms.MultipleChoiceField(
        label=_("Values"), required=False, widget=forms.SelectMultiple(attrs={"size": 6, "class": "cond-values"})
    )
    value = forms.CharField(label=_("Typed value"), required=False, max_length=500)
    group = forms.ChoiceField(label=_("Group"), required=False, choices=[("", "—")] + [(g, g) for g in GROUP_LETTERS])

    def __init__(self, *args: Any, optgroups: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["field"]).choices = [("", "—")] + [
            (name, spec.label) for name, spec in FIELDS.items()
        ]
        cast(forms.ChoiceField, self.fields["values"]).choices = (
            optgroups if optgroups is not None else value_optgroups()
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns; its stub says it may be None
        name = data.get("field")
        typed = [v.strip() for v in _SPLIT.split(data.get("value") or "") if v.strip()]
        chosen = [v.split(":", 1)[1] for v in data.get("values") or [] if v.startswith(f"{name}:")]
        if not name:
            if typed or data.get("values"):
                raise forms.ValidationError(_("Choose a field for this row, or empty the row."))
            data["condition"] = None
            return data
        spec = FIELDS[name]
        label = spec.label
        allowed = ROW_OPERATORS[spec.type]
        op = data.get("op") or allowed[0]
        # The page offers the operators that read naturally; any the rule language accepts is kept as it is.
        if op not in OPERATORS_BY_TYPE[spec.type]:
            raise forms.ValidationError(
                _("“%(op)s” does not apply to %(field)s; choose %(allowed)s."),
                params={"op": OPERATOR_LABELS[op], "field": label, "allowed": _operator_words(allowed)},
            )
        if is_number(name):
            raw = (data.get("value") or "").strip()
            try:
                number = Decimal(raw.replace("，", ","))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                raise forms.ValidationError(_("%(field)s needs a number, e.g. 4."), params={"field": label})
            data["condition"] = {"field": name, "op": op, "value": raw}
            return data
        known = dict(value_choices(name)) if name in listed_fields() else {}
        if spec.choices:
            wrong = [v for v in typed if v.lower() not in spec.choices]
            if wrong:
                raise forms.ValidationError(
                    _("“%(value)s” is not a value of %(field)s; choose from the list."),
                    params={"value": wrong[0], "field": label},
                )
        codes = list(dict.fromkeys(chosen + typed))
        if not codes:
            if known:
                message = _("Choose at least one value of %(field)s from the list.")
            else:
                message = _("Type at least one value for %(field)s.")
            raise forms.ValidationError(message, params={"field": label})
        several = op in ("in", "any")
        if len(codes) > 1 and not several:
            op = "in"  # several values ticked under "is": the row means "is one of"
            several = True
        data["condition"] = {"field": name, "op": op, "value": codes if several else codes[0]}
        return data

    def to_condition(self) -> dict[str, Any] | None:
        return self.cleaned_data.get("condition") if self.is_valid() else None


class BaseConditionFormSet(forms.BaseFormSet):  # type: ignore[type-arg]  # not subscriptable at run time
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # The value lists (the taxonomy's topics included) are read once per page, not once per row.
        if not hasattr(self, "_optgroups"):
            self._optgroups = value_optgroups()
        return {**super().get_form_kwargs(index), "optgroups": self._optgroups}


ConditionFormSet = forms.formset_factory(
    ConditionForm, formset=BaseConditionFormSet, extra=EXTRA_ROWS, max_num=30, absolute_max=30
)


def _is_leaf(node: Any) -> bool:
    return isinstance(node, dict) and set(node) == {"field", "op", "value"}


def _row(node: dict[str, Any], group: str = "") -> dict[str, Any]:
    name, value = node["field"], node["value"]
    values = value if isinstance(value, list) else [value]
    known = dict(value_choices(name)) if name in listed_fields() and not is_number(name) else {}
    listed = [f"{name}:{v}" for v in values if str(v) in known]
    typed = [str(v) for v in values if str(v) not in known]
    return {"field": name, "op": node["op"], "values": listed, "value": ", ".join(typed), "group": group}


def condition_rows(conditions: Any) -> tuple[str, list[dict[str, Any]], str]:
    """Split stored conditions into (match, rows, advanced JSON). Rows cover a list of conditions and "any"
    groups of them (rows sharing a group letter), or an "any" of conditions and "all" groups; anything deeper
    is returned as advanced JSON instead of rows."""

    def rows_of(nodes: list[Any], inner: str) -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = []
        letters = iter(GROUP_LETTERS)
        for node in nodes:
            if _is_leaf(node):
                rows.append(_row(node))
            elif isinstance(node, dict) and set(node) == {inner} and node[inner] and all(map(_is_leaf, node[inner])):
                letter = next(letters, None)
                if letter is None:
                    return None
                rows.extend(_row(leaf, letter) for leaf in node[inner])
            else:
                return None
        return rows

    if isinstance(conditions, list):
        rows = rows_of(conditions, "any")
        if rows is not None:
            return "all", rows, ""
    if isinstance(conditions, dict) and set(conditions) == {"any"} and isinstance(conditions["any"], list):
        rows = rows_of(conditions["any"], "all")
        if rows is not None:
            return "any", rows, ""
    return "all", [], json.dumps(conditions, ensure_ascii=False, indent=2)


def build_from_rows(match: str, rows: list[tuple[dict[str, Any], str]]) -> Any:
    """Rows (condition, group letter) -> stored conditions. With "all", rows sharing a letter are alternatives
    (one is enough); with "any", rows sharing a letter must hold together."""
    inner = "any" if match == "all" else "all"
    nodes: list[Any] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for condition, letter in rows:
        if not letter:
            nodes.append(condition)
        elif letter in groups:
            groups[letter].append(condition)
        else:
            groups[letter] = [condition]
            nodes.append(groups[letter])  # the group keeps the place of its first row
    nodes = [({inner: n} if len(n) > 1 else n[0]) if isinstance(n, list) else n for n in nodes]
    return {"any": nodes} if match == "any" and nodes else nodes


_PLACE = re.compile(r"^(conditions|actions)((?:\[\d+\]|\.(?:any|all))*)")


def readable_place(message: str) -> str:
    """ "conditions[1].any[0]: ..." -> "Condition 2, alternative 1: ..." (the rule language names places as
    JSON paths; people read words)."""
    match = _PLACE.match(message)
    if not match:
        return message
    words: list[str] = []
    inner = ""
    for index, group in re.findall(r"\[(\d+)\]|\.(any|all)", match.group(2)):
        if group:
            inner = group
            continue
        n = int(index) + 1
        if not words:
            template = _("condition %(n)s") if match.group(1) == "conditions" else _("action %(n)s")
        else:
            template = _("alternative %(n)s") if inner == "any" else _("part %(n)s")
        words.append(str(template % {"n": n}))
    if not words:
        words.append(str(_("Conditions") if match.group(1) == "conditions" else pgettext_lazy("rule", "Actions")))
    place = " › ".join(words)
    return place[:1].upper() + place[1:] + message[match.end() :]


class RuleFormBase(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)
    order = forms.IntegerField(
        label=pgettext_lazy("rule", "Order"), initial=100, help_text=_("Rules run from the lowest number up.")
    )
    match = forms.ChoiceField(
        label=_("Conditions"),
        choices=[("all", _("All conditions must hold")), ("any", _("Any condition is enough"))],
        initial="all",
        help_text=_(
            "Rows with the same group letter are taken the other way round: when all must hold, one row of a "
            "group is enough; when any is enough, all rows of a group must hold together."
        ),
    )
    advanced = forms.CharField(
        label=_("Conditions as JSON (advanced)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_("For nested all/any groups. When filled in, it replaces the rows above."),
    )

    def build_conditions(self, formset: forms.BaseFormSet[Any]) -> Any:
        advanced = (self.cleaned_data.get("advanced") or "").strip()
        if advanced:
            try:
                return json.loads(advanced)
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(
                    _("The JSON conditions are not valid JSON (line %(line)s, column %(col)s): %(msg)s"),
                    params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
                ) from None
        rows = [(f.cleaned_data["condition"], f.cleaned_data.get("group") or "") for f in formset.forms
                if f.is_valid() and f.cleaned_data.get("condition")]  # fmt: skip
        return build_from_rows(self.cleaned_data.get("match") or "all", rows)


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
    team = LabelChoiceField(label=_("Set team"), queryset=Team.objects.all(), required=False)
    tags = forms.CharField(label=_("Add tags"), required=False, max_length=500, help_text=_("Separated by commas."))
    notify = forms.BooleanField(label=_("Notify the team"), required=False)
    notify_message = forms.CharField(label=_("Notification message"), required=False, max_length=500)
    acknowledge = forms.BooleanField(label=_("Acknowledge the customer automatically"), required=False)

    def build_actions(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        actions: list[dict[str, Any]] = []
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
    def initial_from(rule: Any) -> dict[str, Any]:
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
    team = LabelChoiceField(label=_("Route to team"), queryset=Team.objects.all())

    @staticmethod
    def initial_from(rule: Any) -> dict[str, Any]:
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

    names: dict[str, dict[str, str]] = {}

    def leaf(node: dict[str, Any]) -> str:
        field = node.get("field", "")
        spec = FIELDS.get(field)
        label = spec.label if spec else field or "?"
        value = node.get("value")
        values = value if isinstance(value, list) else [value]
        shown = list_separator().join(
            value_label(field, v, names) if field in listed_fields() else str(v) for v in values
        )
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


def describe_actions(actions: list[dict[str, Any]]) -> str:
    parts = []
    severities = dict(Severity.choices)
    for action in actions or []:
        kind = action.get("type")
        if kind == OPEN_CASE:
            parts.append(
                str(_("open a case (%(severity)s)") % {"severity": severities.get(str(action.get("severity")), "?")})
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


def field_meta() -> dict[str, dict[str, Any]]:
    """What the page's script needs per field: its operators and whether it has a value list."""
    listed = set(listed_fields())
    return {
        name: {"ops": list(ROW_OPERATORS[spec.type]), "listed": name in listed, "number": spec.type == NUMBER}
        for name, spec in FIELDS.items()
    }
