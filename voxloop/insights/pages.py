"""What every insight page is made of, so the pages differ only in what they compute.

A page is a list of charts; each chart is an ECharts option built on the server plus the table of the same
numbers (one click away under the chart, and exported as CSV or Excel with ``?export=csv|xlsx&chart=<key>``).
Any data item of a chart may be an object with a ``url``: clicking that bar, point or cell opens the feedback
or cases behind it (static/dashboards/charts.js). Views stay thin: parse filters, call a read model, build an
:class:`InsightPage`, return :func:`respond`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from voxloop.accounts.models import Team
from voxloop.accounts.permissions import Capability, has
from voxloop.analysis.models import Topic
from voxloop.core.annotations import responsibilities
from voxloop.feedback.models import AnalysedLanguage, Channel, CustomerSegment, Product
from voxloop.insights.filters import FILTER_DIMENSIONS, PERIOD_CHOICES, InsightFilters, parse_filters
from voxloop.metrics import exports
from voxloop.metrics.days import local_day
from voxloop.metrics.models import Dimension
from voxloop.metrics.queries import PeriodError, value_labels

NAV_LABEL = gettext_lazy("Insights")
# The insight pages in menu order: (url name, label, key). A page whose URL is not installed is left out.
INSIGHT_PAGES: tuple[tuple[str, Any, str], ...] = (
    ("dashboards:overview", gettext_lazy("Overview"), "overview"),
    ("dashboards:trends", gettext_lazy("Trends"), "trends"),
    ("alerts:list", gettext_lazy("Early warning"), "alerts"),
    ("dashboards:root_causes", gettext_lazy("Root causes"), "root_causes"),
    ("dashboards:drivers", gettext_lazy("Drivers"), "drivers"),
    ("dashboards:emerging", gettext_lazy("Emerging topics"), "emerging"),
    ("dashboards:journey", gettext_lazy("Journey map"), "journey"),
    ("dashboards:segments", gettext_lazy("Customer segments"), "segments"),
    ("dashboards:emotions", gettext_lazy("Emotions and needs"), "emotions"),
    ("dashboards:analysis_quality", gettext_lazy("Analysis quality"), "quality"),
)


@dataclass
class Table:
    header: list[str]
    rows: list[list[Any]]
    links: Sequence[str | None] = field(default_factory=list)  # per row: where its first cell leads (or None)

    def linked_rows(self) -> list[tuple[list[Any], str | None]]:
        links = [*self.links, *[None] * (len(self.rows) - len(self.links))]
        return list(zip(self.rows, links, strict=False))

    def body_html(self) -> str:
        """The <tbody> rows, escaped. Built here rather than in template loops: a trends table has thousands of
        cells, and Django's template engine spends milliseconds per hundred of them."""
        parts = []
        for row, link in self.linked_rows():
            cells = []
            for i, cell in enumerate(row):
                text = _cell_text(cell)
                if i == 0 and link:
                    cells.append(f'<td><a href="{escape(link)}">{text}</a></td>')
                else:
                    cells.append(f"<td>{text}</td>")
            parts.append("<tr>" + "".join(cells) + "</tr>")
        return mark_safe("\n".join(parts))  # noqa: S308 -- every cell and link went through escape()


def _cell_text(cell: Any) -> str:
    """A table cell as {{ cell }} would show it (escaped, numbers localised), with a fast path for the ints that
    make up most cells."""
    if cell is None:
        return "–"
    if type(cell) is int:
        return str(cell) if not settings.USE_THOUSAND_SEPARATOR else escape(localize(cell))
    return escape(localize(cell))


@dataclass
class Chart:
    key: str  # unique on the page; the export and PNG file names use it
    title: str
    option: dict[str, Any]  # an ECharts option: plain JSON only (no functions), strings already translated
    table: Table
    note: str = ""
    height: int = 320


@dataclass
class InsightPage:
    key: str  # one of INSIGHT_PAGES' keys: marks the active tab
    title: str
    charts: list[Chart] = field(default_factory=list)
    intro: str = ""
    template: str = "dashboards/page.html"
    context: dict[str, Any] = field(default_factory=dict)  # more for a page's own template
    show_filters: bool = True
    # Small charts a page's own template lays out itself (KPI cards with sparklines): drawn and exported like
    # the charts, but not in the main grid. The template renders each with data-insight-chart="<key>".
    cards: list[Chart] = field(default_factory=list)

    def all_charts(self) -> list[Chart]:
        return [*self.cards, *self.charts]


def insight_navigation() -> list[dict[str, Any]]:
    items = []
    for url_name, label, key in INSIGHT_PAGES:
        try:
            items.append({"url": reverse(url_name), "label": label, "key": key})
        except NoReverseMatch:
            continue
    return items


def may_see_insights(user: Any) -> bool:
    return has(user, Capability.READ_METRICS)


