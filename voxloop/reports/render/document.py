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
        "delta": fmt.delta(change.get("delta"), unit),
        "significant": significant,
        "change_note": pgettext("service report", "significant")
        if significant
        else pgettext("service report", "within noise"),
        "light": kpi.get("light") or "grey",
        "light_label": fmt.light_label(kpi.get("light")),
        "url": fmt.absolute(kpi.get("url")),
    }


def _pareto_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        previous = row.get("previous_share")
        share = row.get("share")
        out.append({
            "label": row.get("label", ""),
            "n": fmt.number(row.get("n"), "count"),
            "share": fmt.share(share),
            "interval": fmt.interval(row.get("low"), row.get("high"), "percent"),
            "cumulative": fmt.share(row.get("cumulative")),
            "previous": fmt.share(previous),
            "delta": fmt.share_delta(None if previous is None or share is None else share - previous),
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


def _table(table: dict[str, Any]) -> dict[str, Any]:
    columns = [c.get("title", "") if isinstance(c, dict) else c for c in table.get("columns") or []]
    units = [c.get("unit", "") if isinstance(c, dict) else "" for c in table.get("columns") or []]
    rows = []
    for row in table.get("rows") or []:
        cells = []
        for i, cell in enumerate(row):
            unit = units[i] if i < len(units) else ""
            if isinstance(cell, bool) or not isinstance(cell, int | float):
                cells.append({"text": "–" if cell is None else str(cell), "numeric": False})
            elif unit in ("percent", "share"):
                cells.append({"text": fmt.share(cell), "numeric": True})
            elif isinstance(cell, int) or unit == "count":
                cells.append({"text": fmt.number(cell, "count"), "numeric": True})
            else:
                cells.append({"text": f"{cell:.4g}" if abs(cell) < 1 else f"{cell:,.2f}", "numeric": True})
        rows.append(cells)
    return {"key": table.get("key", ""), "title": table.get("title", ""), "columns": columns, "rows": rows}


def context(snapshot: dict[str, Any], *, for_print: bool) -> dict[str, Any]:
    status = snapshot.get("status") or {}
    problems = snapshot.get("problems") or {}
    appendix = snapshot.get("appendix") or {}
    charts = chart_svgs(snapshot)
    kpis = status.get("kpis") or []
    kpi_names = {k.get("key"): k.get("name") for k in kpis}
    trends = [
        {"name": kpi_names.get(key[len("trend:") :]) or key, "src": data_uri(svg)}
        for key, svg in charts.items()
        if key.startswith("trend:")
    ]
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
    coverage = appendix.get("coverage") or {}
    return {
        "s": snapshot,
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
        "kpis": [_kpi_row(k) for k in kpis],
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
        "drivers": problems.get("drivers") or [],
        "repeat": repeat,
        "repeat_top": repeat.get("top") or [],
        "touchpoints": [{**t, "url": fmt.absolute(t.get("url"))} for t in problems.get("touchpoints") or []],
        "quote_groups": _quotes(problems),
        "suggestions": [{**x, "url": fmt.absolute(x.get("url"))} for x in snapshot.get("suggestions") or []],
        "actions": actions,
        "top_causes": _pareto_rows(pareto[:3]),
        "trends": trends,
        "tables": [_table(t) for t in snapshot.get("tables") or []],
        "definitions": appendix.get("definitions") or [],
        "coverage": coverage,
        "coverage_as_of": str(coverage.get("as_of") or snapshot.get("as_of") or "")[:16].replace("T", " "),
        "caveats": appendix.get("caveats") or [],
        "generated": str(snapshot.get("generated_at") or "")[:16].replace("T", " "),
    }


def render_html(snapshot: dict[str, Any], *, for_print: bool = False) -> str:
    """The whole report as HTML: a standalone print document, or (for_print=False) a fragment for the reports page."""
    with in_language(snapshot):
        template = engine().get_template("reports/document/report.html")
        return template.render(Context(context(snapshot, for_print=for_print)))


def render_pdf(snapshot: dict[str, Any]) -> bytes:
    """A4 PDF with the CJK font embedded (subset), a table of contents with page numbers and vector charts."""
    html = render_html(snapshot, for_print=True)
    pdf = HTML(string=html, base_url=str(APP)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
