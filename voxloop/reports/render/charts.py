"""The report's charts as vector SVG, drawn on the server with matplotlib in the report's CJK font.

Text stays text (svg.fonttype "none", font-family "Noto Sans CJK SC"): WeasyPrint sets it with the same embedded
font as the rest of the PDF, so chart labels are searchable and copyable, and the SVG is a third of the size and
draws twice as fast as one with every glyph as an outline. matplotlib still measures the labels with the font, so a
glyph it lacks shows up as a "Glyph missing" warning, which the tests turn into a failure.
"""

import io
import json
from functools import lru_cache
from typing import Any

import matplotlib
from django.utils import translation
from django.utils.translation import pgettext
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from matplotlib.typing import RcKeyType

from voxloop.reports.render.formatting import language_of

FONT_FAMILY = "Noto Sans CJK SC"  # Debian's fonts-noto-cjk (.ci/run installs it); also the PDF's font
PARETO_BARS = 15
TRENDS_HEIGHT = 7.4  # inches; A4's text block is about 10 in tall  # more bars are unreadable on A4; the table beside the chart lists every topic
INK, ACCENT, MUTED, LINE = "#1f2933", "#2563a8", "#9aa5b1", "#c2410c"

RC: dict[RcKeyType, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY, "DejaVu Sans"],
    "font.size": 8.5,
    "svg.fonttype": "none",
    "svg.hashsalt": "voxloop-report",  # stable ids: the same snapshot gives byte-identical SVG
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.unicode_minus": True,
}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    FigureCanvasSVG(figure)
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    # The XML prolog and DOCTYPE are noise when the SVG sits inside HTML.
    return text[text.index("<svg") :]


def _short(label: str, limit: int = 14) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def pareto_svg(rows: list[dict[str, Any]]) -> str:
    shown = rows[:PARETO_BARS]
    figure = Figure(figsize=(6.8, 3.0))
    axes = figure.add_subplot()
    positions = range(len(shown))
    shares = [(r.get("share") or 0.0) for r in shown]
    # Error bars from the interval; clipped at zero, so an interval that does not contain its share (rounded
    # bounds, an edited snapshot) cannot stop the report.
    lows = [max(0.0, s - (r["low"] if r.get("low") is not None else s)) for s, r in zip(shares, shown, strict=True)]
    highs = [max(0.0, (r["high"] if r.get("high") is not None else s) - s) for s, r in zip(shares, shown, strict=True)]
    colours = [LINE if r.get("significant") else ACCENT for r in shown]
    axes.bar(positions, shares, color=colours, width=0.65, yerr=[lows, highs], ecolor=INK, capsize=2, linewidth=0)
    axes.set_xticks(list(positions), [_short(str(r.get("label", ""))) for r in shown], rotation=35, ha="right")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_ylabel(pgettext("service report", "Share of complaints"))
    cumulative = axes.twinx()
    cumulative.plot(list(positions), [r.get("cumulative") or 0.0 for r in shown], color=INK, marker="o", markersize=3)
    cumulative.set_ylim(0, 1.02)
    cumulative.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    cumulative.spines["right"].set_visible(True)
    cumulative.set_ylabel(pgettext("service report", "Cumulative share"))
    figure.tight_layout()
    return _svg(figure)


def channels_svg(channels: list[dict[str, Any]], labels: tuple[str, str, str]) -> str:
    figure = Figure(figsize=(6.8, 0.9 + 0.3 * len(channels)))
    axes = figure.add_subplot()
    height = 0.26
    for offset, (field, colour, name) in enumerate(
        (("n", ACCENT, labels[0]), ("previous", MUTED, labels[1]), ("last_year", "#d9e2ec", labels[2]))
    ):
        ys = [i + (offset - 1) * height for i in range(len(channels))]
        axes.barh(ys, [c.get(field) or 0 for c in channels], height=height, color=colour, label=name)
    axes.set_yticks(range(len(channels)), [_short(str(c.get("label", "")), 18) for c in channels])
    axes.invert_yaxis()
    axes.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))  # volumes: no 0.5 of a message
    axes.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    # Above the bars, in one row: inside the axes the legend would cover the longest bar.
    axes.legend(frameon=False, fontsize=7.5, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, borderaxespad=0.2)
    figure.tight_layout()
    return _svg(figure)


