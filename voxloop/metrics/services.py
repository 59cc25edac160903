"""Maintaining the daily roll-ups (DESIGN §6): recompute one day of one source from the raw rows.

Recomputing a day is idempotent (delete that day's rows, insert the new ones, in one transaction), so the
incremental path and the full rebuild are the same code:

* ``note_case_changed`` / ``note_response_saved`` / ``note_feedback_changed`` mark the affected day dirty
  and schedule ``refresh_rollups_task`` after commit: the hooks for services that change those rows;
* ``catch_up`` finds rows changed since the last look (their ``updated_at``/``created_at``, new case
  events, new analyses, new orders) and marks their days dirty, so nothing depends on every writer
  remembering to call a hook; the beat task runs it every METRICS_REFRESH_SECONDS;
* ``rebuild`` recomputes a date range (``voxloop rebuild_rollups``).

Which day a row belongs to (local date in settings.TIME_ZONE):
cases: the day the case was opened (a cohort: "of the cases opened that week, how many were resolved");
responses: the day the customer submitted; feedback: the day it was received.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Q, Subquery
from django.utils import timezone

from voxloop.analysis.models import Correction, FeedbackAnalysis, FeedbackTopic
from voxloop.cases.calendar import BusinessCalendar as PureCalendar
from voxloop.cases.calendar import CalendarError
from voxloop.cases.models import ACTIVE_STATUSES, BusinessCalendar, Case, CaseEvent, CaseFeedback, EventKind
from voxloop.core.kicks import on_commit_once
from voxloop.feedback.bands import nps_band
from voxloop.feedback.models import Feedback, Order
from voxloop.metrics.models import Dimension, DirtyDay, FoldedAnalysis, MetricDaily, Source, Watermark
from voxloop.stats import formulas, terms
from voxloop.surveys.models import Answer, Response

logger = logging.getLogger(__name__)

REPURCHASE_WINDOW = timedelta(days=183)  # "within 6 months" after the survey response
COMPLAINT_KIND = "complaint"
# Rows written since the last look may commit a little later than their timestamps; look back this far.
CATCH_UP_OVERLAP = timedelta(minutes=5)
REBUILD_CHUNK_DAYS = 31
CATCH_UP_ID_MARGIN = 1000

SOURCE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    Source.CASES: ("channel", "product", "team", "agent", "topic", "segment", "language"),
    Source.RESPONSES: ("channel", "product", "team", "agent", "topic", "segment", "language"),
    Source.FEEDBACK: ("channel", "product", "topic", "segment", "language"),
}
# The feedback source's multi-valued term dimensions: an item counts once under each evidence word of its
# emotions and each of its needs (voxloop.stats.terms.need_key), and items with none count nowhere, so
# these dimensions have no "" row. They are not Dimension choices: the KPI panel's cut menus leave them out.
EMOTION_WORD, NEED, SUBTOPIC = "emotion_word", "need", "subtopic"
# Multi-valued dimensions of the feedback source with no "" row (an item without any counts in none of them).
TERM_DIMENSIONS = (EMOTION_WORD, NEED, SUBTOPIC)

# The repurchase bands of item 6: CSAT >= 4 vs below, and the three NPS groups.
REPURCHASE_BANDS = ("csat_high", "csat_low", "promoter", "passive", "detractor")


# --- days and time zones ----------------------------------------------------------------------------


def site_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_day(instant: datetime) -> date:
    """The calendar day of an instant in the site's time zone (whatever zone the instant was given in)."""
    return instant.astimezone(site_zone()).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = site_zone()
    return datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone)


# --- accumulating one day ---------------------------------------------------------------------------


@dataclass
class Cell:
    n: int = 0
    sums: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    histograms: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def add(self, key: str, amount: float = 1) -> None:
        self.sums[key] += amount

    def observe(self, key: str, seconds: float) -> None:
        self.histograms[key][formulas.bucket_of(seconds)] += 1


