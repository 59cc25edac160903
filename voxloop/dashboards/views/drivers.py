"""/insights/drivers/: which topics move NPS and CSAT most (impact x frequency)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language

from voxloop.dashboards import drivers
from voxloop.dashboards.pages import filters_from, insights_view, respond


@insights_view
def drivers_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    page = drivers.build_page(filters, request.GET.get("metric") or "nps", get_language() or "")
    return respond(request, page, filters)
