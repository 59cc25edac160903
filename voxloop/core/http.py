"""The request type our views see: Django's, plus what the django-htmx middleware (settings.MIDDLEWARE) adds."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """Annotate a view's request with this to read ``request.htmx`` (true for a request htmx made)."""

    htmx: HtmxDetails
