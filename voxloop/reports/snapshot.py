"""The data of the service-quality report (服务质量评估报告): one JSON-serialisable dict per period, scope and
language, stored unchanged in the archive and the only thing the renderer reads (docs/reports.md).

Every KPI comes from the same daily roll-ups and the same functions as the metrics page
(``voxloop.metrics.queries.load_days`` / ``total_of`` / ``kpi_value`` / ``csat_dimensions``), so a number in the
report equals the number on /metrics/ for the same dates and cut. Report periods are calendar periods
(voxloop.reports.periods); "previous" is the previous calendar period, not the same number of days before.

A department's report adds up the roll-up rows of the department's teams (cases and survey responses are kept
per team; every counter is additive, so the sum is exact). Feedback items have no team, so the feedback-only
figures (feedback received, negative share, complaint topics by feedback, channels) are left out of a
department's report and a caveat says so.

Units in the snapshot: ``percent`` values are fractions (0.875 is 87.5%, as every share in the snapshot is),
``hours`` are hours, ``points`` are NPS points, ``score`` is a mean on the survey's scale, ``count`` a number of
items; a change of a ``percent`` KPI is in fraction points (0.02 is 2 percentage points). ``display`` is
formatted as the metrics page formats it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from voxloop.accounts.models import Department, Team
from voxloop.feedback.models import AnalysisStatus, Channel, Feedback
from voxloop.metrics.days import local_day, range_bounds, site_zone
from voxloop.metrics.models import Source, Watermark
from voxloop.metrics.queries import (
    KPI_BY_KEY,
    Cut,
    DayRows,
    KpiValue,
    Period,
    Totals,
    aggregate_by_value,
    csat_dimensions,
    kpi_value,
    load_days,
    total_of,
)
from voxloop.metrics.templatetags.metrics_format import delta_format, kpi_format
from voxloop.reports.findings import build_findings
from voxloop.reports.periods import ReportPeriod
from voxloop.reports.suggestions import action_rows, build_suggestions
from voxloop.stats import compare
from voxloop.surveys.models import dimension_label

VERSION = 1
LANGUAGES = ("zh-hans", "en")


@dataclass(frozen=True)
class ReportScope:
    department_id: int | None = None  # None: the whole organisation; else only that department's cases/responses
    see_contacts: bool = False  # False: customer names and contacts masked with accounts.privacy


@dataclass(frozen=True)
class ReportKpi:
    key: str  # the metrics page's KPI key (voxloop.metrics.queries.KPIS)
    group: str  # satisfaction | speed | resolution | volume
    unit: str  # the report's unit: score | percent | hours | count | points
    better: str  # higher | lower | neither (volumes are not good or bad in themselves)
    test: str  # how a change is tested: rate | nps | mean | count | none (medians: no test, see docs)


# The report's KPIs in the order of the status table. Keys are the metrics page's, so a reader can find each
# number on /metrics/ by its name.
REPORT_KPIS: tuple[ReportKpi, ...] = (
    ReportKpi("nps", "satisfaction", "points", "higher", "nps"),
    ReportKpi("csat_top2", "satisfaction", "percent", "higher", "rate"),
    ReportKpi("csat_mean", "satisfaction", "score", "higher", "mean"),
    ReportKpi("ces_mean", "satisfaction", "score", "higher", "mean"),
    ReportKpi("ces_easy", "satisfaction", "percent", "higher", "rate"),
    ReportKpi("negative_share", "satisfaction", "percent", "lower", "rate"),
    ReportKpi("frt_business_median", "speed", "hours", "lower", "none"),
    ReportKpi("frt_business_p90", "speed", "hours", "lower", "none"),
    ReportKpi("resolution_business_median", "speed", "hours", "lower", "none"),
    ReportKpi("resolution_business_p90", "speed", "hours", "lower", "none"),
    ReportKpi("sla_compliance", "speed", "percent", "higher", "rate"),
    ReportKpi("fcr_rate", "resolution", "percent", "higher", "rate"),
    ReportKpi("resolution_rate", "resolution", "percent", "higher", "rate"),
    ReportKpi("reopen_rate", "resolution", "percent", "lower", "rate"),
    ReportKpi("repeat_rate", "resolution", "percent", "lower", "rate"),
    ReportKpi("cases_opened", "volume", "count", "neither", "count"),
    ReportKpi("responses", "volume", "count", "neither", "count"),
    ReportKpi("feedback_items", "volume", "count", "neither", "count"),
)
REPORT_KPI_BY_KEY = {k.key: k for k in REPORT_KPIS}
DEPARTMENT_SOURCES = (Source.CASES, Source.RESPONSES)  # the sources kept per team


# --- scope: which roll-up rows a report adds up ---------------------------------------------------------------


def scope_sources(scope: ReportScope) -> list[str]:
    return list(DEPARTMENT_SOURCES) if scope.department_id else list(Source.values)


def department_team_ids(department_id: int) -> list[int]:
    return list(Team.objects.filter(department_id=department_id).order_by("pk").values_list("pk", flat=True))


def load_scope_days(scope: ReportScope, start: date, end: date) -> DayRows:
    """The roll-up rows of the scope by source and day: the all-rows total for the organisation, the sum of
    the department's teams' rows for a department (the same query the metrics page makes, once per team)."""
    sources = scope_sources(scope)
    if not scope.department_id:
        return load_days(sources, Cut(), start, end)
    merged: DayRows = {s: {} for s in sources}
    for team_id in department_team_ids(scope.department_id):
        rows = load_days(sources, Cut("team", str(team_id)), start, end)
        for source, days in rows.items():
            for day, totals in days.items():
                merged[source].setdefault(day, Totals()).add(totals)
    return merged


def _period(p: ReportPeriod) -> Period:
    return Period(p.start, p.end)


def metrics_url(p: ReportPeriod, scope: ReportScope, team_id: int | None = None) -> str:
    """The metrics page for the same dates (and team, where a department has one)."""
    params = {"period": "custom", "start": p.start.isoformat(), "end": p.end.isoformat()}
    if team_id is not None:
        params.update(cut="team", value=str(team_id))
    return reverse("metrics:panel") + "?" + urlencode(params)


# --- numbers ------------------------------------------------------------------------------------------------


def report_value(kpi: ReportKpi, raw: float | None) -> float | None:
    """A metrics value in the report's unit: durations (seconds) as hours; rates stay fractions."""
    if raw is None:
        return None
    if kpi.unit == "hours":
        return raw / 3600
    return raw


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def value_block(kpi: ReportKpi, value: KpiValue) -> dict[str, Any]:
    unit = KPI_BY_KEY[kpi.key].unit
    return {
        "value": _r(report_value(kpi, value.value)),
        "low": _r(report_value(kpi, value.ci_low)),
        "high": _r(report_value(kpi, value.ci_high)),
        "n": value.n,
        "display": kpi_format(value.value, unit),
    }


