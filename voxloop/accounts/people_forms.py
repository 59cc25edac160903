"""Forms of the users, teams and departments pages: every value chosen from a list (roles, teams, languages,
skills), nothing typed as JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils.translation import gettext_lazy as _

from voxloop.accounts.fields import LabelChoiceField, LabelMultipleChoiceField
from voxloop.accounts.models import Department, Team, User
from voxloop.accounts.people import LANGUAGE_CHOICES, skill_choices, with_current

if TYPE_CHECKING:  # Django's form classes are generic in django-stubs only, not at run time
    _UserChoiceField = forms.ModelChoiceField[User]
    _UsersChoiceField = forms.ModelMultipleChoiceField[User]
    _UserModelForm = forms.ModelForm[User]
    _TeamModelForm = forms.ModelForm[Team]
    _DepartmentModelForm = forms.ModelForm[Department]
else:
    _UserChoiceField = forms.ModelChoiceField
    _UsersChoiceField = forms.ModelMultipleChoiceField
    _UserModelForm = _TeamModelForm = _DepartmentModelForm = forms.ModelForm


class UserChoiceField(_UserChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return person_name(obj)


class UsersField(_UsersChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return person_name(obj)


def person_name(user: User) -> str:
    full = user.get_full_name()
    return f"{full} ({user.username})" if full else user.username


class UserForm(_UserModelForm):
    WORKING = [("available", _("Available")), ("away", _("Away (gets no new cases)"))]

    working_status = forms.ChoiceField(label=_("Working status"), choices=WORKING, widget=forms.RadioSelect)
    teams = LabelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    languages_spoken = forms.MultipleChoiceField(
        label=_("Languages spoken"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("New cases go to agents who speak the customer's language. None ticked: any language."),
    )
    skills = forms.MultipleChoiceField(
        label=_("Skills (topics)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Within a team, cases on these topics go to skilled agents first."),
    )
    password = forms.CharField(
        label=_("New password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password (a new user without one cannot sign in)."),
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "role", "is_active"]
        labels = {"is_active": _("Active (may sign in)")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        user = self.instance
        self.fields["email"].required = False
        cast(forms.ChoiceField, self.fields["languages_spoken"]).choices = with_current(
            LANGUAGE_CHOICES, user.languages_spoken
        )
        cast(forms.ChoiceField, self.fields["skills"]).choices = with_current(skill_choices(), user.skills)
        if user.pk:
            self.initial.setdefault("teams", list(user.teams.all()))
            self.initial.setdefault("languages_spoken", list(user.languages_spoken or []))
            self.initial.setdefault("skills", list(user.skills or []))
        self.initial.setdefault("working_status", "away" if user.is_away else "available")

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        if password:
            validate_password(password, self.instance)
        return password

    def apply(self) -> User:
        """The instance with the chosen values (not saved: ``people.save_user`` saves it)."""
        user = self.instance
        user.languages_spoken = list(self.cleaned_data["languages_spoken"])
        user.skills = list(self.cleaned_data["skills"])
        user.is_away = self.cleaned_data["working_status"] == "away"
        return user


class TeamForm(_TeamModelForm):
    lead = UserChoiceField(label=_("Team lead"), queryset=User.objects.filter(is_active=True), required=False,
                           help_text=_("The first level of the escalation chain reaches the team lead."))  # fmt: skip
    members = UsersField(
        label=_("Members"),
        queryset=User.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Team
        fields = ["name", "name_en", "department", "lead"]
        help_texts = {"department": _("The department's manager is the second level of the escalation chain.")}
        field_classes = {"department": LabelChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("members", list(self.instance.members.all()))


class DepartmentForm(_DepartmentModelForm):
    manager = UserChoiceField(label=_("Manager"), queryset=User.objects.filter(is_active=True), required=False)

    class Meta:
        model = Department
        fields = ["name", "name_en", "manager"]