def trends_svg(kpis: list[dict[str, Any]], series: dict[str, list[dict[str, Any]]]) -> str:
    """Small multiples, one panel per KPI with a series: one figure is far cheaper to lay out than ten."""
    shown = [(k, series[k["key"]]) for k in kpis if any(p.get("value") is not None for p in series.get(k["key"]) or [])]
    columns = 3
    rows = -(-len(shown) // columns)
    # At most TRENDS_HEIGHT: the figure must fit on one A4 page under its heading, or it leaves a blank page.
    height = min(1.6 * rows, TRENDS_HEIGHT) + 0.1
    figure = Figure(figsize=(6.8, height))
    # Fixed margins instead of tight_layout: the panels are alike, and tight_layout draws the figure twice.
    row = (height - 0.1) / rows
    # hspace is a fraction of a panel's height: keep about 0.6 in between rows for the ticks and the next title.
    figure.subplots_adjust(left=0.075, right=0.975, top=1 - 0.28 / height, bottom=0.3 / height, wspace=0.38,
                           hspace=0.6 / max(row - 0.6, 0.3))  # fmt: skip
    for index, (kpi, points) in enumerate(shown, start=1):
        axes = figure.add_subplot(rows, columns, index)
        xs = list(range(len(points)))
        ys = [float("nan") if p.get("value") is None else p["value"] for p in points]
        axes.plot(xs, ys, color=ACCENT, marker="o", markersize=2.5, linewidth=1.2)
        if kpi.get("target") is not None:
            axes.axhline(kpi["target"], color=LINE, linestyle="--", linewidth=0.9)
        step = max(1, -(-len(points) // 5))
        axes.set_xticks(xs[::step], [str(p.get("label", "")) for p in points][::step])
        axes.tick_params(labelsize=6.5)
        axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=kpi.get("unit") == "count"))
        if kpi.get("unit") == "percent":  # KPI per cents are fractions in the snapshot (0.725 is 72.5%)
            axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
        axes.set_title(_short(str(kpi.get("name", "")), 18), fontsize=7.5, color=INK)
    return _svg(figure)


def chart_svgs(snapshot: dict[str, Any]) -> dict[str, str]:
    """The charts the report shows: "pareto", "channels" and "trends" (a panel per KPI with a series); a chart
    without data is left out."""
    status = snapshot.get("status") or {}
    # The charts depend on these parts only; the preview page renders the same archived snapshot again and again.
    key = json.dumps(
        [language_of(snapshot), (snapshot.get("problems") or {}).get("pareto"), status.get("channels"),
         status.get("kpis"), snapshot.get("series")],
        sort_keys=True, default=str,
    )  # fmt: skip
    return dict(_charts(key))


@lru_cache(maxsize=16)
def _charts(key: str) -> tuple[tuple[str, str], ...]:
    language, pareto, channels, kpis, series = json.loads(key)
    charts: dict[str, str] = {}
    with translation.override(language), matplotlib.rc_context(RC):
        if pareto:
            charts["pareto"] = pareto_svg(pareto)
        if channels:
            charts["channels"] = channels_svg(
                channels,
                (
                    pgettext("service report", "This period"),
                    pgettext("service report", "Previous period"),
                    pgettext("service report", "Same period last year"),
                ),
            )
        series = series or {}
        # Every KPI with a series, in the KPI table's order; a series without its KPI still gets a panel.
        known = [k for k in kpis or [] if k.get("key") in series]
        known += [{"key": k, "name": k} for k in series if k not in {kpi.get("key") for kpi in known}]
        if any(p.get("value") is not None for k in known for p in series.get(k["key"]) or []):
            charts["trends"] = trends_svg(known, series)
    return tuple(charts.items())
