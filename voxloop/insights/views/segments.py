"""Customer segments: counts per segment and value tier, a segment's customers (paged, exportable), and two
manager actions: open recovery cases for a segment, recompute the segments now."""

from __future__ import annotations

import math
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from voxloop.accounts.http import AuthenticatedRequest
from voxloop.accounts.permissions import Capability, has
from voxloop.cases import recovery
from voxloop.feedback.models import CustomerSegment
from voxloop.insights import segmentation
from voxloop.insights import segments as read
from voxloop.insights.pages import InsightPage, insights_view, respond
from voxloop.insights.tasks import assign_segments_task
from voxloop.metrics import exports
from voxloop.stats.segments import ValueTier


def may_act(user: Any) -> bool:
    """Opening cases in bulk and recomputing are for managers and admins; analysts and viewers only look."""
    return has(user, Capability.ACT_ON_SEGMENTS)


def _segment(code: str) -> str:
    if code not in CustomerSegment.values:
        raise Http404
    return code


@insights_view
def segments(request: HttpRequest) -> HttpResponse:
    data = read.overview()
    page = InsightPage(
        key="segments",
        title=_("Customer segments"),
        intro=_(
            "Every customer is placed in one segment from their value (lifetime value and orders) and their "
            "complaint history. Start with high-risk recovery: valuable customers who are unhappy right now."
        ),
        charts=[read.segment_chart(data), read.tier_chart(data)],
        template="dashboards/segments.html",
        show_filters=False,
        context={
            "overview": data,
            "descriptions": [
                (code, read.segment_label(code), read.segment_descriptions()[code], data.counts[code])
                for code in read.SEGMENT_ORDER
            ],
            "may_act": may_act(request.user),
            "tier_orders": _tier_orders(data),
        },
    )
    return respond(request, page)


def _tier_orders(data: read.Overview) -> dict[str, int]:
    """Order counts are whole numbers: "at least 6.2 orders" reads better as "at least 7"."""
    t, summary = data.thresholds, data.summary or {}
    if t is None:
        return {}
    return {
        "high_min": max(1, math.ceil(t.high_orders)),  # the rule also wants more than none
        "low_max": math.ceil(t.low_orders) - 1,  # fewer than 2.4 (or than 3): at most 2
        "high_share": round(100 * (1 - summary.get("high_quantile", segmentation.HIGH_QUANTILE))),
        "low_share": round(100 * summary.get("low_quantile", segmentation.LOW_QUANTILE)),
    }


@insights_view
def segment_customers(request: AuthenticatedRequest, segment: str) -> HttpResponse:
    segment = _segment(segment)
    data = read.overview()
    tier = request.GET.get("tier", "")
    if tier not in {t.value for t in ValueTier} or data.thresholds is None:
        tier = ""
    fmt = request.GET.get("export")
    if fmt:
        return _export(request, segment, tier, data, fmt)
    listing, rows = read.customer_page(
        segment, request.user, tier=tier, page=request.GET.get("page", 1), thresholds=data.thresholds
    )
    page = InsightPage(
        key="segments",
        title=_("%(segment)s: customers") % {"segment": read.segment_label(segment)},
        intro=read.segment_descriptions()[segment],
        template="dashboards/segments_list.html",
        show_filters=False,
        context={
            "segment": segment,
            "segment_name": read.segment_label(segment),
            "tier": tier,
            "tier_name": read.tier_labels().get(tier, ""),
            "tiers": [(t.value, read.tier_labels()[t]) for t in read.TIER_ORDER] if data.thresholds else [],
            "listing": listing,
            "rows": rows,
            "tier_names": read.tier_labels(),
            "overview": data,
            "may_act": may_act(request.user),
            "preview": recovery.recovery_preview(segment) if may_act(request.user) else None,
        },
    )
    return respond(request, page)


def _export(request: AuthenticatedRequest, segment: str, tier: str, data: read.Overview, fmt: str) -> HttpResponse:
    if fmt not in {"csv", "xlsx"}:
        return HttpResponse(_("Export as csv or xlsx."), status=400, content_type="text/plain; charset=utf-8")
    rows, ids = read.export_rows(
        segment, request.user, tier=tier, thresholds=data.thresholds, base_url=request.build_absolute_uri("/")[:-1]
    )
    read.record_export(request.user, ids, request)  # personal data: every exported customer is in the audit log
    header = read.export_header()
    name = f"voxloop-segment-{slugify(segment)}{'-' + tier if tier else ''}"
    if fmt == "xlsx":
        title = str(CustomerSegment(segment).label) if segment in CustomerSegment.values else segment
        body = exports.to_xlsx(header, rows, title)
        response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(exports.to_csv(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@insights_view
@require_POST
def open_recovery_cases(request: AuthenticatedRequest, segment: str) -> HttpResponse:
    """The confirmed bulk action (the confirmation is the form on the segment's list, which shows what it will
    do): one case per customer without an open one."""
    segment = _segment(segment)
    if not may_act(request.user):
        raise PermissionDenied
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the confirmation box to open the cases."))
        return redirect("dashboards:segment_customers", segment=segment)
    result = recovery.open_recovery_cases(segment, request.user)
    messages.success(request, _("Opened %(n)s recovery cases.") % {"n": len(result.opened)})
    for code, n in result.skipped.items():
        if code in recovery.SKIP_LABELS:
            reason = recovery.SKIP_LABELS[code]
            messages.info(request, _("Skipped %(n)s customers who %(reason)s.") % {"n": n, "reason": reason})
        else:  # a case could not be opened: the case service's own reason (one example)
            text = _("Skipped %(n)s customers: %(reason)s") % {"n": n, "reason": result.messages.get(code, code)}
            messages.warning(request, text)
    if result.stopped:
        messages.error(request, result.stopped)
    if result.remaining:
        messages.warning(
            request,
            _("%(n)s customers still need a case: run the action again to open the next ones.")
            % {"n": result.remaining},
        )
    return redirect("dashboards:segment_customers", segment=segment)


@insights_view
@require_POST
def recompute(request: HttpRequest) -> HttpResponse:
    if not may_act(request.user):
        raise PermissionDenied
    assign_segments_task.delay()
    messages.success(
        request, _("Recomputing the segments. With many customers this takes a minute; reload the page to see it.")
    )
    return redirect("dashboards:segments")