def change_test(kpi: ReportKpi, before: Totals, after: Totals, days: tuple[int, int]) -> compare.Test | None:
    """The test of the change from ``before`` to ``after`` on the counters behind the KPI."""
    key = kpi.key
    if kpi.test == "nps":
        triple = ("promoters", "passives", "detractors")
        return compare.nps(tuple(before.get(k) for k in triple), tuple(after.get(k) for k in triple))  # type: ignore[arg-type]
    if kpi.test == "mean":
        prefix = "csat" if key == "csat_mean" else "ces"
        sums = [(t.get(f"{prefix}_n"), t.sums.get(f"{prefix}_sum", 0.0), t.sums.get(f"{prefix}_sq", 0.0))
                for t in (before, after)]  # fmt: skip
        return compare.means(sums[0], sums[1])
    if kpi.test == "count":
        return compare.counts(before.n, days[0], after.n, days[1])
    if kpi.test == "rate":
        b, a = kpi_value(key, before), kpi_value(key, after)
        if b.value is None or a.value is None:
            return None
        return compare.proportions(int(b.extra["numerator"]), b.n, int(a.extra["numerator"]), a.n)
    return None


def _direction(delta: float | None) -> str:
    if delta is None or abs(delta) < 1e-12:
        return "flat"
    return "up" if delta > 0 else "down"


