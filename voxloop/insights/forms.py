"""Forms of the insight pages: the journey editor (one row per touchpoint, a formset)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.analysis.models import Topic
from voxloop.insights.models import Touchpoint

# Codes are typed as "a, b"; Chinese users type the full-width comma or 、 too.
_SPLIT = re.compile(r"[\s,，、;；]+")
MAX_TOUCHPOINTS = 30


class TopicCodesField(forms.CharField):
    """Topic codes as text ("logistics, repair.installation") <-> a list of existing taxonomy codes."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        return list(dict.fromkeys(code for code in _SPLIT.split(text) if code))

    def has_changed(self, initial: Any, data: Any) -> bool:
        # An empty extra row has no initial (None) and posts "": both are "no topics", so the row is skipped.
        return self.to_python(initial or []) != self.to_python(data)

    def validate(self, value: list[str]) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        known = set(Topic.objects.filter(code__in=value).values_list("code", flat=True))
        unknown = [code for code in value if code not in known]
        if unknown:
            raise forms.ValidationError(
                _("Unknown topic codes: %(codes)s. Use codes of the taxonomy, top-level or sub-topic."),
                code="unknown_topic",
                params={"codes": ", ".join(unknown)},
            )


class TouchpointForm(forms.ModelForm):
    topic_codes = TopicCodesField(
        label=_("Topics"), required=True, max_length=1000,
        help_text=_("Taxonomy codes, separated by commas: top-level (logistics) or sub-topics (repair.installation)."),
    )  # fmt: skip

    class Meta:
        model = Touchpoint
        fields = ["sort_order", "code", "name_zh", "name_en", "topic_codes", "is_active"]
        widgets = {"sort_order": forms.NumberInput(attrs={"style": "width: 5em"})}


class BaseTouchpointFormSet(forms.BaseModelFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        live = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        if not any(f.cleaned_data.get("is_active") for f in live):
            raise forms.ValidationError(_("Keep at least one active touchpoint."), code="no_touchpoint")


TouchpointFormSet = forms.modelformset_factory(
    Touchpoint, form=TouchpointForm, formset=BaseTouchpointFormSet, extra=1, can_delete=True,
    max_num=MAX_TOUCHPOINTS, absolute_max=MAX_TOUCHPOINTS, validate_max=True,
)  # fmt: skip