def insights_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed in, with an insights role (admin, manager, analyst, viewer); a bad filter becomes a message on
    the page (status 400) instead of an error page."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_see_insights(request.user):
            raise PermissionDenied
        try:
            return view(request, *args, **kwargs)
        except PeriodError as exc:
            return render(request, "dashboards/error.html", {
                "message": str(exc), "active_nav": "insights", "insight_nav": insight_navigation(),
            }, status=400)  # fmt: skip

    return wrapped


def today() -> date:
    return local_day(timezone.now())


def filters_from(request: HttpRequest, default_period: str = "90") -> InsightFilters:
    return parse_filters(request.GET, today(), default_period)


def filter_options(language: str) -> list[dict[str, Any]]:
    """The filter bar's selects: each dimension with its values and labels."""
    english = language.startswith("en")
    values: dict[str, list[tuple[str, str]]] = {
        "channel": [(c, str(label)) for c, label in Channel.choices],
        "product": [(str(p.pk), p.display_name(language)) for p in Product.objects.order_by("code")[:500]],
        "team": [(str(t.pk), t.name_en if english and t.name_en else t.name) for t in Team.objects.order_by("name")],
        "topic": [(t.code, (t.name_en if english else t.name_zh) or t.code)
                  for t in Topic.objects.filter(parent__isnull=True, is_active=True).order_by("sort_order", "code")],
        "segment": [(c, str(label)) for c, label in CustomerSegment.choices],
        "language": [(c, str(label)) for c, label in AnalysedLanguage.choices],
    }  # fmt: skip
    labels = dict(Dimension.choices)
    return [{"name": d, "label": labels[d], "choices": values[d]} for d in FILTER_DIMENSIONS]


def cut_label(filters: InsightFilters, language: str) -> str:
    if not filters.cut.dimension:
        return ""
    return value_labels(filters.cut.dimension, [filters.cut.value], language).get(filters.cut.value, filters.cut.value)


# --- drill-down links ---------------------------------------------------------------------------------------

# The feedback inbox's parameter for each cut (team has none: feedback has no team; its drill goes to cases).
FEEDBACK_PARAM = {"channel": "channel", "product": "product_id", "topic": "topic", "segment": "segment",
                  "language": "language"}  # fmt: skip


def feedback_url(filters: InsightFilters | None = None, *, start: date | None = None, end: date | None = None,
                 **params: Any) -> str:  # fmt: skip
    """The feedback inbox filtered to the items behind a number: the page's period (or ``start``..``end``)
    and cut, plus ``params`` (topic=, sentiment=, kind=, channel=, product_id=, q=, ...; a value of None
    drops that filter)."""
    query: dict[str, Any] = {}
    if filters is not None:
        query["date_from"] = (start or filters.period.start).isoformat()
        query["date_to"] = (end or filters.period.end).isoformat()
        param = FEEDBACK_PARAM.get(filters.cut.dimension)
        if param and filters.cut.value:
            query[param] = filters.cut.value
    else:
        if start:
            query["date_from"] = start.isoformat()
        if end:
            query["date_to"] = end.isoformat()
    for name, value in params.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value.isoformat() if isinstance(value, date) else value
    return reverse("feedback:inbox") + "?" + urlencode(query)


# --- rendering and exports ----------------------------------------------------------------------------------


def respond(request: HttpRequest, page: InsightPage, filters: InsightFilters | None = None) -> HttpResponse:
    """Render the page, or with ?export=csv|xlsx&chart=<key> download one chart's table."""
    fmt = request.GET.get("export")
    if fmt:
        return _export(request, page, fmt)
    language = get_language() or ""
    query = urlencode(filters.params()) if filters else ""
    context = {
        "active_nav": "insights",
        "insight_nav": insight_navigation(),
        "page": page,
        "filters": filters,
        "query": query,
        "chart_options": {chart.key: chart.option for chart in page.all_charts()},
        **page.context,
    }
    if filters and page.show_filters:
        context.update(
            filter_options=filter_options(language),
            period_choices=PERIOD_CHOICES,
            cut_label=cut_label(filters, language),
        )
        # Pages that keep a responsible department's topics only: "all" lists every department; "chosen" (a page
        # with a tight query budget, reached from a link that names the department) offers that one and "All".
        offer = page.context.get("department_cut")
        if offer == "all":
            context["department_options"] = responsibilities()
        elif offer == "chosen" and filters.department is not None:
            context["department_options"] = [filters.department]
    return render(request, page.template, context)


def _export(request: HttpRequest, page: InsightPage, fmt: str) -> HttpResponse:
    chart = next((c for c in page.all_charts() if c.key == request.GET.get("chart")), None)
    if fmt not in {"csv", "xlsx"} or chart is None:
        message = _("Export one chart as csv or xlsx: ?export=csv&chart=<one of %(charts)s>.") % {
            "charts": ", ".join(c.key for c in page.all_charts())
        }
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    name = f"voxloop-{page.key}-{slugify(chart.key)}"
    if fmt == "xlsx":
        body = exports.to_xlsx(chart.table.header, chart.table.rows, chart.title)
        response = HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse(
            exports.to_csv(chart.table.header, chart.table.rows), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