class DayAccumulator:
    """Collects one day's counters for the total and for every value of every dimension of a source."""

    def __init__(self, source: str, day: date) -> None:
        self.source, self.day = source, day
        self.cells: dict[tuple[str, str], Cell] = defaultdict(Cell)

    def keyed_cells(self, cuts: dict[str, Iterable[str]]) -> list[tuple[tuple[str, str], Cell]]:
        """The cells one row counts in: the total, and its value in each dimension ("" when it has none)."""
        keys = [("", "")]
        for dimension in SOURCE_DIMENSIONS[self.source]:
            values = list(cuts.get(dimension) or []) or [""]
            keys.extend((dimension, v) for v in dict.fromkeys(values))
        return [(k, self.cells[k]) for k in keys]

    def cells_for(self, cuts: dict[str, Iterable[str]]) -> list[Cell]:
        return [cell for _key, cell in self.keyed_cells(cuts)]

    def rows(self, now: datetime) -> list[MetricDaily]:
        rows = []
        for (dimension, value), cell in self.cells.items():
            sums = {k: (int(v) if float(v).is_integer() else v) for k, v in cell.sums.items() if v}
            histograms = {k: {str(b): c for b, c in h.items()} for k, h in cell.histograms.items() if h}
            rows.append(
                MetricDaily(
                    source=self.source, day=self.day, dimension=dimension, value=value[:100],
                    n=cell.n, sums=sums, histograms=histograms, computed_at=now,
                )
            )  # fmt: skip
        return rows


class RangeAccumulator:
    """Day accumulators for a range of days: a rebuild reads a month of rows in one query, not one per day."""

    def __init__(self, source: str, first: date, last: date) -> None:
        self.source = source
        self.days = {first + timedelta(days=i): DayAccumulator(source, first + timedelta(days=i))
                     for i in range((last - first).days + 1)}  # fmt: skip

    @classmethod
    def sparse(cls, source: str) -> RangeAccumulator:
        """Only the days its rows fall on, made as they come: a few items scattered over years need no
        accumulator for every day in between (voxloop.metrics.deltas)."""
        return cls(source, date.max, date.min)  # an empty range: no day made up front

    def for_instant(self, instant: datetime) -> DayAccumulator:
        day = local_day(instant)
        acc = self.days.get(day)
        if acc is None:
            acc = self.days[day] = DayAccumulator(self.source, day)
        return acc


def range_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return day_bounds(first)[0], day_bounds(last)[1]


def _id(value: Any) -> str:
    return "" if value is None else str(value)


def _case_origins(case_ids: Iterable[int]) -> tuple[dict[int, tuple[str, str, str]], dict[int, set[str]]]:
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
        origins[case_id] = (channel or "", _id(product_id), language or "")
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


def compute_cases_day(day: date, calendars: CalendarLookup | None = None) -> DayAccumulator:
    return compute_cases(day, day, calendars).days[day]


def compute_cases(first: date, last: date, calendars: CalendarLookup | None = None) -> RangeAccumulator:
    """Cases opened on ``day`` (merged duplicates excluded: they live on in the case they were merged into).

    Per case: first response and resolution times (wall-clock, and business time on the case's SLA calendar
    minus the time spent waiting on the customer); resolved; first-contact resolution (resolved with at most
    one public reply and never reopened); SLA outcome; reopened; still open."""
    calendars = calendars or CalendarLookup()
    start, end = range_bounds(first, last)
    accs = RangeAccumulator(Source.CASES, first, last)
    cases = list(
        Case.objects.filter(created_at__gte=start, created_at__lt=end, merged_into__isnull=True).values(
            "id", "created_at", "first_responded_at", "resolved_at", "status", "reopen_count", "team_id",
            "assignee_id", "customer__segment", "sla_policy_id", "sla_policy__calendar_id",
            "first_response_breached", "resolution_breached", "paused_business_seconds", "repeat_of_id",
            "customer_id", "root_cause",
        )
    )  # fmt: skip
    if not cases:
        return accs
    ids = [c["id"] for c in cases]
    origins, topics = _case_origins(ids)
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
            "channel": [channel], "product": [product], "team": [_id(case["team_id"])],
            "agent": [_id(case["assignee_id"])], "topic": sorted(topics.get(case_id, ())),
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


def compute_responses_day(day: date) -> DayAccumulator:
    return compute_responses(day, day).days[day]


