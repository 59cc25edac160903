"""Read side of the actions pages and API: the list with its tabs and filters (overdue first), and the effect
chart's ECharts option."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from voxloop.accounts.models import Department, User
from voxloop.actions.models import DUE_STATUSES, OPEN_STATUSES, ActionStatus, ImprovementAction
from voxloop.analysis.models import Topic
from voxloop.core.annotations import Annotation, Responsibility
from voxloop.feedback.models import Channel, Product

TABS = ("mine", "department", "all")
# Short in the top bar, which must hold every daily page on one line at 1280 px; pages say it in full.
NAV_LABEL = pgettext_lazy("top bar", "Actions")


def actions_for(
    user: User, tab: str, today: date, *, status: str = "", department: str = "", action_type: str = "", q: str = ""
) -> QuerySet[ImprovementAction]:
    """The list: "mine" (owned or collaborating), "department" (the departments of my teams and those I manage),
    or all; overdue ones first, then by due date."""
    qs = ImprovementAction.objects.select_related("department", "owner")
    if tab == "mine":
        qs = qs.filter(Q(owner=user) | Q(collaborators=user)).distinct()
    elif tab == "department":
        qs = qs.filter(Q(department__manager=user) | Q(department__teams__members=user)).distinct()
    if status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        qs = qs.exclude(status__in=OPEN_STATUSES)
    elif status and status != "all":
        qs = qs.filter(status=status)
    if department.isdigit():
        qs = qs.filter(department_id=int(department))
    if action_type:
        qs = qs.filter(action_type=action_type)
    if q:
        qs = qs.filter(title__icontains=q)
    overdue = Case(
        When(status__in=DUE_STATUSES, due_date__lt=today, then=Value(True)), default=Value(False),
        output_field=BooleanField(),
    )  # fmt: skip
    return qs.annotate(overdue=overdue).order_by("-overdue", "due_date", "id")


def department_summary(user: User, today: date) -> list[dict[str, Any]]:
    """For the "My department's" tab: per department I manage or belong to, its open and overdue actions and the
    outcomes of the closed ones (effective, not effective). One grouped query."""
    mine = Q(manager=user) | Q(teams__members=user)
    departments = {d.pk: d for d in Department.objects.filter(mine).distinct()}
    if not departments:
        return []
    overdue = Q(status__in=DUE_STATUSES, due_date__lt=today)
    rows = (
        ImprovementAction.objects.filter(department_id__in=list(departments))
        .values("department_id")
        .annotate(
            open=Count("id", filter=Q(status__in=OPEN_STATUSES)), overdue=Count("id", filter=overdue),
            effective=Count("id", filter=Q(status=ActionStatus.CLOSED_EFFECTIVE)),
            not_effective=Count("id", filter=Q(status=ActionStatus.CLOSED_NOT_EFFECTIVE)),
        )
        .order_by()
    )  # fmt: skip
    keys = ("open", "overdue", "effective", "not_effective")
    counts: dict[int, dict[str, int]] = {
        row["department_id"]: {"open": row["open"], "overdue": row["overdue"], "effective": row["effective"],
                               "not_effective": row["not_effective"]}
        for row in rows
    }  # fmt: skip
    return [
        {"department": d, **counts.get(pk, dict.fromkeys(keys, 0))}
        for pk, d in sorted(departments.items(), key=lambda item: item[1].name)
    ]


def effect_chart(report: dict[str, Any]) -> dict[str, Any]:
    """The series, the intervention line and the counterfactual band (the pre-trend carried on, 95%)."""
    series = report.get("series") or {}
    days = series.get("days", [])
    low = series.get("counterfactual_low", [])
    high = series.get("counterfactual_high", [])
    band_base = [v if v is not None else None for v in low]
    band_width = [None if a is None or b is None else round(b - a, 4) for a, b in zip(low, high, strict=False)]
    intervention = series.get("intervention")
    observed_name = _("Complaints per 1,000 feedback items")
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0, "data": [observed_name, _("Expected without the action"),
                                                         _("Rest of the business")]},
        "grid": {"left": 44, "right": 16, "top": 56, "bottom": 64, "containLabel": False},
        "xAxis": {"type": "category", "data": days},
        "yAxis": {"type": "value", "name": "‰", "min": 0},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 18}],
        "series": [
            {"name": observed_name, "type": "line", "data": series.get("observed", []), "showSymbol": False,
             "lineStyle": {"width": 1.5}, "connectNulls": False,
             "markLine": {"symbol": "none", "label": {"formatter": _("Implemented")},
                          "lineStyle": {"type": "dashed", "color": "#c0392b"},
                          "data": [{"xAxis": intervention}] if intervention else []}},
            {"name": _("Expected without the action"), "type": "line", "data": series.get("counterfactual", []),
             "showSymbol": False, "lineStyle": {"type": "dashed", "color": "#555"}},
            {"name": "band-base", "type": "line", "data": band_base, "stack": "band", "showSymbol": False,
             "lineStyle": {"opacity": 0}, "tooltip": {"show": False}},
            {"name": _("95% band"), "type": "line", "data": band_width, "stack": "band", "showSymbol": False,
             "lineStyle": {"opacity": 0}, "areaStyle": {"color": "rgba(85,85,85,0.18)"}},
            {"name": _("Rest of the business"), "type": "line", "data": series.get("control", []), "showSymbol": False,
             "lineStyle": {"width": 1, "color": "#9ab"}},
        ],
    }  # fmt: skip


def scope_labels(action: ImprovementAction, language: str) -> dict[str, list[str]]:
    """The scope in words: taxonomy names, product names and channel labels instead of codes."""
    names = {t.code: t.display_name(language) or t.code for t in Topic.objects.filter(code__in=action.topics)}
    ids = [int(p) for p in action.products if str(p).isdigit()]
    products = {str(p.pk): p.display_name(language) for p in Product.objects.filter(pk__in=ids)}
    channels = dict(Channel.choices)
    return {
        "topics": [names.get(code, code) for code in action.topics],
        "products": [products.get(str(pk), str(pk)) for pk in action.products],
        "channels": [str(channels.get(code, code)) for code in action.channels],
    }


# The customer-level outcomes in words; the unit says how each value is written.
OUTCOME_LABELS = {
    "complaints_per_1000": (pgettext_lazy("outcome metric", "Complaints per 1,000 feedback items"), "per1000"),
    "complaints_per_1000_orders": (pgettext_lazy("outcome metric", "Complaints per 1,000 orders"), "per1000"),
    "negative_share": (pgettext_lazy("outcome metric", "Negative share"), "share"),
    "repeat_rate": (pgettext_lazy("outcome metric", "Repeat complaints"), "share"),
    "nps": (pgettext_lazy("outcome metric", "NPS of the affected customers"), "points"),
    "csat": (pgettext_lazy("outcome metric", "CSAT of the affected customers (4–5 of 5)"), "share"),
}
SMALL_N = 30  # below this many answers, items or orders a value is flagged as uncertain, never hidden


def _written(value: float | None, unit: str, signed: bool = False) -> str:
    if value is None:
        return "–"
    sign = "+" if signed else ""
    if unit == "share":
        return f"{value * 100:{sign}.1f}%"
    return f"{value:{sign}.1f}"


def _metric_text(metric: dict[str, Any], unit: str) -> dict[str, Any]:
    value = metric.get("value") if metric else None
    return {
        "value": _written(value, unit),
        "interval": ""
        if value is None
        else f"{_written(metric.get('low'), unit)} – {_written(metric.get('high'), unit)}",
        "n": int(metric.get("n") or 0) if metric else 0,
        "small": value is not None and int(metric.get("n") or 0) < SMALL_N,
    }


def outcome_rows(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The before/after table of the customer-level outcomes: each value with its interval and n, the change with
    its interval, and whether it is a clear improvement (True), a clear worsening (False) or unclear (None)."""
    rows = []
    for row in outcomes:
        label, unit = OUTCOME_LABELS.get(row["metric"], (row["metric"], "per1000"))
        diff = row.get("difference")
        rows.append({
            "metric": row["metric"], "label": label,
            "before": _metric_text(row.get("before") or {}, unit), "after": _metric_text(row.get("after") or {}, unit),
            "difference": "" if not diff else f"{_written(diff['value'], unit, True)} "
                                              f"({_written(diff['low'], unit, True)} – {_written(diff['high'], unit, True)})",
            "better": row.get("better"),
        })  # fmt: skip
    return rows


