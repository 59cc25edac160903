import uuid

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.decorators import ratelimit

from voxloop.cases.models import Case
from voxloop.cases.tracking import tracking_url
from voxloop.channels.webform.services import record_bot_submission, submit_webform
from voxloop.core.clientip import client_ip
from voxloop.core.http import HtmxHttpRequest
from voxloop.feedback.models import Feedback
from voxloop.feedback.normalize import RowError

HONEYPOT = "website"
# Each point of the rating says what it means, so a customer need not guess which end is good.
RATING_WORDS = (
    ("1", gettext_lazy("Very dissatisfied")),
    ("2", gettext_lazy("Dissatisfied")),
    ("3", pgettext_lazy("satisfaction", "Neutral")),
    ("4", gettext_lazy("Satisfied")),
    ("5", gettext_lazy("Very satisfied")),
)


def _client_ip(request: HttpRequest) -> str:
    return client_ip(request)  # X-Forwarded-For from TRUSTED_PROXIES only (docs/security.md)


THANKS_SALT = "webform.thanks"
THANKS_MAX_AGE = 24 * 3600  # the thank-you link tells the case for a day, then only "thank you"
CASE_WAIT_SECONDS = 60  # analysis opens the case after the submission is stored: the page asks again meanwhile


def _opened_case(feedback_id: int | None) -> dict[str, str]:
    """The case number and tracking link when the submission opened (or joined) a case by now."""
    if not feedback_id:
        return {}
    case = Case.objects.filter(feedback_links__feedback_id=feedback_id).order_by("-created_at").first()
    if case is None:
        return {}
    return {"case_number": case.number or str(case.pk), "tracking_link": tracking_url(case)}


def _thanks_context(feedback_id: int | None, embedded: bool) -> dict[str, object]:
    context: dict[str, object] = {"embedded": embedded}
    if not isinstance(feedback_id, int):
        return context
    context.update(_opened_case(feedback_id))
    stored = Feedback.objects.filter(pk=feedback_id).values_list("created_at", flat=True).first()
    waiting = stored is not None and (timezone.now() - stored).total_seconds() < CASE_WAIT_SECONDS
    if waiting and "case_number" not in context:
        url = reverse("webform:thanks", args=[signing.dumps(feedback_id, salt=THANKS_SALT)])
        context["poll_url"] = f"{url}?embed=1" if embedded else url
    return context


def thanks(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """The thank-you page's case line, asked again by the page: analysis and rules run after the item is
    stored, so the case, if one is opened, appears a moment later. The token is signed, so nobody can walk
    other people's submissions."""
    try:
        feedback_id = signing.loads(token, salt=THANKS_SALT, max_age=THANKS_MAX_AGE)
    except signing.BadSignature:
        feedback_id = None
    context = _thanks_context(feedback_id, request.GET.get("embed") == "1")
    template = "webform/_thanks_case.html" if request.htmx else "webform/thanks.html"
    response = render(request, template, context)
    if context["embedded"]:
        response.xframe_options_exempt = True
    return response


def _form(request: HttpRequest, *, embedded: bool) -> HttpResponse:
    template = "webform/form.html"
    context = {"embedded": embedded, "data": {}, "submission_id": uuid.uuid4().hex, "honeypot": HONEYPOT,
               "rating_words": RATING_WORDS}  # fmt: skip
    if getattr(request, "limited", False):
        context["error"] = "rate_limited"
        return render(request, template, context, status=429)
    if request.method == "POST":
        if request.POST.get(HONEYPOT):
            record_bot_submission(_client_ip(request))
            return render(request, "webform/thanks.html", {"embedded": embedded})
        data = request.POST.dict()
        try:
            feedback_id = submit_webform(
                data,
                submission_id=request.POST.get("submission_id", "")[:64],
                ip=_client_ip(request),
                language=get_language() or "",
                embedded=embedded,
            )
        except RowError as exc:
            context.update({"data": data, "error": exc.code, "error_field": exc.field,
                            "submission_id": request.POST.get("submission_id", "")[:64] or context["submission_id"]})  # fmt: skip
            return render(request, template, context, status=400)
        return render(request, "webform/thanks.html", _thanks_context(feedback_id, embedded))
    return render(request, template, context)


@ratelimit(key="ip", rate=lambda group, request: settings.WEBFORM_RATE, method="POST", block=False)
def feedback_form(request: HttpRequest) -> HttpResponse:
    return _form(request, embedded=False)


# Framed on another site the CSRF cookie is not sent (SameSite); the form has no session to protect.
@csrf_exempt
@xframe_options_exempt
@ratelimit(key="ip", rate=lambda group, request: settings.WEBFORM_RATE, method="POST", block=False)
def embedded_form(request: HttpRequest) -> HttpResponse:
    return _form(request, embedded=True)