def _worse(kpi: ReportKpi, delta: float) -> bool:
    return (delta < 0) if kpi.better == "higher" else (delta > 0) if kpi.better == "lower" else False


def kpi_target(kpi: ReportKpi) -> float | None:
    """The KPI's target in the report's unit. The only target VoxLoop keeps today is the repeat-complaint alert
    threshold (REPEAT_ALERT_THRESHOLD, an upper limit); the others have none (docs/reports.md)."""
    if kpi.key == "repeat_rate":
        return float(settings.REPEAT_ALERT_THRESHOLD)
    return None


def traffic_light(kpi: ReportKpi, block: dict[str, Any], target: float | None, change: dict[str, Any] | None) -> str:
    """grey: no data, or nothing to judge by. With a target: green when met, amber when missed but the 95%
    interval still reaches it (could be noise), red when the whole interval misses it. Without one: red when
    significantly worse than the previous period, green otherwise (significantly better or no real change); grey
    for times, whose medians are not tested."""
    value = block["value"]
    if value is None or kpi.better == "neither":
        return "grey"
    if target is not None:
        higher = kpi.better == "higher"
        if (value >= target) if higher else (value <= target):
            return "green"
        reach = block["high"] if higher else block["low"]
        if reach is not None and ((reach >= target) if higher else (reach <= target)):
            return "amber"
        return "red"
    if change is None or change.get("delta") is None or change.get("significant") is None:
        return "grey"  # nothing to compare with, or a median that is not tested: no judgement
    if change.get("significant") and _worse(kpi, change["delta"]):
        return "red"
    return "green"


def _change(kpi: ReportKpi, vs: str, now: dict[str, Any], before: dict[str, Any] | None,
            test: compare.Test | None) -> dict[str, Any] | None:  # fmt: skip
    if before is None or now["value"] is None or before["value"] is None:
        return None
    delta = now["value"] - before["value"]
    raw_delta = delta * 3600 if kpi.unit == "hours" else delta
    return {
        "vs": vs,
        "delta": _r(delta),
        "display": delta_format(raw_delta, KPI_BY_KEY[kpi.key].unit),
        "p": None if test is None else _r(test.p_value, 6),
        "significant": None if test is None else test.significant,  # None: not tested (medians)
        "direction": _direction(delta),
        "worse": _worse(kpi, delta),
    }


@dataclass
class ScopeTotals:
    """The scope's roll-ups for the report period, the previous one and the same period last year."""

    current: dict[str, Totals]
    previous: dict[str, Totals]
    last_year: dict[str, Totals]
    rows: DayRows  # by day, the report period only (for the trend series)


def scope_totals(period: ReportPeriod, scope: ReportScope) -> ScopeTotals:
    previous, last_year = period.previous(), period.same_last_year()
    rows = load_scope_days(scope, period.start, period.end)
    before = load_scope_days(scope, previous.start, previous.end)
    year = load_scope_days(scope, last_year.start, last_year.end)
    sources = scope_sources(scope)
    return ScopeTotals(
        current={s: total_of(rows[s], _period(period)) for s in sources},
        previous={s: total_of(before[s], _period(previous)) for s in sources},
        last_year={s: total_of(year[s], _period(last_year)) for s in sources},
        rows=rows,
    )


