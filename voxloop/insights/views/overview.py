"""/insights/: the overview — headline KPIs with sparklines, and feedback volume with the negative share."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from voxloop.insights import overview
from voxloop.insights.pages import filters_from, insights_view, respond


@insights_view
def overview_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    return respond(request, overview.build_page(filters), filters)
