"""Read model of the customer segments page: counts per segment, value tiers of the last run, a segment's
customer list (one page at a time) and its export.

Everything here is cheap on purpose: counts come from the index on Customer.segment, the tiers and thresholds
from the summary the last segmentation run left (voxloop.insights.segmentation), and the per-customer columns
of the list (complaints, last feedback, open case) are read for the customers shown only, through the
customer indexes of Feedback and Case.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from voxloop.accounts.models import AuditAction, AuditLog, User
from voxloop.accounts.privacy import name_for
from voxloop.cases.models import ACTIVE_STATUSES, Case
from voxloop.core.clientip import client_ip
from voxloop.feedback.models import Customer, CustomerSegment, Feedback, Kind
from voxloop.insights.pages import Chart, Table
from voxloop.insights.segmentation import last_run, thresholds_of
from voxloop.metrics.days import local_day
from voxloop.stats.segments import Thresholds, ValueTier

# Most urgent first: the order of the bars, the legend and the export.
SEGMENT_ORDER: tuple[str, ...] = (
    CustomerSegment.HIGH_RISK_RECOVERY,
    CustomerSegment.AT_RISK,
    CustomerSegment.LOYAL_ADVOCATE,
    CustomerSegment.GROWTH_POTENTIAL,
    CustomerSegment.OTHERS,
)
SEGMENT_COLORS: dict[str, str] = {
    CustomerSegment.HIGH_RISK_RECOVERY: "#c0392b",
    CustomerSegment.AT_RISK: "#e67e22",
    CustomerSegment.LOYAL_ADVOCATE: "#27ae60",
    CustomerSegment.GROWTH_POTENTIAL: "#2e86c1",
    CustomerSegment.OTHERS: "#95a5a6",
}
TIER_ORDER: tuple[ValueTier, ...] = (ValueTier.HIGH, ValueTier.MEDIUM, ValueTier.LOW)
TIER_COLORS = {ValueTier.HIGH: "#1f618d", ValueTier.MEDIUM: "#5dade2", ValueTier.LOW: "#d6eaf8"}
PER_PAGE = 50
EXPORT_CHUNK = 1000


def segment_label(code: str) -> str:
    return str(CustomerSegment(code).label) if code in CustomerSegment.values else (code or _("Not yet placed"))


def tier_labels() -> dict[str, str]:
    return {ValueTier.HIGH: _("High value"), ValueTier.MEDIUM: _("Medium value"), ValueTier.LOW: _("Low value")}


def segment_descriptions() -> dict[str, str]:
    return {
        CustomerSegment.HIGH_RISK_RECOVERY: _(
            "High value and recently unhappy (a complaint or low survey score in the window, not made good): "
            "the customers to call today."
        ),
        CustomerSegment.AT_RISK: _("Recently unhappy, or several complaints never resolved to their satisfaction."),
        CustomerSegment.LOYAL_ADVOCATE: _("High value, and every complaint (if any) resolved to their satisfaction."),
        CustomerSegment.GROWTH_POTENTIAL: _("Medium value with no unresolved complaint: content, room to buy more."),
        CustomerSegment.OTHERS: _("Everybody else, mostly low-value customers without recent trouble."),
    }


def list_url(segment: str, tier: str = "") -> str:
    url = reverse("dashboards:segment_customers", args=[segment])
    return f"{url}?{urlencode({'tier': tier})}" if tier else url


# --- value tiers: the same rule as voxloop.stats.segments, for rows read from the database ---------------


def tier_of(value: float | Decimal, orders: int, t: Thresholds) -> ValueTier:
    """The tier ``segment_customers`` gives a customer with this value and order count under thresholds ``t``."""
    value = float(value)
    if (value >= t.high_value and value > 0) or (orders >= t.high_orders and orders > 0):
        return ValueTier.HIGH
    if (value < t.low_value and orders < t.low_orders) or (value <= 0 and orders <= 0):
        return ValueTier.LOW
    return ValueTier.MEDIUM


def _decimal(number: float) -> Decimal:
    return Decimal(repr(number))


def tier_filter(tier: str, t: Thresholds) -> Q:
    """Customers in ``tier`` under thresholds ``t`` (:func:`tier_of` as a query)."""
    high = Q(lifetime_value__gte=_decimal(t.high_value), lifetime_value__gt=0) | Q(
        order_count__gte=t.high_orders, order_count__gt=0
    )
    low = Q(lifetime_value__lt=_decimal(t.low_value), order_count__lt=t.low_orders) | Q(
        lifetime_value__lte=0, order_count__lte=0
    )
    if tier == ValueTier.HIGH:
        return high
    if tier == ValueTier.LOW:
        return ~high & low
    return ~high & ~low


# --- the overview -------------------------------------------------------------------------------------------


@dataclass
class Overview:
    counts: dict[str, int]  # every segment of SEGMENT_ORDER (zero when empty), now
    unplaced: int  # customers with no segment yet (or a value that is not one of ours)
    total: int
    summary: dict[str, Any] | None  # the last run's (None: never run, or its summary was lost)
    thresholds: Thresholds | None
    computed_at: datetime | None = None
    tiers: dict[str, dict[str, int]] = field(default_factory=dict)  # segment -> tier -> customers, at the last run


def overview() -> Overview:
    rows = dict(Customer.objects.order_by().values("segment").annotate(n=Count("pk")).values_list("segment", "n"))
    counts = {code: rows.pop(code, 0) for code in SEGMENT_ORDER}
    unplaced = sum(rows.values())
    summary = last_run()
    computed = parse_datetime(summary["computed_at"]) if summary else None
    return Overview(
        counts=counts,
        unplaced=unplaced,
        total=sum(counts.values()) + unplaced,
        summary=summary,
        thresholds=thresholds_of(summary),
        computed_at=computed,
        tiers=(summary or {}).get("tiers", {}),
    )


def segment_chart(data: Overview) -> Chart:
    labels = [segment_label(code) for code in SEGMENT_ORDER]
    items = [
        {"value": data.counts[code], "url": list_url(code), "itemStyle": {"color": SEGMENT_COLORS[code]}}
        for code in SEGMENT_ORDER
    ]
    share = [round(100 * data.counts[code] / data.total, 1) if data.total else 0.0 for code in SEGMENT_ORDER]
    option = {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 150, "right": 40, "top": 10, "bottom": 30},
        "xAxis": {"type": "value", "name": _("customers")},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "series": [
            {"type": "bar", "name": _("Customers"), "data": items, "label": {"show": True, "position": "right"}}
        ],
    }
    table = Table(
        [_("Segment"), _("Customers"), _("Share (%)")],
        [[labels[i], data.counts[code], share[i]] for i, code in enumerate(SEGMENT_ORDER)],
        links=[list_url(code) for code in SEGMENT_ORDER],
    )
    note = _("Click a bar to list that segment's customers.")
    if data.unplaced:
        note += " " + _("%(n)s customers are not placed yet: they get a segment at the next recompute.") % {
            "n": data.unplaced
        }
    return Chart("segments", _("Customers per segment"), option, table, note=note)


def tier_chart(data: Overview) -> Chart:
    """Each segment's customers by value tier, as of the last run (the tiers are not stored per customer)."""
    names = tier_labels()
    labels = [segment_label(code) for code in SEGMENT_ORDER]
    series = []
    for tier in TIER_ORDER:
        items = [
            {"value": data.tiers.get(code, {}).get(tier, 0), "url": list_url(code, tier)} for code in SEGMENT_ORDER
        ]
        series.append({
            "type": "bar", "name": names[tier], "stack": "tiers", "data": items,
            "itemStyle": {"color": TIER_COLORS[tier]},
        })  # fmt: skip
    option = {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [names[t] for t in TIER_ORDER], "top": 0},
        "grid": {"left": 150, "right": 40, "top": 56, "bottom": 30},
        "xAxis": {"type": "value", "name": _("customers")},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "series": series,
    }
    rows = [
        [labels[i], *[data.tiers.get(code, {}).get(t, 0) for t in TIER_ORDER]] for i, code in enumerate(SEGMENT_ORDER)
    ]
    links: list[str | None] = [list_url(code) for code in SEGMENT_ORDER]
    if not data.tiers:  # never run (or its summary was lost): an empty chart says so
        rows, links = [], []
    table = Table([_("Segment"), *[names[t] for t in TIER_ORDER]], rows, links=links)
    note = _("As of the last recompute. Click a bar to list those customers (with today's values).")
    return Chart("value-tiers", _("Value tiers per segment"), option, table, note=note)