def compute_responses(first: date, last: date) -> RangeAccumulator:
    """Survey responses submitted on ``day``: NPS groups, CSAT and CES sums, CSAT sub-dimensions, and
    whether the customer ordered again within six months (the repurchase bands). Every cell also carries, per
    topic of the response, t:<top code>:promoters / passives / detractors / csat_n / csat_sum / csat_sq."""
    start, end = range_bounds(first, last)
    accs = RangeAccumulator(Source.RESPONSES, first, last)
    responses = list(
        Response.objects.filter(submitted_at__gte=start, submitted_at__lt=end).values(
            "id", "submitted_at", "nps", "csat", "ces", "agent_id", "team_id", "product_id", "customer_id",
            "customer__segment", "case_id", "language", "feedback_id", "feedback__language",
        )
    )  # fmt: skip
    if not responses:
        return accs
    origins, topics = _case_origins({r["case_id"] for r in responses if r["case_id"]})
    # A response is about the topics of its case and the topics the customer wrote about in its comment: the
    # drivers page compares the scores of responses that mention a topic with those that do not.
    comment_topics: dict[int, set[str]] = defaultdict(set)
    for feedback_id, top_code in FeedbackTopic.objects.filter(
        feedback_id__in=[r["feedback_id"] for r in responses if r["feedback_id"]]
    ).values_list("feedback_id", "top_code"):
        comment_topics[feedback_id].add(top_code)
    dimensions: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for response_id, dimension, number in (
        Answer.objects.filter(response_id__in=[r["id"] for r in responses], number__isnull=False, question__kind="csat")
        .exclude(dimension="")
        .values_list("response_id", "dimension", "number")
    ):
        if number is not None:  # always, by the filter; the column is nullable
            dimensions[response_id].append((dimension, number))
    customers = {r["customer_id"] for r in responses if r["customer_id"]}
    orders: dict[int, list[datetime]] = defaultdict(list)
    for customer_id, ordered_at in Order.objects.filter(
        customer_id__in=customers, ordered_at__gt=start, ordered_at__lte=end + REPURCHASE_WINDOW
    ).values_list("customer_id", "ordered_at"):
        orders[customer_id].append(ordered_at)
    for response in responses:
        channel, _product, case_language = origins.get(response["case_id"], ("", "", ""))
        # The language the customer wrote in: the analysed comment's, else the case's first item's, else
        # the survey's (in the analysed-language codes, so one language filter fits every source).
        language = response["feedback__language"] or case_language or analysed_language_of(response["language"])
        response_topics = sorted(
            topics.get(response["case_id"], set()) | comment_topics.get(response["feedback_id"], set())
        )
        cells = accs.for_instant(response["submitted_at"]).cells_for({
            "channel": [channel], "product": [_id(response["product_id"])], "team": [_id(response["team_id"])],
            "agent": [_id(response["agent_id"])], "topic": response_topics,
            "segment": [response["customer__segment"] or ""], "language": [language],
        })  # fmt: skip
        nps_score, csat_score, ces_score = response["nps"], response["csat"], response["ces"]
        bands: list[str] = []
        if csat_score is not None:
            bands.append("csat_high" if csat_score >= 4 else "csat_low")
        if nps_score is not None:
            bands.append(nps_band(nps_score))
        repurchased = False
        if response["customer_id"] and bands:
            submitted = response["submitted_at"]
            repurchased = any(submitted < t <= submitted + REPURCHASE_WINDOW for t in orders[response["customer_id"]])
        # Per-topic score sums in every cell, so the drivers page is exact within any one cut (a product's
        # responses about delivery), not only over all responses.
        topic_sums: list[tuple[str, float]] = []
        for code in response_topics:
            if nps_score is not None:
                topic_sums.append((f"t:{code}:{nps_band(nps_score)}s", 1))
            if csat_score is not None:
                topic_sums += [(f"t:{code}:csat_n", 1), (f"t:{code}:csat_sum", csat_score),
                               (f"t:{code}:csat_sq", csat_score * csat_score)]  # fmt: skip
        for cell in cells:
            cell.n += 1
            for key, amount in topic_sums:
                cell.add(key, amount)
            if nps_score is not None:
                cell.add(nps_band(nps_score) + "s")
            if csat_score is not None:
                cell.add("csat_n")
                cell.add("csat_sum", csat_score)
                cell.add("csat_sq", csat_score * csat_score)
                cell.add("csat_top2", formulas.csat_is_top2(csat_score))
            if ces_score is not None:
                cell.add("ces_n")
                cell.add("ces_sum", ces_score)
                cell.add("ces_sq", ces_score * ces_score)
                cell.add("ces_easy", formulas.ces_is_easy(ces_score))
            for dimension, number in dimensions.get(response["id"], ()):
                cell.add(f"dim:{dimension}:n")
                cell.add(f"dim:{dimension}:sum", number)
                cell.add(f"dim:{dimension}:sq", number * number)
                cell.add(f"dim:{dimension}:top2", formulas.csat_is_top2(number))
            if response["customer_id"]:
                for band in bands:
                    cell.add(f"rep:{band}:n")
                    cell.add(f"rep:{band}:yes", repurchased)
    return accs


