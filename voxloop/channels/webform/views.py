import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django_ratelimit.decorators import ratelimit

from voxloop.channels.webform.services import record_bot_submission, submit_webform
from voxloop.core.clientip import client_ip
from voxloop.feedback.normalize import RowError

HONEYPOT = "website"


def _client_ip(request: HttpRequest) -> str:
    return client_ip(request)  # X-Forwarded-For from TRUSTED_PROXIES only (docs/security.md)


def _form(request: HttpRequest, *, embedded: bool) -> HttpResponse:
    template = "webform/form.html"
    context = {"embedded": embedded, "data": {}, "submission_id": uuid.uuid4().hex, "honeypot": HONEYPOT}
    if getattr(request, "limited", False):
        context["error"] = "rate_limited"
        return render(request, template, context, status=429)
    if request.method == "POST":
        if request.POST.get(HONEYPOT):
            record_bot_submission(_client_ip(request))
            return render(request, "webform/thanks.html", {"embedded": embedded})
        data = request.POST.dict()
        try:
            submit_webform(
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
        return render(request, "webform/thanks.html", {"embedded": embedded})
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
