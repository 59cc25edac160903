"""Forms of the insight pages: the journey editor (one row per touchpoint, a formset)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.analysis.queries import topic_choices, topic_names
from voxloop.automation.forms import list_separator
from voxloop.insights.models import Touchpoint

MAX_TOUCHPOINTS = 30


class TopicsField(forms.MultipleChoiceField):
    """Taxonomy topics chosen by name from the list; stored as their codes (top-level or sub-topic)."""

    default_error_messages = {
        "invalid_choice": _("“%(value)s” is not a topic of the taxonomy; choose topics from the list."),
        "required": _("Choose at least one topic."),
    }

    def has_changed(self, initial: Any, data: Any) -> bool:
        # An empty extra row has no initial (None) and posts nothing: both are "no topics", so the row is skipped.
        return list(initial or []) != list(data or [])


class TouchpointForm(forms.ModelForm):  # type: ignore[type-arg]  # not subscriptable at run time
    topic_codes = TopicsField(
        label=_("Topics"), required=True,
        help_text=_("Choose one or more topics (Ctrl or ⌘ to choose several). A topic covers its sub-topics."),
        widget=forms.SelectMultiple(attrs={"size": 5}),
    )  # fmt: skip

    class Meta:
        model = Touchpoint
        fields = ["sort_order", "code", "name_zh", "name_en", "topic_codes", "is_active"]
        widgets = {"sort_order": forms.NumberInput(attrs={"style": "width: 5em"})}

    def __init__(self, *args: Any, topics: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Topics by name in the page's language, read when the page is drawn (admins edit the taxonomy). A topic
        # switched off since keeps its place, named, so saving an unrelated row does not drop it silently.
        choices = topics if topics is not None else topic_choices()
        listed = {code for code, _label in choices}
        kept = [code for code in (self.instance.topic_codes or []) if code not in listed]
        names = topic_names() if kept else {}
        self.topic_options = choices + [(code, names.get(code, code)) for code in kept]
        field = self.fields["topic_codes"]
        assert isinstance(field, forms.ChoiceField)  # declared above; self.fields is typed as any Field
        field.choices = self.topic_options

    def chosen_topics(self) -> str:
        """The row's chosen topics by name, in a line: a list box shows only some of its options at a time."""
        labels = dict(self.topic_options)
        value = self["topic_codes"].value() or []
        return list_separator().join(str(labels.get(code, code)) for code in value)


class BaseTouchpointFormSet(forms.BaseModelFormSet):  # type: ignore[type-arg]  # not subscriptable at run time
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        # One read of the taxonomy for all rows.
        if not hasattr(self, "_topics"):
            self._topics = topic_choices()
        return {**super().get_form_kwargs(index), "topics": self._topics}

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
