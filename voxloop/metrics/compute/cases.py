"""The cases roll-up: per case opened on a day, response and resolution times, FCR, SLA, reopens, repeats."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime

from django.db.models import Min, Subquery

from voxloop.analysis.models import FeedbackTopic
from voxloop.cases.calendar import BusinessCalendar as PureCalendar
from voxloop.cases.calendar import CalendarError
from voxloop.cases.models import ACTIVE_STATUSES, BusinessCalendar, Case, CaseEvent, CaseFeedback, EventKind
from voxloop.metrics.cells import RangeAccumulator, cut_value
from voxloop.metrics.days import range_bounds
from voxloop.metrics.models import Source

logger = logging.getLogger(__name__)


def case_origins(case_ids: Iterable[int]) -> tuple[dict[int, tuple[str, str, str]], dict[int, set[str]]]:
    """Channel, product and language of each case's first feedback item, and the top-level topics of all
    its items."""
    case_ids = list(case_ids)
    origins: dict[int, tuple[str, str, str]] = {}
    topics: dict[int, set[str]] = defaultdict(set)
    if not case_ids:
        return origins, topics
    first_links = (
        CaseFeedback.objects.filter(case_id__in=case_ids)
        .values("case_id")
        .annotate(first=Min("id"))
        .values_list("first", flat=True)
    )
    for case_id, channel, product_id, language in CaseFeedback.objects.filter(id__in=Subquery(first_links)).values_list(
        "case_id", "feedback__channel", "feedback__product_id", "feedback__language"
    ):
        origins[case_id] = (channel or "", cut_value(product_id), language or "")
    for case_id, top_code in (
        FeedbackTopic.objects.filter(feedback__case_links__case_id__in=case_ids)
        .values_list("feedback__case_links__case_id", "top_code")
        .distinct()
    ):
        topics[case_id].add(top_code)
    return origins, topics


class CalendarLookup:
    """Pure calendars by id, built once per run; cases without a policy count in the default calendar."""

    def __init__(self) -> None:
        self._by_id: dict[int, PureCalendar | None] = {}
        default = BusinessCalendar.objects.filter(is_default=True).values_list("pk", flat=True).first()
        self.default_id: int | None = default

    def get(self, calendar_id: int | None) -> PureCalendar | None:
        calendar_id = calendar_id or self.default_id
        if calendar_id is None:
            return None
        if calendar_id not in self._by_id:
            try:
                self._by_id[calendar_id] = BusinessCalendar.objects.get(pk=calendar_id).to_calendar()
            except (BusinessCalendar.DoesNotExist, CalendarError) as exc:
                logger.warning("metrics: calendar %s unusable (%s); business times skipped", calendar_id, exc)
                self._by_id[calendar_id] = None
        return self._by_id[calendar_id]


def compute_cases(first: date, last: date, calendars: CalendarLookup | None = None) -> RangeAccumulator:
    """Cases opened on ``day`` (merged duplicates excluded: they live on in the case they were merged into;
    withdrawn cases too: opened on a label the refine lane corrected, never worked, not a complaint).

    Per case: first response and resolution times (wall-clock, and business time on the case's SLA calendar
    minus the time spent waiting on the customer); resolved; first-contact resolution (resolved with at most
    one public reply and never reopened); SLA outcome; reopened; still open."""
    calendars = calendars or CalendarLookup()
    start, end = range_bounds(first, last)
    accs = RangeAccumulator(Source.CASES, first, last)
    cases = list(
        Case.objects.filter(
            created_at__gte=start, created_at__lt=end, merged_into__isnull=True, withdrawn_at__isnull=True
        ).values(
            "id", "created_at", "first_responded_at", "resolved_at", "status", "reopen_count", "team_id",
            "assignee_id", "customer__segment", "sla_policy_id", "sla_policy__calendar_id",
            "first_response_breached", "resolution_breached", "paused_business_seconds", "repeat_of_id",
            "customer_id", "root_cause",
        )
    )  # fmt: skip
    if not cases:
        return accs
    ids = [c["id"] for c in cases]
    origins, topics = case_origins(ids)
    replies: dict[int, int] = defaultdict(int)
    pauses: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for case_id, kind, created_at, payload in CaseEvent.objects.filter(
        case_id__in=ids, kind__in=[EventKind.PUBLIC_REPLY, EventKind.STATUS_CHANGED]
    ).values_list("case_id", "kind", "created_at", "payload"):
        if kind == EventKind.PUBLIC_REPLY:
            replies[case_id] += 1
        elif isinstance(payload, dict) and payload.get("paused_business_seconds"):
            pauses[case_id].append((created_at, int(payload["paused_business_seconds"])))
    for case in cases:
        case_id = case["id"]
        channel, product, language = origins.get(case_id, ("", "", ""))
        cells = accs.for_instant(case["created_at"]).cells_for({
            "channel": [channel], "product": [product], "team": [cut_value(case["team_id"])],
            "agent": [cut_value(case["assignee_id"])], "topic": sorted(topics.get(case_id, ())),
            "segment": [case["customer__segment"] or ""], "language": [language],
        })  # fmt: skip
        created, responded, resolved = case["created_at"], case["first_responded_at"], case["resolved_at"]
        calendar = calendars.get(case["sla_policy__calendar_id"])
        frt_business = res_business = None
        if calendar is not None:
            try:
                if responded is not None:
                    paused_before = sum(s for t, s in pauses.get(case_id, ()) if t <= responded)
                    frt_business = max(0.0, calendar.business_time_between(created, responded).total_seconds()
                                       - paused_before)  # fmt: skip
                if resolved is not None:
                    res_business = max(0.0, calendar.business_time_between(created, resolved).total_seconds()
                                       - case["paused_business_seconds"])  # fmt: skip
            except CalendarError as exc:  # one bad calendar must not stop the roll-up of every other case
                logger.warning("metrics: case %s: %s", case_id, exc)
        ever_resolved = resolved is not None or case["reopen_count"] > 0
        has_outcome = resolved is not None or case["first_response_breached"] or case["resolution_breached"]
        breached = case["first_response_breached"] or case["resolution_breached"]
        for cell in cells:
            cell.n += 1
            if responded is not None:
                cell.add("responded")
                cell.observe("frt_wall", (responded - created).total_seconds())
                if frt_business is not None:
                    cell.observe("frt_business", frt_business)
                    # Sums too: breakdown tables show means, which add up in SQL without the histograms.
                    cell.add("frt_business_n")
                    cell.add("frt_business_sum", frt_business)
            if resolved is not None:
                cell.add("resolved")
                if case["root_cause"]:  # the root-cause Pareto: resolved cases by cause, day = day opened
                    cell.add(f"rc:{case['root_cause']}")
                cell.observe("resolution_wall", (resolved - created).total_seconds())
                if res_business is not None:
                    cell.observe("resolution_business", res_business)
                    if frt_business is not None:
                        cell.observe("handle_business", max(0.0, res_business - frt_business))
                        cell.add("handle_n")
                        cell.add("handle_sum", max(0.0, res_business - frt_business))
                if replies.get(case_id, 0) <= 1 and case["reopen_count"] == 0:
                    cell.add("fcr")
            if ever_resolved:
                cell.add("ever_resolved")
                if case["reopen_count"] > 0:
                    cell.add("reopened")
            if case["sla_policy_id"] is not None and has_outcome:
                cell.add("sla_n")
                if not breached:
                    cell.add("sla_met")
            if case["status"] in ACTIVE_STATUSES:
                cell.add("open")
            # Repeat complaints (voxloop.cases.repeat flags them when a case opens): same customer, same
            # topic, within REPEAT_WINDOW_DAYS. Only identified customers can repeat, so only they count.
            if case["customer_id"] is not None:
                cell.add("identified")
                if case["repeat_of_id"] is not None:
                    cell.add("repeats")
    return accs