def kpi_rows(period: ReportPeriod, scope: ReportScope, totals: ScopeTotals) -> list[dict[str, Any]]:
    sources = scope_sources(scope)
    days = (period.previous().days, period.days)
    year_days = (period.same_last_year().days, period.days)
    url = metrics_url(period, scope)
    rows = []
    for kpi in REPORT_KPIS:
        definition = KPI_BY_KEY[kpi.key]
        if definition.source not in sources:
            continue
        source = definition.source
        now = value_block(kpi, kpi_value(kpi.key, totals.current[source]))
        before = value_block(kpi, kpi_value(kpi.key, totals.previous[source]))
        year = value_block(kpi, kpi_value(kpi.key, totals.last_year[source]))
        before_or_none = before if before["value"] is not None else None
        year_or_none = year if year["value"] is not None else None
        change = _change(kpi, "previous", now, before_or_none,
                         change_test(kpi, totals.previous[source], totals.current[source], days))  # fmt: skip
        change_year = _change(kpi, "last_year", now, year_or_none,
                              change_test(kpi, totals.last_year[source], totals.current[source], year_days))  # fmt: skip
        target = kpi_target(kpi)
        rows.append({
            "key": kpi.key, "name": str(definition.label), "group": kpi.group, "unit": kpi.unit,
            "better": kpi.better, **now,
            "target": _r(target), "target_display": None if target is None else kpi_format(target, "rate"),
            "previous": before_or_none, "last_year": year_or_none,
            "change": change, "change_last_year": change_year,
            "light": traffic_light(kpi, now, target, change),
            "definition": kpi_definition(kpi.key), "url": url,
        })  # fmt: skip
    rows += csat_dimension_rows(totals, url)
    return rows


def csat_dimension_rows(totals: ScopeTotals, url: str) -> list[dict[str, Any]]:
    """CSAT per sub-dimension (speed, resolution, attitude, ...): the share answering 4–5, as the metrics page's
    CSAT-by-dimension table, with its interval and the same comparison as the other rates."""
    current = totals.current.get(Source.RESPONSES, Totals())
    previous = totals.previous.get(Source.RESPONSES, Totals())
    year = totals.last_year.get(Source.RESPONSES, Totals())
    kpi = ReportKpi("csat_top2", "satisfaction", "percent", "higher", "rate")
    rows = []
    for row in csat_dimensions(current):
        name = row["dimension"]

        def block(t: Totals, name: str = name) -> dict[str, Any] | None:
            n, top2 = t.get(f"dim:{name}:n"), t.get(f"dim:{name}:top2")
            if not n:
                return None
            value = kpi_value("csat_top2", _as_csat(top2, n))
            return value_block(kpi, value)

        now = block(current)
        if now is None:
            continue
        before, last = block(previous), block(year)
        test = None
        if before is not None:
            test = compare.proportions(previous.get(f"dim:{name}:top2"), previous.get(f"dim:{name}:n"),
                                       current.get(f"dim:{name}:top2"), current.get(f"dim:{name}:n"))  # fmt: skip
        change = _change(kpi, "previous", now, before, test)
        rows.append({
            "key": f"csat_dim:{name}", "name": _("CSAT: %(dimension)s") % {"dimension": dimension_label(name)},
            "group": "satisfaction", "unit": "percent", "better": "higher", **now,
            "target": None, "target_display": None, "previous": before, "last_year": last,
            "change": change, "change_last_year": None, "light": traffic_light(kpi, now, None, change),
            "definition": _("Share of the answers to this CSAT sub-question that are 4 or 5 on the 1–5 scale."),
            "url": url,
        })  # fmt: skip
    return rows


def _as_csat(top2: int, n: int) -> Totals:
    totals = Totals()
    totals.sums["csat_top2"], totals.sums["csat_n"] = top2, n
    return totals


def channel_rows(period: ReportPeriod, scope: ReportScope) -> list[dict[str, Any]]:
    """Feedback received per channel (the metrics page's breakdown by channel), this period, the previous one
    and a year before. Feedback has no team, so a department's report has none."""
    if scope.department_id:
        return []
    spans = {"n": period, "previous": period.previous(), "last_year": period.same_last_year()}
    counts: dict[str, dict[str, int]] = {}
    for name, p in spans.items():
        for value, by_source in aggregate_by_value([Source.FEEDBACK], "channel", p.start, p.end).items():
            counts.setdefault(value, {})[name] = by_source[Source.FEEDBACK].n
    # A period with no feedback at all (before the data began) is "no data", not a zero per channel.
    empty = {name for name in spans if not any(c.get(name) for c in counts.values())}
    labels = dict(Channel.choices)
    rows = [
        {"key": value, "label": str(labels.get(value, value)) if value else _("(none)"),
         **{name: None if name in empty else c.get(name, 0) for name in spans}}
        for value, c in counts.items()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (-(r["n"] or 0), r["key"]))


