"""The tracking page: thin over voxloop.cases.tracking. An unknown and an expired token get the same plain 404,
decided before anything about the case (even its language) shapes the response."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django_ratelimit.decorators import ratelimit

from voxloop.cases import tracking
from voxloop.core.clientip import client_ip

HONEYPOT = "website"


def _language(request: HttpRequest, case: object) -> str:
    """?lang= (the page's own switch), else the case's or customer's language, else the browser's."""
    chosen = tracking.normalise_language(request.GET.get("lang"))
    return chosen or tracking.customer_language(case, from_feedback=False) or translation.get_language() or "zh-hans"  # type: ignore[arg-type]


@never_cache
@ratelimit(key="ip", rate=lambda group, request: settings.TRACKING_RATE, method=ratelimit.ALL, block=False)  # type: ignore[untyped-decorator]  # django-ratelimit ships no types
def tracking_page(request: HttpRequest, token: str) -> HttpResponse:
    if getattr(request, "limited", False):
        response = render(request, "cases/public/limited.html", status=429)
        response["Retry-After"] = "60"
        return response
    case = tracking.find_case(token)
    if case is None:
        raise Http404()
    language = _language(request, case)
    context: dict[str, Any] = {
        "honeypot": HONEYPOT,
        "submission_id": uuid.uuid4().hex,
        "language": language,
        "text": "",
    }
    status = 200
    with translation.override(language):
        if request.method == "POST":
            if request.POST.get(HONEYPOT):
                return redirect(f"{request.path}?lang={language}&sent=1")  # a bot: stored nowhere, told nothing
            try:
                result = tracking.add_customer_message(
                    case,
                    request.POST.get("text", ""),
                    submission_id=request.POST.get("submission_id", ""),
                    ip=client_ip(request),
                )
            except tracking.TrackingMessageError as exc:
                context.update({"error": exc.message, "text": request.POST.get("text", "")[:20000]})
                status = 400
            else:
                if result.follow_up is not None:
                    # The customer follows the new case from now on: its own page, number and link.
                    return redirect(f"{tracking.tracking_url(result.follow_up)}?lang={language}&sent=new")
                return redirect(f"{request.path}?lang={language}&sent=1")
        page = tracking.tracking_page(tracking.find_case(token) or case)
        context.update({"page": page, "sent": request.GET.get("sent", "")})
        response = render(request, "cases/public/tracking.html", context, status=status)
    response["Content-Language"] = language
    response["X-Robots-Tag"] = "noindex"
    return response
