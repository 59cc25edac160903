"""Answering: finding the survey behind a link, cleaning the submitted answers, recording (or editing) them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from voxloop.cases.models import CaseEvent, EventKind
from voxloop.surveys.common import COMMENT_MAX_CHARS, SurveyError, SurveyErrorCode, now_or_current, survey_language
from voxloop.surveys.invitations import invitation_expiry
from voxloop.surveys.models import (
    SCORE_RANGES,
    Answer,
    Invitation,
    InvitationChannel,
    InvitationStatus,
    Question,
    QuestionKind,
    Response,
    Survey,
)
from voxloop.surveys.tasks import close_loop_task


def find_invitation(token: str, *, now: datetime | None = None) -> Invitation:
    """The invitation behind a survey link; NOT_FOUND for unknown, expired or switched-off ones (one answer
    for all three, so a link tells nothing about why)."""
    now = now_or_current(now)
    invitation = (
        Invitation.objects.select_related("survey", "customer").filter(token=str(token)[:64]).first() if token else None
    )
    if (
        invitation is None
        or not invitation.survey.is_active
        or invitation.status in (InvitationStatus.EXPIRED, InvitationStatus.FAILED)
        or (invitation.expires_at is not None and invitation.expires_at < now and invitation.answered_at is None)
    ):
        raise SurveyError(SurveyErrorCode.NOT_FOUND, _("This survey link is not valid."))
    return invitation


def find_open_survey(public_token: str) -> Survey:
    survey = Survey.objects.filter(public_token=str(public_token)[:64], is_active=True).first()
    if survey is None:
        raise SurveyError(SurveyErrorCode.NOT_FOUND, _("This survey link is not valid."))
    return survey


def record_open(invitation: Invitation, *, now: datetime | None = None) -> None:
    """The only thing a GET records: when the link was first opened (informational; scanners open links)."""
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(opened_at=now_or_current(now))


def visible_questions(questions: Iterable[Question], scores: Mapping[int, int | None]) -> list[Question]:
    """The questions shown for these scores (question order -> score): "why?" only after a low score."""
    shown = []
    for question in questions:
        cond = question.show_if or {}
        if cond.get("question"):
            score = scores.get(int(cond["question"]))
            if score is None:
                continue
            if "lte" in cond and score > int(cond["lte"]):
                continue
            if "gte" in cond and score < int(cond["gte"]):
                continue
        shown.append(question)
    return shown


@dataclass
class CleanAnswers:
    numbers: dict[int, int] = field(default_factory=dict)  # question order -> score
    texts: dict[int, str] = field(default_factory=dict)
    choices: dict[int, list[str]] = field(default_factory=dict)
    comment: str = ""


def field_name(question: Question) -> str:
    return f"q{question.order}"


def clean_answers(survey: Survey, data: Mapping[str, Any], language: str) -> CleanAnswers:
    """Validate submitted form data ({"q1": "9", "q2": ["a", "b"], ...}); SurveyError INVALID with one message
    per question that needs a look. Answers to questions hidden by their condition are dropped."""
    questions = list(survey.questions.order_by("order"))
    errors: dict[str, str] = {}
    clean = CleanAnswers()

    def values(name: str) -> list[str]:
        raw = data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        if raw is None:
            return []
        items = raw if isinstance(raw, list | tuple) else [raw]
        return [str(v).strip() for v in items if str(v).strip()]

    for question in questions:  # scores first: conditions depend on them
        if not question.is_score:
            continue
        raw = values(field_name(question))
        if not raw:
            continue
        low, high = SCORE_RANGES[question.kind]
        try:
            number = int(raw[0])
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            errors[field_name(question)] = _("Choose a score from %(low)s to %(high)s.") % {"low": low, "high": high}
        else:
            clean.numbers[question.order] = number
    shown = visible_questions(questions, clean.numbers)
    for question in shown:
        name = field_name(question)
        raw = values(name)
        if question.is_score:
            if question.required and question.order not in clean.numbers and name not in errors:
                errors[name] = _("Please choose a score.")
            continue
        if question.kind == QuestionKind.TEXT:
            text = raw[0] if raw else ""
            if len(text) > COMMENT_MAX_CHARS:
                errors[name] = _("Please keep it under %(n)s characters.") % {"n": COMMENT_MAX_CHARS}
            elif question.required and not text:
                errors[name] = _("Please answer this question.")
            elif text:
                clean.texts[question.order] = text
            continue
        codes = {c["code"] for c in question.choices or []}
        picked = list(dict.fromkeys(raw))
        if any(code not in codes for code in picked) or (question.kind == QuestionKind.SINGLE and len(picked) > 1):
            errors[name] = _("Choose from the options given.")
        elif question.required and not picked:
            errors[name] = _("Please choose an option.")
        elif picked:
            clean.choices[question.order] = picked
    shown_orders = {q.order for q in shown}
    clean.numbers = {k: v for k, v in clean.numbers.items() if k in shown_orders}
    clean.comment = "\n\n".join(clean.texts[o] for o in sorted(clean.texts))
    if errors:
        raise SurveyError(SurveyErrorCode.INVALID, _("Some answers need a look."), errors)
    return clean


def _headline(survey: Survey, questions: list[Question], clean: CleanAnswers) -> dict[str, int | None]:
    """nps/csat/ces for the Response: the first score question of each kind without a sub-dimension other than
    "overall" (the survey's headline question)."""
    scores: dict[str, int | None] = {"nps": None, "csat": None, "ces": None}
    for question in questions:
        if question.is_score and question.dimension in ("", "overall") and scores[question.kind] is None:
            scores[question.kind] = clean.numbers.get(question.order)
    return scores


def case_credit(case: Any) -> dict[str, Any]:
    """Who gets the credit: the last person who replied publicly on the case (not merely the assignee)."""
    agent_id = (
        CaseEvent.objects.filter(case=case, kind=EventKind.PUBLIC_REPLY, actor__isnull=False)
        .order_by("-created_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    product_id = (
        case.feedback_items.exclude(product__isnull=True).values_list("product_id", flat=True).first()
        if hasattr(case, "feedback_items")
        else None
    )
    return {"agent_id": agent_id or case.assignee_id, "team_id": case.team_id, "product_id": product_id}


def submit_response(
    *, invitation: Invitation, data: Mapping[str, Any], language: str = "", response: Response | None = None,
    now: datetime | None = None,
) -> Response:  # fmt: skip
    """Record (or, inside the edit window, change) the answers to an invitation. A second submit of an answered
    invitation raises ALREADY_ANSWERED; one after the edit window EDIT_CLOSED. Pass ``response`` to edit an
    anonymous response (anonymous responses keep no link to the invitation)."""
    now = now_or_current(now)
    survey = invitation.survey
    lang = survey_language(survey, language or invitation.language)
    clean = clean_answers(survey, data, lang)
    questions = list(survey.questions.order_by("order"))
    with transaction.atomic():
        if response is None and not survey.is_anonymous:
            response = Response.objects.select_for_update().filter(invitation=invitation).first()
        if response is not None:
            response = Response.objects.select_for_update().get(pk=response.pk)
            if response.editable_until < now:
                raise SurveyError(
                    SurveyErrorCode.EDIT_CLOSED, _("Your answers were saved; the time to change them has passed.")
                )
        else:
            # The conditional update is the guard against a double submit (two tabs, a resent form). For an
            # anonymous survey only the day is kept, so the invitation's time does not point at the response.
            answered_at = now.replace(hour=0, minute=0, second=0, microsecond=0) if survey.is_anonymous else now
            claimed = Invitation.objects.filter(pk=invitation.pk, answered_at__isnull=True).update(
                answered_at=answered_at, status=InvitationStatus.ANSWERED
            )
            if not claimed:
                raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered."))
            response = Response(
                survey=survey,
                invitation=None if survey.is_anonymous else invitation,
                submitted_at=now,
                channel=invitation.channel,
                editable_until=now + timedelta(minutes=settings.SURVEY_EDIT_MINUTES),
            )
            if not survey.is_anonymous:
                response.customer_id = invitation.customer_id
                if invitation.case_id:
                    response.case_id = invitation.case_id
                    for key, value in case_credit(invitation.case).items():
                        setattr(response, key, value)
        response.language = lang
        for key, value in _headline(survey, questions, clean).items():
            setattr(response, key, value)
        response.comment = clean.comment
        try:
            response.save()
        except IntegrityError:
            raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered.")) from None
        response.answers.all().delete()
        Answer.objects.bulk_create(
            [
                Answer(
                    response=response,
                    question=q,
                    dimension=q.dimension,
                    number=clean.numbers.get(q.order),
                    text=clean.texts.get(q.order, ""),
                    choices=clean.choices.get(q.order, []),
                )
                for q in questions
                if q.order in clean.numbers or q.order in clean.texts or q.order in clean.choices
            ]
        )
        response_id, edited = response.pk, response.submitted_at != now
        transaction.on_commit(lambda: _queue_close_loop(response_id, edited))
    return response


def submit_open_response(
    *, survey: Survey, data: Mapping[str, Any], channel: str, submission_id: str = "", language: str = "",
    now: datetime | None = None,
) -> tuple[Invitation, Response]:  # fmt: skip
    """An answer through the survey's open link or embed snippet: its invitation is made on submit. A form sent
    twice (same submission id) is answered once."""
    now = now_or_current(now)
    if channel not in (InvitationChannel.LINK, InvitationChannel.EMBED):
        raise SurveyError(SurveyErrorCode.INVALID, _("Unknown channel."))
    clean_answers(survey, data, language)  # validate before making anything
    submission_id = re.sub(r"[^A-Za-z0-9_-]", "", submission_id or "")[:64]
    with transaction.atomic():
        existing = (
            Invitation.objects.filter(survey=survey, submission_id=submission_id).first() if submission_id else None
        )
        if existing is not None:
            raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered."))
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    survey=survey,
                    channel=channel,
                    language=survey_language(survey, language),
                    status=InvitationStatus.SENT,
                    sent_at=now,
                    opened_at=now,
                    expires_at=invitation_expiry(now),
                    submission_id=submission_id,
                )
        except IntegrityError:
            raise SurveyError(SurveyErrorCode.ALREADY_ANSWERED, _("This survey has already been answered.")) from None
        response = submit_response(invitation=invitation, data=data, language=language, now=now)
    return invitation, response


def _queue_close_loop(response_id: int, edited: bool) -> None:
    close_loop_task.delay(response_id, edited)