# --- definitions --------------------------------------------------------------------------------------------


def kpi_definition(key: str) -> str:
    """How each KPI is computed, in the report's language (also the appendix's definitions)."""
    definitions = {
        "nps": _(
            "Share of promoters (9–10) minus share of detractors (0–6) among survey answers to the "
            "0–10 recommendation question, in points; 95% interval by the trinomial variance."
        ),
        "csat_top2": _("Share of CSAT answers that are 4 or 5 on the 1–5 scale; 95% Wilson interval."),
        "csat_mean": _("Average CSAT answer on the 1–5 scale; 95% normal interval of the mean."),
        "ces_mean": _("Average Customer Effort Score on the 1–7 scale (7 = very easy)."),
        "ces_easy": _("Share of CES answers that are 5–7 (easy) on the 1–7 scale."),
        "negative_share": _("Share of the feedback received in the period whose sentiment is negative."),
        "frt_business_median": _(
            "Median time from a case being opened to the first public reply, in business "
            "hours of the case's SLA calendar, time waiting on the customer excluded; cases "
            "opened in the period."
        ),
        "frt_business_p90": _(
            "90th percentile of the first response time (business hours): nine cases in ten were answered faster."
        ),
        "resolution_business_median": _(
            "Median time from a case being opened to its resolution, in business "
            "hours, time waiting on the customer excluded; cases opened in the "
            "period and resolved so far."
        ),
        "resolution_business_p90": _("90th percentile of the resolution time (business hours)."),
        "sla_compliance": _(
            "Share of the cases with an SLA policy and an outcome that met both the first "
            "response and the resolution target."
        ),
        "fcr_rate": _("Share of the resolved cases resolved with at most one public reply and never reopened."),
        "resolution_rate": _("Share of the cases opened in the period that are resolved by now."),
        "reopen_rate": _("Share of the cases ever resolved that were reopened at least once."),
        "repeat_rate": _(
            "Share of the cases of identified customers that repeat an earlier complaint of the "
            "same customer on the same topic within the repeat window."
        ),
        "cases_opened": _("Cases opened in the period (merged duplicates not counted)."),
        "responses": _("Survey responses submitted in the period."),
        "feedback_items": _("Feedback items received in the period, all channels."),
    }
    return definitions.get(key, "")


# --- the trend series ---------------------------------------------------------------------------------------


def series_points(period: ReportPeriod) -> list[tuple[str, date, date]]:
    """The points of the trend charts: days for a week or a month, Monday-start weeks (clipped to the
    quarter) for a quarter."""
    if period.kind != "quarter":
        return [(d.strftime("%m-%d"), d, d) for d in (period.start + timedelta(days=i) for i in range(period.days))]
    points = []
    start = period.start
    while start <= period.end:
        end = min(period.end, start + timedelta(days=6 - start.weekday()))
        points.append((start.strftime("%m-%d"), start, end))
        start = end + timedelta(days=1)
    return points


def kpi_series(period: ReportPeriod, scope: ReportScope, totals: ScopeTotals) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    sources = scope_sources(scope)
    points = series_points(period)
    for kpi in REPORT_KPIS:
        source = KPI_BY_KEY[kpi.key].source
        if source not in sources:
            continue
        values = []
        for label, start, end in points:
            t = total_of(totals.rows[source], Period(start, end))
            raw = kpi_value(kpi.key, t)
            value = raw.value if (t.n or kpi.unit == "count") else None
            if kpi.unit == "count" and value is None:
                value = 0.0
            values.append({"label": label, "start": start.isoformat(), "value": _r(report_value(kpi, value)),
                           "n": raw.n})  # fmt: skip
        series[kpi.key] = values
    return series


# --- the snapshot -------------------------------------------------------------------------------------------


def scope_block(scope: ReportScope, language: str) -> dict[str, Any]:
    department = None
    label = _("Whole organisation")
    if scope.department_id:
        dept = Department.objects.filter(pk=scope.department_id).first()
        name = (dept.name_en if language.startswith("en") and dept.name_en else dept.name) if dept else ""
        department = {"id": scope.department_id, "name": name or str(scope.department_id)}
        label = _("Department: %(name)s") % {"name": department["name"]}
    return {"department": department, "label": label, "see_contacts": scope.see_contacts}


