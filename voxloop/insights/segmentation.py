"""Placing every customer in a segment (voxloop.stats.segments does the placing; this module feeds it and
stores the result). The bulk "open recovery cases" action on a segment is a case write: voxloop.cases.recovery.

What goes into each customer's :class:`CustomerRecord`, all read with a handful of set-based queries (one
aggregate per fact over all customers, never a query per customer), so 100k+ customers take seconds:

- ``lifetime_value`` and ``orders``: Customer.lifetime_value / order_count, which the order import keeps equal to
  the sum and count of the customer's orders (voxloop.feedback.records.refresh_customer_value);
- ``complaints``: the customer's feedback items of kind *complaint*;
- ``resolved_satisfied``: those complaints linked to a case that is resolved or closed and whose customer said
  they were satisfied after the (last) resolution: a follow-up with outcome *satisfied*, or the follow-up
  outcome event that ``voxloop.cases.followup.record_outcome`` writes (also for a happy follow-up survey);
- ``recent_unhappy``: in the last ``RECENT_DAYS`` days, a complaint not resolved to satisfaction (as above), or a
  low survey score (NPS <= 6 or CSAT <= 2) not made good since, i.e. neither a satisfied outcome on the case the
  survey was about after the answer, nor a later survey answer of the customer that is not low.

``assign_segments`` writes Customer.segment only where it changed (one UPDATE per segment and chunk), so a second
run changes nothing. It owns the field: every customer gets one of the five segments.

The metrics roll-ups are *not* recomputed when segments change: a day's segment cut counts each item under the
segment its customer had when that day was last computed (recent days are recomputed as feedback arrives, older
ones by ``voxloop rebuild_rollups``). Restating two years of history every night would change past reports.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from voxloop.cases.models import Case, CaseEvent, CaseFeedback, CaseStatus, EventKind, FollowUp
from voxloop.feedback.bands import CSAT_LOW_MAX, NPS_DETRACTOR_MAX
from voxloop.feedback.models import Customer, CustomerSegment, Feedback, Kind
from voxloop.insights.models import SegmentRun
from voxloop.stats.segments import CustomerRecord, Segment, Segmentation, Thresholds, segment_customers
from voxloop.surveys.models import Response

logger = logging.getLogger(__name__)

RECENT_DAYS = 90  # "recently unhappy": a complaint or low score within this many days
HIGH_QUANTILE = 0.8  # high value: top 20% by lifetime value or by orders
LOW_QUANTILE = 0.3  # low value: bottom 30% by both
UNRESOLVED_THRESHOLD = 2  # at risk: this many complaints never resolved to satisfaction
STALE_RUN = timedelta(hours=1)  # a run unfinished for this long died: it no longer blocks the next one
WRITE_CHUNK = 1000

# The pure module's segments are the stored ones (same codes); spelled out so a rename on either side fails here.
STORED: dict[Segment, str] = {
    Segment.HIGH_RISK_RECOVERY: CustomerSegment.HIGH_RISK_RECOVERY,
    Segment.AT_RISK: CustomerSegment.AT_RISK,
    Segment.LOYAL_ADVOCATE: CustomerSegment.LOYAL_ADVOCATE,
    Segment.GROWTH_POTENTIAL: CustomerSegment.GROWTH_POTENTIAL,
    Segment.OTHERS: CustomerSegment.OTHERS,
}

Progress = Callable[[Iterable[Any]], Iterable[Any]]


# --- the facts, set-based ---------------------------------------------------------------------------------


def _satisfied_after(case_ref: Any, since_ref: Any) -> Q:
    """A satisfied follow-up outcome on the case ``case_ref`` recorded at or after ``since_ref``."""
    follow_up = FollowUp.objects.filter(case_id=case_ref, outcome="satisfied", done_at__gte=since_ref)
    event = CaseEvent.objects.filter(
        case_id=case_ref, kind=EventKind.FOLLOW_UP, payload__outcome="satisfied", created_at__gte=since_ref
    )
    return Q(Exists(follow_up)) | Q(Exists(event))


def satisfied_cases() -> QuerySet[Case]:
    """Cases resolved (or closed after resolving) whose customer confirmed satisfaction after the resolution.
    A dissatisfied answer reopens the case, so a reopened case is out until it is resolved and confirmed again."""
    return Case.objects.filter(
        status__in=(CaseStatus.RESOLVED, CaseStatus.CLOSED), merged_into__isnull=True, resolved_at__isnull=False
    ).filter(_satisfied_after(OuterRef("pk"), OuterRef("resolved_at")))


def _complaints() -> QuerySet[Feedback]:
    # No "customer IS NOT NULL" here: on SQLite it steers the planner onto the partial customer index and a
    # random row lookup per item (3x slower than one scan); the anonymous items' group is dropped in Python.
    return Feedback.objects.filter(kind=Kind.COMPLAINT)


def _made_good_feedback_ids() -> QuerySet[CaseFeedback, int]:
    return CaseFeedback.objects.filter(case__in=satisfied_cases()).values_list("feedback_id", flat=True)


def _low_score() -> Q:
    return Q(nps__lte=NPS_DETRACTOR_MAX) | Q(csat__lte=CSAT_LOW_MAX)


def _good_score() -> Q:
    # Answered with a score and no score is low.
    return (Q(nps__isnull=False) | Q(csat__isnull=False)) & ~Q(nps__lte=NPS_DETRACTOR_MAX) & ~Q(csat__lte=CSAT_LOW_MAX)


def unhappy_recent_responses(since: datetime) -> QuerySet[Response]:
    """Low survey scores since ``since`` that were not made good afterwards."""
    later_good = Response.objects.filter(
        customer_id=OuterRef("customer_id"), submitted_at__gt=OuterRef("submitted_at")
    ).filter(_good_score())
    case_made_good = Q(case__status__in=(CaseStatus.RESOLVED, CaseStatus.CLOSED)) & _satisfied_after(
        OuterRef("case_id"), OuterRef("submitted_at")
    )
    return (
        Response.objects.filter(customer__isnull=False, submitted_at__gte=since)
        .filter(_low_score())
        .exclude(Exists(later_good))
        .exclude(case_made_good)
    )


@dataclass
class Facts:
    customers: list[tuple[int, float, int, str]] = field(default_factory=list)  # pk, value, orders, segment
    complaints: dict[int, int] = field(default_factory=dict)
    resolved_satisfied: dict[int, int] = field(default_factory=dict)
    recent_unhappy: set[int] = field(default_factory=set)

    def records(self) -> list[CustomerRecord[int]]:
        return [
            CustomerRecord(
                customer=pk,
                lifetime_value=max(0.0, value),
                orders=orders,
                complaints=self.complaints.get(pk, 0),
                resolved_satisfied=min(self.resolved_satisfied.get(pk, 0), self.complaints.get(pk, 0)),
                recent_unhappy=pk in self.recent_unhappy,
            )
            for pk, value, orders, _segment in self.customers
        ]


def _per_customer(queryset: QuerySet[Any]) -> dict[int, int]:
    rows = queryset.order_by().values("customer_id").annotate(n=Count("id")).values_list("customer_id", "n")
    return {customer_id: n for customer_id, n in rows if customer_id is not None}


def gather_facts(now: datetime | None = None, progress: Progress | None = None) -> Facts:
    """Every customer's facts in five queries (plus one per 1000 customers read)."""
    now = now or timezone.now()
    since = now - timedelta(days=RECENT_DAYS)
    facts = Facts()

    def customers() -> None:
        rows = Customer.objects.order_by("pk").values_list("pk", "lifetime_value", "order_count", "segment")
        facts.customers = [(pk, float(value or 0), int(orders or 0), segment) for pk, value, orders, segment in
                           rows.iterator(chunk_size=5000)]  # fmt: skip

    def complaints() -> None:
        facts.complaints = _per_customer(_complaints())

    def resolved() -> None:
        facts.resolved_satisfied = _per_customer(_complaints().filter(pk__in=_made_good_feedback_ids()))

    def recent_complaints() -> None:
        unhappy = _complaints().filter(received_at__gte=since).exclude(pk__in=_made_good_feedback_ids()).order_by()
        facts.recent_unhappy.update(unhappy.values_list("customer_id", flat=True).distinct())
        facts.recent_unhappy.discard(None)  # anonymous complaints

    def recent_scores() -> None:
        responses = unhappy_recent_responses(since).order_by()
        facts.recent_unhappy.update(responses.values_list("customer_id", flat=True).distinct())

    steps = [customers, complaints, resolved, recent_complaints, recent_scores]
    for step in progress(steps) if progress else steps:
        step()
    return facts