def baseline_rows(baseline: dict[str, Any]) -> list[dict[str, Any]]:
    """The frozen baseline's metrics, in the same words as the before/after table."""
    rows = []
    for key, (label, unit) in OUTCOME_LABELS.items():
        if key in baseline and key != "complaints_per_1000":  # the headline line above says it already
            rows.append({"metric": key, "label": label, **_metric_text(baseline.get(key) or {}, unit)})
    return rows


def effect_table(report: dict[str, Any]) -> list[dict[str, Any]]:
    series = report.get("series") or {}
    rows = []
    keys = ("observed", "items", "complaints", "counterfactual", "counterfactual_low", "counterfactual_high", "control")
    columns = [series.get(k, []) for k in keys]
    for i, day in enumerate(series.get("days", [])):
        row = {"day": day}
        for key, column in zip(keys, columns, strict=True):
            row[key] = column[i] if i < len(column) else None
        rows.append(row)
    return rows


ANNOTATIONS_CACHE_KEY = "actions:annotations"


def action_annotations(first: date, last: date) -> list[Annotation]:
    """Actions implemented in a period (not cancelled), for the trends and Pareto charts' marks. The few rows are
    cached whole (services.forget_annotations clears them when an implementation date or status changes), so
    the insight pages pay no query for them on a warm cache."""
    rows = cache.get(ANNOTATIONS_CACHE_KEY)
    if rows is None:
        rows = list(
            ImprovementAction.objects.filter(implemented_on__isnull=False)
            .exclude(status=ActionStatus.CANCELLED)
            .values_list("pk", "title", "implemented_on", "topics")
        )
        cache.set(ANNOTATIONS_CACHE_KEY, rows, 3600)
    return [
        Annotation(day=day, label=title[:30], url=reverse("actions:detail", args=[pk]), topics=tuple(topics))
        for pk, title, day, topics in rows
        if first <= day <= last
    ]


