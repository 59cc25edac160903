"""Forms of the survey builder: they only parse; the services validate and store."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from voxloop.surveys.models import QuestionKind, SurveyKind

LANGUAGE_CHOICES = [("zh-hans", "简体中文"), ("en", "English")]
SCORES = [("", "—")] + [(str(n), str(n)) for n in range(11)]
SHOW_IF_MESSAGE = _("“Show only if” must name an earlier score question and a score within its range.")


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    name_en = forms.CharField(label=_("English name"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    languages = forms.MultipleChoiceField(
        label=_("Languages"), choices=LANGUAGE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=200, required=False)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    intro_zh = forms.CharField(
        label=_("Introduction (Chinese)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    intro_en = forms.CharField(
        label=_("Introduction (English)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    thank_you_zh = forms.CharField(
        label=_("Thank-you text (Chinese)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    thank_you_en = forms.CharField(
        label=_("Thank-you text (English)"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    logo_text = forms.CharField(label=_("Brand name shown at the top"), max_length=60, required=False)
    colour = forms.CharField(
        label=_("Brand colour"), max_length=7, required=False, widget=forms.TextInput(attrs={"type": "color"})
    )
    is_anonymous = forms.BooleanField(label=_("Anonymous (responses keep no customer)"), required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    is_followup_default = forms.BooleanField(label=_("Send this survey after a case is resolved"), required=False)


class QuestionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    text_zh = forms.CharField(label=_("Question (Chinese)"), max_length=500, required=False)
    text_en = forms.CharField(label=_("Question (English)"), max_length=500, required=False)
    dimension = forms.CharField(
        label=_("Dimension"),
        max_length=40,
        required=False,
        help_text=_("For score questions: overall, speed, resolution, attitude or your own code."),
    )
    choices_text = forms.CharField(
        label=_("Choices, one a line: Chinese | English"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    # "Why?" conditions are chosen: one of the survey's score questions, and a score on the 0–10 scale (the
    # service checks the score against that question's own range and that the question comes earlier).
    show_if_question = forms.TypedChoiceField(
        label=_("Show only after the answer to"), required=False, coerce=int, empty_value=None,
        error_messages={"invalid_choice": SHOW_IF_MESSAGE},
    )  # fmt: skip
    show_if_lte = forms.TypedChoiceField(
        label=_("scored at most"), required=False, coerce=int, empty_value=None, choices=SCORES,
        error_messages={"invalid_choice": SHOW_IF_MESSAGE},
    )  # fmt: skip
    show_if_gte = forms.TypedChoiceField(
        label=_("scored at least"), required=False, coerce=int, empty_value=None, choices=SCORES,
        error_messages={"invalid_choice": SHOW_IF_MESSAGE},
    )  # fmt: skip

    def __init__(self, *args: Any, survey: Any = None, before: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = get_language() or ""
        questions = [] if survey is None else [
            q for q in survey.questions.order_by("order") if q.is_score and (before is None or q.order < before)
        ]  # fmt: skip
        cast(forms.ChoiceField, self.fields["show_if_question"]).choices = [("", _("always show"))] + [
            (q.order, f"{q.order}. {q.text(language)} ({q.get_kind_display()})") for q in questions
        ]

    def choices(self) -> list[dict[str, str]]:
        rows = []
        for line in (self.cleaned_data.get("choices_text") or "").splitlines():
            if not line.strip():
                continue
            zh, _sep, en = line.partition("|")
            rows.append({"zh": zh.strip(), "en": en.strip()})
        return rows

    def show_if(self) -> dict[str, Any]:
        data = self.cleaned_data
        if not data.get("show_if_question"):
            return {}
        return {"question": data["show_if_question"], "lte": data.get("show_if_lte"), "gte": data.get("show_if_gte")}

    @staticmethod
    def initial_for(question: Any) -> dict[str, Any]:
        cond = question.show_if or {}
        return {
            "kind": question.kind,
            "text_zh": question.text_zh,
            "text_en": question.text_en,
            "dimension": question.dimension,
            "choices_text": "\n".join(f"{c.get('zh', '')} | {c.get('en', '')}" for c in question.choices or []),
            "required": question.required,
            "show_if_question": cond.get("question"),
            "show_if_lte": cond.get("lte"),
            "show_if_gte": cond.get("gte"),
        }


class EmailInviteForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, required=False)
    customer_id = forms.CharField(label=_("or customer ID"), max_length=100, required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("the customer's")), *LANGUAGE_CHOICES], required=False
    )


class LinkInviteForm(forms.Form):
    customer_id = forms.CharField(label=_("Customer ID (optional)"), max_length=100, required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("the customer's")), *LANGUAGE_CHOICES], required=False
    )


class BatchInviteForm(forms.Form):
    segment = forms.CharField(label=_("Customer segment"), max_length=40, required=False)
    tags = forms.CharField(label=_("Tags (comma-separated, all must match)"), max_length=400, required=False)

    def tag_list(self) -> list[str]:
        return [t.strip() for t in (self.cleaned_data.get("tags") or "").replace("，", ",").split(",") if t.strip()]