def compute_feedback_day(day: date) -> DayAccumulator:
    return compute_feedback(day, day).days[day]


def compute_feedback(first: date, last: date, *, feedback_ids: Collection[int] | None = None) -> RangeAccumulator:
    """Feedback received on each day, by channel, product, topic, segment and language, and by the
    multi-valued dimensions (emotion evidence words, need keys, sub-topic codes). Every cell's sums:

    negative / positive / neutral (sentiment), complaints (kind), sent_sum / sent_n (sentiment score),
    emo:<emotion> (items with that emotion; in an emotion_word cell: items where the word was evidence of it),
    tc:<top code> / sc:<parent.child> (complaints about that topic / sub-topic), tn:<top code> (items where that
    topic is negative; both by the topic's own polarity where the analysis gave one, see _topic_sums), tv / ts / tsn:<top code> (items mentioning that topic; their sentiment score
    sum and count), sv / sneg / ss / ssn:<parent.child> (the same per sub-topic, with its negatives). Repeat
    complaints are counted on cases, where the repeat flag lives.

    ``feedback_ids``: only these items, what they add to the days (voxloop.metrics.deltas folds re-analysed
    items in by the difference)."""
    start, end = range_bounds(first, last)
    accs = RangeAccumulator(Source.FEEDBACK, first, last)
    scope = Feedback.objects.filter(received_at__gte=start, received_at__lt=end)
    topic_scope = FeedbackTopic.objects.filter(feedback__received_at__gte=start, feedback__received_at__lt=end)
    if feedback_ids is not None:
        scope = scope.filter(pk__in=list(feedback_ids))
        topic_scope = topic_scope.filter(feedback_id__in=list(feedback_ids))
    return _accumulate_feedback(accs, scope, topic_scope)


def compute_feedback_items(feedback_ids: Collection[int]) -> RangeAccumulator:
    """What these items add to the feedback roll-ups of their days, whatever days those are: the same sums as
    ``compute_feedback``, by primary key alone (no date range to find first, no accumulator for days between)."""
    ids = list(feedback_ids)
    return _accumulate_feedback(
        RangeAccumulator.sparse(Source.FEEDBACK),
        Feedback.objects.filter(pk__in=ids),
        FeedbackTopic.objects.filter(feedback_id__in=ids),
    )


def _accumulate_feedback(accs: RangeAccumulator, scope: Any, topic_scope: Any) -> RangeAccumulator:
    """The feedback items of ``scope`` (with their topic rows, ``topic_scope``) added to their days' cells."""
    # One range query; the analysis JSON comes through the one-to-one join (no per-item queries).
    items = list(
        scope.values_list(
            "id", "channel", "product_id", "customer__segment", "sentiment", "sentiment_score", "kind",
            "language", "received_at", "analysis__emotions", "analysis__needs",
        )
    )  # fmt: skip
    if not items:
        return accs
    topics: dict[int, set[str]] = defaultdict(set)
    subtopics: dict[int, set[str]] = defaultdict(set)
    aspects: dict[int, dict[str, Aspect]] = defaultdict(dict)
    for feedback_id, code, top_code, aspect, aspect_score in topic_scope.values_list(
        "feedback_id", "code", "top_code", "sentiment", "sentiment_score"
    ):
        topics[feedback_id].add(top_code)
        if "." in code:
            subtopics[feedback_id].add(code)
        if aspect:
            aspects[feedback_id][code] = (aspect, aspect_score)
            _merge_top_aspect(aspects[feedback_id], top_code, (aspect, aspect_score))
    for (feedback_id, channel, product_id, segment, sentiment, score, kind, language, received_at, emotions,
         needs) in items:  # fmt: skip
        acc = accs.for_instant(received_at)
        item_topics = sorted(topics.get(feedback_id, ()))
        cells = acc.cells_for({
            "channel": [channel], "product": [_id(product_id)], "topic": item_topics,
            "segment": [segment or ""], "language": [language or ""],
        })  # fmt: skip
        words = terms.emotion_words(emotions)
        word_cells = [(acc.cells[(EMOTION_WORD, word)], names) for word, names in words.items()]
        need_cells = [acc.cells[(NEED, key)] for key in terms.need_keys(needs)]
        item_subtopics = sorted(subtopics.get(feedback_id, ()))
        need_cells += [acc.cells[(SUBTOPIC, code[:100])] for code in item_subtopics]
        base = _feedback_sums(sentiment, score, kind)
        sums = base + _topic_sums(sentiment, score, kind, item_topics, item_subtopics, aspects.get(feedback_id))
        names = terms.emotion_names(emotions)
        for cell in cells:
            cell.n += 1
            for key, amount in sums:
                cell.add(key, amount)
            for name in names:
                cell.add(f"emo:{name}")
        # Term rows (needs, sub-topics, emotion words) are many per day and read by value: they carry the plain
        # figures only, not the per-topic breakdown every cut row has (which would triple their size).
        for cell in need_cells:
            cell.n += 1
            for key, amount in base:
                cell.add(key, amount)
            for name in names:
                cell.add(f"emo:{name}")
        for cell, word_names in word_cells:
            cell.n += 1
            for key, amount in base:
                cell.add(key, amount)
            for name in sorted(word_names):
                cell.add(f"emo:{name}")
    return accs


