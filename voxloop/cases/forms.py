"""Forms for the case pages: they check what a person typed; the services decide what is allowed."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.fields import LabelChoiceField
from voxloop.accounts.models import Team, User
from voxloop.analysis.models import Topic
from voxloop.cases import macros
from voxloop.cases.models import CannedReply, Case, CaseStatus, CompensationKind, Severity
from voxloop.cases.services import ALLOWED_TRANSITIONS

TEXT_MAX = 20_000


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Reply to the customer"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("A reply needs some text.")},
    )


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Internal note"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("A note needs some text.")},
    )


class AgentChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]  # not subscriptable at run time
    """An agent by name, marked when away (the assignee list)."""

    def label_from_instance(self, obj: User) -> str:
        return f"{obj.get_full_name() or obj.username}{' · ' + str(_('away')) if obj.is_away else ''}"


class AssignForm(forms.Form):
    assignee = AgentChoiceField(
        label=_("Assign to"),
        queryset=User.objects.none(),
        error_messages={"invalid_choice": _("Choose a member of the case's team.")},
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = User.objects.filter(is_active=True, role__in=["agent", "manager", "admin"])
        if case.team_id:
            members = members.filter(teams=case.team_id)
        cast(AgentChoiceField, self.fields["assignee"]).queryset = members.order_by("username")


class TeamForm(forms.Form):
    team = LabelChoiceField(label=_("Move to team"), queryset=Team.objects.order_by("name"))


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=())

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = ALLOWED_TRANSITIONS.get(case.status, set())
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (v, label) for v, label in CaseStatus.choices if v in allowed
        ]


class SeverityForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("Why escalate?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Say why the case needs a higher level.")},
    )


class MergeForm(forms.Form):
    number = forms.CharField(
        label=_("Merge this case into case number"),
        max_length=20,
        error_messages={"required": _("Enter the number of the case to merge into.")},
    )

    def clean_number(self) -> str:
        number: str = self.cleaned_data["number"]
        return number.strip().upper()


class LinkFeedbackForm(forms.Form):
    feedback_id = forms.IntegerField(
        label=_("Feedback number"),
        min_value=1,
        error_messages={
            "required": _("Enter a feedback number."),
            "invalid": _("A feedback number is a whole number."),
        },
    )


def root_cause_choices() -> list[tuple[str, str]]:
    language = get_language() or ""
    topics = list(Topic.objects.filter(is_active=True).select_related("parent"))
    choices = []
    for t in topics:
        name = t.display_name(language)
        if t.parent is not None:
            name = f"{t.parent.display_name(language)} / {name}"
        choices.append((t.code, name))
    return sorted(choices, key=lambda c: c[0])


class ResolveForm(forms.Form):
    root_cause = forms.ChoiceField(
        label=_("Root cause"),
        choices=(),
        error_messages={
            "required": _("Choose a root cause before resolving the case."),
            "invalid_choice": _("Choose a root cause from the taxonomy."),
        },
    )
    resolution = forms.CharField(
        label=_("Resolution"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Describe the resolution before resolving the case.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["root_cause"]).choices = [("", "—"), *root_cause_choices()]


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why reopen?"), max_length=2000, required=False)


class CompensationForm(forms.Form):
    # A CharField so that "abc" or "-5" reach compensation.parse_amount and get its specific message.
    amount = forms.CharField(label=_("Amount"), max_length=30, error_messages={"required": _("Enter an amount.")})
    kind = forms.ChoiceField(label=_("Kind"), choices=CompensationKind.choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason for the compensation.")},
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Comment"), max_length=2000, required=False)


class MacroForm(forms.ModelForm):  # type: ignore[type-arg]  # not subscriptable at run time
    language = forms.ChoiceField(label=_("Language"), required=False)

    class Meta:
        model = CannedReply
        fields = ["title", "body", "language", "team", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        field_classes = {"team": LabelChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["language"]).choices = [("", _("Any language")), *settings.LANGUAGES]
        cast("forms.ModelChoiceField[Team]", self.fields["team"]).queryset = Team.objects.order_by("name")
        self.fields["body"].help_text = _("Variables: %(names)s") % {
            "names": ", ".join("{" + n + "}" for n in macros.VARIABLES)
        }

    def clean_body(self) -> str:
        try:
            return macros.clean_body(self.cleaned_data.get("body", ""))
        except macros.MacroError as exc:
            raise forms.ValidationError(exc.message) from None
