from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.webhooks.services import event_choices


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        help_text=_(
            "Where VoxLoop posts events: http:// or https://, a public address (internal servers only where the "
            "server's administrator allows them)."
        ),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    event_kinds = forms.MultipleChoiceField(
        label=_("Events"),
        choices=event_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every event."),
    )
    include_personal_data = forms.BooleanField(
        label=_("Include customers' personal data"),
        required=False,
        help_text=_("Off: no customer name or contact details, and emails and phone numbers in texts are masked."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