def create_link(
    *, origin: str, title: str, topics: list[str], products: list[str], channels: list[str], segment: str, ref: str
) -> str:
    """The action form's URL with the scope in its query (what views.action_create reads)."""
    params: list[tuple[str, str]] = [("origin", origin)]
    if title:
        params.append(("title", title[:200]))
    if topics:
        params.append(("topics", ",".join(topics)))
    if products:
        params.append(("products", ",".join(products)))
    params += [("channels", c) for c in channels]
    if segment:
        params.append(("segment", segment))
    if ref:
        params.append(("ref", ref[:100]))
    return reverse("actions:create") + "?" + urlencode(params)


def responsibilities() -> list[Responsibility]:
    """Each department with the top-level topics of its improvement actions (cancelled ones and actions on all
    topics left out): what the insight pages' "responsible department" cut keeps. Two queries."""
    topics: dict[int, set[str]] = {}
    rows = ImprovementAction.objects.exclude(status=ActionStatus.CANCELLED).values_list("department_id", "topics")
    for department_id, codes in rows:
        top = {str(code).split(".")[0] for code in codes or [] if str(code).strip()}
        if top:
            topics.setdefault(department_id, set()).update(top)
    departments = Department.objects.filter(pk__in=topics).order_by("name")
    return [Responsibility(d.pk, d.label, frozenset(topics[d.pk])) for d in departments]