def _feedback_sums(sentiment: str, score: float | None, kind: str) -> list[tuple[str, float]]:
    """The sums one feedback item adds to every cell it counts in (see compute_feedback)."""
    sums: list[tuple[str, float]] = []
    if sentiment in ("negative", "positive", "neutral"):
        sums.append((sentiment, 1))
    if score is not None:
        sums += [("sent_sum", score), ("sent_n", 1)]
    if kind == COMPLAINT_KIND:
        sums.append(("complaints", 1))
    return sums


# A topic's own polarity in one item (FeedbackTopic.sentiment / sentiment_score).
Aspect = tuple[str, float | None]
_SEVERITY = {"negative": 2, "neutral": 1, "positive": 0}


def _merge_top_aspect(item_aspects: dict[str, Aspect], top_code: str, aspect: Aspect) -> None:
    """An item's polarity of a top-level topic, over its rows of that topic (``logistics`` and
    ``logistics.delay``): the most negative wins, so the top-level counts agree with the inbox drill list,
    which finds an item when any of the topic's rows is a complaint."""
    key = f"top:{top_code}"
    known = item_aspects.get(key)
    if known is None or _SEVERITY.get(aspect[0], 0) > _SEVERITY.get(known[0], 0):
        item_aspects[key] = aspect


def topic_complaint(aspect: str, kind: str) -> bool:
    """Whether an item is a complaint about one of its topics: the topic's own polarity is negative and the
    item is not a plain question; a topic without a polarity (stored before aspect sentiment, or set by a
    person) counts when the item is a complaint. FeedbackTopic.complaint_q is the same rule in SQL."""
    if aspect:
        return aspect == "negative" and kind != "question"
    return kind == COMPLAINT_KIND


def _topic_sums(
    sentiment: str,
    score: float | None,
    kind: str,
    top_codes: list[str],
    sub_codes: list[str],
    aspects: dict[str, Aspect] | None = None,
) -> list[tuple[str, float]]:
    """The per-topic sums one feedback item adds to the total and cut cells (not to term rows). Each topic is
    counted by its own polarity (aspect sentiment) where the analysis gave one, else by the item's label."""
    aspects = aspects or {}
    sums: list[tuple[str, float]] = []
    # Volume and sentiment per topic and sub-topic inside every cell: the journey map within one product,
    # channel, ... reads them from that cut's rows (the topic rows hold them only over all feedback).
    for code in top_codes:
        aspect, aspect_score = aspects.get(f"top:{code}", ("", None))
        label = aspect or sentiment
        value = aspect_score if aspect else score
        if topic_complaint(aspect, kind):
            sums.append((f"tc:{code}", 1))
        if label == "negative":
            sums.append((f"tn:{code}", 1))
        sums.append((f"tv:{code}", 1))
        if value is not None:
            sums += [(f"ts:{code}", value), (f"tsn:{code}", 1)]
    for code in sub_codes:
        aspect, aspect_score = aspects.get(code, ("", None))
        label = aspect or sentiment
        value = aspect_score if aspect else score
        if topic_complaint(aspect, kind):
            sums.append((f"sc:{code}", 1))
        sums.append((f"sv:{code}", 1))
        if label == "negative":
            sums.append((f"sneg:{code}", 1))
        if value is not None:
            sums += [(f"ss:{code}", value), (f"ssn:{code}", 1)]
    return sums


