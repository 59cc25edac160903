"""Checks every API request goes through first: the language of the answer, query parameters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import get_supported_language_variant, parse_accept_lang_header


def api_language(request: HttpRequest) -> str:
    """The language of an API answer: the first supported one the client asks for in Accept-Language, else
    English. Unlike the pages, an integration that says nothing must not get Chinese because the site's default
    language is Chinese: the programmer reading the error is anywhere."""
    for code, _quality in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            return get_supported_language_variant(code)
        except LookupError:
            continue
    return "en"


def in_api_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = api_language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
        response["Content-Language"] = language
        return response

    return wrapper


def refuse_nul_in_query(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A NUL character (%00) in a query parameter is a 400: PostgreSQL cannot compare text holding one."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                with translation.override(api_language(request)):
                    message = _("The query parameter %(name)s holds a NUL character (%%00), which no text may hold.")
                    body = {"detail": message % {"name": name.replace("\x00", "")}, "code": "nul_in_parameter"}
                return JsonResponse(body, status=400)
        return view(request, *args, **kwargs)

    return wrapper
