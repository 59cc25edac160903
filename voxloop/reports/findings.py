"""The report's "problems and causes" section (存在的问题及原因分析), from the same read models as the insight
pages: the Pareto and its period-over-period test (voxloop.insights.root_causes with voxloop.stats.pareto),
alerts (voxloop.alerts.queries), emerging topics (voxloop.insights.emerging), drivers
(voxloop.insights.drivers), repeat complaints (the cases roll-ups), the journey map's touchpoints
(voxloop.insights.journey) and a few customer quotes per top cause, masked by accounts.privacy's one rule.

The organisation's Pareto is of complaint topics (feedback, ``tc:<top code>``: the insight page's first chart).
Feedback has no team, so a department's Pareto is of its cases' root causes (``rc:<code>``, the page's second
chart) summed over the department's teams; alerts, emerging topics and touchpoints are about all feedback and
are left out of a department's report (a caveat says so).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from voxloop.accounts import privacy
from voxloop.alerts.models import AlertStatus
from voxloop.alerts.queries import alert_path, alerts_in, describe, relabel
from voxloop.analysis.models import FeedbackTopic
from voxloop.cases.models import CaseFeedback
from voxloop.feedback.models import Channel, Feedback
from voxloop.insights import emerging as emerging_view
from voxloop.insights.drivers import MIN_GROUP, cut_sums, score_sums, significant, topic_drivers, topics_in
from voxloop.insights.filters import InsightFilters
from voxloop.insights.journey import journey
from voxloop.insights.pages import feedback_url
from voxloop.insights.root_causes import ROOT_CAUSE_PREFIX, TOPIC_PREFIX, prefixed_counts, topic_labels
from voxloop.metrics.days import range_bounds
from voxloop.metrics.models import Source
from voxloop.metrics.queries import Cut, Period, Totals, aggregate_by_value, value_labels
from voxloop.metrics.templatetags.metrics_format import kpi_format
from voxloop.reports.periods import ReportPeriod
from voxloop.stats.drivers import driver_impacts_from_sums
from voxloop.stats.pareto import pareto, what_changed

PARETO_ROWS = 12  # the biggest causes; the rest are summed in the appendix table
QUOTED_CAUSES = 3  # the top causes that get customer quotes
QUOTES_PER_CAUSE = 3
QUOTE_CHARS = 240
MIN_QUOTE_CHARS = 8  # "差评" alone says nothing a reader can act on
SCAN_QUOTES = 40  # candidates read per cause, the most negative first
DRIVERS = 6
TOUCHPOINTS = 5
REPEAT_TOP = 5


@dataclass
class Findings:
    problems: dict[str, Any]
    caveats: list[str] = field(default_factory=list)


def _period(p: ReportPeriod) -> Period:
    return Period(p.start, p.end)


def _r(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


# --- the Pareto ---------------------------------------------------------------------------------------------


def cause_counts(p: ReportPeriod, team_ids: list[int] | None) -> Counter[str]:
    """Complaint-topic mentions (organisation) or resolved cases by root cause (the teams of a department)."""
    if team_ids is None:
        return prefixed_counts(Source.FEEDBACK, Cut(), _period(p), TOPIC_PREFIX["top"])[0]
    total: Counter[str] = Counter()
    for team_id in team_ids:
        total.update(prefixed_counts(Source.CASES, Cut("team", str(team_id)), _period(p), ROOT_CAUSE_PREFIX)[0])
    return total


def cause_url(p: ReportPeriod, code: str, team_ids: list[int] | None) -> str:
    if team_ids is None:
        return feedback_url(None, start=p.start, end=p.end, topic=code, aspect="complaint")
    params = {"period": "custom", "start": p.start.isoformat(), "end": p.end.isoformat(), "kpi": "resolution_rate",
              "root_cause": code}  # fmt: skip
    if len(team_ids) == 1:
        params.update(cut="team", value=str(team_ids[0]))
    return reverse("metrics:drill_cases") + "?" + urlencode(params)


def pareto_section(p: ReportPeriod, team_ids: list[int] | None, language: str) -> dict[str, Any]:
    current = cause_counts(p, team_ids)
    previous = cause_counts(p.previous(), team_ids)
    labels = topic_labels(sorted(set(current) | set(previous)), language)
    total, previous_total = sum(current.values()), sum(previous.values())
    now_counts: dict[Hashable, int] = {code: n for code, n in current.items()}
    before_counts: dict[Hashable, int] = {code: n for code, n in previous.items()}
    changes = what_changed(before_counts, now_counts) if total and previous_total else []
    by_cause = {str(c.cause): c for c in changes}
    rows = []
    for row in pareto(now_counts)[:PARETO_ROWS] if total else []:
        code = str(row.cause)
        change = by_cause.get(code)
        rows.append({
            "key": code, "label": labels.get(code, code), "n": row.count, "share": _r(row.share),
            "low": _r(row.ci_low), "high": _r(row.ci_high), "cumulative": _r(row.cumulative_share),
            "percent": row.percent, "vital_few": row.vital_few,
            "previous_share": _r(change.before_share) if change else None,
            "significant": bool(change and change.significant), "url": cause_url(p, code, team_ids),
        })  # fmt: skip
    change_rows = [
        {"key": str(c.cause), "label": labels.get(str(c.cause), str(c.cause)), "share": _r(c.after_share),
         "previous_share": _r(c.before_share), "delta": _r(c.difference), "low": _r(c.ci_low), "high": _r(c.ci_high),
         "p": _r(c.p_value, 6), "n": c.after_count, "previous_n": c.before_count,
         "direction": "up" if c.difference > 0 else "down", "url": cause_url(p, str(c.cause), team_ids)}
        for c in changes if c.significant
    ]  # fmt: skip
    return {
        "basis": "complaint_topics" if team_ids is None else "root_causes",
        "total": total,
        "previous_total": previous_total,
        "pareto": rows,
        "changes": change_rows,
    }


# --- alerts, emerging topics ----------------------------------------------------------------------------------


def alert_rows(p: ReportPeriod, language: str) -> list[dict[str, Any]]:
    """Alerts whose run overlaps the period, and whether someone acknowledged them."""
    alerts = list(alerts_in(_period(p)).order_by("-severity_rank", "-started_on", "-id")[:50])
    names = relabel(alerts, language)
    rows = []
    for alert in alerts:
        text = describe(alert, language, names.get(alert.pk))
        acknowledged = alert.acknowledged_at is not None or alert.status == AlertStatus.ACKNOWLEDGED
        rows.append({
            "title": text["what"], "change": text["change"], "severity": alert.severity,
            "severity_label": text["severity"], "status": alert.status, "status_label": text["status"],
            "raised_at": alert.created_at.isoformat(timespec="seconds"), "started_on": alert.started_on.isoformat(),
            "last_day": alert.last_day.isoformat(), "acknowledged": acknowledged,
            "acknowledged_at": alert.acknowledged_at.isoformat(timespec="seconds") if alert.acknowledged_at else None,
            "url": alert_path(alert),
        })  # fmt: skip
    return rows


def emerging_rows(p: ReportPeriod) -> tuple[list[dict[str, Any]], str]:
    """The new and rising clusters of the latest finished run, when its window reaches into the period."""
    view = emerging_view.latest_results()
    run = view.run
    start, _end = range_bounds(p.start, p.end)
    if run is None or run.window_end is None or run.window_end < start:
        return [], _("No emerging-topic analysis covers this period.")
    rows: list[dict[str, Any]] = []
    for cluster in view.clusters:
        band = emerging_view.growth_band(cluster.growth, cluster.recent_count)
        if band not in {"new", "rising"}:
            continue
        rows.append({"label": emerging_view.cluster_name(cluster), "n": cluster.size, "recent": cluster.recent_count,
                     "growth": _r(cluster.growth, 2), "band": band, "growth_display": emerging_view.growth_text(cluster),
                     "url": emerging_view.cluster_url(cluster)})  # fmt: skip
    rows.sort(key=lambda r: (-(r["recent"] or 0), r["label"]))
    note = ""
    if run.window_start and run.window_end:
        note = _("Emerging topics are from the latest clustering run (%(start)s to %(end)s), not from the "
                 "report period alone.") % {"start": run.window_start.date().isoformat(),
                                            "end": run.window_end.date().isoformat()}  # fmt: skip
    return rows[:8], note


# --- drivers ------------------------------------------------------------------------------------------------


def driver_rows(p: ReportPeriod, team_ids: list[int] | None, language: str) -> list[dict[str, Any]]:
    """Topics that move NPS most (voxloop.insights.drivers; a department: its teams' responses)."""
    period = _period(p)
    if team_ids is None:
        result = topic_drivers(InsightFilters(period, Cut(), "custom"), "nps", language)
        drivers, labels = result.drivers, result.labels
    else:
        codes = topics_in(period)
        overall_totals, groups = Totals(), {code: Totals() for code in codes}
        for team_id in team_ids:
            team_total, team_groups = cut_sums(Cut("team", str(team_id)), period, "nps", codes)
            overall_totals.add(team_total)
            for code, totals in team_groups.items():
                groups[code].add(totals)
        overall = score_sums(overall_totals, "nps")
        if overall.n <= 0:
            return []
        sums = {code: score_sums(t, "nps") for code, t in groups.items()}
        drivers = driver_impacts_from_sums(overall, {c: s for c, s in sums.items() if s.n <= overall.n},
                                           min_group=MIN_GROUP)  # fmt: skip
        labels = value_labels("topic", [str(d.topic) for d in drivers], language)
    rows = []
    for driver in drivers:
        if driver.impact is None:
            continue
        rows.append({"key": str(driver.topic), "label": labels.get(str(driver.topic), str(driver.topic)),
                     "impact": _r(driver.impact, 2), "display": f"{driver.impact:+.1f}", "n": driver.mentions,
                     "difference": _r(driver.difference, 2), "low": _r(driver.ci_low, 2), "high": _r(driver.ci_high, 2),
                     "significant": significant(driver)})  # fmt: skip
    return rows[:DRIVERS]


# --- repeat complaints ----------------------------------------------------------------------------------------


def repeat_section(p: ReportPeriod, team_ids: list[int] | None, language: str, rate_kpi: dict[str, Any] | None
                   ) -> dict[str, Any]:  # fmt: skip
    """The repeat-complaint rate (the status KPI) and where repeats come from: by topic for the organisation,
    by team for a department (the cases roll-ups keep one dimension at a time)."""
    dimension = "topic" if team_ids is None else "team"
    totals = aggregate_by_value([Source.CASES], dimension, p.start, p.end)
    counts = {value: int(t[Source.CASES].sums.get("repeats", 0)) for value, t in totals.items() if value}
    if team_ids is not None:
        counts = {v: n for v, n in counts.items() if v.isdigit() and int(v) in team_ids}
    top = sorted(((v, n) for v, n in counts.items() if n), key=lambda vn: (-vn[1], vn[0]))[:REPEAT_TOP]
    labels = value_labels(dimension, [v for v, _n in top], language)
    rate = rate_kpi["value"] if rate_kpi else None
    return {
        "rate": _r(rate),
        "display": rate_kpi["display"] if rate_kpi else kpi_format(None, "rate"),
        "n": rate_kpi["n"] if rate_kpi else 0,
        "by": dimension,
        "top": [{"key": v, "label": labels.get(v, v), "n": n} for v, n in top],
    }


# --- touchpoints ----------------------------------------------------------------------------------------------


def touchpoint_rows(p: ReportPeriod, language: str) -> list[dict[str, Any]]:
    """The journey map's touchpoints, worst (highest negative share) first."""
    result = journey(InsightFilters(_period(p), Cut(), "custom"), language)
    rows: list[dict[str, Any]] = []
    for row in result.rows:
        share = row.figures.negative_share
        if share is None:
            continue
        codes = ",".join(row.touchpoint.topic_codes)
        rows.append({"key": row.touchpoint.code, "label": row.label, "value": _r(share),
                     "display": kpi_format(share, "rate"), "n": row.figures.n, "complaints": row.figures.complaints,
                     "url": reverse("dashboards:journey") + "?" + urlencode({"period": "custom",
                            "start": p.start.isoformat(), "end": p.end.isoformat(), "touchpoint": row.touchpoint.code}),
                     "topics": codes})  # fmt: skip
    rows.sort(key=lambda r: (-r["value"], -(r["n"] or 0)))
    return rows[:TOUCHPOINTS]


# --- quotes -------------------------------------------------------------------------------------------------


def _quote_text(item: Feedback, see_contacts: bool) -> str:
    text = " ".join((item.text or "").split())
    if not see_contacts:
        text = privacy.mask_text(text, privacy.known_values(item))
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"


def quotes_for(p: ReportPeriod, code: str, team_ids: list[int] | None, see_contacts: bool) -> list[dict[str, Any]]:
    """2–3 complaints behind one cause: the most negative of the period with something to read, one per
    customer so one angry customer does not speak for everyone."""
    start, end = range_bounds(p.start, p.end)
    ids: QuerySet[Any, int]  # the ids of the items behind the cause, as a subquery
    if team_ids is None:
        ids = FeedbackTopic.objects.filter(
            FeedbackTopic.complaint_q(), top_code=code, feedback__received_at__gte=start,
            feedback__received_at__lt=end,
        ).values_list("feedback_id", flat=True)  # fmt: skip
    else:
        ids = CaseFeedback.objects.filter(
            case__team_id__in=team_ids, case__root_cause=code, case__created_at__gte=start,
            case__created_at__lt=end,
        ).values_list("feedback_id", flat=True)  # fmt: skip
    candidates = (
        Feedback.objects.filter(pk__in=ids).select_related("customer")
        .order_by(F("sentiment_score").asc(nulls_last=True), "-received_at", "pk")[:SCAN_QUOTES]
    )  # fmt: skip
    channels = dict(Channel.choices)
    quotes: list[dict[str, Any]] = []
    seen: set[Any] = set()
    for item in candidates:
        who = item.customer_id or f"item{item.pk}"
        if who in seen or len((item.text or "").strip()) < MIN_QUOTE_CHARS:
            continue
        seen.add(who)
        quotes.append({"text": _quote_text(item, see_contacts), "date": item.received_at.date().isoformat(),
                       "channel": str(channels.get(item.channel, item.channel)),
                       "url": reverse("feedback:detail", args=[item.pk])})  # fmt: skip
        if len(quotes) >= QUOTES_PER_CAUSE:
            break
    return quotes


# --- the narrative --------------------------------------------------------------------------------------------


def narrative(problems: dict[str, Any]) -> str:
    """One generated paragraph: where complaints concentrate, what changed beyond noise, what is unattended."""
    parts: list[str] = []
    rows = problems["pareto"]
    if rows:
        vital = [r for r in rows if r["vital_few"]]
        top = rows[0]
        parts.append(_("The largest cause is “%(label)s” with %(share)s of %(total)s counted (95%% interval "
                       "%(low)s–%(high)s); %(k)s causes make up 80%% of the total.") % {
            "label": top["label"], "share": kpi_format(top["share"], "rate"), "total": problems["total"],
            "low": kpi_format(top["low"], "rate"), "high": kpi_format(top["high"], "rate"), "k": max(1, len(vital)),
        })  # fmt: skip
    else:
        parts.append(_("No complaints with a cause were counted in this period."))
    ups = [c for c in problems["changes"] if c["direction"] == "up"]
    downs = [c for c in problems["changes"] if c["direction"] == "down"]
    if ups:
        parts.append(_("Significantly larger share than the previous period: %(causes)s.") % {
            "causes": "、".join(_cause_change(c) for c in ups) if _chinese() else ", ".join(_cause_change(c) for c in ups)
        })  # fmt: skip
    if downs:
        parts.append(_("Significantly smaller: %(causes)s.") % {
            "causes": ("、" if _chinese() else ", ").join(_cause_change(c) for c in downs)
        })  # fmt: skip
    if rows and not problems["changes"]:
        parts.append(_("No cause's share changed beyond what chance explains (two-proportion test, Holm-corrected)."))
    unacknowledged = [a for a in problems["alerts"] if not a["acknowledged"]]
    if problems["alerts"]:
        parts.append(_("%(n)s early-warning alerts fired; %(open)s were not acknowledged.") % {
            "n": len(problems["alerts"]), "open": len(unacknowledged)})  # fmt: skip
    return " ".join(parts)


def _chinese() -> bool:
    return (get_language() or "").startswith("zh")


def _cause_change(change: dict[str, Any]) -> str:
    return _("%(label)s %(before)s → %(after)s") % {
        "label": change["label"], "before": kpi_format(change["previous_share"], "rate"),
        "after": kpi_format(change["share"], "rate"),
    }  # fmt: skip


# --- the section ----------------------------------------------------------------------------------------------


def build_findings(p: ReportPeriod, team_ids: list[int] | None, language: str, see_contacts: bool,
                   repeat_kpi: dict[str, Any] | None) -> Findings:  # fmt: skip
    """``team_ids`` None: the whole organisation; else the teams of the department the report covers."""
    caveats: list[str] = []
    section = pareto_section(p, team_ids, language)
    problems: dict[str, Any] = {
        "narrative": "",
        "basis": section["basis"],
        "basis_label": _("Complaint topics (mentions in complaints)") if team_ids is None
        else _("Root causes of resolved cases"),
        "total": section["total"],
        "previous_total": section["previous_total"],
        "pareto": section["pareto"],
        "changes": section["changes"],
        "alerts": [],
        "emerging": [],
        "drivers": driver_rows(p, team_ids, language),
        "repeat": repeat_section(p, team_ids, language, repeat_kpi),
        "touchpoints": [],
        "quotes": {},
    }  # fmt: skip
    if team_ids is None:
        problems["alerts"] = alert_rows(p, language)
        problems["emerging"], note = emerging_rows(p)
        if note:
            caveats.append(note)
        problems["touchpoints"] = touchpoint_rows(p, language)
    else:
        caveats.append(_("Feedback items have no team: a department's report leaves out the feedback-only figures "
                         "(feedback received, negative share, complaint topics, channels, alerts, emerging topics "
                         "and touchpoints) and ranks its cases' root causes instead."))  # fmt: skip
    for row in problems["pareto"][:QUOTED_CAUSES]:
        problems["quotes"][row["key"]] = quotes_for(p, row["key"], team_ids, see_contacts)
    problems["narrative"] = narrative(problems)
    return Findings(problems, caveats)