# Survey languages (Django codes) in the analysed-language codes of Feedback.language.
_SURVEY_LANGUAGES = {"zh-hans": "zh", "zh-cn": "zh", "zh": "zh", "zh-hant": "zh-Hant", "zh-tw": "zh-Hant",
                     "zh-hk": "zh-Hant", "en": "en"}  # fmt: skip


def analysed_language_of(code: str) -> str:
    """A survey's language code as an analysed-language code ("zh-hans" -> "zh", "en-us" -> "en")."""
    code = (code or "").strip().lower()
    if not code:
        return ""
    return _SURVEY_LANGUAGES.get(code) or _SURVEY_LANGUAGES.get(code.split("-")[0], "other")


def compute_range(source: str, first: date, last: date, calendars: CalendarLookup | None = None) -> RangeAccumulator:
    if source == Source.CASES:
        return compute_cases(first, last, calendars)
    if source == Source.RESPONSES:
        return compute_responses(first, last)
    if source == Source.FEEDBACK:
        return compute_feedback(first, last)
    raise ValueError(f"unknown roll-up source {source!r}")


def refresh_range(source: str, first: date, last: date, *, calendars: CalendarLookup | None = None) -> int:
    """Recompute the days ``first``..``last`` of one source; returns the roll-up rows written. Idempotent:
    the days' old rows are replaced in the same transaction, and days without data end up with none.

    The days are locked while they are read and written, so a delta folded in by another transaction
    (voxloop.metrics.deltas) lands either before this read or after this write, never in between."""
    with transaction.atomic():
        lock_days(source, [first + timedelta(days=i) for i in range((last - first).days + 1)])
        accs = compute_range(source, first, last, calendars)
        now = timezone.now()
        rows = [row for acc in accs.days.values() for row in acc.rows(now)]
        MetricDaily.objects.filter(source=source, day__gte=first, day__lte=last).delete()
        MetricDaily.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


_LOCK_SPACE: dict[str, int] = {Source.CASES: 7_660_001, Source.RESPONSES: 7_660_002, Source.FEEDBACK: 7_660_003}


def lock_days(source: str, days: Iterable[date]) -> None:
    """Take this transaction's lock on the roll-up days of one source (PostgreSQL advisory locks, in day order
    so that two writers cannot deadlock; SQLite has a single writer anyway)."""
    ordinals = sorted({d.toordinal() for d in days})
    if connection.vendor != "postgresql" or not ordinals:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, d)) FROM (SELECT unnest(%s::int[]) AS d ORDER BY 1) AS days",
            [_LOCK_SPACE[source], ordinals],
        )


def refresh_day(source: str, day: date, *, calendars: CalendarLookup | None = None) -> int:
    return refresh_range(source, day, day, calendars=calendars)


# --- incremental maintenance ------------------------------------------------------------------------


def mark_dirty(source: str, days: Iterable[date]) -> int:
    days = set(days)
    DirtyDay.objects.bulk_create(
        [DirtyDay(source=source, day=d) for d in days],
        update_conflicts=True,
        unique_fields=["source", "day"],
        update_fields=["marked_at"],
    )
    return len(days)


def _schedule_refresh() -> None:
    from voxloop.metrics.tasks import refresh_rollups_task

    try:
        refresh_rollups_task.delay()
    except Exception:  # noqa: BLE001 - a broker hiccup must not fail the write; the beat task catches up
        logger.warning("metrics: could not queue refresh_rollups_task; the periodic refresh will catch up")


def mark_dirty_soon(source: str, days: Iterable[date]) -> int:
    """Mark days dirty and ask for a refresh once this transaction commits."""
    marked = mark_dirty(source, days)
    on_commit_once(_schedule_refresh)
    return marked


def note_case_changed(case: Case) -> None:
    """Call after a service changed a case (opened, replied, resolved, reopened...)."""
    mark_dirty(Source.CASES, [local_day(case.created_at)])
    on_commit_once(_schedule_refresh)


def note_response_saved(response: Response) -> None:
    """Call after a survey response was submitted or edited."""
    mark_dirty(Source.RESPONSES, [local_day(response.submitted_at)])
    on_commit_once(_schedule_refresh)


def note_feedback_changed(feedback: Feedback) -> None:
    mark_dirty(Source.FEEDBACK, [local_day(feedback.received_at)])
    on_commit_once(_schedule_refresh)


