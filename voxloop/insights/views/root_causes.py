"""/insights/root-causes/: complaint causes and case root causes as Pareto charts, and what changed."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language

from voxloop.insights import root_causes
from voxloop.insights.pages import filters_from, insights_view, respond


@insights_view
def root_causes_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    level = request.GET.get("level") or "top"
    page = root_causes.build_page(filters, level, get_language() or "")
    return respond(request, page, filters)
