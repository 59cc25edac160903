"""/insights/journey/: the journey map, and its editor for admins (/insights/journey/edit/)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from voxloop.accounts.permissions import Capability, has
from voxloop.insights import journey
from voxloop.insights.forms import TouchpointFormSet
from voxloop.insights.models import Touchpoint
from voxloop.insights.pages import filters_from, insight_navigation, insights_view, respond


def may_edit_journey(user: object) -> bool:
    return has(user, Capability.ADMINISTER)


@insights_view
def journey_page(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request)
    page = journey.build_page(filters, get_language() or "", focus=(request.GET.get("touchpoint") or "").strip(),
                              may_edit=may_edit_journey(request.user))  # fmt: skip
    return respond(request, page, filters)


@login_required
def journey_edit(request: HttpRequest) -> HttpResponse:
    """All touchpoints in one formset: order, code, names, topics, active; an empty row adds one."""
    if not may_edit_journey(request.user):
        raise PermissionDenied
    queryset = Touchpoint.objects.all()
    if request.method == "POST":
        formset = TouchpointFormSet(request.POST, queryset=queryset, prefix="tp")
        if formset.is_valid():
            with transaction.atomic():
                formset.save()
            messages.success(request, _("The journey's touchpoints were saved."))
            return redirect("dashboards:journey")
    else:
        formset = TouchpointFormSet(queryset=queryset, prefix="tp")
    context = {"formset": formset, "active_nav": "insights", "insight_nav": insight_navigation(),
               "page": {"key": "journey"}}  # fmt: skip
    return render(request, "dashboards/journey_edit.html", context)