# --- one segment's customers --------------------------------------------------------------------------------


@dataclass
class CustomerRow:
    pk: int
    name: str  # masked for roles that do not see personal data
    external_id: str
    lifetime_value: Decimal
    orders: int
    tier: str
    complaints: int
    last_feedback_at: datetime | None
    open_case_id: int | None
    open_case_number: str

    @property
    def url(self) -> str:
        return reverse("feedback:customer", args=[self.pk])

    @property
    def case_url(self) -> str:
        return reverse("cases:detail", args=[self.open_case_id]) if self.open_case_id else ""


def segment_customers(segment: str, tier: str = "", thresholds: Thresholds | None = None) -> QuerySet[Customer]:
    customers = Customer.objects.filter(segment=segment)
    if tier and thresholds is not None:
        customers = customers.filter(tier_filter(tier, thresholds))
    return customers.order_by("-lifetime_value", "-order_count", "pk")


def _rows(customers: Sequence[Customer], user: User, thresholds: Thresholds | None) -> list[CustomerRow]:
    """The list columns for these customers: three queries, each through a customer index."""
    ids = [c.pk for c in customers]
    stats = {
        row["customer_id"]: row
        for row in Feedback.objects.filter(customer_id__in=ids)
        .order_by()
        .values("customer_id")
        .annotate(complaints=Count("pk", filter=Q(kind=Kind.COMPLAINT)), last=Max("received_at"))
    }
    open_cases: dict[int, tuple[int, str]] = {}
    for customer_id, pk, number in (
        Case.objects.filter(customer_id__in=ids, status__in=ACTIVE_STATUSES)
        .order_by("customer_id", "-created_at", "-id")
        .values_list("customer_id", "pk", "number")
    ):
        open_cases.setdefault(customer_id, (pk, number))
    rows = []
    for c in customers:
        stat: Mapping[str, Any] = stats.get(c.pk, {})
        case = open_cases.get(c.pk)
        rows.append(
            CustomerRow(
                pk=c.pk,
                name=name_for(c.name or c.external_id or f"#{c.pk}", user),
                external_id=c.external_id,
                lifetime_value=c.lifetime_value,
                orders=c.order_count,
                tier=tier_of(c.lifetime_value, c.order_count, thresholds) if thresholds else "",
                complaints=stat.get("complaints", 0),
                last_feedback_at=stat.get("last"),
                open_case_id=case[0] if case else None,
                open_case_number=(case[1] or f"#{case[0]}") if case else "",
            )
        )
    return rows