def _days_of(instants: Iterable[datetime]) -> set[date]:
    return {local_day(t) for t in instants if t is not None}


def _new_since(
    model: Any, position: int, column: str, time_column: str, since: datetime,
    skip: Callable[[list[int]], set[int]] | None = None, seen: Collection[int] = (),
) -> tuple[list[Any], int, list[int]]:  # fmt: skip
    """Values of ``column`` for rows added since the last look, the new position, and the keys to pass as
    ``seen`` next time. Rows above ``position`` are new; the ``CATCH_UP_ID_MARGIN`` keys below it are looked at
    again for rows that took their key earlier but committed after the last look (their time is then recent).
    Only the primary-key index is used. ``seen``: the keys the last look found in that margin, which are not
    counted again (without it, every row was marked again by every look for CATCH_UP_OVERLAP, so a day that had
    just been recomputed was recomputed at each run for five minutes). ``skip`` names the keys among them whose
    change is already in the roll-ups. Only for tables whose rows never change ``column`` once written."""
    rows = list(
        model.objects.filter(pk__gt=max(0, position - CATCH_UP_ID_MARGIN))
        .filter(Q(pk__gt=position) | Q(**{f"{time_column}__gt": since}))
        .values_list("pk", column)
    )
    new_position = max([position, *(pk for pk, _v in rows)])
    remember = sorted(pk for pk, _v in rows if pk > new_position - CATCH_UP_ID_MARGIN)
    known = set(seen)
    rows = [(pk, value) for pk, value in rows if pk not in known]
    skipped = skip([pk for pk, _v in rows]) if skip and rows else set()
    return [value for pk, value in rows if pk not in skipped], new_position, remember


def _folded(analysis_ids: list[int]) -> set[int]:
    """Analyses whose items were folded into the roll-ups by deltas when they were stored (deltas.py)."""
    found: set[int] = set()
    for i in range(0, len(analysis_ids), 5000):
        found.update(
            FoldedAnalysis.objects.filter(analysis_id__in=analysis_ids[i : i + 5000]).values_list("pk", flat=True)
        )
    return found


def catch_up(now: datetime | None = None) -> dict[str, int]:
    """Mark dirty every day touched since the last look. Every look is an indexed range scan, so it costs
    nothing when nothing changed, however large the tables are:

    cases: new timeline events (every case change writes one: reply, status, resolution, reopening, SLA
    warning and breach, assignment, repeat flag); responses: submitted since, or still inside their edit
    window; new orders (a repurchase for earlier responses of that customer); feedback: new items, new
    analyses and new corrections. A re-analysis of items that were analysed before is folded in by deltas
    as it is stored (voxloop.metrics.deltas), so its analyses are skipped here."""
    now = now or timezone.now()
    marks: dict[str, set[date]] = {Source.CASES: set(), Source.RESPONSES: set(), Source.FEEDBACK: set()}
    for source in marks:
        mark = Watermark.objects.filter(source=source).first()
        if mark is None:  # first run on this database: every day with data (refresh_dirty takes them in turns)
            Watermark.objects.create(source=source, checked_until=now, positions=_current_positions(source))
            bounds = data_range(source)
            if bounds:
                marks[source] = {bounds[0] + timedelta(days=i) for i in range((bounds[1] - bounds[0]).days + 1)}
            continue
        since = mark.checked_until - CATCH_UP_OVERLAP
        positions = dict(mark.positions or {})
        if source == Source.CASES:
            created = CaseEvent.objects.filter(created_at__gt=since).values_list("case__created_at", flat=True)
            marks[source] = _days_of(created)
        elif source == Source.RESPONSES:
            edit_window = timedelta(minutes=getattr(settings, "SURVEY_EDIT_MINUTES", 30))
            days = _days_of(
                Response.objects.filter(submitted_at__gt=since - edit_window).values_list("submitted_at", flat=True)
            )
            for customer_id, ordered_at in Order.objects.filter(created_at__gt=since).values_list(
                "customer_id", "ordered_at"
            ):
                if customer_id:
                    days |= _days_of(
                        Response.objects.filter(
                            customer_id=customer_id,
                            submitted_at__gte=ordered_at - REPURCHASE_WINDOW,
                            submitted_at__lt=ordered_at,
                        ).values_list("submitted_at", flat=True)
                    )
            marks[source] = days
        else:
            received, positions["feedback"], positions["feedback_seen"] = _new_since(
                Feedback, positions.get("feedback", 0), "received_at", "created_at", since,
                seen=positions.get("feedback_seen", ()),
            )  # fmt: skip
            # An analysis is replaced, never changed, so its item's day is that of its first look.
            analysed, positions["analysis"], positions["analysis_seen"] = _new_since(
                FeedbackAnalysis, positions.get("analysis", 0), "feedback__received_at", "analysed_at", since,
                skip=_folded, seen=positions.get("analysis_seen", ()),
            )  # fmt: skip
            # A folded analysis is looked at again only while its key is within the margin below the position.
            FoldedAnalysis.objects.filter(
                Q(analysis_id__lte=positions["analysis"] - CATCH_UP_ID_MARGIN)
                | Q(folded_at__lt=now - timedelta(days=1))
            ).delete()
            corrected = Correction.objects.filter(created_at__gt=since).values_list("feedback__received_at", flat=True)
            marks[source] = _days_of([*received, *analysed, *corrected])
        Watermark.objects.filter(pk=mark.pk).update(checked_until=now, positions=positions)
    return {source: mark_dirty(source, days) for source, days in marks.items() if days}