def build_snapshot(period: ReportPeriod, scope: ReportScope, language: str, *,
                   now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """The whole report's data for ``period`` and ``scope``, labels in ``language`` ("zh-hans" or "en")."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown report language {language!r}; use one of: {', '.join(LANGUAGES)}")
    now = now or timezone.now()
    with translation.override(language):
        return _build(period, scope, language, now)


def _join(items: list[str]) -> str:
    return ("；" if translation.get_language().startswith("zh") else "; ").join(items)


def summary(kpis: list[dict[str, Any]], period: ReportPeriod, language: str) -> str:
    """One generated paragraph: which KPIs changed beyond noise against the previous period, which moved
    within it, and which had no data; honest that a non-significant change is not a trend."""
    previous_label = period.previous().label(language)
    judged = [k for k in kpis if k["value"] is not None and k["better"] != "neither"]
    significant = [k for k in judged if k["change"] and k["change"]["significant"]]
    noise = [k for k in judged if k["change"] and k["change"]["significant"] is False]
    untested = [k for k in judged if k["change"] and k["change"]["significant"] is None]
    empty = [k for k in kpis if k["value"] is None]
    parts: list[str] = []
    if not judged:
        return _("There is no data for this period yet: no indicator can be judged.")
    better = [k for k in significant if not k["change"]["worse"]]
    worse = [k for k in significant if k["change"]["worse"]]
    if better:
        parts.append(
            _("Significantly better than %(previous)s: %(list)s.")
            % {"previous": previous_label, "list": _join([_kpi_move(k) for k in better])}
        )
    if worse:
        parts.append(
            _("Significantly worse than %(previous)s: %(list)s.")
            % {"previous": previous_label, "list": _join([_kpi_move(k) for k in worse])}
        )
    if not significant:
        parts.append(_("No indicator changed significantly against %(previous)s.") % {"previous": previous_label})
    if noise:
        parts.append(
            _("%(list)s moved within what chance explains; read these as unchanged.")
            % {"list": _join([_kpi_move(k) for k in noise])}
        )
    if untested:
        parts.append(
            _("Response and resolution times (medians and 90th percentiles) are shown without a significance test.")
        )
    reds = [k for k in kpis if k["light"] == "red" and k["target"] is not None]
    for k in reds:
        parts.append(
            _("%(name)s is %(value)s, beyond its target of %(target)s.")
            % {"name": k["name"], "value": k["display"], "target": k["target_display"]}
        )
    if empty:
        parts.append(_("No data this period: %(list)s.") % {"list": _join([k["name"] for k in empty])})
    return " ".join(parts)


def _kpi_move(kpi: dict[str, Any]) -> str:
    return _("%(name)s %(before)s → %(after)s") % {
        "name": kpi["name"],
        "before": (kpi["previous"] or {}).get("display", "–"),
        "after": kpi["display"],
    }


def coverage(period: ReportPeriod, now: datetime) -> dict[str, Any]:
    """How many of the period's feedback items the analysis has read (topics and sentiment come from it)."""
    start, end = range_bounds(period.start, period.end)
    counts = dict(
        Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
        .values_list("analysis_status").annotate(n=models.Count("id")).order_by()
    )  # fmt: skip
    items = sum(counts.values())
    analysed = counts.get(AnalysisStatus.DONE, 0)
    return {"items": items, "analysed": analysed, "not_analysed": items - analysed,
            "failed": counts.get(AnalysisStatus.FAILED, 0),
            "as_of": now.astimezone(site_zone()).isoformat(timespec="seconds")}  # fmt: skip


def data_as_of(now: datetime) -> datetime:
    """How fresh the roll-ups are: the oldest point up to which the catch-up task has folded in every source's
    changes (its watermarks), or ``now`` when none has run (a full rebuild leaves them at its own time)."""
    checked = Watermark.objects.aggregate(oldest=models.Min("checked_until"))["oldest"]
    return min(checked, now) if checked else now


def caveats(period: ReportPeriod, cover: dict[str, Any], now: datetime, extra: list[str]) -> list[str]:
    notes: list[str] = []
    if local_day(now) <= period.end:
        notes.append(_("The period is not over yet: its figures are partial."))
    if cover["not_analysed"]:
        notes.append(
            _("%(n)s of %(items)s feedback items are not analysed yet; topic and sentiment figures leave them out.")
            % {"n": cover["not_analysed"], "items": cover["items"]}
        )
    notes.append(
        _(
            "Case figures count the cases opened in the period; a case still open now may be resolved "
            "later, so the latest periods' resolution figures can still change."
        )
    )
    notes.append(
        _(
            "Changes are tested at the 5% level one indicator at a time: among twenty indicators that did "
            "not really change, about one will look significant by chance."
        )
    )
    notes.append(
        _(
            "Only the repeat-complaint rate has a target (its alert threshold); the other lights compare "
            "with the previous period."
        )
    )
    return notes + extra


def tables(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """The appendix's tables and the workbook's sheets, numbers as numbers. The indicators are not repeated
    here: the status section shows them and the renderer's KPI sheet lists them from ``status.kpis``."""
    k = snapshot["status"]["kpis"]
    problems = snapshot["problems"]
    out: list[dict[str, Any]] = [
        {"key": "channels", "title": _("Channels"),
         "columns": [_("Channel"), _("This period"), _("Previous period"), _("Same period last year")],
         "rows": [[c["label"], c["n"], c["previous"], c["last_year"]] for c in snapshot["status"]["channels"]]},
        {"key": "pareto", "title": _("Causes"),
         "columns": [_("Cause"), "n", _pct(_("Share")), _pct(_("95% interval, low")), _pct(_("95% interval, high")),
                     _pct(_("Cumulative")), _pct(_("Previous share")), _("Significant change")],
         "rows": [[r["label"], r["n"], r["share"], r["low"], r["high"], r["cumulative"], r["previous_share"],
                   _yes_no(r["significant"])] for r in problems["pareto"]]},
        {"key": "drivers", "title": _("Drivers of NPS"),
         "columns": [_("Topic"), _("Impact (NPS points)"), _("Difference"), "n", _("Significant")],
         "rows": [[d["label"], d["impact"], d["difference"], d["n"], _yes_no(d["significant"])]
                  for d in problems["drivers"]]},
        {"key": "alerts", "title": _("Alerts"),
         "columns": [_("Alert"), pgettext("alert", "Change"), _("Severity"), _("Since"), _("Acknowledged")],
         "rows": [[a["title"], a["change"], a["severity_label"], a["started_on"], _yes_no(a["acknowledged"])]
                  for a in problems["alerts"]]},
        {"key": "touchpoints", "title": _("Touchpoints"),
         "columns": [_("Touchpoint"), _pct(_("Negative share")), "n", _("Complaints")],
         "rows": [[t["label"], t["value"], t["n"], t["complaints"]] for t in problems["touchpoints"]]},
        {"key": "actions", "title": _("Improvement actions"),
         "columns": [pgettext("improvement action", "Action"), _("Status"), _("Owner"), _("Due"), _("Verdict"), _("Effect")],
         "rows": [[a["title"], a["state_label"], a["owner"], a["due"], a["verdict_label"] or "",
                   (a["effect"] or {}).get("display", "")] for a in snapshot["actions"]]},
        {"key": "suggestions", "title": _("Suggestions"), "columns": [_("Suggestion"), _("Why")],
         "rows": [[s["text"], s["reason"]] for s in snapshot["suggestions"]]},
    ]  # fmt: skip
    # The trend of the headline indicators only: a column per indicator has to fit an A4 page.
    series = snapshot["series"]
    keys = [key for key in TREND_TABLE_KPIS if key in series]
    if keys:
        names = {r["key"]: r for r in k}
        columns: list[Any] = [pgettext("trend table", "From")]
        for key in keys:
            unit = names[key]["unit"]
            title = names[key]["name"] + (f" ({_('hours')})" if unit == "hours" else "")
            columns.append({"title": title, "unit": unit} if unit in ("percent", "count") else title)
        first = series[keys[0]]
        out.append({"key": "series", "title": _("Trend"), "columns": columns,
                    "rows": [[p["start"], *[_int_if_count(names[x]["unit"], series[x][i]["value"]) for x in keys]]
                             for i, p in enumerate(first)]})  # fmt: skip
    return out


# The indicators of the appendix's trend table (every indicator's series is in ``series`` for the charts).
TREND_TABLE_KPIS = ("nps", "csat_top2", "ces_mean", "frt_business_median", "sla_compliance", "fcr_rate",
                    "repeat_rate", "feedback_items")  # fmt: skip


def _int_if_count(unit: str, value: float | None) -> float | int | None:
    return int(value) if unit == "count" and value is not None else value


def _pct(title: str) -> dict[str, str]:
    """A column of fractions, shown and formatted as per cent by the renderer and the workbook."""
    return {"title": title, "unit": "percent"}


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def _build(period: ReportPeriod, scope: ReportScope, language: str, now: datetime) -> dict[str, Any]:
    zone = site_zone()
    totals = scope_totals(period, scope)
    kpis = kpi_rows(period, scope, totals)
    team_ids = department_team_ids(scope.department_id) if scope.department_id else None
    repeat_kpi = next((k for k in kpis if k["key"] == "repeat_rate"), None)
    found = build_findings(period, team_ids, language, scope.see_contacts, repeat_kpi)
    status = {"summary": summary(kpis, period, language), "kpis": kpis, "channels": channel_rows(period, scope)}
    cover = coverage(period, now)
    title = pgettext("report title", "Service quality report")
    stamp = now.astimezone(zone).isoformat(timespec="seconds")
    cover["as_of"] = data_as_of(now).astimezone(zone).isoformat(timespec="seconds")
    snapshot: dict[str, Any] = {
        "version": VERSION,
        "kind": period.kind,
        "language": language,
        "title": f"{title} · {period.label(language)}",
        "period": period.as_dict(language),
        "previous": period.previous().as_dict(language),
        "last_year": period.same_last_year().as_dict(language),
        "scope": scope_block(scope, language),
        "generated_at": stamp,
        "as_of": cover["as_of"],
        "status": status,
        "problems": found.problems,
        "suggestions": build_suggestions(status, found.problems, scope.department_id, local_day(now)),
        "actions": action_rows(period, scope.department_id),
        "appendix": {
            "definitions": appendix_definitions(kpis),
            "coverage": cover,
            "caveats": caveats(period, cover, now, found.caveats),
        },
        "series": kpi_series(period, scope, totals),
        "tables": [],
    }
    snapshot["tables"] = tables(snapshot)
    return snapshot


def appendix_definitions(kpis: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows = [{"name": k["name"], "definition": k["definition"]} for k in kpis]
    rows += [
        {"name": _("95% interval"), "definition": _(
            "The range that holds the true value with 95% confidence given the number of answers or cases (n): "
            "Wilson for shares, normal for means, trinomial for NPS.")},
        {"name": _("Significant change"), "definition": _(
            "A change against the previous period whose two-sided test gives p < 0.05: two-proportion z test "
            "for shares, Welch test for means, the NPS difference over both variances, and a conditional "
            "binomial test for volumes per day. Times (medians, 90th percentiles) are not tested.")},
        {"name": _("Traffic light"), "definition": _(
            "Green: target met, or no significant worsening. Amber: target missed but within the interval. "
            "Red: target missed beyond the interval, or significantly worse than the previous period. Grey: no "
            "data, a volume (neither good nor bad), or a time (not tested).")},
        {"name": _("Pareto of causes"), "definition": _(
            "Causes from the largest down with their share of the total and its 95% Wilson interval; the vital "
            "few make up the first 80%. A share change is significant after Holm's correction over all causes.")},
        {"name": _("Driver impact"), "definition": _(
            "NPS of the responses mentioning a topic minus that of the others, times the share mentioning it: "
            "roughly how many points the overall NPS would move without the topic's effect.")},
    ]  # fmt: skip
    return rows
