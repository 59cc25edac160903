"""Early-warning pages: the alert list (with alerts per day), one alert (its series and expected band, examples,
acknowledge), and the reader's own subscriptions. Views only translate between HTTP and queries/services."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from voxloop.accounts.http import AuthenticatedRequest
from voxloop.alerts import queries, services
from voxloop.alerts.forms import AcknowledgeForm, SubscriptionForm
from voxloop.alerts.models import Alert, AlertMetric, AlertStatus, Severity
from voxloop.insights.pages import Chart, InsightPage, Table, filters_from, insights_view, respond, today


def _language() -> str:
    return get_language() or ""


@insights_view
def alert_list(request: HttpRequest) -> HttpResponse:
    filters = filters_from(request, default_period="90")
    tab = request.GET.get("status") or "open"
    if tab not in queries.TABS:
        tab = "open"
    in_period = queries.alerts_in(filters.period, filters.cut.dimension, filters.cut.value)
    rows = queries.alert_rows(queries.tab_filter(in_period, tab), _language())
    per_day = queries.per_day(in_period, filters.period)
    chart = _per_day_chart(per_day, filters.params())
    base = {**filters.params()}
    tabs = [
        (key, label, "?" + urlencode({**base, "status": key}))
        for key, label in (
            ("open", AlertStatus.OPEN.label),
            ("acknowledged", AlertStatus.ACKNOWLEDGED.label),
            ("all", _("All")),
        )
    ]
    page = InsightPage(
        key="alerts",
        title=_("Early warning"),
        intro=_(
            "Unusual rises in feedback volume, negative share and NPS drops, per topic, product and channel, "
            "found by comparing each day with the same weekday of the previous weeks."
        ),
        charts=[chart],
        template="alerts/list.html",
        context={
            "rows": rows,
            "tab": tab,
            "tabs": tabs,
            "tab_counts": queries.tab_counts(in_period),
            "extra_params": [("status", tab)],
            "limit": queries.LIST_LIMIT,
            "cut_unsupported": bool(filters.cut.dimension)
            and filters.cut.dimension not in ("topic", "product", "channel"),
        },  # fmt: skip
    )
    return respond(request, page, filters)


def _per_day_chart(per_day: dict[date, dict[str, int]], params: dict[str, str]) -> Chart:
    days = list(per_day)
    labels = {s: str(Severity(s).label) for s in Severity.values}

    def day_link(day: Any) -> str:
        query = {k: v for k, v in params.items() if k not in ("period", "start", "end")}
        query.update(period="custom", start=day.isoformat(), end=day.isoformat(), status="all")
        return reverse("alerts:list") + "?" + urlencode(query)

    series = [
        {
            "name": labels[severity],
            "type": "bar",
            "stack": "alerts",
            "itemStyle": {"color": queries.SEVERITY_COLOURS[severity]},
            "data": [{"value": per_day[d][severity], "url": day_link(d)} if per_day[d][severity] else 0 for d in days],
        }
        for severity in Severity.values
    ]
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [labels[s] for s in Severity.values], "top": 0},
        "grid": {"left": 40, "right": 20, "bottom": 40, "top": 40},
        "xAxis": {"type": "category", "data": [d.isoformat() for d in days]},
        "yAxis": {"type": "value", "minInterval": 1, "name": _("alerts")},
        "series": series,
    }
    rows = [[d.isoformat(), *[per_day[d][s] for s in Severity.values]] for d in days if sum(per_day[d].values())]
    links: list[str | None] = [day_link(d) for d in days if sum(per_day[d].values())]
    return Chart(
        key="alerts_per_day",
        title=_("New alerts per day by severity"),
        option=option,
        table=Table([_("Day"), *[labels[s] for s in Severity.values]], rows, links),
        note=_("Click a bar to list that day's alerts."),
        height=260,
    )


@insights_view
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert.objects.select_related("acknowledged_by"), pk=pk)
    can_acknowledge = services.may_acknowledge(request.user)
    form = AcknowledgeForm(request.POST or None, initial={"note": alert.acknowledgement_note})
    if request.method == "POST":
        if not can_acknowledge:
            raise PermissionDenied
        if form.is_valid():
            services.acknowledge(alert, request.user, form.cleaned_data["note"])
            messages.success(request, _("Alert acknowledged. Subscribers will not be notified about it again."))
            return redirect("alerts:detail", pk=alert.pk)
        # invalid: re-rendered below with the errors, status 200
    language = _language()
    label = queries.relabel([alert], language).get(alert.pk)
    text = queries.describe(alert, language, label)
    view = queries.series_view(alert, today())
    page = InsightPage(
        key="alerts",
        title=text["what"],
        charts=[_series_chart(alert, view, text)],
        template="alerts/detail.html",
        show_filters=False,
        context={
            "alert": alert,
            "text": text,
            "examples": queries.examples(alert),
            "feedback_url": queries.alert_feedback_url(alert),
            "form": form,
            "can_acknowledge": can_acknowledge,
            "is_rate": alert.metric == AlertMetric.RATE,
            "is_closed": alert.status == AlertStatus.CLOSED,
        },
    )
    return respond(request, page)


def _series_chart(alert: Alert, view: queries.SeriesView, text: dict[str, str]) -> Chart:
    days = [d.isoformat() for d in view.days]
    link: list[str | None] = [
        queries.feedback_link(alert.metric, alert.dimension, alert.value, d, d) for d in view.days
    ]
    unit = {"count": _("items"), "percent": _("% negative"), "nps": _("NPS")}[view.scale]
    observed_name, expected_name, band_name = _("Observed"), _("Expected"), _("Usual range")
    if view.scale == "percent":
        observed_name = _("Negative share, last %(days)s days") % {"days": services.RATE_PARAMS.window}
    band = [
        None if lo is None or hi is None else round(hi - lo, 2) for lo, hi in zip(view.lower, view.upper, strict=True)
    ]
    marked = [
        {"value": [days[i], view.observed[i]], "url": link[i]}
        for i in range(len(days))
        if view.anomalous[i] and view.observed[i] is not None
    ]
    in_alert = [i for i, flag in enumerate(view.in_alert) if flag]
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [observed_name, expected_name, band_name, _("Anomalous day")], "top": 0},
        "grid": {"left": 50, "right": 20, "bottom": 40, "top": 40},
        "xAxis": {"type": "category", "data": days, "boundaryGap": False},
        "yAxis": {"type": "value", "name": unit, "scale": view.scale == "nps"},
        "series": [
            {"name": band_name, "type": "line", "stack": "band", "data": view.lower, "symbol": "none",
             "lineStyle": {"opacity": 0}, "tooltip": {"show": False}, "legendHoverLink": False},
            {"name": band_name, "type": "line", "stack": "band", "data": band, "symbol": "none",
             "lineStyle": {"opacity": 0}, "areaStyle": {"color": "rgba(64,158,255,0.15)"}, "itemStyle": {"color": "rgba(64,158,255,0.35)"}},
            {"name": expected_name, "type": "line", "data": view.expected, "symbol": "none",
             "lineStyle": {"type": "dashed", "color": "#409eff"}, "itemStyle": {"color": "#409eff"}},
            {"name": observed_name, "type": "line", "symbolSize": 5, "itemStyle": {"color": "#303133"},
             "data": [{"value": v, "url": link[i]} if v is not None else None for i, v in enumerate(view.observed)],
             "markArea": {"itemStyle": {"color": "rgba(245,108,108,0.10)"},
                          "data": [[{"xAxis": days[in_alert[0]]}, {"xAxis": days[in_alert[-1]]}]] if in_alert else []}},
            {"name": _("Anomalous day"), "type": "scatter", "symbolSize": 12, "data": marked,
             "itemStyle": {"color": queries.SEVERITY_COLOURS[Severity(alert.severity)]}},
        ],
    }  # fmt: skip
    rows = [
        [days[i], view.observed[i], view.expected[i], view.lower[i], view.upper[i],
         1 if view.anomalous[i] else 0]
        for i in range(len(days))
    ]  # fmt: skip
    return Chart(
        key="series",
        title=_("%(what)s: observed and expected") % {"what": text["what"]},
        option=option,
        table=Table(
            [
                _("Day"),
                _("Observed"),
                _("Expected"),
                _("Usual range from"),
                _("Usual range to"),
                _("Anomalous (1 = yes)"),
            ],
            rows,
            link,
        ),  # fmt: skip
        note=_(
            "The shaded band is the usual range (expected ± 2 standard deviations); the red area is the alert. "
            "Click a point to read that day's feedback."
        ),  # fmt: skip
        height=360,
    )


@insights_view
def subscriptions(request: AuthenticatedRequest) -> HttpResponse:
    language = _language()
    form = SubscriptionForm(request.POST or None, language=language)
    if request.method == "POST":
        if "unsubscribe" in request.POST:
            try:
                pk = int(request.POST["unsubscribe"])
            except ValueError:
                pk = 0
            if services.unsubscribe(request.user, pk):
                messages.success(request, _("Unsubscribed."))
            return redirect("alerts:subscriptions")
        if form.is_valid():
            dimension, value = form.scope_parts()
            services.subscribe(request.user, min_severity=form.cleaned_data["min_severity"], dimension=dimension,
                               value=value, email=form.cleaned_data["email"])  # fmt: skip
            messages.success(request, _("Subscribed. New alerts that match will be emailed to you."))
            return redirect("alerts:subscriptions")
    mine = list(request.user.alert_subscriptions.all())
    scope_names = {value: label for _group, options in form.scope_choices()[1:] for value, label in options}
    rows = [
        {"subscription": s, "scope": scope_names.get(f"{s.dimension}:{s.value}", f"{s.dimension}:{s.value}")
         if s.dimension else _("Every alert"), "severity": Severity(s.min_severity).label}
        for s in mine
    ]  # fmt: skip
    page = InsightPage(
        key="alerts",
        title=_("My alert subscriptions"),
        template="alerts/subscriptions.html",
        show_filters=False,
        context={"form": form, "rows": rows, "has_email": bool(request.user.email)},
    )
    return respond(request, page)
