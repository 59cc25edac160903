"""Re-analysed items fold into the daily roll-ups by their difference, not by recomputing their days.

Re-analysing 1,000 items scattered over two years touched about 700 days; recomputing each from its raw rows
took 100 s on PostgreSQL at 1M items (docs/operations.md, "Roll-ups"). An item's contribution to the roll-ups
is a function of its own row only (DESIGN §6: additive counters), so the analysis announces the items it is
about to replace and the ones it replaced, inside its transaction, and this module:

1. before: computes what those items add to their days now (the same code as a full recompute,
   ``voxloop.metrics.compute.feedback.compute_feedback_items``: the items alone, found by key);
2. after: computes it again, subtracts, and adds the difference to the stored rows of those days;
3. records the new analyses as folded, so that the catch-up does not recompute their days anyway.

Days without roll-ups yet, days already waiting for a recompute, and anything that would not add up (a count
below zero) are left to the ordinary path: the day is marked dirty. The result is the full recompute's, up to
the rounding of float sums (a test compares both on random re-analyses). Only items that had an analysis before
are folded: a first analysis belongs to a new item, whose day the catch-up recomputes anyway.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from datetime import date
from typing import Any

import orjson
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from voxloop.analysis.models import FeedbackAnalysis
from voxloop.feedback.models import Feedback
from voxloop.metrics import services
from voxloop.metrics.compute.feedback import compute_feedback_items
from voxloop.metrics.models import DirtyDay, FoldedAnalysis, MetricDaily, Source

logger = logging.getLogger(__name__)

Key = tuple[date, str, str]  # (day, dimension, value)
# A float sum closer to 0 than this after a subtraction is a rounding residue: a full recompute has no such key.
EPSILON = 1e-9
FETCH_DAYS = 100

_state = threading.local()


class Contribution(dict[Key, tuple[int, dict[str, float]]]):
    """What a set of items adds to the feedback roll-ups: (n, sums) per (day, dimension, value)."""


def contribution(feedback_ids: list[int]) -> Contribution:
    out = Contribution()
    for day, acc in compute_feedback_items(feedback_ids).days.items():
        for (dimension, value), cell in acc.cells.items():
            out[(day, dimension, value[:100])] = (cell.n, dict(cell.sums))
    return out


def before_reanalysis(feedback_ids: list[int]) -> None:
    """Hook (analysis_replacing), inside the analysis transaction before the results are replaced."""
    folded = list(FeedbackAnalysis.objects.filter(feedback_id__in=feedback_ids).values_list("feedback_id", flat=True))
    if folded:
        # Lock the items so that the "before" stays true until this transaction writes the "after".
        list(Feedback.objects.select_for_update().filter(pk__in=folded).values_list("pk", flat=True))
    _state.pending = (list(feedback_ids), folded, contribution(folded) if folded else Contribution())


def after_reanalysis(feedback_ids: list[int]) -> None:
    """Hook (analysis_replaced), inside the analysis transaction after the new results were written."""
    pending = getattr(_state, "pending", None)
    _state.pending = None
    if pending is None or pending[0] != list(feedback_ids):
        logger.warning("metrics: re-analysis announced without its 'before'; the catch-up recomputes its days")
        return
    _ids, folded, before = pending
    if not folded:
        return
    fold(before, contribution(folded))
    analyses = FeedbackAnalysis.objects.filter(feedback_id__in=folded).values_list("pk", flat=True)
    FoldedAnalysis.objects.bulk_create([FoldedAnalysis(analysis_id=pk) for pk in analyses], ignore_conflicts=True)


def difference(before: Contribution, after: Contribution) -> dict[Key, tuple[int, dict[str, float]]]:
    delta: dict[Key, tuple[int, dict[str, float]]] = {}
    for key in before.keys() | after.keys():
        n_before, sums_before = before.get(key, (0, {}))
        n_after, sums_after = after.get(key, (0, {}))
        sums = {k: sums_after.get(k, 0) - sums_before.get(k, 0) for k in sums_before.keys() | sums_after.keys()}
        sums = {k: v for k, v in sums.items() if abs(v) > EPSILON}
        if n_after != n_before or sums:
            delta[key] = (n_after - n_before, sums)
    return delta


def fold(before: Contribution, after: Contribution) -> dict[str, int]:
    """Add ``after - before`` to the stored roll-ups; days that cannot take a delta are marked dirty instead.
    Returns how many days were folded and how many were marked."""
    delta = difference(before, after)
    days = sorted({day for day, _d, _v in delta})
    if not days:
        return {"folded": 0, "marked": 0}
    services.lock_days(Source.FEEDBACK, days)
    source = Source.FEEDBACK
    rolled_up = set(
        MetricDaily.objects.filter(source=source, dimension="", value="", day__in=days).values_list("day", flat=True)
    )
    waiting = set(DirtyDay.objects.filter(source=source, day__in=days).values_list("day", flat=True))
    foldable = [d for d in days if d in rolled_up and d not in waiting]
    unfit = {d for d in days if d not in rolled_up}  # no roll-up yet: the catch-up may not have seen the day
    stored = _stored_rows(delta, set(foldable))
    now = timezone.now()
    updates: dict[date, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)  # (pk, n, sums) of rows that stay
    deletes: dict[date, list[int]] = defaultdict(list)
    new_rows: dict[date, list[MetricDaily]] = defaultdict(list)
    for key, (dn, dsums) in delta.items():
        day = key[0]
        if day not in foldable or day in unfit:
            continue
        pk, n, sums, histograms = stored.get(key, (None, 0, {}, {}))
        n += dn
        merged = dict(sums)  # stored values are already plain: only the changed keys need looking at
        for name, amount in dsums.items():
            value = merged.get(name, 0) + amount
            if abs(value) > EPSILON:
                merged[name] = _plain(value)
            else:
                merged.pop(name, None)
        if n < 0 or (n == 0 and (merged or histograms)) or (pk is None and n == 0):
            unfit.add(day)  # the stored day does not hold what the items added: recompute it
        elif pk is None:
            new_rows[day].append(
                MetricDaily(source=source, day=day, dimension=key[1], value=key[2], n=n, sums=merged,
                            histograms=histograms, computed_at=now)
            )  # fmt: skip
        elif n == 0:
            deletes[day].append(pk)
        else:
            updates[day].append((pk, n, merged))
    kept = [d for d in foldable if d not in unfit]
    _write(
        [u for d in kept for u in updates[d]], [pk for d in kept for pk in deletes[d]],
        [row for d in kept for row in new_rows[d]], now,
    )  # fmt: skip
    marked = sorted(unfit | (set(days) & waiting))
    if unfit:
        services.mark_dirty_soon(source, unfit)
    return {"folded": len(set(foldable) - unfit), "marked": len(marked)}


def _write(
    updates: list[tuple[int, int, dict[str, Any]]], deletes: list[int], rows: list[MetricDaily], now: Any
) -> None:
    """Rows changed in place (one UPDATE ... FROM unnest per 5,000 on PostgreSQL), emptied ones deleted, new ones
    inserted."""
    for i in range(0, len(deletes), 5000):
        MetricDaily.objects.filter(pk__in=deletes[i : i + 5000]).delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for i in range(0, len(updates), 5000):
                chunk = updates[i : i + 5000]
                # One JSON document as the only large parameter: quoting thousands of array elements client-side
                # took longer than the update itself.
                cursor.execute(
                    "UPDATE metrics_metricdaily AS m SET n = v.n, sums = v.sums, computed_at = %s "
                    "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, n int, sums jsonb) WHERE m.id = v.id",
                    [now, _dumps([{"id": pk, "n": n, "sums": sums} for pk, n, sums in chunk])],
                )
    else:
        MetricDaily.objects.bulk_update(
            [MetricDaily(pk=pk, n=n, sums=sums, computed_at=now) for pk, n, sums in updates],
            ["n", "sums", "computed_at"], batch_size=500,
        )  # fmt: skip
    MetricDaily.objects.bulk_create(rows, batch_size=2000)


def _plain(value: float) -> float | int:
    """As a full recompute stores it: whole numbers as integers."""
    return int(round(value)) if abs(value - round(value)) <= EPSILON else value


def _stored_rows(delta: dict[Key, Any], days: set[date]) -> dict[Key, tuple[int, int, dict[str, Any], dict[str, Any]]]:
    """The stored rows the delta touches, by key: on PostgreSQL one join against the keys (the unique index finds
    each row); elsewhere a query per FETCH_DAYS days with one clause per dimension, filtered here."""
    if connection.vendor == "postgresql":
        return _stored_rows_pg([key for key in delta if key[0] in days])
    wanted: dict[date, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for day, dimension, value in delta:
        if day in days:
            wanted[day][dimension].add(value)
    ordered = sorted(wanted)
    out: dict[Key, tuple[int, int, dict[str, Any], dict[str, Any]]] = {}
    for i in range(0, len(ordered), FETCH_DAYS):
        chunk = ordered[i : i + FETCH_DAYS]
        by_dimension: dict[str, set[str]] = defaultdict(set)
        for day in chunk:
            for dimension, values in wanted[day].items():
                by_dimension[dimension] |= values
        clause = Q()
        for dimension, values in by_dimension.items():
            clause |= Q(dimension=dimension, value__in=sorted(values))
        for pk, day, dimension, value, n, sums, histograms in MetricDaily.objects.filter(
            clause, source=Source.FEEDBACK, day__in=chunk
        ).values_list("pk", "day", "dimension", "value", "n", "sums", "histograms"):
            if value in wanted[day].get(dimension, ()):
                out[(day, dimension, value)] = (pk, n, sums or {}, histograms or {})
    return out


def _stored_rows_pg(keys: list[Key]) -> dict[Key, tuple[int, int, dict[str, Any], dict[str, Any]]]:
    out: dict[Key, tuple[int, int, dict[str, Any], dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for i in range(0, len(keys), 20_000):
            chunk = keys[i : i + 20_000]
            cursor.execute(
                "SELECT m.id, m.day, m.dimension, m.value, m.n, m.sums, m.histograms FROM metrics_metricdaily m "
                "JOIN jsonb_to_recordset(%s::jsonb) AS k(day date, dimension text, value text) "
                "ON m.source = %s AND m.dimension = k.dimension AND m.value = k.value AND m.day = k.day",
                [
                    _dumps([{"day": k[0].isoformat(), "dimension": k[1], "value": k[2]} for k in chunk]),
                    Source.FEEDBACK,
                ],  # fmt: skip
            )
            for pk, day, dimension, value, n, sums, histograms in cursor.fetchall():
                out[(day, dimension, value)] = (pk, n, _json(sums), _json(histograms))
    return out


def _json(value: Any) -> dict[str, Any]:
    """A JSON column read through a plain cursor: text or already decoded, depending on the driver."""
    if isinstance(value, str | bytes):
        return orjson.loads(value) or {}
    return value or {}


def _dumps(value: Any) -> str:
    """JSON for one large parameter. orjson: the standard library's encoder and decoder were a third of a fold's
    Python time (about 10,000 rows' sums read and written back per 1,000 items)."""
    return orjson.dumps(value).decode()
