"""The KPI panel (/metrics/), its exports and the drill-down lists. Thin: parsing and rendering only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from voxloop.accounts import privacy
from voxloop.accounts.models import User
from voxloop.accounts.permissions import Capability, has
from voxloop.metrics import drilldown, exports, performance, queries
from voxloop.metrics.cells import SOURCE_DIMENSIONS
from voxloop.metrics.cuts import cut_choices
from voxloop.metrics.days import local_day
from voxloop.metrics.models import Dimension, Source

if TYPE_CHECKING:  # django-stubs is a development dependency
    from django_stubs_ext import StrOrPromise

PAGE_SIZE = 50
# The breakdown's heading, whole per dimension: "By topic" reads as a sentence, and Chinese joins it without a space.
BREAKDOWN_HEADINGS: dict[str, StrOrPromise] = {
    Dimension.CHANNEL: gettext_lazy("By channel"),
    Dimension.PRODUCT: gettext_lazy("By product"),
    Dimension.TEAM: gettext_lazy("By team"),
    Dimension.AGENT: gettext_lazy("By agent"),
    Dimension.TOPIC: gettext_lazy("By topic"),
    Dimension.SEGMENT: gettext_lazy("By customer segment"),
    Dimension.LANGUAGE: gettext_lazy("By language"),
}


def _require_metrics(request: HttpRequest) -> None:
    user = request.user
    if not has(user, Capability.READ_METRICS):
        raise PermissionDenied


def _base_params(request: HttpRequest) -> dict[str, str]:
    keep = ("period", "start", "end", "cut", "value", "root_cause")
    return {k: request.GET[k] for k in keep if request.GET.get(k)}


def _drill_url(kind: str, params: dict[str, str], kpi: str, **extra: str) -> str:
    return reverse(f"metrics:drill_{kind}") + "?" + urlencode({**params, "kpi": kpi, **extra})


def _error_page(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "metrics/error.html", {"message": message, "active_nav": "metrics"}, status=400)


def _cut_values(language: str, cut: queries.Cut) -> list[tuple[str, Any, list[tuple[str, str]]]]:
    """(dimension, its name, its values) for the panel's value list: teams and agents by name, not by id."""
    choices = cut_choices(language, (cut.dimension, cut.value))
    return [(d, label, choices.get(d, [])) for d, label in Dimension.choices if d]


@login_required
def panel(request: HttpRequest) -> HttpResponse:
    _require_metrics(request)
    today = local_day(timezone.now())
    language = get_language() or ""
    try:
        period, cut = queries.parse_panel_params(request.GET, today)
        by = request.GET.get("by") or "topic"
        queries.Cut(by).validate()
        if not by:
            raise queries.PeriodError(_("Choose a dimension to break down by."))
        result = queries.kpi_panel(period, cut)
        rows = queries.breakdown(period, by, language)
    except queries.PeriodError as exc:
        return _error_page(request, str(exc))
    params = _base_params(request)
    cards = []
    for card in result.cards:
        cards.append({
            "card": card,
            "drill": _drill_url(card.definition.drill, params, card.definition.key),
            "previous_drill": _drill_url(card.definition.drill, {**params, "period": "custom",
                                         "start": period.previous.start.isoformat(),
                                         "end": period.previous.end.isoformat()}, card.definition.key),
            "table": list(zip(result.days, card.series, card.series_n, strict=True)),
        })  # fmt: skip
    chart_data = {
        "days": [d.isoformat() for d in result.days],
        "series": {c.definition.key: {"label": str(c.definition.label), "unit": c.definition.unit,
                                      "values": c.series, "n": c.series_n} for c in result.cards},
    }  # fmt: skip
    cut_values = queries.value_labels(cut.dimension, [cut.value], language) if cut.dimension else {}
    breakdown_rows = [
        {
            "row": row,
            "cut_url": reverse("metrics:panel") + "?" + urlencode({**params, "cut": by, "value": row.value}),
            "cells": [(v.value, queries.KPI_BY_KEY[k].unit, v.n) for k, v in row.kpis.items()],
        }
        for row in rows
    ]
    context: dict[str, Any] = {
        "active_nav": "metrics",
        "panel": result,
        "period": period,
        "cards": cards,
        "chart_data": chart_data,
        "params": params,
        "period_choice": request.GET.get("period") or "30",
        "dimensions": [(d, label) for d, label in Dimension.choices if d],
        "cut_values": _cut_values(language, cut),
        "cut_label": cut_values.get(cut.value, cut.value),
        "by": by,
        "breakdown": breakdown_rows,
        "breakdown_keys": list(rows[0].kpis) if rows else [],
        # Breakdown columns include KPIs shown only there (handle time, mean first response): all have names.
        "kpi_labels": {key: k.label for key, k in queries.KPI_BY_KEY.items()},
        "by_label": dict(Dimension.choices).get(by, by),
        "breakdown_heading": BREAKDOWN_HEADINGS.get(by, gettext_lazy("Breakdown")),
        "cut_dimension_label": dict(Dimension.choices).get(cut.dimension, cut.dimension),
        "unavailable": [Source(s).label for s in result.unavailable_sources],
        "export_query": urlencode({**params, "by": by}),
        "responses_drill": _drill_url("responses", params, "csat"),
        "drill_feedback_sources": SOURCE_DIMENSIONS[Source.FEEDBACK],
    }
    return render(request, "metrics/panel.html", context)


