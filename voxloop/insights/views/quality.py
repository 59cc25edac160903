"""Analysis quality (/insights/quality/): agreement with people's corrections over time, per label and per
topic, the topic confusion, the model version of the stored analyses, and the items without a topic as a
work list to label (voxloop.insights.quality)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from voxloop.analysis.model_switch import ensure_active_model
from voxloop.insights import quality as read
from voxloop.insights.pages import filters_from, insights_view, respond
from voxloop.metrics.queries import PeriodError


@insights_view
def quality_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    if filters.cut.dimension:
        # Corrections are few: split by a channel or product they would say little, so the page takes none.
        raise PeriodError(_("Analysis quality is measured over all feedback of the period: clear the filter."))
    page = read.build_page(filters.period, get_language() or "", ensure_active_model())
    return respond(request, page, filters)