_LIST_FIELDS = ("pk", "name", "external_id", "lifetime_value", "order_count")


def customer_page(
    segment: str, user: User, *, tier: str = "", page: Any = 1, thresholds: Thresholds | None = None
) -> tuple[Page[Customer], list[CustomerRow]]:
    paginator = Paginator(segment_customers(segment, tier, thresholds).only(*_LIST_FIELDS), PER_PAGE)
    current = paginator.get_page(page)
    return current, _rows(list(current.object_list), user, thresholds)


def export_header() -> list[str]:
    return [
        _("Customer"), _("Customer ID"), _("Segment"), _("Value tier"), _("Lifetime value"), _("Orders"),
        _("Complaints"), _("Last feedback"), _("Open case"), _("Customer page"),
    ]  # fmt: skip


def export_rows(
    segment: str, user: User, *, tier: str = "", thresholds: Thresholds | None = None, base_url: str = ""
) -> tuple[list[list[Any]], list[int]]:
    """Every customer of the segment (and tier) as export rows, plus their ids for the audit log."""
    names = tier_labels()
    label = segment_label(segment)
    customers = segment_customers(segment, tier, thresholds).only(*_LIST_FIELDS)
    rows: list[list[Any]] = []
    ids: list[int] = []
    for chunk in _chunks(customers.iterator(chunk_size=EXPORT_CHUNK), EXPORT_CHUNK):
        for row in _rows(chunk, user, thresholds):
            ids.append(row.pk)
            rows.append([
                row.name, row.external_id, label, names.get(row.tier, ""), float(row.lifetime_value), row.orders,
                row.complaints, local_day(row.last_feedback_at).isoformat() if row.last_feedback_at else None,
                row.open_case_number or None, base_url + row.url,
            ])  # fmt: skip
    return rows, ids


def _chunks(items: Iterable[Customer], size: int) -> Iterable[list[Customer]]:
    chunk: list[Customer] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def record_export(user: User, customer_ids: Sequence[int], request: HttpRequest | None = None) -> int:
    """One audit entry per exported customer (as voxloop.accounts.audit.record_access writes for one), so "who
    exported this customer's data" is answered by the customer's own entries. Written in bulk: a segment can
    hold tens of thousands of customers."""
    path = request.get_full_path()[:500] if request is not None else ""
    ip = (client_ip(request) or None) if request is not None else None
    entries = [
        AuditLog(
            user=user, username=user.get_username(), action=AuditAction.EXPORT_PERSONAL_DATA,
            object_type=Customer._meta.label_lower, object_id=str(pk), customer_id=pk, path=path, ip_address=ip,
        )
        for pk in customer_ids
    ]  # fmt: skip
    AuditLog.objects.bulk_create(entries, batch_size=1000)
    return len(entries)
