"""Read model of the emerging-topics page: the clusters of the latest finished run as a chart and a table,
and one cluster's items. The clustering itself runs in the background (voxloop.analysis.emerging); this
module only reads what it stored, so the page costs a few small queries whatever the feedback volume."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from voxloop.analysis.emerging import latest_finished_run
from voxloop.analysis.models import EmergingCluster, EmergingRun, FeedbackTopic, Topic
from voxloop.feedback.models import Feedback
from voxloop.insights.pages import Chart, Table

CLUSTER_PAGE_SIZE = 50
RUN_HISTORY = 10

# Growth bands, by the cluster's share of the recent part of the window against its share before.
RISING = 1.5
FADING = 0.8
BAND_COLOURS = {"new": "#c0392b", "rising": "#e67e22", "steady": "#5470c6", "fading": "#9aa5b1"}


def growth_band(growth: float | None, recent_count: int | None) -> str:
    """new: only recent items (nothing before to compare with); rising / steady / fading otherwise."""
    if growth is None:
        return "new" if recent_count else "fading"
    if growth >= RISING:
        return "rising"
    if growth >= FADING:
        return "steady"
    return "fading"


def band_labels() -> dict[str, str]:
    return {
        "new": _("New (no earlier items)"),
        "rising": _("Rising (x%(factor)s or more)") % {"factor": RISING},
        "steady": _("Steady"),
        "fading": _("Fading (below x%(factor)s)") % {"factor": FADING},
    }


def growth_text(cluster: EmergingCluster) -> str:
    if cluster.growth is None:
        return _("new") if cluster.recent_count else "–"
    return f"×{cluster.growth:.2f}"


def cluster_name(cluster: EmergingCluster, words: int = 3) -> str:
    return " · ".join(cluster.keywords[:words]) or _("Cluster %(number)s") % {"number": cluster.label + 1}


def cluster_url(cluster: EmergingCluster) -> str:
    return reverse("dashboards:emerging_cluster", args=[cluster.pk])


@dataclass
class RunView:
    run: EmergingRun | None  # the latest finished run
    clusters: list[EmergingCluster]
    chart: Chart | None


def latest_results() -> RunView:
    run = latest_finished_run()
    if run is None:
        return RunView(None, [], None)
    clusters = list(run.clusters.defer("member_ids").select_related("adopted_topic").order_by("label"))
    return RunView(run, clusters, clusters_chart(clusters))


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clusters_chart(clusters: list[EmergingCluster]) -> Chart:
    """Cluster sizes, largest first, each bar coloured by its growth band and opening the cluster's items."""
    labels = band_labels()
    names = [_short(f"{c.label + 1}. {cluster_name(c)}") for c in clusters]
    data = []
    for name, c in zip(names, clusters, strict=True):
        band = growth_band(c.growth, c.recent_count)
        # the item's name is what the tooltip shows ({b}): keywords, trend and growth factor
        data.append({"value": c.size, "url": cluster_url(c), "itemStyle": {"color": BAND_COLOURS[band]},
                     "name": f"{name} · {labels[band]} {growth_text(c)}"})  # fmt: skip
    # bars top-down in size order: ECharts draws the first category at the bottom of a vertical axis
    option = {
        "tooltip": {"trigger": "item", "formatter": "{b}<br/>{c}"},
        "grid": {"left": 8, "right": 24, "top": 16, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value", "name": _("Items")},
        "yAxis": {
            "type": "category",
            "data": names[::-1],
        },
        "series": [{"type": "bar", "name": _("Items"), "data": data[::-1]}],
    }
    header = [_("Cluster"), _("Items"), _("Recent items"), _("Earlier items"), _("Growth"), _("Trend"),
              _("Keywords"), _("Adopted as topic")]  # fmt: skip
    rows = [
        [names[i], c.size, c.recent_count, c.earlier_count, growth_text(c), labels[growth_band(c.growth, c.recent_count)],
         ", ".join(c.keywords), c.adopted_topic.code if c.adopted_topic else ""]
        for i, c in enumerate(clusters)
    ]  # fmt: skip
    return Chart(
        key="clusters",
        title=_("Clusters by size, coloured by growth"),
        option=option,
        table=Table(header, rows, [cluster_url(c) for c in clusters]),
        note=_("Click a bar to see the cluster's feedback. Colours: %(bands)s.")
        % {"bands": "; ".join(f"{labels[b]}" for b in BAND_COLOURS)},
        height=max(240, 28 * len(clusters) + 60),
    )


def legend() -> list[dict[str, str]]:
    labels = band_labels()
    return [{"band": band, "label": labels[band], "colour": colour} for band, colour in BAND_COLOURS.items()]


def recent_runs() -> list[EmergingRun]:
    return list(EmergingRun.objects.select_related("created_by")[:RUN_HISTORY])


@dataclass
class ClusterItems:
    items: list[Feedback]
    topics: dict[int, list[str]]
    page: int
    pages: int


def cluster_items(cluster: EmergingCluster, page: int = 1) -> ClusterItems:
    """One page of the cluster's feedback, newest first (the order the run stored the ids in), with the
    topics each item has now (after an adoption and re-analysis they show the new topic)."""
    ids = list(cluster.member_ids)
    pages = max(1, -(-len(ids) // CLUSTER_PAGE_SIZE))
    page = min(max(1, page), pages)
    chunk = ids[(page - 1) * CLUSTER_PAGE_SIZE : page * CLUSTER_PAGE_SIZE]
    found = {f.pk: f for f in Feedback.objects.filter(pk__in=chunk).select_related("customer", "product")}
    topics: dict[int, list[str]] = {}
    for feedback_id, code in FeedbackTopic.objects.filter(feedback_id__in=chunk).values_list("feedback_id", "code"):
        topics.setdefault(feedback_id, []).append(code)
    # an item deleted since the run is skipped, not an error
    return ClusterItems([found[i] for i in chunk if i in found], topics, page, pages)


def parent_choices(language: str) -> list[tuple[str, str]]:
    """Top-level topics a new topic may go under (one level: the taxonomy's codes are parent.child)."""
    return [(t.code, f"{t.code} · {t.display_name(language)}")
            for t in Topic.objects.filter(parent__isnull=True, is_active=True).order_by("sort_order", "code")]  # fmt: skip


def page_context(view: RunView) -> dict[str, Any]:
    return {"latest": view.run, "clusters": view.clusters, "legend": legend()}