# --- placing and storing ----------------------------------------------------------------------------------


@dataclass
class AssignResult:
    customers: int = 0
    changed: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # stored segment code -> customers
    skipped: bool = False  # another run was in progress
    summary: dict[str, Any] = field(default_factory=dict)


def place(facts: Facts) -> Segmentation[int]:
    return segment_customers(
        facts.records(),
        high_quantile=HIGH_QUANTILE,
        low_quantile=LOW_QUANTILE,
        unresolved_threshold=UNRESOLVED_THRESHOLD,
    )


def assign_segments(now: datetime | None = None, *, progress: Progress | None = None) -> AssignResult:
    """Recompute every customer's segment and store the changed ones. Idempotent; one run at a time (a second
    concurrent call returns ``skipped``)."""
    now = now or timezone.now()
    started = timezone.now()
    with transaction.atomic():
        if SegmentRun.objects.filter(finished_at__isnull=True, started_at__gte=started - STALE_RUN).exists():
            return AssignResult(skipped=True)
        run = SegmentRun.objects.create(started_at=started)
    try:
        facts = gather_facts(now, progress)
        segmentation = place(facts)
        current = {pk: segment for pk, _value, _orders, segment in facts.customers}
        changes: dict[str, list[int]] = {}
        for placement in segmentation.placements:
            stored = STORED[placement.segment]
            if current.get(placement.customer) != stored:
                changes.setdefault(stored, []).append(placement.customer)
        jobs = [
            (seg, ids[i : i + WRITE_CHUNK]) for seg, ids in changes.items() for i in range(0, len(ids), WRITE_CHUNK)
        ]
        for seg, chunk in progress(jobs) if progress and jobs else jobs:
            # The guard on segment keeps the write idempotent if the customer was changed meanwhile to this value.
            Customer.objects.filter(pk__in=chunk).exclude(segment=seg).update(segment=seg, updated_at=now)
        summary = _summary(segmentation, now)
        result = AssignResult(
            customers=len(segmentation.placements),
            changed=sum(len(ids) for ids in changes.values()),
            counts={STORED[s]: n for s, n in segmentation.counts.items()},
            summary=summary,
        )
        run.finished_at, run.customers, run.changed, run.summary = (
            timezone.now(),
            result.customers,
            result.changed,
            summary,
        )
        run.save(update_fields=["finished_at", "customers", "changed", "summary"])
        logger.info("customer segments: %s customers, %s changed", result.customers, result.changed)
        return result
    except BaseException:
        run.delete()  # a failed run leaves nothing behind that would block or mislead the next one
        raise


