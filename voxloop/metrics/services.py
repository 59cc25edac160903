"""Maintaining the daily roll-ups (DESIGN §6): recompute one day of one source from the raw rows.

Recomputing a day is idempotent (delete that day's rows, insert the new ones, in one transaction), so the
incremental path and the full rebuild are the same code:

* ``note_case_changed`` / ``note_response_saved`` / ``note_feedback_changed`` mark the affected day dirty
  and schedule ``refresh_rollups_task`` after commit: the hooks for services that change those rows;
* ``catch_up`` finds rows changed since the last look (their ``updated_at``/``created_at``, new case
  events, new analyses, new orders) and marks their days dirty, so nothing depends on every writer
  remembering to call a hook; the beat task runs it every METRICS_REFRESH_SECONDS;
* ``rebuild`` recomputes a date range (``voxloop rebuild_rollups``).

What a day of each source holds, and which day a row belongs to: voxloop.metrics.compute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from voxloop.analysis.models import Correction, FeedbackAnalysis
from voxloop.cases.models import Case, CaseEvent
from voxloop.core.kicks import on_commit_once
from voxloop.feedback.models import Feedback, Order
from voxloop.metrics.cells import RangeAccumulator
from voxloop.metrics.compute.cases import CalendarLookup, compute_cases
from voxloop.metrics.compute.feedback import compute_feedback
from voxloop.metrics.compute.responses import REPURCHASE_WINDOW, compute_responses
from voxloop.metrics.days import local_day
from voxloop.metrics.models import DirtyDay, FoldedAnalysis, MetricDaily, Source, Watermark
from voxloop.surveys.models import Response

logger = logging.getLogger(__name__)

# Rows written since the last look may commit a little later than their timestamps; look back this far.
CATCH_UP_OVERLAP = timedelta(minutes=5)
REBUILD_CHUNK_DAYS = 31
CATCH_UP_ID_MARGIN = 1000


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
    # imported here: tasks imports this module
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
