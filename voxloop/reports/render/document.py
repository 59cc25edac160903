"""The report as one HTML document: shown in the browser as a preview and printed to PDF by WeasyPrint."""

import base64
import re
from functools import cache
from pathlib import Path
from typing import Any

from django.template import Context, Engine
from django.utils.translation import pgettext
from weasyprint import HTML

from voxloop.reports.render import formatting as fmt
from voxloop.reports.render.charts import chart_svgs
from voxloop.reports.render.formatting import in_language

APP = Path(__file__).resolve().parents[1]
STYLESHEET = APP / "static" / "reports" / "document.css"
QUOTES_PER_TOPIC = 3


@cache
def engine() -> Engine:
    """A template engine of our own: the report renders the same whether or not the app's templates are installed
    (a Celery worker, a management command, a test) and never picks up a project-wide context processor."""
    return Engine(
        dirs=[str(APP / "templates")],
        libraries={"i18n": "django.templatetags.i18n"},
        autoescape=True,
    )


@cache
def stylesheet() -> str:
    return STYLESHEET.read_text(encoding="utf-8")


def data_uri(svg: str) -> str:
    """SVG as an <img> source: WeasyPrint draws it as vectors, browsers show it under img-src 'self' data:."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def page_counter_css() -> str:
    """The footer's "Page 3 of 12" as CSS content: the translated sentence with the page counters in place."""
    sentence = pgettext("service report", "Page %(page)s of %(pages)s")
    counters = {"%(page)s": "counter(page)", "%(pages)s": "counter(pages)"}
    parts = re.split(r"(%\(pages?\)s)", sentence)
    return " ".join(counters.get(part) or _css_string(part) for part in parts if part)


def outline() -> list[dict[str, Any]]:
    """The report's parts and their numbered subsections: headings and the contents page come from here."""

    def part(key: str, number: str, title: str) -> dict[str, str]:
        return {"id": f"sec-{key}", "key": key.replace("-", "_"), "number": number, "title": title}

    def section(key: str, number: str, title: str, parts: list[dict[str, str]]) -> dict[str, Any]:
        return {**part(key, number, title), "parts": parts}

    return [
        section("status", "1", pgettext("service report", "Service quality status"), [
            part("summary", "1.1", pgettext("service report", "Summary")),
            part("indicators", "1.2", pgettext("service report", "Indicators")),
            part("channels", "1.3", pgettext("service report", "Volume by channel")),
        ]),
        section("problems", "2", pgettext("service report", "Problems and their causes"), [
            part("pareto", "2.1", pgettext("service report", "Complaint topics (Pareto)")),
            part("changes", "2.2", pgettext("service report", "Significant changes")),
            part("alerts", "2.3", pgettext("service report", "Early-warning alerts")),
            part("emerging", "2.4", pgettext("service report", "Emerging topics")),
            part("drivers", "2.5", pgettext("service report", "Drivers of satisfaction")),
            part("repeat", "2.6", pgettext("service report", "Repeat complaints")),
            part("touchpoints", "2.7", pgettext("service report", "Worst touchpoints")),
            part("quotes", "2.8", pgettext("service report", "What customers said")),
        ]),
        section("suggestions", "3", pgettext("service report", "Improvement suggestions"), [
            part("suggestion-list", "3.1", pgettext("service report", "Suggestions")),
            part("actions", "3.2", pgettext("service report", "Improvement actions")),
        ]),
        section("appendix", "", pgettext("service report", "Appendix"), [
            part("trends", "A.1", pgettext("service report", "Trends")),
            part("tables", "A.2", pgettext("service report", "Tables")),
            part("definitions", "A.3", pgettext("service report", "Definitions")),
            part("coverage", "A.4", pgettext("service report", "Data coverage and caveats")),
        ]),
    ]  # fmt: skip


