"""/insights/drivers/: which topics move NPS and CSAT most (impact x frequency), and under a filter the
list of responses behind a point (/insights/drivers/responses/)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language

from voxloop.insights import drivers
from voxloop.insights.pages import filters_from, insight_navigation, insights_view, respond
from voxloop.insights.root_causes import topic_labels
from voxloop.metrics.queries import value_labels

PAGE_SIZE = 50


@insights_view
def drivers_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    page = drivers.build_page(filters, request.GET.get("metric") or "nps", get_language() or "")
    return respond(request, page, filters)


@insights_view
def drivers_responses(request: HttpRequest) -> HttpResponse:
    """The responses in the filter's cut that mention one topic (a point of the drivers chart under a filter):
    the metrics drill list takes one cut, this one takes the cut and the topic."""
    filters = filters_from(request)
    metric = request.GET.get("metric", "")
    metric = metric if metric in drivers.METRICS else "nps"
    topic = (request.GET.get("about") or "").strip()
    rows = drivers.responses_behind(filters, topic, metric)
    language = get_language() or ""
    cut = filters.cut
    context = {
        "active_nav": "insights",
        "insight_nav": insight_navigation(),
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "period": filters.period,
        "topic": topic,
        "topic_label": topic_labels([topic], language).get(topic, topic) if topic else "",
        "cut": cut,
        "cut_label": value_labels(cut.dimension, [cut.value], language).get(cut.value, cut.value),
        "metric": metric,
        "back": reverse("dashboards:drivers") + "?" + urlencode({**filters.params(), "metric": metric}),
        "page_query": urlencode({**filters.params(), "about": topic, "metric": metric}),
    }
    return render(request, "dashboards/drivers_responses.html", context)
