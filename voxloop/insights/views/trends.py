"""/insights/trends/: topics, sentiment and channels over time, topics by sentiment, and a comparison."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language

from voxloop.insights import trends
from voxloop.insights.pages import filters_from, insights_view, respond, today


@insights_view
def trends_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    compare = trends.parse_compare(request.GET, filters, today())
    page = trends.build_page(filters, compare, get_language() or "")
    return respond(request, page, filters)
