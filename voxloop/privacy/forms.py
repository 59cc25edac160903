from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from voxloop.privacy.models import ConsentBasis, ConsentPurpose, RequestKind


class IdentifiersForm(forms.Form):
    """How a person is found: any one identifier is enough."""

    customer_id = forms.CharField(label=_("Customer ID"), max_length=100, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    handle = forms.CharField(label=_("Handle (WeChat, Weibo…)"), max_length=200, required=False)
    order = forms.CharField(label=_("Order number"), max_length=100, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}  # Django returns cleaned_data; the stubs allow None
        if not any((data.get(k) or "").strip() for k in ("customer_id", "phone", "email", "handle", "order")):
            raise forms.ValidationError(
                _("Give at least one identifier: customer ID, phone, email, handle or order number.")
            )
        return data


class RequestForm(IdentifiersForm):
    kind = forms.ChoiceField(label=_("Request"), choices=RequestKind.choices)
    subject_name = forms.CharField(label=_("Name the person gave"), max_length=200, required=False)
    received_via = forms.CharField(
        label=_("Received via"), max_length=100, required=False, help_text=_("e.g. email, hotline, letter")
    )
    details = forms.CharField(label=_("What the person asks"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    received_at = forms.DateTimeField(
        label=_("Received at"), required=False, help_text=_("Empty: now. The due date is counted from here.")
    )


class IdentityForm(forms.Form):
    method = forms.CharField(
        label=_("How was the identity checked?"),
        max_length=300,
        help_text=_("e.g. a code sent to the phone number on file; ID card seen at the counter"),
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for refusal (the person will be told)"), widget=forms.Textarea(attrs={"rows": 3})
    )


class CompleteForm(forms.Form):
    outcome = forms.CharField(label=_("What was done"), widget=forms.Textarea(attrs={"rows": 3}))
    purposes = forms.MultipleChoiceField(
        label=_("Purposes withdrawn"),
        choices=ConsentPurpose.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class CorrectionForm(forms.Form):
    name = forms.CharField(label=_("Correct name"), max_length=200, required=False)
    email = forms.CharField(label=_("Correct email"), max_length=254, required=False)
    phone = forms.CharField(label=_("Correct phone"), max_length=40, required=False)


class ErasureForm(forms.Form):
    keep_feedback = forms.BooleanField(
        label=_("Keep the feedback, de-identified, for statistics"),
        required=False,
        initial=True,
        help_text=_("Off: the person's feedback and its analyses are deleted too."),
    )


class ConsentForm(forms.Form):
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices)
    action = forms.ChoiceField(
        label=_("Record"), choices=(("give", _("Consent given")), ("withdraw", _("Consent withdrawn")))
    )
    basis = forms.ChoiceField(label=_("Basis"), choices=ConsentBasis.choices, initial=ConsentBasis.CONSENT)
    source = forms.CharField(label=_("Source"), max_length=200, help_text=_("e.g. web form tick box, phone call"))


class PolicyForm(forms.Form):
    age_days = forms.IntegerField(label=_("Keep for (days)"), min_value=1, max_value=36500)
    legal_hold = forms.BooleanField(label=_("Legal hold"), required=False)
    is_active = forms.BooleanField(label=_("Applied nightly"), required=False, initial=True)