EXPORT_TITLES = {
    "kpis": gettext_lazy("Metrics"),
    "daily": gettext_lazy("Day by day"),
    "breakdown": gettext_lazy("Breakdown"),
    "csat_dimensions": gettext_lazy("CSAT by sub-dimension"),
    "repurchase": gettext_lazy("Repurchase"),
}


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """/metrics/export.csv|xlsx?table=kpis|daily|breakdown|csat_dimensions|repurchase&<the panel's filters>"""
    _require_metrics(request)
    if fmt not in {"csv", "xlsx"}:
        return HttpResponse(_("Export as csv or xlsx, not %(fmt)s.") % {"fmt": fmt}, status=400,
                            content_type="text/plain; charset=utf-8")  # fmt: skip
    today = local_day(timezone.now())
    table = request.GET.get("table") or "kpis"
    try:
        period, cut = queries.parse_panel_params(request.GET, today)
        result = queries.kpi_panel(period, cut)
        header, rows = exports.table_for_people(table, result, dimension=request.GET.get("by") or "topic",
                                                key=request.GET.get("kpi") or None,
                                                language=get_language() or "")  # fmt: skip
    except (queries.PeriodError, exports.ExportError) as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    name = f"voxloop-{table}-{period.start}-{period.end}"
    if fmt == "xlsx":
        body = exports.to_xlsx(header, rows, str(EXPORT_TITLES.get(table, table)))
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = exports.to_csv(header, rows)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _drill(request: HttpRequest, kind: str) -> HttpResponse:
    _require_metrics(request)
    today = local_day(timezone.now())
    kpi = request.GET.get("kpi", "")
    try:
        period, cut = queries.parse_panel_params(request.GET, today)
        if kind == "cases":
            rows = drilldown.drill_cases(period, cut, kpi, root_cause=request.GET.get("root_cause", "").strip())
        else:
            rows = {"responses": drilldown.drill_responses, "feedback": drilldown.drill_feedback}[kind](
                period, cut, kpi
            )
    except queries.PeriodError as exc:
        return _error_page(request, str(exc))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    if kind in ("feedback", "responses") and page.object_list:
        # Feedback texts and survey comments are shown as written to roles that may see personal data: audited.
        shown = list(page.object_list)
        privacy.record_shown(
            request.user, type(shown[0]), [(o.pk, getattr(o, "customer_id", None)) for o in shown], request=request
        )
    definition = queries.KPI_BY_KEY.get(kpi)
    params = _base_params(request)
    context = {
        "active_nav": "metrics",
        "kind": kind,
        "page": page,
        "period": period,
        "cut": cut,
        "cut_label": queries.value_labels(cut.dimension, [cut.value], get_language() or "").get(cut.value, cut.value)
        if cut.dimension
        else "",
        "definition": definition,
        "root_cause": params.get("root_cause", "") if kind == "cases" else "",
        "back": reverse("metrics:panel") + "?" + urlencode(params),
        "page_query": urlencode({**params, "kpi": kpi}),
    }
    return render(request, f"metrics/drill_{kind}.html", context)


@login_required
def drill_cases(request: HttpRequest) -> HttpResponse:
    return _drill(request, "cases")


@login_required
def drill_responses(request: HttpRequest) -> HttpResponse:
    return _drill(request, "responses")


@login_required
def drill_feedback(request: HttpRequest) -> HttpResponse:
    return _drill(request, "feedback")


@login_required
def my_performance(request: HttpRequest) -> HttpResponse:
    """Every staff member's own numbers against their team's median. Agents may open it (the panel compares
    people and stays closed to them); it only ever shows the signed-in user's own values."""
    user = cast(User, request.user)  # login_required: never the anonymous user
    if not (user.is_superuser or getattr(user, "role", "") in performance.STAFF_ROLES):
        raise PermissionDenied
    raw = request.GET.get("days", "30")
    days = int(raw) if raw.isdigit() and int(raw) in performance.PERIODS else 0
    if not days:
        allowed = ", ".join(str(d) for d in performance.PERIODS)
        return _error_page(request, _("Choose a period of %(allowed)s days.") % {"allowed": allowed})
    rows = performance.performance(user, days, local_day(timezone.now()))
    context = {
        "rows": rows,
        "days": days,
        "periods": performance.PERIODS,
        "team_size": len(performance.team_members(user)),
        "active_nav": "cases",
    }
    return render(request, "metrics/my_performance.html", context)
