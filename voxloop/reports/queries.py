"""Read-only questions the reports pages and the API ask: the archive, a report's predecessor, KPI deltas."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from voxloop.reports.models import Report, ReportKind, ReportState

NAV_LABEL = _("Reports")
COMPARABLE = (ReportState.DRAFT, ReportState.APPROVED, ReportState.SENT)


def reports(kind: str = "", state: str = "") -> QuerySet[Report]:
    qs = Report.objects.select_related("department", "schedule").defer("snapshot")
    if kind in ReportKind.values:
        qs = qs.filter(kind=kind)
    if state in ReportState.values:
        qs = qs.filter(state=state)
    return qs.order_by("-period_start", "-id")


def previous_report(report: Report) -> Report | None:
    """The report of the period before, for the same kind, scope and language (the newest if there are several)."""
    return (
        Report.objects.filter(
            kind=report.kind,
            department=report.department,
            language=report.language,
            period_end__lt=report.period_start,
            state__in=COMPARABLE,
        )  # fmt: skip
        .order_by("-period_start", "-id")
        .first()
    )


def previous_ids(rows: list[Report]) -> dict[int, int]:
    """Report id -> the id of its previous report, for the list's "compare" links."""
    found: dict[int, int] = {}
    for report in rows:
        previous = previous_report(report)
        if previous is not None:
            found[report.pk] = previous.pk
    return found


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def kpi_deltas(report: Report, previous: Report) -> list[dict[str, Any]]:
    """Each KPI of the report next to the same KPI in the previous report, with the difference."""
    before = {k.get("key"): k for k in (previous.snapshot.get("status") or {}).get("kpis", [])}
    rows = []
    for kpi in (report.snapshot.get("status") or {}).get("kpis", []):
        old = before.get(kpi.get("key"), {})
        now_value, old_value = _number(kpi.get("value")), _number(old.get("value"))
        delta = None if now_value is None or old_value is None else round(now_value - old_value, 2)
        better = kpi.get("better")
        good = None if delta in (None, 0) or better not in ("higher", "lower") else (delta > 0) == (better == "higher")
        rows.append({
            "key": kpi.get("key"), "name": kpi.get("name"), "display": kpi.get("display") or "–",
            "previous_display": old.get("display") or "–", "delta": delta, "good": good,
            "light": kpi.get("light", "grey"),
        })  # fmt: skip
    return rows
