"""Survey pages: the builder and distribution for staff, and the public answer page for customers."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from voxloop.accounts.permissions import Capability, require
from voxloop.core.clientip import client_ip
from voxloop.feedback.models import Customer
from voxloop.surveys import answers, building, common, invitations, queries
from voxloop.surveys.common import SurveyError, SurveyErrorCode
from voxloop.surveys.forms import BatchInviteForm, EmailInviteForm, LinkInviteForm, QuestionForm, SurveyForm
from voxloop.surveys.models import (
    SCORE_RANGES,
    Invitation,
    InvitationChannel,
    InvitationStatus,
    Question,
    Response,
    Survey,
)

logger = logging.getLogger(__name__)
HONEYPOT = "website"


# --- staff: builder and distribution -------------------------------------------------------------------


def _require_builder(request: HttpRequest) -> None:
    require(request.user, Capability.BUILD_SURVEYS)


def _form_errors(form: Any, exc: SurveyError) -> None:
    for key, message in exc.errors.items():
        form.add_error(key if key in form.fields else None, message)
    if not exc.errors:
        form.add_error(None, exc.message)


@login_required
def survey_list(request: HttpRequest) -> HttpResponse:
    _require_builder(request)
    return render(request, "surveys/list.html", {"surveys": queries.survey_list(), "active_nav": "surveys"})


def _survey_form_save(request: HttpRequest, form: SurveyForm, survey: Survey | None) -> Survey | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        return building.save_survey(
            survey,
            name=data["name"],
            name_en=data["name_en"],
            kind=data["kind"],
            languages=data["languages"],
            is_anonymous=data["is_anonymous"],
            is_active=data["is_active"],
            is_followup_default=data["is_followup_default"],
            branding={"logo_text": data["logo_text"], "colour": data["colour"]},
            texts={key: data[key] for key in building.SURVEY_TEXT_FIELDS},
            created_by=request.user,
        )
    except SurveyError as exc:
        _form_errors(form, exc)
        return None


@login_required
def survey_create(request: HttpRequest) -> HttpResponse:
    _require_builder(request)
    form = SurveyForm(request.POST or None, initial={"languages": ["zh-hans", "en"], "is_active": True})
    if request.method == "POST":
        survey = _survey_form_save(request, form, None)
        if survey is not None:
            messages.success(request, _("Survey created. Add or change its questions below."))
            return redirect("surveys:detail", pk=survey.pk)
    return render(request, "surveys/survey_form.html", {"form": form, "survey": None, "active_nav": "surveys"})


@login_required
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_builder(request)
    survey = get_object_or_404(Survey, pk=pk)
    initial = {
        "name": survey.name,
        "name_en": survey.name_en,
        "kind": survey.kind,
        "languages": survey.languages,
        "is_anonymous": survey.is_anonymous,
        "is_active": survey.is_active,
        "is_followup_default": survey.is_followup_default,
        "logo_text": (survey.branding or {}).get("logo_text", ""),
        "colour": (survey.branding or {}).get("colour", ""),
        **{key: getattr(survey, key) for key in building.SURVEY_TEXT_FIELDS},
    }
    form = SurveyForm(request.POST or None, initial=initial)
    if request.method == "POST" and _survey_form_save(request, form, survey) is not None:
        messages.success(request, _("Survey saved."))
        return redirect("surveys:detail", pk=survey.pk)
    return render(request, "surveys/survey_form.html", {"form": form, "survey": survey, "active_nav": "surveys"})


@login_required
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_builder(request)
    survey = get_object_or_404(Survey, pk=pk)
    context = {
        "survey": survey,
        "questions": list(survey.questions.order_by("order")),
        "question_form": QuestionForm(initial={"kind": "text"}, survey=survey),
        "email_form": EmailInviteForm(),
        "link_form": LinkInviteForm(),
        "batch_form": BatchInviteForm(),
        "counts": queries.invitation_counts(survey),
        "responses": queries.recent_responses(survey),
        "invitations": queries.recent_invitations(survey),
        "open_url": settings.SITE_URL.rstrip("/") + reverse("surveys_public:open", args=[survey.public_token]),
        "embed_url": settings.SITE_URL.rstrip("/") + reverse("surveys_public:embed", args=[survey.public_token]),
        "active_nav": "surveys",
    }
    context.update(_pending_forms(request))
    return render(request, "surveys/detail.html", context)


def _pending_forms(request: HttpRequest) -> dict[str, Any]:
    # Forms with errors are re-rendered by the action views themselves (below) through this hook.
    return getattr(request, "_survey_forms", {})


def _question_form_call(form: QuestionForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "kind": data["kind"],
        "text_zh": data["text_zh"],
        "text_en": data["text_en"],
        "dimension": data["dimension"],
        "choices": form.choices(),
        "required": data["required"],
        "show_if": form.show_if(),
    }


@login_required
@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    _require_builder(request)
    survey = get_object_or_404(Survey, pk=pk)
    form = QuestionForm(request.POST, survey=survey)
    if form.is_valid():
        try:
            building.add_question(survey, **_question_form_call(form))
        except SurveyError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Question added."))
            return redirect(reverse("surveys:detail", args=[survey.pk]) + "#questions")
    request._survey_forms = {"question_form": form}  # type: ignore[attr-defined]
    response = survey_detail(request, survey.pk)
    response.status_code = 400
    return response


@login_required
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_builder(request)
    question = get_object_or_404(Question.objects.select_related("survey"), pk=pk)
    form = QuestionForm(
        request.POST or None, initial=QuestionForm.initial_for(question), survey=question.survey, before=question.order
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                building.update_question(question, **_question_form_call(form))
            except SurveyError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("Question saved."))
                return redirect(reverse("surveys:detail", args=[question.survey_id]) + "#questions")
        status = 400
    return render(
        request,
        "surveys/question_form.html",
        {"form": form, "question": question, "survey": question.survey, "active_nav": "surveys"},
        status=status,
    )


@login_required
@require_POST
def question_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_builder(request)
    question = get_object_or_404(Question, pk=pk)
    building.move_question(question, request.POST.get("direction", ""))
    return redirect(reverse("surveys:detail", args=[question.survey_id]) + "#questions")


@login_required
@require_POST
def question_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_builder(request)
    question = get_object_or_404(Question, pk=pk)
    survey_id = question.survey_id
    try:
        building.delete_question(question)
    except SurveyError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Question deleted."))
    return redirect(reverse("surveys:detail", args=[survey_id]) + "#questions")


def _customer_by_external_id(external_id: str) -> Customer | None:
    external_id = (external_id or "").strip()
    if not external_id:
        return None
    customer = Customer.objects.filter(external_id=external_id).first()
    if customer is None:
        raise SurveyError(
            SurveyErrorCode.INVALID,
            _("No customer has the ID %(id)s.") % {"id": external_id},
            {"customer_id": _("No customer has the ID %(id)s.") % {"id": external_id}},
        )
    return customer


@login_required
@require_POST
def invite(request: HttpRequest, pk: int, how: str) -> HttpResponse:
    """One action view for the three ways staff invite: a personal link, an email, a batch to a segment."""
    _require_builder(request)
    survey = get_object_or_404(Survey, pk=pk)
    forms_by_kind = {"link": LinkInviteForm, "email": EmailInviteForm, "batch": BatchInviteForm}
    if how not in forms_by_kind:
        raise Http404
    form = forms_by_kind[how](request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if how == "link":
                invitation = invitations.create_link_invitation(
                    survey,
                    customer=_customer_by_external_id(data["customer_id"]),
                    language=data["language"],
                    created_by=request.user,
                )
                messages.success(
                    request, _("Personal link created: %(url)s") % {"url": invitations.survey_url(invitation)}
                )
            elif how == "email":
                invitations.invite_by_email(
                    survey,
                    email=data["email"],
                    customer=_customer_by_external_id(data["customer_id"]),
                    language=data["language"],
                    created_by=request.user,
                )
                messages.success(request, _("Invitation queued for sending."))
            else:
                assert isinstance(form, BatchInviteForm)  # how == "batch"
                result = invitations.invite_batch(
                    survey, segment=data["segment"].strip(), tags=form.tag_list(), created_by=request.user
                )
                messages.success(
                    request,
                    _(
                        "%(invited)s invitations queued; skipped: %(opted_out)s opted out, %(recent)s surveyed in "
                        "the last %(days)s days, %(no_email)s without an email address."
                    )
                    % {
                        "invited": result.invited,
                        "opted_out": result.skipped_opted_out,
                        "recent": result.skipped_recently_surveyed,
                        "days": settings.SURVEY_FATIGUE_DAYS,
                        "no_email": result.skipped_no_email,
                    },
                )
            return redirect(reverse("surveys:detail", args=[survey.pk]) + "#distribute")
        except SurveyError as exc:
            _form_errors(form, exc)
    request._survey_forms = {f"{how}_form": form}  # type: ignore[attr-defined]
    response = survey_detail(request, survey.pk)
    response.status_code = 400
    return response


# --- public: the survey page ------------------------------------------------------------------------------


def _client_ip(request: HttpRequest) -> str:
    return client_ip(request)  # X-Forwarded-For from TRUSTED_PROXIES only (docs/security.md)


def _score_buttons(question: Question) -> list[int]:
    low, high = SCORE_RANGES[question.kind]
    return list(range(low, high + 1))


def _page_questions(survey: Survey, lang: str, values: dict[str, list[str]]) -> list[dict[str, Any]]:
    rows = []
    for question in survey.questions.order_by("order"):
        name = answers.field_name(question)
        rows.append(
            {
                "q": question,
                "name": name,
                "text": question.text(lang),
                "scores": _score_buttons(question) if question.is_score else [],
                "choices": [
                    {"code": c["code"], "label": question.choice_label(c["code"], lang)} for c in question.choices or []
                ],
                "values": values.get(name, []),
                "show_if": question.show_if or {},
            }
        )
    return rows


def _values_from_response(response: Response) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for answer in response.answers.select_related("question"):
        name = answers.field_name(answer.question)
        if answer.number is not None:
            values[name] = [str(answer.number)]
        elif answer.text:
            values[name] = [answer.text]
        elif answer.choices:
            values[name] = [str(c) for c in answer.choices]
    return values


def _values_from_post(request: HttpRequest) -> dict[str, list[str]]:
    return {key: request.POST.getlist(key) for key in request.POST if key.startswith("q")}


def _prefill_from_query(request: HttpRequest, survey: Survey) -> dict[str, list[str]]:
    """?score=9 in an email link pre-selects the headline score: shown, never recorded until submitted."""
    score = request.GET.get("score", "")
    headline = survey.questions.filter(kind__in=list(SCORE_RANGES)).order_by("order").first()
    if not score.isdigit() or headline is None:
        return {}
    low, high = SCORE_RANGES[headline.kind]
    return {answers.field_name(headline): [score]} if low <= int(score) <= high else {}


# Answers that need a look re-render the page with status 200, as HTML forms conventionally do: a 4xx document
# would show as an error in the customer's browser console and in some in-app browsers as a failed page.
def _render_page(
    request: HttpRequest, survey: Survey, lang: str, *, values: dict[str, list[str]], errors: dict[str, str] | None = None,
    status: int = 200, embedded: bool = False, editing: Response | None = None, error: str = "",
    submission_id: str = "",
) -> HttpResponse:  # fmt: skip
    with translation.override(lang):
        context = {
            "survey": survey,
            "lang": lang,
            "title": survey.title(lang) or survey.name_in(lang),
            "intro": survey.intro(lang),
            "questions": _page_questions(survey, lang, values),
            "errors": errors or {},
            "error": error,
            "embedded": embedded,
            "editing": editing,
            "honeypot": HONEYPOT,
            "submission_id": submission_id,
            "brand": survey.branding or {},
            "other_languages": [code for code in survey.languages if code != lang],
        }
        response = render(request, "surveys/public/answer.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _render_thanks(
    request: HttpRequest, survey: Survey, lang: str, *, response: Response | None, token: str = "",
    embedded: bool = False, already: bool = False,
) -> HttpResponse:  # fmt: skip
    editable = response is not None and response.editable_until > timezone.now()
    with translation.override(lang):
        page = render(
            request,
            "surveys/public/thanks.html",
            {
                "survey": survey,
                "lang": lang,
                "thank_you": survey.thank_you(lang),
                "editable": editable and bool(token),
                "edit_url": reverse("surveys_public:answer", args=[token]) + "?edit=1" if token else "",
                "editable_until": response.editable_until if response else None,
                "embedded": embedded,
                "already": already,
                "brand": survey.branding or {},
            },
        )
    page.headers["Cache-Control"] = "no-store"
    return page


def _not_found(request: HttpRequest) -> HttpResponse:
    # One plain page for unknown, expired and switched-off links: it says nothing about which.
    page = render(request, "surveys/public/not_found.html", status=404)
    page.headers["Cache-Control"] = "no-store"
    return page


def _session_key(token: str) -> str:
    return f"survey_response_{token}"


def _existing_response(request: HttpRequest, invitation: Invitation) -> Response | None:
    if invitation.survey.is_anonymous:
        # Anonymous responses keep no link to the invitation; the browser that answered may still edit.
        pk = request.session.get(_session_key(invitation.token))
        return Response.objects.filter(pk=pk, survey=invitation.survey).first() if pk else None
    return Response.objects.filter(invitation=invitation).first()


def _bot(request: HttpRequest) -> bool:
    if request.POST.get(HONEYPOT):
        logger.info("survey honeypot filled; submission from %s discarded", _client_ip(request))
        return True
    return False


def _lang_for(request: HttpRequest, survey: Survey, invitation: Invitation | None = None) -> str:
    wanted = request.GET.get("lang") or request.POST.get("lang") or (invitation.language if invitation else "")
    return common.survey_language(survey, wanted or translation.get_language())


@ratelimit(key="ip", rate=lambda group, request: settings.SURVEY_RATE, method="POST", block=False)  # type: ignore[untyped-decorator]  # django-ratelimit ships no types
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """/s/<token>/: GET shows the survey and records only that the link was opened; POST records the answers."""
    try:
        invitation = answers.find_invitation(token)
    except SurveyError:
        return _not_found(request)
    survey = invitation.survey
    lang = _lang_for(request, survey, invitation)
    existing = _existing_response(request, invitation)
    if request.method != "POST":
        answers.record_open(invitation)
        if invitation.status == InvitationStatus.ANSWERED:
            if existing is not None and existing.editable_until > timezone.now() and request.GET.get("edit"):
                return _render_page(request, survey, lang, values=_values_from_response(existing), editing=existing)
            return _render_thanks(request, survey, lang, response=existing, token=token, already=True)
        return _render_page(request, survey, lang, values=_prefill_from_query(request, survey))
    if getattr(request, "limited", False):
        return _render_page(request, survey, lang, values=_values_from_post(request), status=429, error="rate_limited")
    if _bot(request):
        return _render_thanks(request, survey, lang, response=None)
    if invitation.status == InvitationStatus.ANSWERED and existing is None:
        return _render_thanks(request, survey, lang, response=None, already=True)
    try:
        response = answers.submit_response(invitation=invitation, data=request.POST, language=lang, response=existing)
    except SurveyError as exc:
        if exc.code == SurveyErrorCode.INVALID:
            return _render_page(
                request, survey, lang, values=_values_from_post(request), errors=exc.errors,
                editing=existing,
            )  # fmt: skip
        if exc.code == SurveyErrorCode.EDIT_CLOSED:
            return _render_thanks(request, survey, lang, response=existing, already=True)
        return _render_thanks(request, survey, lang, response=existing, token=token, already=True)
    if survey.is_anonymous:
        request.session[_session_key(token)] = response.pk
    return _render_thanks(request, survey, lang, response=response, token=token)


def _open(request: HttpRequest, public_token: str, *, embedded: bool) -> HttpResponse:
    try:
        survey = answers.find_open_survey(public_token)
    except SurveyError:
        return _not_found(request)
    lang = _lang_for(request, survey)
    if request.method != "POST":
        return _render_page(
            request, survey, lang, values=_prefill_from_query(request, survey), embedded=embedded,
            submission_id=uuid.uuid4().hex,
        )  # fmt: skip
    submission_id = request.POST.get("submission_id", "")[:64]
    if getattr(request, "limited", False):
        return _render_page(
            request, survey, lang, values=_values_from_post(request), status=429, error="rate_limited",
            embedded=embedded, submission_id=submission_id,
        )  # fmt: skip
    if _bot(request):
        return _render_thanks(request, survey, lang, response=None, embedded=embedded)
    try:
        invitation, response = answers.submit_open_response(
            survey=survey,
            data=request.POST,
            channel=InvitationChannel.EMBED if embedded else InvitationChannel.LINK,
            submission_id=submission_id,
            language=lang,
        )
    except SurveyError as exc:
        if exc.code == SurveyErrorCode.INVALID:
            return _render_page(
                request, survey, lang, values=_values_from_post(request), errors=exc.errors,
                embedded=embedded, submission_id=submission_id,
            )  # fmt: skip
        return _render_thanks(request, survey, lang, response=None, embedded=embedded, already=True)
    if survey.is_anonymous:
        request.session[_session_key(invitation.token)] = response.pk
    return _render_thanks(
        request, survey, lang, response=response, token="" if embedded else invitation.token, embedded=embedded
    )


@ratelimit(key="ip", rate=lambda group, request: settings.SURVEY_RATE, method="POST", block=False)  # type: ignore[untyped-decorator]  # django-ratelimit ships no types
def open_survey(request: HttpRequest, public_token: str) -> HttpResponse:
    return _open(request, public_token, embedded=False)


# Framed on another site the CSRF cookie is not sent (SameSite); the page has no session to protect.
@csrf_exempt
@xframe_options_exempt
@ratelimit(key="ip", rate=lambda group, request: settings.SURVEY_RATE, method="POST", block=False)  # type: ignore[untyped-decorator]  # django-ratelimit ships no types
def embedded_survey(request: HttpRequest, public_token: str) -> HttpResponse:
    return _open(request, public_token, embedded=True)