def _current_positions(source: str) -> dict[str, int]:
    if source != Source.FEEDBACK:
        return {}
    return {
        "feedback": Feedback.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "analysis": FeedbackAnalysis.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
    }


def refresh_dirty(limit: int = 400) -> int:
    """Recompute dirty days, oldest first. The mark is removed before recomputing, so a change that lands
    while a day is being computed marks it again and is picked up by the next run."""
    done = 0
    calendars = CalendarLookup()
    for dirty in list(DirtyDay.objects.order_by("day")[:limit]):
        deleted, _ = DirtyDay.objects.filter(pk=dirty.pk, marked_at=dirty.marked_at).delete()
        if not deleted:
            continue  # marked again meanwhile (or another worker has it): a later run does it
        refresh_day(dirty.source, dirty.day, calendars=calendars)
        done += 1
    return done


def data_range(source: str) -> tuple[date, date] | None:
    """First and last day that have rows of ``source``."""
    columns: dict[str, str] = {
        Source.CASES: "created_at",
        Source.RESPONSES: "submitted_at",
        Source.FEEDBACK: "received_at",
    }
    models: dict[str, type[Case | Response | Feedback]] = {
        Source.CASES: Case, Source.RESPONSES: Response, Source.FEEDBACK: Feedback
    }  # fmt: skip
    column, model = columns[source], models[source]
    bounds = model.objects.aggregate(first=Min(column), last=Max(column))
    if bounds["first"] is None:
        return None
    return local_day(bounds["first"]), local_day(bounds["last"])


def rebuild(
    sources: Iterable[str] = tuple(Source.values),
    since: date | None = None,
    until: date | None = None,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
) -> int:
    """Recompute every day with data from ``since`` to ``until`` (inclusive); returns the days recomputed.
    Days without rows lose their stale roll-ups too. Also resets the catch-up watermark of each source."""
    now = timezone.now()
    jobs: list[tuple[str, date, date]] = []
    for source in sources:
        bounds = data_range(source)
        first = since or (bounds[0] if bounds else None)
        last = until or max(bounds[1] if bounds else local_day(now), local_day(now))
        if first is None:
            MetricDaily.objects.filter(source=source).delete()
            continue
        if since is None:
            MetricDaily.objects.filter(source=source, day__lt=first).delete()
        day = first
        while day <= last:  # chunks of REBUILD_CHUNK_DAYS: one set of queries per chunk, bounded memory
            chunk_last = min(last, day + timedelta(days=REBUILD_CHUNK_DAYS - 1))
            jobs.append((source, day, chunk_last))
            day = chunk_last + timedelta(days=1)
        Watermark.objects.update_or_create(
            source=source, defaults={"checked_until": now, "positions": _current_positions(source)}
        )
    calendars = CalendarLookup()
    iterable = progress(jobs) if progress else jobs
    days = 0
    for source, chunk_first, chunk_last in iterable:
        refresh_range(source, chunk_first, chunk_last, calendars=calendars)
        days += (chunk_last - chunk_first).days + 1
    DirtyDay.objects.filter(source__in=list(sources), day__gte=since or date.min, day__lte=until or date.max).delete()
    return days


ALL_DIMENSIONS = [d for d in Dimension.values if d]
