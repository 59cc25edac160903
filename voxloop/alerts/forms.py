from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.alerts.models import AlertDimension, Severity
from voxloop.insights.pages import filter_options

NOTE_MAX = 2000


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What is being done about it, or why it needs nothing (shown in the list)."),
    )


def scope_choices(language: str) -> list[tuple[Any, Any]]:
    """The subscription's scope: every alert, every alert of one dimension, or one topic / product / channel."""
    options = {o["name"]: o for o in filter_options(language)}
    choices: list[tuple[Any, Any]] = [("", _("Every alert"))]
    for dimension in ("topic", "product", "channel"):
        label = AlertDimension(dimension).label
        group = [(f"{dimension}:", _("Any %(dimension)s") % {"dimension": str(label).lower()})]
        group += [(f"{dimension}:{value}", name) for value, name in options[dimension]["choices"]]
        choices.append((label, group))
    return choices


class SubscriptionForm(forms.Form):
    min_severity = forms.ChoiceField(label=_("At least"), choices=Severity.choices, initial=Severity.HIGH)
    scope = forms.ChoiceField(label=_("For"), required=False)
    email = forms.BooleanField(label=_("Send me an email"), required=False, initial=True)

    def __init__(self, *args: Any, language: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._scope_choices = scope_choices(language)
        scope = self.fields["scope"]
        assert isinstance(scope, forms.ChoiceField)  # declared above; self.fields is typed as any Field
        scope.choices = self._scope_choices

    def scope_choices(self) -> list[tuple[Any, Any]]:
        """The scope menu: "Every alert", then one group of (value, name) options per dimension."""
        return self._scope_choices

    def scope_parts(self) -> tuple[str, str]:
        dimension, _sep, value = (self.cleaned_data.get("scope") or "").partition(":")
        return dimension, value