def light_counts(kpis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How many indicators meet their target, are to watch, miss it, or (without a target) did or did not get
    significantly worse: the cover's one-line verdict, in the same words as the KPI table."""
    counts: dict[tuple[str, bool], int] = {}
    for kpi in kpis:
        light = kpi.get("light") or "grey"
        if light != "grey":
            key = (light, kpi.get("target") is not None)
            counts[key] = counts.get(key, 0) + 1
    order = [(light, has_target) for has_target in (True, False) for light in ("green", "amber", "red")]
    return [
        {"light": light, "label": fmt.light_label(light, has_target=has_target), "count": counts[light, has_target]}
        for light, has_target in order
        if counts.get((light, has_target))
    ]


def group_label(group: str) -> str:
    return {
        "satisfaction": pgettext("service report", "Satisfaction"),
        "speed": pgettext("service report", "Speed"),
        "resolution": pgettext("service report", "Resolution"),
        "volume": pgettext("service report", "Volume"),
    }.get(group, group)


def _kpi_groups(kpis: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """KPI rows under their group heading (satisfaction, speed, …), groups in the order they first appear."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for kpi in kpis:
        groups.setdefault(str(kpi.get("group") or ""), []).append(_kpi_row(kpi))
    return [{"label": group_label(g), "rows": rows} for g, rows in groups.items()]


def _kpi_row(kpi: dict[str, Any]) -> dict[str, Any]:
    unit = str(kpi.get("unit") or "")
    previous = kpi.get("previous") or {}
    last_year = kpi.get("last_year") or {}
    change = kpi.get("change") or {}
    significant = bool(change.get("significant"))
    return {
        "name": kpi.get("name", ""),
        "value": kpi.get("display") or fmt.number(kpi.get("value"), unit),
        "interval": fmt.interval(kpi.get("low"), kpi.get("high"), unit),
        "n": fmt.number(kpi.get("n"), "count") if kpi.get("n") is not None else "–",
        "target": kpi.get("target_display") or fmt.number(kpi.get("target"), unit),
        "previous": previous.get("display") or fmt.number(previous.get("value"), unit),
        "last_year": last_year.get("display") or fmt.number(last_year.get("value"), unit),
        # The snapshot's own strings first (formatted by the builder in its language and unit: "-6.4 个百分点",
        # "+7 分钟"); the renderer formats only what an older or thinner snapshot leaves out.
        "delta": change.get("display") or fmt.delta(change.get("delta"), unit),
        "significant": significant,
        # None: the snapshot does not test this change (medians of times), which is not the same as "no real change".
        "change_note": pgettext("service report", "significant")
        if significant
        else pgettext("service report", "not tested")
        if change.get("delta") is not None and change.get("significant") is None
        else pgettext("service report", "not significant"),
        "light": kpi.get("light") or "grey",
        "light_label": fmt.light_label(kpi.get("light"), has_target=kpi.get("target") is not None),
        "url": fmt.absolute(kpi.get("url")),
    }


def _pareto_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        previous: Any = row.get("previous_share")
        share: Any = row.get("share")
        out.append({
            "label": row.get("label", ""),
            "n": fmt.number(row.get("n"), "count"),
            "share": fmt.share(share),
            "interval": fmt.share_interval(row.get("low"), row.get("high")),
            "cumulative": fmt.share(row.get("cumulative")),
            "previous": fmt.share(previous),
            "delta": fmt.share_delta(share - previous if fmt.numeric(share, previous) else None),
            "significant": bool(row.get("significant")),
            "url": fmt.absolute(row.get("url")),
        })  # fmt: skip
    return out


def _quotes(problems: dict[str, Any]) -> list[dict[str, Any]]:
    """Quotes grouped under their topic, in Pareto order (topics without a Pareto row come last)."""
    quotes = problems.get("quotes") or {}
    labels = {row.get("key"): row.get("label") for row in problems.get("pareto") or []}
    order = [k for k in labels if k in quotes] + [k for k in quotes if k not in labels]
    groups = []
    for key in order:
        items = [
            {**q, "url": fmt.absolute(q.get("url"))}
            for q in (quotes.get(key) or [])[:QUOTES_PER_TOPIC]
            if q.get("text")
        ]
        if items:
            groups.append({"label": labels.get(key) or key, "quotes": items})
    return groups


# Tables whose rows the body already shows in full; the appendix prints the others (the trend table, anything new).
# The Excel workbook has every table.
BODY_TABLES = {"kpis", "channels", "pareto", "changes", "drivers", "alerts", "touchpoints", "actions", "suggestions"}


def _cell(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit in ("share", "percent", "count", "hours", "minutes", "score", "points"):
        return fmt.number(value, unit)
    if isinstance(value, int) or float(value).is_integer():
        return f"{round(value):,}"
    return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"


ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
WIDE = 8  # more columns than this do not fit A4 portrait: a wide, short table (KPIs by week) is turned on its side


def _transposed(
    titles: list[str], units: list[str], raw: list[list[Any]]
) -> tuple[list[str], list[str], list[list[Any]]]:
    heads = [str(r[0]) if r else "" for r in raw]
    if heads and all(ISO_DAY.match(h) for h in heads) and len({h[:4] for h in heads}) == 1:
        heads = [h[5:] for h in heads]  # one year: "11-02" is enough
    rows = [[titles[i], *[r[i] if i < len(r) else None for r in raw]] for i in range(1, len(titles))]
    return [titles[0] if titles else "", *heads], ["", *[""] * len(raw)], rows


def _tables(table: dict[str, Any]) -> list[dict[str, Any]]:
    """A snapshot table as the appendix prints it: a wide, short table on its side; a wide, long one (a month of
    daily values for every KPI) in slices of columns, each repeating the first column, numbered "(1/3)"."""
    columns = list(table.get("columns") or [])
    rows = [list(r) for r in table.get("rows") or []]
    if len(columns) <= WIDE or len(rows) < len(columns) - 1:
        return [_table(table)]
    per = WIDE - 1
    slices = [range(start, min(start + per, len(columns))) for start in range(1, len(columns), per)]
    out = []
    for number, columns_here in enumerate(slices, start=1):
        keep = [0, *columns_here]
        part = {
            "key": table.get("key", ""),
            "title": f"{table.get('title', '')} ({number}/{len(slices)})",
            "columns": [columns[i] for i in keep],
            "rows": [[row[i] if i < len(row) else None for i in keep] for row in rows],
        }
        out.append(_table(part))
    return out


def _table(table: dict[str, Any]) -> dict[str, Any]:
    """A snapshot table for the appendix. A column is a title, or {"title", "unit"} to format its numbers."""
    columns = table.get("columns") or []
    titles = [str(c.get("title", "")) if isinstance(c, dict) else str(c) for c in columns]
    units = [str(c.get("unit") or "") if isinstance(c, dict) else "" for c in columns]
    raw = [list(r) for r in table.get("rows") or []]
    if len(titles) > WIDE and len(raw) < len(titles) - 1 and not any(units):
        titles, units, raw = _transposed(titles, units, raw)
    numeric = [
        all(
            isinstance(r[i], int | float) and not isinstance(r[i], bool) for r in raw if i < len(r) and r[i] is not None
        )
        and any(i < len(r) and r[i] is not None for r in raw)
        for i in range(len(titles))
    ]
    rows = [
        [{"text": _cell(v, units[i] if i < len(units) else ""), "numeric": i < len(numeric) and numeric[i]}
         for i, v in enumerate(r)]
        for r in raw
    ]  # fmt: skip
    head = [{"text": t, "numeric": numeric[i]} for i, t in enumerate(titles)]
    return {"key": table.get("key", ""), "title": table.get("title", ""), "columns": head, "rows": rows}


def context(snapshot: dict[str, Any], *, for_print: bool) -> dict[str, Any]:
    status = snapshot.get("status") or {}
    problems = snapshot.get("problems") or {}
    appendix = snapshot.get("appendix") or {}
    charts = chart_svgs(snapshot)
    kpis = status.get("kpis") or []
    pareto = problems.get("pareto") or []
    channels = [
        {
            "label": c.get("label", ""),
            "n": fmt.number(c.get("n"), "count"),
            "previous": fmt.number(c.get("previous"), "count"),
            "last_year": fmt.number(c.get("last_year"), "count"),
        }
        for c in status.get("channels") or []
    ]
    repeat = problems.get("repeat") or {}
    actions = [
        {**a, "url": fmt.absolute(a.get("url")), "effect_display": (a.get("effect") or {}).get("display") or "–",
         "effect_metric": (a.get("effect") or {}).get("metric_label") or ""}
        for a in snapshot.get("actions") or []
    ]  # fmt: skip
    coverage = {
        key: fmt.number(value, "count") if isinstance(value, int | float) else value
        for key, value in (appendix.get("coverage") or {}).items()
    }
    toc = outline()
    headings = {entry["key"]: entry for section in toc for entry in (section, *section["parts"])}
    return {
        "s": snapshot,
        "toc": toc,
        "h": headings,
        "light_counts": light_counts(kpis),
        "for_print": for_print,
        "lang": fmt.language_of(snapshot),
        "css": stylesheet(),
        "page_counter": page_counter_css(),
        "running_title": _css_string(str(snapshot.get("title", ""))),
        "running_period": _css_string(
            " · ".join(
                x
                for x in (
                    str((snapshot.get("period") or {}).get("label", "")),
                    str((snapshot.get("scope") or {}).get("label", "")),
                )
                if x
            )  # fmt: skip
        ),
        "kpi_groups": _kpi_groups(kpis),
        "channels": channels,
        "channels_chart": data_uri(charts["channels"]) if "channels" in charts else None,
        "pareto": _pareto_rows(pareto),
        "pareto_chart": data_uri(charts["pareto"]) if "pareto" in charts else None,
        "changes": [
            {
                **c,
                "share_display": fmt.share(c.get("share")),
                "previous_display": fmt.share(c.get("previous_share")),
                "delta_display": fmt.share_delta(c.get("delta")),
                "p_display": "–" if c.get("p") is None else ("< 0.001" if c["p"] < 0.001 else f"{c['p']:.3f}"),
            }
            for c in problems.get("changes") or []
        ],  # fmt: skip
        "alerts": [
            {**a, "url": fmt.absolute(a.get("url")), "raised": str(a.get("raised_at") or "")[:16].replace("T", " ")}
            for a in problems.get("alerts") or []
        ],  # fmt: skip
        "emerging": [{**e, "url": fmt.absolute(e.get("url"))} for e in problems.get("emerging") or []],
        "drivers": [
            # The interval belongs to the NPS gap between those who mention the topic and the rest, not to the
            # impact (gap x share of mentions), so the gap is shown beside it.
            {**d, "gap": f"{d['difference']:+.1f}" if fmt.numeric(d.get("difference")) else "–",
             "interval": fmt.interval(d.get("low"), d.get("high"), "points")}
            for d in problems.get("drivers") or []
        ],  # fmt: skip
        "pareto_total": fmt.number(problems.get("total"), "count"),
        "repeat": repeat,
        "repeat_top": repeat.get("top") or [],
        "touchpoints": [
            {**t, "url": fmt.absolute(t.get("url")), "display": t.get("display") or fmt.share(t.get("value"))}
            for t in problems.get("touchpoints") or []
        ],
        "quote_groups": _quotes(problems),
        "suggestions": [{**x, "url": fmt.absolute(x.get("url"))} for x in snapshot.get("suggestions") or []],
        "actions": actions,
        "top_causes": _pareto_rows(pareto[:3]),
        "trends_chart": data_uri(charts["trends"]) if "trends" in charts else None,
        "tables": [
            part for t in snapshot.get("tables") or [] if t.get("key") not in BODY_TABLES for part in _tables(t)
        ],
        "definitions": appendix.get("definitions") or [],
        "coverage": coverage,
        "coverage_as_of": str(coverage.get("as_of") or snapshot.get("as_of") or "")[:16].replace("T", " "),
        "caveats": appendix.get("caveats") or [],
        "generated": str(snapshot.get("generated_at") or "")[:16].replace("T", " "),
    }


def render_html(snapshot: dict[str, Any], *, for_print: bool = False) -> str:
    """The whole report as one HTML document: for print (cover, contents, page margins), or (for_print=False) the
    browser preview the report page shows in a frame, with no cover or contents page. Both start with a doctype:
    without one a browser lays the frame out in quirks mode (table fonts and line heights differ from the PDF)."""
    with in_language(snapshot):
        template = engine().get_template("reports/document/report.html")
        return template.render(Context(context(snapshot, for_print=for_print)))


def render_pdf(snapshot: dict[str, Any]) -> bytes:
    """A4 PDF with the CJK font embedded (subset), a table of contents with page numbers and vector charts."""
    html = render_html(snapshot, for_print=True)
    pdf = HTML(string=html, base_url=str(APP)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
