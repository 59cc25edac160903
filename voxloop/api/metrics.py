"""/api/metrics/...: the KPI panel's numbers and tables as JSON (token scope metrics:read)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from voxloop.accounts.permissions import DENIED_MESSAGES, Capability, has
from voxloop.api.auth import TokenAuth
from voxloop.api.models import Scope
from voxloop.metrics import exports, queries
from voxloop.metrics.days import local_day

router = Router(tags=["metrics"])
AUTH = TokenAuth(Scope.METRICS_READ)


class PanelFilters(Schema):
    period: str = "30"  # 7, 30, 90 or custom
    start: str = ""  # YYYY-MM-DD, for period=custom
    end: str = ""
    cut: str = ""  # channel, product, team, agent, topic, segment
    value: str = ""  # the cut's value: an id (product, team, agent) or a code (channel, topic, segment)


class KpiOut(Schema):
    key: str
    label: str
    unit: str
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    previous_value: float | None
    previous_n: int
    delta: float | None
    extra: dict[str, Any]


class PanelOut(Schema):
    start: str
    end: str
    previous_start: str
    previous_end: str
    cut: str
    value: str
    kpis: list[KpiOut]
    csat_dimensions: list[dict[str, Any]]
    repurchase: dict[str, Any]


class TableOut(Schema):
    header: list[str]
    rows: list[list[Any]]


def _require_reader(request: HttpRequest) -> None:
    """A token that acts for a user reads what that user's role may read on the metrics pages (a token for no
    user was given metrics:read by an administrator, for a system)."""
    user = request.auth.created_by  # type: ignore[attr-defined]
    if user is not None and not has(user, Capability.READ_METRICS):
        raise HttpError(403, str(DENIED_MESSAGES[Capability.READ_METRICS]))


def _panel(filters: PanelFilters) -> queries.Panel:
    try:
        period, cut = queries.parse_panel_params(filters.dict(), local_day(timezone.now()))
        return queries.kpi_panel(period, cut)
    except queries.PeriodError as exc:
        raise HttpError(400, str(exc)) from None


# The operation ids are the ones published before the router moved here from voxloop/metrics/api.py: clients
# generated from the OpenAPI document keep their method names.
@router.get(
    "/metrics/kpis",
    auth=AUTH,
    response=PanelOut,
    summary="Every KPI with n, interval and comparison",
    operation_id="voxloop_metrics_api_kpis",
)
def kpis(request: HttpRequest, filters: Query[PanelFilters]):
    """Rates are fractions (0..1), NPS is in points (-100..100), durations in seconds; `value` is null when
    there is no data. `previous_*` is the same number of days just before the period."""
    _require_reader(request)
    panel = _panel(filters)
    return {
        "start": panel.period.start.isoformat(),
        "end": panel.period.end.isoformat(),
        "previous_start": panel.period.previous.start.isoformat(),
        "previous_end": panel.period.previous.end.isoformat(),
        "cut": panel.cut.dimension,
        "value": panel.cut.value,
        "kpis": [
            {
                "key": c.definition.key,
                "label": str(c.definition.label),
                "unit": c.definition.unit,
                "value": c.current.value,
                "n": c.current.n,
                "ci_low": c.current.ci_low,
                "ci_high": c.current.ci_high,
                "previous_value": c.previous.value,
                "previous_n": c.previous.n,
                "delta": c.comparison.delta,
                "extra": c.current.extra,
            }
            for c in panel.cards
        ],  # fmt: skip
        "csat_dimensions": panel.csat_dimensions,
        "repurchase": panel.repurchase,
    }


@router.get(
    "/metrics/tables/{table}",
    auth=AUTH,
    response=TableOut,
    summary="A metric table (as exported)",
    operation_id="voxloop_metrics_api_table",
)
def table(request: HttpRequest, table: str, filters: Query[PanelFilters], by: str = "topic", kpi: str = ""):
    """The tables of the panel's CSV/Excel exports: kpis, daily, breakdown (by= a dimension),
    csat_dimensions, repurchase."""
    _require_reader(request)
    panel = _panel(filters)
    try:
        header, rows = exports.table_for(table, panel, dimension=by, key=kpi or None)
    except (exports.ExportError, queries.PeriodError) as exc:
        raise HttpError(400, str(exc)) from None
    return {"header": [str(h) for h in header], "rows": rows}
