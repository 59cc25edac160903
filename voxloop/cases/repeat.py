"""Repeat complaints: a case whose customer had another case on the same topic within REPEAT_WINDOW_DAYS.

A case's topics are the top-level topics (FeedbackTopic.top_code) of its feedback items, the same granularity
the automation rules use to join an open case. "Within the window" means the earlier case was opened, resolved
or closed in the window: a case opened 40 days ago and resolved last week still makes today's complaint a repeat.
A withdrawn case (opened on a label the refine lane corrected, never worked: cases/withdrawal.py) was no complaint:
it makes nothing a repeat and is not counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from voxloop.analysis.models import FeedbackTopic
from voxloop.cases.events import record_event, record_events
from voxloop.cases.models import Case, CaseFeedback, EventKind
from voxloop.cases.queries import case_top_topics, newest_case_on_topics


def window_days() -> int:
    value = settings.REPEAT_WINDOW_DAYS
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ImproperlyConfigured(f"REPEAT_WINDOW_DAYS must be a whole number of days of at least 1, not {value!r}.")
    return value


def case_topics(case_id: int) -> set[str]:
    return set(FeedbackTopic.objects.filter(feedback__case_links__case_id=case_id).values_list("top_code", flat=True))


def earlier_case_on_topic(case: Case, topics: set[str], now: datetime) -> Case | None:
    """The most recent other case of the same customer on one of ``topics`` within the window."""
    if not case.customer_id or not topics:
        return None
    start = now - timedelta(days=window_days())
    # The customer's cases first (index case_customer_recent), then which of them share a topic.
    candidates = list(
        Case.objects.filter(customer_id=case.customer_id, merged_into__isnull=True, withdrawn_at__isnull=True)
        .exclude(pk=case.pk)
        .filter(Q(created_at__gte=start) | Q(resolved_at__gte=start) | Q(closed_at__gte=start))
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)[:200]
    )
    return newest_case_on_topics(candidates, topics)


def flag_repeat(case: Case, now: datetime) -> Case | None:
    """Called by services.open_case inside its transaction, once the feedback is linked: sets repeat_of and
    records a REPEAT event. Returns the earlier case, or None (no customer, no topics yet, no earlier case)."""
    topics = case_topics(case.pk)
    earlier = earlier_case_on_topic(case, topics, now)
    if earlier is None:
        return None
    Case.objects.filter(pk=case.pk).update(repeat_of=earlier)
    case.repeat_of = earlier
    shared = sorted(topics & case_topics(earlier.pk))
    record_event(
        case, EventKind.REPEAT, None, now, repeat_of_case_id=earlier.pk, repeat_of_number=earlier.number,
        topics=shared, window_days=window_days(),
    )  # fmt: skip
    return earlier


def flag_repeats(cases: list[Case], now: datetime) -> None:
    """``flag_repeat`` for many cases just opened together (services.open_cases), in a few queries for all of
    them. Each case looks at the customer's other cases as ``earlier_case_on_topic`` does, the ones opened
    before it in the same batch included, so the outcome is the one of opening them one by one."""
    new = [c for c in cases if c.customer_id]
    if not new:
        return
    start = now - timedelta(days=window_days())
    new_ids = {c.pk for c in new}
    older = list(
        Case.objects.filter(
            customer_id__in={c.customer_id for c in new}, merged_into__isnull=True, withdrawn_at__isnull=True
        )
        .exclude(pk__in=new_ids)
        .filter(Q(created_at__gte=start) | Q(resolved_at__gte=start) | Q(closed_at__gte=start))
        .values_list("pk", "customer_id", "created_at", "number")
    )
    topics = case_top_topics([*new_ids, *(pk for pk, *_rest in older)])
    by_customer: dict[int | None, list[tuple[Any, ...]]] = {}
    for row in older:
        by_customer.setdefault(row[1], []).append(row)
    flagged: list[Case] = []
    events = []
    for case in new:  # in opening order: a case opened earlier in the batch is a candidate for the later ones
        mine = topics.get(case.pk, set())
        candidates = sorted(by_customer.get(case.customer_id, []), key=lambda r: (r[2], r[0]), reverse=True)
        earlier = next((r for r in candidates if topics.get(r[0], set()) & mine), None)
        by_customer.setdefault(case.customer_id, []).append((case.pk, case.customer_id, case.created_at, case.number))
        if earlier is None:
            continue
        case.repeat_of_id = earlier[0]
        flagged.append(case)
        payload = {"repeat_of_case_id": earlier[0], "repeat_of_number": earlier[3],
                   "topics": sorted(mine & topics.get(earlier[0], set())), "window_days": window_days()}  # fmt: skip
        events.append((case, EventKind.REPEAT, None, now, payload))
    if flagged:
        Case.objects.bulk_update(flagged, ["repeat_of"])
        record_events(events)


def repeat_rate(start: datetime, end: datetime, topic: str | None = None) -> tuple[int, int]:
    """(repeat cases, all cases) among the cases opened in [start, end), merged duplicates and withdrawn cases left
    out.
    ``topic`` narrows both counts to cases with feedback on that topic (a code, or a prefix such as "logistics")."""
    cases = Case.objects.filter(
        created_at__gte=start, created_at__lt=end, merged_into__isnull=True, withdrawn_at__isnull=True
    )
    if topic:
        topic = topic.strip()
        on_topic = CaseFeedback.objects.filter(
            Q(feedback__topic_links__code=topic)
            | Q(feedback__topic_links__code__startswith=topic + ".")
            | Q(feedback__topic_links__top_code=topic)
        ).values("case_id")
        cases = cases.filter(pk__in=on_topic)
    total = cases.count()
    repeats = cases.filter(repeat_of__isnull=False).count()
    return repeats, total
