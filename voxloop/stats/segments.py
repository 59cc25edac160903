"""Customer segments by complaint history and value.

Value tiers come from quantiles of the customers passed in (so they adapt to each business): a customer
is *high value* at or above the ``high_quantile`` of lifetime value **or** of order count, *low value*
below the ``low_quantile`` of both, *medium* otherwise. Then, first rule that matches:

1. high-risk recovery -- high value and recently unhappy (a recent complaint or a low survey score that
   has not been resolved to the customer's satisfaction): the customers to call today;
2. at risk -- recently unhappy, or ``unresolved_threshold`` or more complaints never resolved
   satisfactorily;
3. loyal advocate -- high value and every complaint (if any) resolved satisfactorily;
4. growth potential -- medium value and no unresolved complaint: content, room to buy more;
5. others.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

import numpy as np

# Whatever identifies a customer for the caller (a primary key, a name in a test): a placement carries the
# record's own, so the caller gets back the type it passed in.
CustomerT = TypeVar("CustomerT", bound=Hashable)


class Segment(StrEnum):
    HIGH_RISK_RECOVERY = "high_risk_recovery"
    AT_RISK = "at_risk"
    LOYAL_ADVOCATE = "loyal_advocate"
    GROWTH_POTENTIAL = "growth_potential"
    OTHERS = "others"


class ValueTier(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True)
class CustomerRecord(Generic[CustomerT]):
    customer: CustomerT
    lifetime_value: float = 0.0
    orders: int = 0
    complaints: int = 0  # all complaints on record
    resolved_satisfied: int = 0  # complaints resolved and confirmed satisfactory (survey or customer)
    recent_unhappy: bool = False  # a complaint or low score in the recent window, not yet made good


@dataclass(frozen=True)
class Thresholds:
    high_value: float
    high_orders: float
    low_value: float
    low_orders: float


@dataclass(frozen=True)
class Placement(Generic[CustomerT]):
    customer: CustomerT
    segment: Segment
    tier: ValueTier
    unresolved: int  # complaints not resolved satisfactorily


@dataclass(frozen=True)
class Segmentation(Generic[CustomerT]):
    placements: list[Placement[CustomerT]]
    counts: dict[Segment, int]  # every segment present, zero when empty
    thresholds: Thresholds | None  # None when there were no customers

    def of(self, segment: Segment) -> list[Placement[CustomerT]]:
        return [p for p in self.placements if p.segment is segment]


def _check(record: CustomerRecord[CustomerT]) -> None:
    if not isinstance(record, CustomerRecord):
        raise ValueError(f"expected CustomerRecord values, got {type(record).__name__}")
    for name in ("lifetime_value", "orders", "complaints", "resolved_satisfied"):
        value = getattr(record, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"customer {record.customer!r}: {name} must be a number >= 0, not {value!r}")
    if record.resolved_satisfied > record.complaints:
        raise ValueError(
            f"customer {record.customer!r}: {record.resolved_satisfied} complaints resolved satisfactorily "
            f"but only {record.complaints} on record"
        )


def segment_customers(
    records: Iterable[CustomerRecord[CustomerT]],
    *,
    high_quantile: float = 0.8,
    low_quantile: float = 0.3,
    unresolved_threshold: int = 2,
) -> Segmentation[CustomerT]:
    """Place each customer in one segment; thresholds are quantiles of the records given."""
    if not 0 < low_quantile < high_quantile < 1:
        raise ValueError("quantiles must satisfy 0 < low_quantile < high_quantile < 1")
    if unresolved_threshold < 1:
        raise ValueError("unresolved_threshold must be at least 1")
    items = list(records)
    for record in items:
        _check(record)
    seen: set[CustomerT] = set()
    for record in items:
        if record.customer in seen:
            raise ValueError(f"customer {record.customer!r} appears twice")
        seen.add(record.customer)
    counts: dict[Segment, int] = dict.fromkeys(Segment, 0)
    if not items:
        return Segmentation([], counts, None)
    values = np.array([r.lifetime_value for r in items], dtype=float)
    orders = np.array([r.orders for r in items], dtype=float)
    thresholds = Thresholds(
        high_value=float(np.quantile(values, high_quantile)),
        high_orders=float(np.quantile(orders, high_quantile)),
        low_value=float(np.quantile(values, low_quantile)),
        low_orders=float(np.quantile(orders, low_quantile)),
    )
    placements: list[Placement[CustomerT]] = []
    for record in items:
        tier = _tier(record, thresholds)
        unresolved = record.complaints - record.resolved_satisfied
        segment = _segment(record, tier, unresolved, unresolved_threshold)
        placements.append(Placement(record.customer, segment, tier, unresolved))
    counts.update(Counter(p.segment for p in placements))
    return Segmentation(placements, counts, thresholds)


def _tier(record: CustomerRecord[CustomerT], t: Thresholds) -> ValueTier:
    # ">= high" with a positive floor: when most customers have zero value the 80th percentile is 0 too,
    # and a customer with nothing is not "high value"
    if (record.lifetime_value >= t.high_value and record.lifetime_value > 0) or (
        record.orders >= t.high_orders and record.orders > 0
    ):
        return ValueTier.HIGH
    if record.lifetime_value < t.low_value and record.orders < t.low_orders:
        return ValueTier.LOW
    if record.lifetime_value <= 0 and record.orders <= 0:
        return ValueTier.LOW
    return ValueTier.MEDIUM


def _segment(record: CustomerRecord[CustomerT], tier: ValueTier, unresolved: int, unresolved_threshold: int) -> Segment:
    if record.recent_unhappy and tier is ValueTier.HIGH:
        return Segment.HIGH_RISK_RECOVERY
    if record.recent_unhappy or unresolved >= unresolved_threshold:
        return Segment.AT_RISK
    if tier is ValueTier.HIGH and unresolved == 0:
        return Segment.LOYAL_ADVOCATE
    if tier is ValueTier.MEDIUM and unresolved == 0:
        return Segment.GROWTH_POTENTIAL
    return Segment.OTHERS
