"""The reports pages' forms: generate now, the draft's text sections, recipients and the schedule editor."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from voxloop.accounts.models import Department, Role, User
from voxloop.reports.models import ReportKind, ReportLanguage
from voxloop.reports.services import MAX_TEXT, Recipients


def _language_initial(language: str | None) -> str:
    return ReportLanguage.EN if (language or "").startswith("en") else ReportLanguage.ZH_HANS


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(label=_("Period"), choices=ReportKind.choices, initial=ReportKind.MONTH)
    day = forms.DateField(
        label=_("Period containing"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for the last complete period."),
    )  # fmt: skip
    language = forms.ChoiceField(label=_("Language"), choices=ReportLanguage.choices)
    department = forms.ModelChoiceField(
        label=_("Scope"), queryset=Department.objects.all(), required=False, empty_label=_("Whole organisation")
    )


class EditForm(forms.Form):
    """The text sections a draft may change: the status summary, the problems narrative, each suggestion."""

    summary = forms.CharField(label=pgettext_lazy("report section", "Summary"), widget=forms.Textarea(attrs={"rows": 4}), max_length=MAX_TEXT,
                              required=False)  # fmt: skip
    narrative = forms.CharField(label=_("Problems and causes"), widget=forms.Textarea(attrs={"rows": 4}),
                                max_length=MAX_TEXT, required=False)  # fmt: skip

    def __init__(self, *args: Any, snapshot: dict[str, Any], **kwargs: Any) -> None:
        initial = {
            "summary": (snapshot.get("status") or {}).get("summary", ""),
            "narrative": (snapshot.get("problems") or {}).get("narrative", ""),
        }
        self.suggestion_keys: dict[str, str] = {}
        for i, suggestion in enumerate(snapshot.get("suggestions") or []):
            name = f"suggestion_{i}"
            self.suggestion_keys[name] = str(suggestion.get("key"))
            initial[name] = suggestion.get("text", "")
        kwargs["initial"] = initial
        super().__init__(*args, **kwargs)
        for i, (name, _key) in enumerate(self.suggestion_keys.items(), start=1):
            reason = (snapshot.get("suggestions") or [])[i - 1].get("reason", "")
            self.fields[name] = forms.CharField(
                label=_("Suggestion %(n)s") % {"n": i}, widget=forms.Textarea(attrs={"rows": 2}),
                max_length=MAX_TEXT, required=False, help_text=reason,
            )  # fmt: skip

    def suggestions(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(name, "") for name, key in self.suggestion_keys.items()}


class RecipientsForm(forms.Form):
    recipient_users = forms.ModelMultipleChoiceField(
        label=_("People"), queryset=User.objects.filter(is_active=True).order_by("username"), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    recipient_roles = forms.MultipleChoiceField(
        label=_("Everyone with the role"), choices=Role.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    recipient_departments = forms.ModelMultipleChoiceField(
        label=_("Everyone in the department"), queryset=Department.objects.all(), required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    external_addresses = forms.CharField(
        label=_("External addresses"), required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One e-mail address per line; they get the report masked, for the report's scope."),
    )  # fmt: skip

    def clean_external_addresses(self) -> list[str]:
        raw = self.cleaned_data.get("external_addresses") or ""
        return [
            v.strip() for v in raw.replace(",", "\n").replace("；", "\n").replace(";", "\n").splitlines() if v.strip()
        ]

    def recipients(self) -> Recipients:
        data = self.cleaned_data
        return Recipients(
            users=list(data.get("recipient_users") or []), roles=list(data.get("recipient_roles") or []),
            departments=list(data.get("recipient_departments") or []), addresses=data.get("external_addresses") or [],
        )  # fmt: skip


class ScheduleForm(RecipientsForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(label=_("Period"), choices=ReportKind.choices, initial=ReportKind.MONTH)
    language = forms.ChoiceField(label=_("Language"), choices=ReportLanguage.choices)
    department = forms.ModelChoiceField(
        label=_("Scope"), queryset=Department.objects.all(), required=False, empty_label=_("Whole organisation")
    )
    approval_required = forms.BooleanField(
        label=_("Needs approval before sending"), required=False, initial=True,
        help_text=_("Without approval the report is sent as soon as it is generated."),
    )  # fmt: skip
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    field_order = ["name", "kind", "language", "department", "recipient_users", "recipient_roles",
                   "recipient_departments", "external_addresses", "approval_required", "active"]  # fmt: skip


def language_initial(language: str | None) -> str:
    return _language_initial(language)
