from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.models import Department, User
from voxloop.actions.models import ActionOrigin, ActionType
from voxloop.feedback.models import Channel


class ActionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    action_type = forms.ChoiceField(label=_("Type"), choices=ActionType.choices, initial=ActionType.CORRECTIVE)
    department = forms.ModelChoiceField(label=_("Responsible department"), queryset=Department.objects.all())
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.filter(is_active=True).order_by("username"))
    collaborators = forms.ModelMultipleChoiceField(
        label=_("Collaborators"), queryset=User.objects.filter(is_active=True).order_by("username"), required=False
    )
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={"type": "date"}))
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    plan = forms.CharField(
        label=_("Plan"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text=_("Required before the work starts: what will be done, by whom, by when."),
    )
    topics = forms.CharField(label=_("Topics"), required=False, help_text=_("Topic codes, separated by commas."))
    products = forms.CharField(
        label=_("Products"), required=False, help_text=_("Product numbers, separated by commas.")
    )
    channels = forms.MultipleChoiceField(
        label=_("Channels"), choices=Channel.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    segment = forms.CharField(label=_("Customer segment"), max_length=40, required=False)
    origin = forms.ChoiceField(choices=ActionOrigin.choices, initial=ActionOrigin.MANUAL, widget=forms.HiddenInput)
    origin_ref = forms.CharField(max_length=100, required=False, widget=forms.HiddenInput)

    @staticmethod
    def split(value: str) -> list[str]:
        return [v.strip() for v in (value or "").replace("，", ",").split(",") if v.strip()]
