"""Building surveys: the survey's own fields, and adding, changing, moving and deleting its questions."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils.translation import gettext as _

from voxloop.cases.tracking import normalise_language
from voxloop.surveys.common import SUPPORTED_LANGUAGES, SurveyError, SurveyErrorCode
from voxloop.surveys.models import SCORE_RANGES, Question, QuestionKind, Survey, SurveyKind

DIMENSION_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


def _clean_languages(languages: Iterable[str]) -> list[str]:
    cleaned = [normalise_language(code) or "" for code in languages]
    if not cleaned or any(code not in SUPPORTED_LANGUAGES for code in cleaned):
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("Choose at least one language (Chinese or English)."),
            {"languages": _("Choose at least one language (Chinese or English).")},
        )
    return list(dict.fromkeys(cleaned))


def _clean_branding(branding: Mapping[str, Any]) -> dict[str, str]:
    logo_text = str(branding.get("logo_text") or "").strip()[:60]
    colour = str(branding.get("colour") or "").strip()
    if colour and not COLOUR_RE.match(colour):
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("The colour must look like #2563eb."),
            {"colour": _("The colour must look like #2563eb.")},
        )
    return {k: v for k, v in {"logo_text": logo_text, "colour": colour}.items() if v}


SURVEY_TEXT_FIELDS = ("title_zh", "title_en", "intro_zh", "intro_en", "thank_you_zh", "thank_you_en")


@transaction.atomic
def save_survey(
    survey: Survey | None,
    *,
    name: str,
    kind: str,
    languages: Iterable[str],
    name_en: str | None = None,
    is_anonymous: bool = False,
    is_active: bool = True,
    is_followup_default: bool = False,
    branding: Mapping[str, Any] | None = None,
    texts: Mapping[str, str] | None = None,
    created_by: Any = None,
) -> Survey:
    """Create (survey=None) or update a survey's settings. A new NPS/CSAT/CES survey starts with its headline
    question so it can be answered at once. ``name_en`` (the English name) is kept as it is when None."""
    name = (name or "").strip()
    if not name:
        raise SurveyError(SurveyErrorCode.INVALID, _("Give the survey a name."), {"name": _("Give the survey a name.")})
    if kind not in SurveyKind.values:
        raise SurveyError(SurveyErrorCode.INVALID, _("Unknown survey kind."), {"kind": _("Unknown survey kind.")})
    if survey is not None and survey.kind != kind and survey.responses.exists():
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("This survey already has responses; its kind can no longer change."),
            {"kind": _("This survey already has responses; its kind can no longer change.")},
        )
    is_new = survey is None
    survey = survey or Survey(created_by=created_by)
    survey.name = name[:200]
    if name_en is not None:
        survey.name_en = name_en.strip()[:200]
    survey.kind = kind
    survey.languages = _clean_languages(languages)
    survey.is_anonymous = bool(is_anonymous)
    survey.is_active = bool(is_active)
    survey.branding = _clean_branding(branding or {})
    for key in SURVEY_TEXT_FIELDS:
        if texts is not None and key in texts:
            setattr(survey, key, str(texts[key] or "").strip())
    if is_followup_default:
        # Only one survey is the follow-up survey: choosing this one releases the previous one.
        Survey.objects.filter(is_followup_default=True).exclude(pk=survey.pk).update(is_followup_default=False)
    survey.is_followup_default = bool(is_followup_default)
    survey.save()
    if is_new and kind in SCORE_RANGES:
        add_question(
            survey, kind=kind, dimension="overall", text_zh=HEADLINE_TEXT[kind][0], text_en=HEADLINE_TEXT[kind][1],
            required=True,
        )  # fmt: skip
    return survey


HEADLINE_TEXT = {
    "nps": ("您有多大可能把我们推荐给朋友或同事？", "How likely are you to recommend us to a friend or colleague?"),
    "csat": ("您对这次服务的总体满意度如何？", "How satisfied are you with the service overall?"),
    "ces": ("解决您的问题有多容易？", "How easy was it to get your issue resolved?"),
}


def _clean_choices(kind: str, choices: Iterable[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    if kind not in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        return []
    cleaned: list[dict[str, str]] = []
    seen: set[str] = set()
    for n, choice in enumerate(choices or [], start=1):
        zh, en = str(choice.get("zh") or "").strip()[:200], str(choice.get("en") or "").strip()[:200]
        if not zh and not en:
            continue
        code = str(choice.get("code") or "").strip()[:40] or f"c{n}"
        while code in seen:
            code = f"{code}_"
        seen.add(code)
        cleaned.append({"code": code, "zh": zh, "en": en})
    if len(cleaned) < 2:
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("A choice question needs at least two choices."),
            {"choices": _("A choice question needs at least two choices.")},
        )
    return cleaned


def _clean_show_if(survey: Survey, order: int | None, show_if: Mapping[str, Any] | None) -> dict[str, int]:
    """{"question": <order of an earlier score question>, "lte": n and/or "gte": n} or {}."""
    if not show_if or not show_if.get("question"):
        return {}
    message = _("“Show only if” must name an earlier score question and a score within its range.")
    try:
        target_order = int(show_if["question"])
        bounds = {key: int(show_if[key]) for key in ("lte", "gte") if show_if.get(key) not in (None, "")}
    except (TypeError, ValueError):
        raise SurveyError(SurveyErrorCode.INVALID, message, {"show_if": message}) from None
    target = survey.questions.filter(order=target_order).first()
    if target is None or not target.is_score or (order is not None and target_order >= order) or not bounds:
        raise SurveyError(SurveyErrorCode.INVALID, message, {"show_if": message})
    low, high = SCORE_RANGES[target.kind]
    if any(not low <= value <= high for value in bounds.values()):
        raise SurveyError(SurveyErrorCode.INVALID, message, {"show_if": message})
    return {"question": target_order, **bounds}


def _clean_question_fields(
    survey: Survey, order: int | None, *, kind: str, text_zh: str, text_en: str, dimension: str,
    choices: Any, show_if: Any,
) -> dict[str, Any]:  # fmt: skip
    if kind not in QuestionKind.values:
        raise SurveyError(SurveyErrorCode.INVALID, _("Unknown question kind."), {"kind": _("Unknown question kind.")})
    text_zh, text_en = (text_zh or "").strip()[:500], (text_en or "").strip()[:500]
    missing = [lang for lang in survey.languages or [] if not (text_en if lang == "en" else text_zh)]
    if missing:
        message = _("Write the question in every language the survey offers.")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"text": message})
    dimension = (dimension or "").strip().lower()
    if dimension and not DIMENSION_RE.match(dimension):
        message = _("A dimension is a short code of lowercase letters, digits and _ (e.g. speed).")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"dimension": message})
    if dimension and kind not in SCORE_RANGES:
        message = _("Only score questions (NPS, CSAT, CES) can measure a dimension.")
        raise SurveyError(SurveyErrorCode.INVALID, message, {"dimension": message})
    return {
        "kind": kind,
        "text_zh": text_zh,
        "text_en": text_en,
        "dimension": dimension,
        "choices": _clean_choices(kind, choices),
        "show_if": _clean_show_if(survey, order, show_if),
    }


@transaction.atomic
def add_question(
    survey: Survey, *, kind: str, text_zh: str = "", text_en: str = "", dimension: str = "",
    choices: Any = None, required: bool = False, show_if: Any = None,
) -> Question:  # fmt: skip
    Survey.objects.select_for_update().filter(pk=survey.pk).first()  # one order number per concurrent add
    order = (survey.questions.aggregate(m=Max("order"))["m"] or 0) + 1
    fields = _clean_question_fields(
        survey, order, kind=kind, text_zh=text_zh, text_en=text_en, dimension=dimension, choices=choices,
        show_if=show_if,
    )  # fmt: skip
    return Question.objects.create(survey=survey, order=order, required=bool(required), **fields)


@transaction.atomic
def update_question(
    question: Question, *, kind: str, text_zh: str = "", text_en: str = "", dimension: str = "",
    choices: Any = None, required: bool = False, show_if: Any = None,
) -> Question:  # fmt: skip
    if kind != question.kind and question.answers.exists():
        message = _("This question already has answers; its kind can no longer change.")
        raise SurveyError(SurveyErrorCode.QUESTION_HAS_ANSWERS, message, {"kind": message})
    fields = _clean_question_fields(
        question.survey, question.order, kind=kind, text_zh=text_zh, text_en=text_en, dimension=dimension,
        choices=choices, show_if=show_if,
    )  # fmt: skip
    for key, value in fields.items():
        setattr(question, key, value)
    question.required = bool(required)
    question.save()
    return question


def _renumber(survey: Survey, ordered: list[Question]) -> None:
    """Give questions the orders 1..n in this sequence and rewrite "show if" references to follow them."""
    new_order = {q.order: n for n, q in enumerate(ordered, start=1)}
    # Two steps so the unique (survey, order) constraint never sees two questions on one number.
    Question.objects.filter(survey=survey).update(order=F("order") + 10000)
    for n, question in enumerate(ordered, start=1):
        show_if = dict(question.show_if or {})
        if show_if.get("question") in new_order:
            show_if["question"] = new_order[show_if["question"]]
            if show_if["question"] >= n:  # the score question now comes after: the condition can never be seen
                show_if = {}
        elif show_if:
            show_if = {}
        Question.objects.filter(pk=question.pk).update(order=n, show_if=show_if)


@transaction.atomic
def move_question(question: Question, direction: str) -> None:
    """Move a question one place "up" or "down"."""
    survey = question.survey
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    ordered = list(survey.questions.order_by("order"))
    index = next(i for i, q in enumerate(ordered) if q.pk == question.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    _renumber(survey, ordered)


@transaction.atomic
def delete_question(question: Question) -> None:
    if question.answers.exists():
        message = _("This question already has answers and cannot be deleted; copy the survey to change it.")
        raise SurveyError(SurveyErrorCode.QUESTION_HAS_ANSWERS, message)
    survey = question.survey
    Survey.objects.select_for_update().filter(pk=survey.pk).first()
    question.delete()
    _renumber(survey, list(survey.questions.order_by("order")))