def _summary(segmentation: Segmentation[int], now: datetime) -> dict[str, Any]:
    """What the page shows about the last run (stored with the run: the page never recomputes)."""
    tiers: dict[str, Counter[str]] = {STORED[s]: Counter() for s in Segment}
    for placement in segmentation.placements:
        tiers[STORED[placement.segment]][placement.tier.value] += 1
    t = segmentation.thresholds
    return {
        "computed_at": now.isoformat(),
        "customers": len(segmentation.placements),
        "counts": {STORED[s]: n for s, n in segmentation.counts.items()},
        "tiers": {seg: dict(counter) for seg, counter in tiers.items()},
        "thresholds": None if t is None else {
            "high_value": t.high_value, "high_orders": t.high_orders, "low_value": t.low_value,
            "low_orders": t.low_orders,
        },
        "recent_days": RECENT_DAYS,
        "high_quantile": HIGH_QUANTILE,
        "low_quantile": LOW_QUANTILE,
        "unresolved_threshold": UNRESOLVED_THRESHOLD,
    }  # fmt: skip


def last_run() -> dict[str, Any] | None:
    run = SegmentRun.objects.filter(finished_at__isnull=False).order_by("-started_at").first()
    return run.summary if run else None


def thresholds_of(summary: dict[str, Any] | None) -> Thresholds | None:
    if not summary or not summary.get("thresholds"):
        return None
    return Thresholds(**summary["thresholds"])
